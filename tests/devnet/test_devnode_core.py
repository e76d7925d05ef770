"""Core pool-facing methods over real HTTP (spec §2.1-§2.5, §2.9, §2.19, §3.1, §3.11)."""
import re

from twisted.internet import defer

from .nodecase import NOW, NodeCase

GENESIS_TXID = "1cc98c7186b3aea9c7ef5028e4395dcbe612516d05ddc486daa2c28d673a50ef"


class FreshNode(NodeCase):
    @defer.inlineCallbacks
    def test_fresh_node_has_genesis_only_and_count_is_n(self):
        # §5 item 4: getblockcount = N = tip + 1 (fresh node: 1)
        self.assertEqual((yield self.result("getblockcount")), 1)
        genesis = yield self.result("getblockhash", [0])
        self.assertEqual((yield self.result("getbestblockhash")), genesis)
        self.assertRegex(genesis, r"^[0-9a-f]{64}$")

    @defer.inlineCallbacks
    def test_genesis_fixed_fields(self):
        # §5 item 5 / §3.11
        block = yield self.result("getblock", [0])
        self.assertEqual(block["time"], 1640995200)
        self.assertEqual(block["previousblockhash"], "0" * 64)
        self.assertEqual(block["nonce"], 345)
        self.assertEqual(block["difficulty"], 1.0)
        self.assertEqual(block["miner"], "tGXC3tz6MsTbP2NCMvc33JixQdkQi6tf")
        [coinbase] = block["tx"]
        self.assertEqual(coinbase["txid"], GENESIS_TXID)
        self.assertEqual(coinbase["to"], "")
        self.assertEqual(coinbase["prevtxhash"], "")
        self.assertEqual(coinbase["outputs"], [{"address": "tGXC3tz6MsTbP2NCMvc33JixQdkQi6tf",
                                                "amount": 50.0, "value": 50.0, "script": ""}])

    @defer.inlineCallbacks
    def test_template_shape(self):
        # §2.1
        address = self.node.wallet.address
        template = yield self.result("getblocktemplate", [{"minerAddress": address}])
        genesis = yield self.result("getbestblockhash")
        self.assertEqual(template["height"], 1)
        self.assertEqual(template["previousblockhash"], genesis)
        self.assertEqual(template["difficulty"], 1.0)
        self.assertEqual(template["coinbasevalue"], 5000000000)
        for key in ("coinbase_value", "block_reward", "reward"):
            self.assertEqual(template[key], 50.0)
        self.assertEqual((template["curtime"], template["mintime"]), (NOW, NOW))
        self.assertEqual(template["bits"], "1d00ffff")
        self.assertEqual(template["target"], "00000000ffff" + "0" * 52)
        self.assertEqual(template["noncerange"], "00000000ffffffff")
        self.assertEqual((template["sigoplimit"], template["sizelimit"]), (20000, 1000000))
        self.assertEqual((template["mutable"], template["coinbaseaux"]), ([], {}))
        self.assertEqual((template["consensus_type"], template["block_type"]), ("pow", "pow"))
        self.assertEqual(template["version"], 1)
        [coinbase] = template["transactions"]
        self.assertRegex(coinbase["txid"], r"^[0-9a-f]{64}$")
        self.assertEqual(coinbase["hash"], coinbase["txid"])
        self.assertEqual(coinbase, {
            "hash": coinbase["txid"], "txid": coinbase["txid"], "type": "COINBASE", "from": "",
            "to": address, "amount": 50.0, "fee": 0.0, "timestamp": NOW, "is_coinbase": True,
            "coinbase": True, "block_height": 1, "blockHeight": 1, "inputs": [],
            "outputs": [{"address": address, "amount": 50.0,
                         "script": f"OP_DUP OP_HASH160 {address} OP_EQUALVERIFY OP_CHECKSIG"}]})

    @defer.inlineCallbacks
    def test_template_coinbase_txid_is_new_every_call(self):
        # §5 item 9
        first = yield self.result("getblocktemplate")
        second = yield self.result("getblocktemplate")
        self.assertNotEqual(first["transactions"][0]["txid"], second["transactions"][0]["txid"])

    @defer.inlineCallbacks
    def test_template_miner_address_keys_and_default(self):
        # §2.1: minerAddress, then miner_address, then address; "" or missing = node wallet
        wallet = self.node.wallet.address
        cases = [(None, wallet), ([{}], wallet), ([{"minerAddress": ""}], wallet),
                 ([{"miner_address": "tGXCx"}], "tGXCx"), ([{"address": "abc"}], "abc"),
                 ([{"address": "a", "minerAddress": "m"}], "m"), (["notanobject"], wallet),
                 ([{"minerAddress": "m", "rules": ["segwit"], "algorithm": "sha256"}], "m")]
        for params, expected in cases:
            template = yield self.result("getblocktemplate", params)
            self.assertEqual(template["transactions"][0]["to"], expected, params)

    @defer.inlineCallbacks
    def test_alias_gxc_getBlockTemplate(self):
        template = yield self.result("gxc_getBlockTemplate")
        self.assertEqual(template["height"], 1)

    @defer.inlineCallbacks
    def test_submit_accepts_and_chain_advances(self):
        # §2.2 success, §3.1
        block = yield self.block_from_template(self.node.wallet.address)
        envelope = yield self.rpc("submitblock", [block])
        self.assertEqual(envelope, {"id": 1, "jsonrpc": "2.0", "result": None})
        self.assertEqual((yield self.result("getblockcount")), 2)
        self.assertEqual((yield self.result("getbestblockhash")), block["hash"])
        self.assertEqual((yield self.result("getblockhash", [1])), block["hash"])
        template = yield self.result("getblocktemplate")
        self.assertEqual(template["height"], 2)
        self.assertEqual(template["previousblockhash"], block["hash"])

    @defer.inlineCallbacks
    def test_getblockhash_errors(self):
        # §2.5
        self.assertEqual((yield self.error("getblockhash", [])),
                         (-8, "Missing block height parameter"))
        self.assertEqual((yield self.error("getblockhash", [1])), (-8, "Block height out of range"))
        self.assertEqual((yield self.error("getblockhash", [-1])), (-8, "Block height out of range"))
        self.assertEqual((yield self.error("getblockhash", ["1"])), (
            -32603, "Internal error: [json.exception.type_error.302] type must be number, "
                    "but is string"))

    @defer.inlineCallbacks
    def test_blockchaininfo_and_mininginfo_report_n(self):
        # §2.8, §2.9, §5 item 4
        yield self.mine(2)
        info = yield self.result("getblockchaininfo")
        tip = yield self.result("getbestblockhash")
        self.assertEqual(info["blocks"], 3)
        self.assertEqual(info["height"], 3)
        self.assertEqual(info["bestblockhash"], tip)
        self.assertEqual(info["chain"], "test")
        self.assertEqual((info["block_reward"], info["reward"]), (50.0, 50.0))
        self.assertEqual(info["difficulty"], 1.0)
        self.assertRegex(info["chainwork"], r"^[0-9a-f]{64}$")
        self.assertEqual(info["mediantime"], NOW)
        self.assertEqual((info["initialblockdownload"], info["pruned"]), (False, False))
        self.assertEqual((info["size_on_disk"], info["verificationprogress"]), (0, 1.0))
        mining = yield self.result("getmininginfo")
        self.assertEqual(mining, {"blocks": 3, "currentblocksize": 1000, "currentblocktx": 1,
                                  "difficulty": 1.0, "generate": False, "genproclimit": 1,
                                  "hashespersec": 0, "networkhashps": 0.0, "pooledtx": 0,
                                  "testnet": True})
        self.assertEqual((yield self.result("getdifficulty")), 1.0)

    @defer.inlineCallbacks
    def test_getnewaddress_is_the_constant_wallet_address(self):
        # §2.19, §4
        first = yield self.result("getnewaddress")
        second = yield self.result("getnewaddress", ["label"])
        self.assertEqual(first, second)
        self.assertRegex(first, r"^tGXC[0-9a-f]{34}$")
        self.assertEqual((yield self.error("getnewaddress", [5])), (
            -32603, "Internal error: [json.exception.type_error.302] type must be string, "
                    "but is number"))


class MainnetNode(NodeCase):
    settings = {"network": "mainnet"}

    @defer.inlineCallbacks
    def test_mainnet_chain_floor_and_address(self):
        info = yield self.result("getblockchaininfo")
        self.assertEqual(info["chain"], "main")
        self.assertEqual(info["difficulty"], 1000.0)
        self.assertTrue(re.match(r"^GXC[0-9a-f]{34}$", (yield self.result("getnewaddress"))))
        block = yield self.block_from_template(zeros=64)
        self.assertEqual((yield self.error("submitblock", [block])), (
            -32603, "Failed to submit block: Block does not meet difficulty target. "
                    "Hash has 64 leading zeros, requires 1000"))
