"""Heights, difficulty retarget, rewards, other miner, getblock (spec §2.6, §3.1-§3.6, §3.10;
§5 items 4, 5, 10, 13, 17)."""
import json
import os

from twisted.internet import defer, task

from gxcpoold.devnet import DevNodeService, DevNodeSettings
from gxcpoold.devnet.views import merkle_root

from .nodecase import NOW, NodeCase

GETBLOCK_KEYS = {"hash", "height", "confirmations", "version", "merkleroot", "time", "nonce",
                 "bits", "difficulty", "previousblockhash", "miner", "reward", "size",
                 "gas_used", "gas_limit", "chainwork", "consensustype", "validatorsignature",
                 "popreference", "feeburnrate", "tx", "nTx"}
BOOLEAN_TYPE_ERROR = ("Internal error: [json.exception.type_error.302] type must be boolean, "
                      "but is number")


class Retarget(NodeCase):
    settings = {"retarget_interval": 4}

    @defer.inlineCallbacks
    def test_difficulty_multiplied_when_n_becomes_a_multiple(self):
        # §3.2: D x1.75 when N becomes a multiple of the interval; messages use %.6f
        yield self.mine(2)                                   # N = 3
        self.assertEqual((yield self.result("getdifficulty")), 1.0)
        yield self.mine(1)                                   # N = 4
        self.assertEqual((yield self.result("getdifficulty")), 1.75)
        template = yield self.result("getblocktemplate")
        self.assertEqual(template["difficulty"], 1.75)
        stale_difficulty = yield self.block_from_template(difficulty=1.0)
        self.assertEqual((yield self.error("submitblock", [stale_difficulty])), (
            -32603, "Failed to submit block: Block difficulty mismatch. Network requires 1.750000"))
        yield self.mine(4)                                   # N = 8: 3.0625, 3 zeros
        self.assertEqual((yield self.result("getdifficulty")), 3.0625)
        one_zero = yield self.block_from_template(zeros=1)
        self.assertEqual((yield self.error("submitblock", [one_zero])), (
            -32603, "Failed to submit block: Block does not meet difficulty target. "
                    "Hash has 1 leading zeros, requires 3"))
        info = yield self.result("getmininginfo")
        self.assertEqual(info["difficulty"], 3.0625)

    @defer.inlineCallbacks
    def test_setdifficulty_control(self):
        self.assertEqual((yield self.result("devnet_setdifficulty", [2.5])), 2.5)
        block = yield self.block_from_template(zeros=1)
        self.assertEqual((yield self.error("submitblock", [block]))[1],
                         "Failed to submit block: Block does not meet difficulty target. "
                         "Hash has 1 leading zeros, requires 2")
        yield self.mine(1)


class RewardsAndHalving(NodeCase):
    settings = {"halving_interval": 2, "block_reward": 40.0}

    @defer.inlineCallbacks
    def test_reward_halves(self):
        # §3.6: reward(h) = R / 2^floor(h / interval)
        template = yield self.result("getblocktemplate")             # height 1
        self.assertEqual((template["reward"], template["coinbasevalue"]), (40.0, 4000000000))
        yield self.mine(1)
        template = yield self.result("getblocktemplate")             # height 2
        self.assertEqual((template["reward"], template["coinbasevalue"]), (20.0, 2000000000))
        yield self.mine(2)
        template = yield self.result("getblocktemplate")             # height 4
        self.assertEqual(template["block_reward"], 10.0)
        self.assertEqual((yield self.result("getblock", [2]))["reward"], 20.0)


class OtherMiner(NodeCase):
    @defer.inlineCallbacks
    def test_other_miner_makes_the_pool_stale(self):
        # §5 item 17, §3.10: first valid block at N wins
        block = yield self.block_from_template()
        hashes = yield self.result("devnet_mine")
        self.assertEqual((yield self.result("getblockcount")), 2)
        self.assertEqual((yield self.result("getbestblockhash")), hashes[0])
        self.assertEqual((yield self.error("submitblock", [block])),
                         (-32603, "Failed to submit block: Stale block"))
        mined = yield self.result("getblock", [1])
        self.assertEqual(mined["miner"], self.node.other_miner_address())
        self.assertEqual(mined["tx"][0]["to"], self.node.other_miner_address())

    @defer.inlineCallbacks
    def test_mine_count_and_address(self):
        address = "tGXC" + "1" * 34
        hashes = yield self.result("devnet_mine", [3, {"address": address}])
        self.assertEqual(len(hashes), 3)
        self.assertEqual((yield self.result("getblockcount")), 4)
        self.assertEqual((yield self.result("getblock", [3]))["tx"][0]["to"], address)


