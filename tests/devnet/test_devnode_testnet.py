"""[devnet] difficulty = 1.0 is the real testnet (spec §3.2, §6.1): one leading zero,
x1.75 every 2016 blocks, and the per-request cost does not grow with the chain."""
import tempfile
from pathlib import Path

from twisted.internet import defer
from twisted.trial import unittest

from gxcpoold.config import load_config

from .nodecase import NodeCase

FAILED = "Failed to submit block: "


class TestnetDifficulty(NodeCase):
    settings = {"difficulty": 1.0}

    @defer.inlineCallbacks
    def submit(self, zeros: int, difficulty=None):
        block = yield self.block_from_template(zeros=zeros)
        if difficulty is not None:
            block["difficulty"] = difficulty
        block["hash"] = ("0" * zeros + "f" + block["hash"][zeros + 1:])[:64]
        envelope = yield self.rpc("submitblock", [block])
        return envelope.get("error", {}).get("message")

    def grow_to(self, n: int):
        """Other-miner blocks (direct calls: thousands of them) until N = n."""
        while self.node.chain.n < n:
            self.node.mine_other()

    @defer.inlineCallbacks
    def test_one_zero_then_retargets_every_2016_blocks(self):
        template = yield self.result("getblocktemplate")
        self.assertEqual(template["difficulty"], 1.0)
        self.assertEqual((yield self.submit(0)), FAILED + (
            "Block does not meet difficulty target. Hash has 0 leading zeros, requires 1"))
        self.assertIsNone((yield self.submit(1)))            # 1 hash in 16 is a block

        self.grow_to(2015)
        self.assertEqual((yield self.result("getdifficulty")), 1.0)
        self.assertIsNone((yield self.submit(1)))            # block 2015: N becomes 2016
        self.assertEqual((yield self.result("getblockcount")), 2016)
        self.assertEqual((yield self.result("getdifficulty")), 1.75)
        # floor(1.75) = 1 zero still; the old difficulty is refused (§6.1)
        self.assertEqual((yield self.submit(1, difficulty=1.0)),
                         FAILED + "Block difficulty mismatch. Network requires 1.750000")
        self.assertIsNone((yield self.submit(1)))

        self.grow_to(4032)
        self.assertEqual((yield self.result("getdifficulty")), 3.0625)
        self.assertEqual((yield self.submit(2)), FAILED + (
            "Block does not meet difficulty target. Hash has 2 leading zeros, requires 3"))
        self.assertIsNone((yield self.submit(3)))
        self.grow_to(6048)
        self.assertEqual((yield self.result("getdifficulty")), 5.359375)

    @defer.inlineCallbacks
    def test_lookups_by_hash_and_height_answer_deep_in_the_chain(self):
        self.grow_to(3000)
        early = self.node.chain.blocks[5]
        self.assertEqual((yield self.result("getblockhash", [5])), early.hash)
        self.assertEqual((yield self.result("getblock", [early.hash, False]))["height"], 5)
        info = yield self.result("getblockchaininfo")
        work = sum(b.difficulty for b in self.node.chain.blocks)
        self.assertEqual(info["chainwork"], f"{int(work):064x}")


class ConfiguredTestnet(unittest.TestCase):
    def test_the_pool_configuration_gives_the_testnet_rules(self):
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "gxcpool.toml"
            path.write_text("[devnet]\ndifficulty = 1.0\n", encoding="utf-8")
            node = load_config(str(path), environ={}).devnet.node
        self.assertEqual((node.floor, node.retarget_interval, node.retarget_factor),
                         (1.0, 2016, 1.75))

    def test_the_chain_is_kept_in_the_state_directory_unless_configured(self):
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "gxcpool.toml"
            environ = {"GXCPOOL_POOL_STATE_DIR": directory}
            for table, expected in (("", Path(directory) / "devnode.json"),
                                    ("state_file = ''\n", Path(directory) / "devnode.json"),
                                    ("state_file = 'elsewhere.json'\n", Path("elsewhere.json"))):
                path.write_text("[devnet]\n" + table, encoding="utf-8")
                node = load_config(str(path), environ=environ).devnet.node
                self.assertEqual(Path(node.state_file), expected, table)
