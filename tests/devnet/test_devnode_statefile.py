"""The state file at chain lengths a D = 1 devnet reaches: checkpoints append, reopen is
consistent after a crash at any point (gxcpoold/devnet/state.py)."""
import dataclasses
import json
import os

from twisted.internet import defer

from gxcpoold.devnet import DevNode, DevNodeService, DevNodeSettings, state
from gxcpoold.devnet.model import as_dict

from .test_devnode_persistence import StatefulCase

RECIPIENT = "tGXC" + "ab" * 17


class CountingConversion:
    """as_dict that counts the records it converts (what a checkpoint costs)."""

    def __init__(self):
        self.count = 0

    def __call__(self, record):
        self.count += 1
        return as_dict(record)


class StateFileCase(StatefulCase):
    """Helpers for the tests below: the block log's path, a reopened node, more blocks."""

    def log_path(self) -> str:
        with open(self.state_path) as handle:
            return os.path.join(self.state_dir, json.load(handle)["blocks_file"])

    def reopen(self) -> DevNode:
        return DevNode(self.make_settings(), clock=self.clock,
                       state=state.load(self.state_path))

    def grow(self, count: int):
        for _ in range(count):
            self.node.mine_other(self.node.wallet.address)


class StateFile(StateFileCase):
    settings = {"maturity": 2, "retarget_interval": 50}

    def test_a_checkpoint_converts_only_the_new_blocks(self):
        self.grow(300)
        self.service.save()
        with open(self.log_path(), "rb") as handle:
            before = handle.read()
        header_size = os.path.getsize(self.state_path)
        self.grow(5)
        writer, counting = self.service._writer, CountingConversion()
        writer.save(self.node.to_state(), self.node.chain.blocks, self.node.history, counting)
        self.assertEqual(counting.count, 5)
        with open(self.log_path(), "rb") as handle:
            after = handle.read()
        self.assertTrue(after.startswith(before))             # appended, not rewritten
        self.assertEqual(after.count(b"\n"), 306)
        self.assertLess(abs(os.path.getsize(self.state_path) - header_size), 64)
        reopened = self.reopen()
        self.assertEqual([b.hash for b in reopened.chain.blocks],
                         [b.hash for b in self.node.chain.blocks])
        self.assertEqual(reopened.chain.difficulty, self.node.chain.difficulty)
        self.assertEqual(reopened.chain.utxos.keys(), self.node.chain.utxos.keys())

    @defer.inlineCallbacks
    def test_everything_but_blocks_survives_a_reopen(self):
        wallet = self.node.wallet.address
        yield self.result("devnet_fund", [wallet, 7.0])
        yield self.mine(3, wallet)
        t = yield self.result("sendtoaddress", [RECIPIENT, 1.0])
        yield self.result("devnet_setdifficulty", [2.0])
        self.service.save()
        reopened = self.reopen()
        self.assertEqual(reopened.wallet.address, wallet)
        self.assertEqual(list(reopened.mempool.txs), [t])
        self.assertEqual(reopened.last_tx_hash, t)
        self.assertEqual(reopened.chain.difficulty, 2.0)
        self.assertEqual(reopened.balance(wallet), self.node.balance(wallet))
        self.assertEqual(reopened.chain.work, self.node.chain.work)

    def test_blocks_appended_but_header_not_replaced(self):
        # killed between the two writes of a checkpoint, across a retarget
        self.grow(45)
        self.service.save()
        with open(self.state_path, "rb") as handle:
            old_header = handle.read()
        self.grow(10)                        # N 46 -> 56: D x1.75 at N = 50
        self.service.save()
        with open(self.state_path, "wb") as handle:
            handle.write(old_header)
        reopened = self.reopen()
        self.assertEqual(reopened.chain.n, 56)
        self.assertEqual(reopened.chain.difficulty, 1.75)
        self.assertEqual(reopened.chain.tip.hash, self.node.chain.tip.hash)

    def test_a_torn_last_line_is_dropped_and_appends_continue_after_it(self):
        self.grow(10)
        self.service.save()
        with open(self.log_path(), "ab") as handle:
            handle.write(b'{"height":11,"hash":"00')     # killed mid-append
        reopened = self.reopen()
        self.assertEqual(reopened.chain.n, 11)
        self.assertEqual(reopened.chain.tip.hash, self.node.chain.tip.hash)
        # a service on the reopened state appends cleanly after the last good line
        self.service.stopService()
        service = DevNodeService(self.make_settings(), "tcp:0:interface=127.0.0.1",
                                 clock=self.clock)
        service.node.mine_other()
        service.save()
        self.assertEqual(self.reopen().chain.n, 12)

    def test_new_history_gets_a_new_log_and_the_old_one_goes(self):
        self.grow(3)
        self.service.save()
        first_log = self.log_path()
        self.node.epoch += 1            # what a restart emulation does to history
        self.service.save()
        self.assertNotEqual(self.log_path(), first_log)
        self.assertFalse(os.path.exists(first_log))
        self.assertEqual(self.reopen().chain.n, 4)


class FailingWrite:
    """as_dict standing in for a write that fails on a full disk after part of a line."""

    def __init__(self, log_path: str):
        self.log_path = log_path

    def __call__(self, record):
        with open(self.log_path, "ab") as handle:
            handle.write(b'{"height":4,"ha')
        raise OSError(28, "No space left on device")


class WriteFailure(StateFileCase):
    settings = {"maturity": 2}

    def test_after_a_failed_append_the_next_checkpoint_rewrites_the_log(self):
        writer = self.service._writer
        self.grow(3)
        with self.assertRaises(OSError):
            writer.append(self.node.chain.blocks, self.node.history,
                          FailingWrite(self.log_path()))
        self.grow(2)
        self.service.save()
        reopened = self.reopen()
        self.assertEqual([b.hash for b in reopened.chain.blocks],
                         [b.hash for b in self.node.chain.blocks])


class ChangedDifficultySetting(StatefulCase):
    settings = {"maturity": 2, "difficulty": 6.0}

    def test_the_chain_goes_on_at_the_new_difficulty(self):
        self.node.mine_other()
        self.service.save()
        settings = dataclasses.replace(self.make_settings(), difficulty=1.0)
        reopened = DevNode(settings, state=state.load(self.state_path))
        self.assertEqual((reopened.chain.n, reopened.chain.difficulty), (2, 1.0))
        same = DevNode(self.make_settings(), state=state.load(self.state_path))
        self.assertEqual(same.chain.difficulty, 6.0)


class OlderFormat(StatefulCase):
    settings = {"maturity": 2}

    def test_a_single_file_state_still_loads(self):
        node = self.node
        node.mine_other(node.wallet.address)
        node.fund(node.wallet.address, 3.0)
        old = {"format": 1, **node.to_state(),
               "blocks": [as_dict(b) for b in node.chain.blocks],
               "utxos": [as_dict(u) for u in node.chain.utxos.values()]}
        del old["funds"]
        path = os.path.join(self.state_dir, "old.json")
        with open(path, "w") as handle:
            json.dump(old, handle)
        reopened = DevNode(DevNodeSettings(**{**self.settings, "genesis_seed": "tests"}),
                           state=state.load(path))
        self.assertEqual(reopened.chain.tip.hash, node.chain.tip.hash)
        self.assertEqual(reopened.chain.utxos.keys(), node.chain.utxos.keys())