class OtherMinerInterval(NodeCase):
    settings = {"other_miner_interval": 0.05}

    @defer.inlineCallbacks
    def test_blocks_appear_on_their_own(self):
        from twisted.internet import reactor
        yield task.deferLater(reactor, 0.4, lambda: None)
        self.assertGreater((yield self.result("getblockcount")), 2)


class ListenOnConfiguredEndpoint(NodeCase):
    def test_url_and_port(self):
        # §5 item 16: binding as configured
        self.assertEqual(self.service.url, f"http://127.0.0.1:{self.port}")

    @defer.inlineCallbacks
    def test_second_service_on_a_taken_port_fails_whenlistening(self):
        other = DevNodeService(DevNodeSettings(), f"tcp:{self.port}:interface=127.0.0.1")
        other.startService()
        try:
            yield other.whenListening()
        except Exception:
            pass
        else:
            self.fail("listening on a taken port succeeded")
        finally:
            yield other.stopService()
        self.flushLoggedErrors()


class GetBlock(NodeCase):
    @defer.inlineCallbacks
    def test_selectors(self):
        hashes = yield self.mine(2)
        tip = hashes[-1]
        for selector in (tip, 2, "2", "latest", "best", "-1", -1):
            block = yield self.result("getblock", [selector])
            self.assertEqual(block["hash"], tip, selector)
        self.assertEqual((yield self.result("getblock", [1]))["hash"], hashes[0])
        for method, params in (("getblockbynumber", [1]), ("gxc_getBlockByNumber", [1])):
            self.assertEqual((yield self.result(method, params))["hash"], hashes[0])
        self.assertEqual((yield self.result("getlatestblock"))["hash"], tip)
        latest = yield self.result("gxc_getLatestBlock", [False])
        self.assertEqual(latest["tx"], [self.node.chain.tip.transactions[0].txid])

    @defer.inlineCallbacks
    def test_result_keys_and_values(self):
        [block_hash] = yield self.mine(1)
        block = yield self.result("getblock", [block_hash])
        self.assertEqual(set(block), GETBLOCK_KEYS)
        genesis = self.node.chain.blocks[0].hash
        self.assertEqual(block["height"], 1)
        self.assertEqual(block["confirmations"], 1)           # tip = 1
        self.assertEqual(block["version"], 1)
        self.assertEqual(block["bits"], "1d00ffff")
        self.assertEqual(block["previousblockhash"], genesis)
        self.assertEqual(block["reward"], 50.0)
        self.assertEqual(block["size"], 144 + 256)
        self.assertEqual((block["gas_used"], block["gas_limit"]), (0, 0))
        self.assertEqual(block["chainwork"], 2.0)
        self.assertIsInstance(block["chainwork"], float)
        self.assertEqual(block["consensustype"], "pow_sha256")
        self.assertEqual((block["validatorsignature"], block["popreference"]), ("", ""))
        self.assertIsInstance(block["feeburnrate"], float)
        self.assertEqual(block["nTx"], 1)
        self.assertEqual(block["merkleroot"], block["tx"][0]["txid"])   # 1 tx: its txid
        self.assertEqual(block["time"], NOW)
        genesis_block = yield self.result("getblock", [0])
        self.assertEqual(genesis_block["confirmations"], 2)
        self.assertLess(genesis_block["reward"], 1e-300)               # garbage tiny float
        short = yield self.result("getblock", [block_hash, False])
        self.assertEqual(short["tx"], [block["tx"][0]["txid"]])

    @defer.inlineCallbacks
    def test_numeric_verbosity_is_a_type_error(self):
        # §5 item 13, §6 #12
        for verbosity in (0, 1, 2):
            self.assertEqual((yield self.error("getblock", [0, verbosity])),
                             (-32603, BOOLEAN_TYPE_ERROR))

    @defer.inlineCallbacks
    def test_parameter_errors(self):
        self.assertEqual((yield self.error("getblock", [])),
                         (-8, "Missing block hash/height parameter"))
        for selector in (True, None, {}, []):
            self.assertEqual((yield self.error("getblock", [selector])),
                             (-8, "Invalid block parameter type"))

    @defer.inlineCallbacks
    def test_fabricated_blocks(self):
        # §2.6 / §6 #11: unknown hash or height >= N never errors
        yield self.mine(1)
        unknown = "0" * 63 + "1"
        block = yield self.result("getblock", [unknown])
        self.assertEqual(set(block), GETBLOCK_KEYS)
        self.assertNotEqual(block["hash"], unknown)
        self.assertRegex(block["hash"], r"^[0-9a-f]{64}$")
        self.assertEqual((block["height"], block["confirmations"]), (0, 2))
        self.assertEqual((block["previousblockhash"], block["merkleroot"], block["miner"]),
                         ("", "", ""))
        self.assertEqual((block["difficulty"], block["nTx"], block["tx"]), (0.0, 0, []))
        self.assertEqual(block["time"], NOW)
        far = yield self.result("getblock", [99])
        self.assertEqual((far["height"], far["confirmations"]), (99, 1))
        # the invented hash changes every second
        self.clock.now += 1
        later = yield self.result("getblock", [unknown])
        self.assertNotEqual(later["hash"], block["hash"])
        # exact, case-sensitive hash match
        upper = self.node.chain.tip.hash.upper()
        self.assertEqual((yield self.result("getblock", [upper]))["height"], 0)


