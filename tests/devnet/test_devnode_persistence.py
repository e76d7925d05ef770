"""State file and restart emulation (spec §3.12)."""
import json
import os
import shutil
import tempfile

from twisted.internet import defer

from gxcpoold.devnet import DevNodeService, state

from .nodecase import NodeCase

RECIPIENT = "tGXC" + "ab" * 17


class StatefulCase(NodeCase):
    settings = {"maturity": 2}

    def make_settings(self):
        if not hasattr(self, "state_path"):
            self.state_dir = tempfile.mkdtemp(prefix="devnode-test-")
            self.state_path = os.path.join(self.state_dir, "devnode.json")
        self.settings = {**type(self).settings, "state_file": self.state_path}
        return super().make_settings()

    def tearDown(self):
        # trial runs cleanups before tearDown, and stopping the service saves the file
        stopped = super().tearDown()
        return stopped.addBoth(lambda result: (shutil.rmtree(self.state_dir, True), result)[1])

    @defer.inlineCallbacks
    def restart_service(self):
        """Stop the service (it saves) and start a new one from the same state file."""
        yield self.service.stopService()
        self.service = DevNodeService(self.make_settings(), "tcp:0:interface=127.0.0.1",
                                      clock=self.clock)
        self.node = self.service.node
        self.service.startService()
        port = yield self.service.whenListening()
        self.port = port.getHost().port

    @defer.inlineCallbacks
    def pay_and_mine(self):
        wallet = self.node.wallet.address
        yield self.mine(1, wallet)
        yield self.result("devnet_mine", [2])
        t = yield self.result("sendtoaddress", [RECIPIENT, 10.0])
        yield self.mine(1, wallet)
        return t


class Persistence(StatefulCase):
    @defer.inlineCallbacks
    def test_stop_start_keeps_everything(self):
        t = yield self.pay_and_mine()
        before = {}
        for name in ("getblockcount", "getbestblockhash", "getnewaddress", "getrawmempool",
                     "getdifficulty"):
            before[name] = yield self.result(name)
        block_before = yield self.result("getblock", [4])
        genesis = yield self.result("getblockhash", [0])
        yield self.restart_service()
        self.assertTrue(os.path.exists(self.state_path))
        with open(self.state_path) as handle:
            self.assertEqual(json.load(handle)["network"], "testnet")
        for name, value in before.items():
            self.assertEqual((yield self.result(name)), value, name)
        self.assertEqual((yield self.result("getblockhash", [0])), genesis)
        self.assertEqual((yield self.result("getblock", [4])), block_before)
        self.assertEqual(before["getrawmempool"], [t])
        yield self.result("devnet_mine")   # the template still lists the stale tx t
        self.assertEqual((yield self.result("getblockcount")), 6)

    @defer.inlineCallbacks
    def test_periodic_save_happens_without_stop(self):
        yield self.mine(1)
        self.service.save()
        self.assertEqual(len(state.load(self.state_path)["blocks"]), 2)


class RestartEmulation(StatefulCase):
    settings = {"maturity": 2, "restart_emulation": True, "retarget_interval": 6}

    @defer.inlineCallbacks
    def test_txids_change_spent_outputs_reappear_mempool_dropped(self):
        wallet = self.node.wallet.address
        yield self.pay_and_mine()
        mined_before = yield self.result("getblock", [4])
        self.assertEqual((yield self.result("getbalance", [wallet])), 39.999)
        restarted = yield self.result("devnet_restart")
        self.assertEqual(restarted, {"emulated": True, "wiped": False, "blocks": 5})
        mined_after = yield self.result("getblock", [4])
        self.assertEqual(mined_after["hash"], mined_before["hash"])
        self.assertNotEqual([t["txid"] for t in mined_after["tx"]],
                            [t["txid"] for t in mined_before["tx"]])
        # the spent 50 GXC coinbase output reappears next to the change
        self.assertEqual((yield self.result("getbalance", [wallet])), 50.0 + 39.999)
        self.assertEqual((yield self.result("getrawmempool")), [])
        self.assertEqual((yield self.result("getblockcount")), 5)

    @defer.inlineCallbacks
    def test_difficulty_resets_to_the_floor(self):
        yield self.result("devnet_setdifficulty", [2.0])
        yield self.result("devnet_restart")
        self.assertEqual((yield self.result("getdifficulty")), 1.0)

    @defer.inlineCallbacks
    def test_after_a_retarget_the_data_dir_is_wiped(self):
        genesis = yield self.result("getblockhash", [0])
        yield self.mine(5)                                       # N = 6: D = 1.75
        self.assertEqual((yield self.result("getdifficulty")), 1.75)
        restarted = yield self.result("devnet_restart")           # no block claims D != F yet
        self.assertEqual(restarted["wiped"], False)
        self.assertEqual((yield self.result("getdifficulty")), 1.0)
        yield self.result("devnet_setdifficulty", [1.75])
        yield self.mine(1)                                       # a block claiming 1.75
        restarted = yield self.result("devnet_restart")
        self.assertEqual(restarted, {"emulated": True, "wiped": True, "blocks": 1})
        self.assertEqual((yield self.result("getblockcount")), 1)
        self.assertNotEqual((yield self.result("getblockhash", [0])), genesis)

    @defer.inlineCallbacks
    def test_restart_effects_apply_when_loading_the_state_file(self):
        wallet = self.node.wallet.address
        yield self.pay_and_mine()
        txids = [t.txid for t in self.node.chain.blocks[4].transactions]
        yield self.restart_service()
        self.assertNotEqual([t.txid for t in self.node.chain.blocks[4].transactions], txids)
        self.assertEqual((yield self.result("getbalance", [wallet])), 50.0 + 39.999)
        self.assertEqual((yield self.result("getnewaddress")), wallet)


class RestartWithoutEmulation(NodeCase):
    @defer.inlineCallbacks
    def test_devnet_restart_is_a_no_op(self):
        genesis = yield self.result("getblockhash", [0])
        self.assertEqual((yield self.result("devnet_restart")),
                         {"emulated": False, "wiped": False, "blocks": 1})
        self.assertEqual((yield self.result("getblockhash", [0])), genesis)