class GetBlockWithoutFabrication(NodeCase):
    settings = {"fabricated_getblock": False}

    @defer.inlineCallbacks
    def test_unknown_block_is_an_error(self):
        self.assertEqual((yield self.error("getblock", ["f" * 64])), (-8, "Block not found"))
        self.assertEqual((yield self.error("getblock", [5])), (-8, "Block not found"))


class MerkleVectors(NodeCase):
    def test_spec_vectors(self):
        # §2.6 vectors
        a = "e7ad959a716ebbdbd4a099ea43702773f3293dc55af0fe8703e4df295009ba94"
        b = "b76b5425c83ab460c42c3a4cbbc092b8c06c408c394d6197623d3d9abd4971df"
        c = "1cc98c7186b3aea9c7ef5028e4395dcbe612516d05ddc486daa2c28d673a50ef"
        self.assertEqual(merkle_root([]), "")
        self.assertEqual(merkle_root([c]), c)
        self.assertEqual(merkle_root([a, b]),
                         "3406aa8ec9072547ddbb7a03b82b12569eee2acac572e0a5c0364aba1fc9eb25")
        self.assertEqual(merkle_root([a, b, c]),
                         "3345d99f4603184aa516e093c4a63fca9c5fe74cecdd602f5bf12d564415633e")


class MerklePublishedVectors(NodeCase):
    def test_every_merkle_vector(self):
        # tests/vectors/gxc-legacy-hashes.json: the node's own calculateMerkleRoot
        path = os.path.join(os.path.dirname(__file__), "..", "vectors", "gxc-legacy-hashes.json")
        with open(path) as handle:
            vectors = json.load(handle)["merkle"]
        self.assertGreater(len(vectors), 3)
        for vector in vectors:
            self.assertEqual(merkle_root(vector["txids"]), vector["gxc_merkle_root"],
                             vector["name"])


class FreshGenesis(NodeCase):
    settings = {"genesis_seed": None}

    def test_each_fresh_node_has_a_new_random_genesis(self):
        # §3.11, §5 item 5
        other = DevNodeService(DevNodeSettings())
        self.assertNotEqual(other.node.chain.blocks[0].hash, self.node.chain.blocks[0].hash)
        self.assertNotEqual(other.node.wallet.address, self.node.wallet.address)

    def test_a_seed_makes_it_reproducible(self):
        first = DevNodeService(DevNodeSettings(genesis_seed="s")).node
        second = DevNodeService(DevNodeSettings(genesis_seed="s")).node
        self.assertEqual(first.chain.blocks[0].hash, second.chain.blocks[0].hash)
        self.assertEqual(first.wallet.address, second.wallet.address)
