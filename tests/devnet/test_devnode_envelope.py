"""JSON-RPC envelope rules and type-error texts (spec §1.4, §1.5, §2.0; §5 items 2, 3, 14)."""
import json

from twisted.internet import defer

from .nodecase import NodeCase
from .rawhttp import compact

BAD_JSONRPC = "Invalid Request: missing or invalid jsonrpc field"
BAD_METHOD = "Invalid Request: missing or invalid method field"
TYPE_305_OBJECT = ("[json.exception.type_error.305] cannot use operator[] with a numeric "
                   "argument with object")


class Envelope(NodeCase):
    @defer.inlineCallbacks
    def envelope(self, body: bytes):
        response = yield self.post(body)
        self.assertEqual(response.status_line, b"HTTP/1.1 200 OK")
        return json.loads(response.body)

    @defer.inlineCallbacks
    def test_jsonrpc_must_be_the_string_2_0(self):
        for version in ('"1.0"', "2.0", "2", "null", '"2.0 "'):
            reply = yield self.envelope(
                f'{{"jsonrpc":{version},"id":9,"method":"getblockcount"}}'.encode())
            self.assertEqual(reply, {"error": {"code": -32600, "message": BAD_JSONRPC},
                                     "id": 9, "jsonrpc": "2.0"}, version)
        reply = yield self.envelope(b'{"method":"getblockcount"}')
        self.assertEqual(reply["id"], None)
        self.assertEqual(reply["error"]["code"], -32600)

    @defer.inlineCallbacks
    def test_no_batch_and_non_objects(self):
        for body in (b'[{"jsonrpc":"2.0","id":1,"method":"getblockcount"}]', b"[]", b"123",
                     b'"x"', b"null"):
            reply = yield self.envelope(body)
            self.assertEqual(reply, {"error": {"code": -32600, "message": BAD_JSONRPC},
                                     "id": None, "jsonrpc": "2.0"}, body)

    @defer.inlineCallbacks
    def test_method_must_be_a_string(self):
        for method in ("", ',"method":5', ',"method":null', ',"method":["getblockcount"]'):
            reply = yield self.envelope(f'{{"jsonrpc":"2.0","id":"a"{method}}}'.encode())
            self.assertEqual(reply, {"error": {"code": -32600, "message": BAD_METHOD},
                                     "id": "a", "jsonrpc": "2.0"})

    @defer.inlineCallbacks
    def test_unknown_and_case_sensitive_methods(self):
        for method in ("getwork", "GetBlockCount", "gxc_getBlockchainInfo", "submitwork", ""):
            self.assertEqual((yield self.error(method)), (-32601, f"Method not found: {method}"))

    @defer.inlineCallbacks
    def test_not_json_is_a_parse_error_with_null_id(self):
        reply = yield self.envelope(b"getblockcount")
        self.assertEqual(reply, {"error": {"code": -32700, "message": (
            "Parse error: [json.exception.parse_error.101] parse error at line 1, column 1: "
            "syntax error while parsing value - invalid literal; last read: 'g'")},
            "id": None, "jsonrpc": "2.0"})
        reply = yield self.envelope(b'{"jsonrpc":"2.0","id":1,"method":"getblockcount",}')
        self.assertEqual(reply["error"]["message"], (
            "Parse error: [json.exception.parse_error.101] parse error at line 1, column 50: "
            "syntax error while parsing object key - unexpected '}'; expected string literal"))

    @defer.inlineCallbacks
    def test_id_is_echoed_verbatim(self):
        for raw_id in ('"abc"', "0", "-5", "1.5", "null", "[1,{\"b\":2,\"a\":1}]", "true",
                       "18446744073709551615", '"ünï"'):
            response = yield self.post(
                f'{{"jsonrpc":"2.0","id":{raw_id},"method":"getblockcount"}}'.encode())
            self.assertEqual(json.loads(response.body)["id"], json.loads(raw_id))
        response = yield self.post(b'{"jsonrpc":"2.0","method":"getblockcount"}')
        self.assertEqual(response.body, b'{"id":null,"jsonrpc":"2.0","result":1}')

    @defer.inlineCallbacks
    def test_success_has_no_error_key_and_error_no_result_key(self):
        good = yield self.rpc("getblockcount")
        self.assertEqual(set(good), {"id", "jsonrpc", "result"})
        bad = yield self.rpc("getblockhash", [])
        self.assertEqual(set(bad), {"error", "id", "jsonrpc"})

    @defer.inlineCallbacks
    def test_params_default_null_and_extra_elements(self):
        self.assertEqual((yield self.result("getblockcount")), 1)
        self.assertEqual((yield self.result("getblockcount", None)), 1)
        reply = yield self.envelope(b'{"jsonrpc":"2.0","id":1,"method":"getblockcount",'
                                    b'"params":null}')
        self.assertEqual(reply["result"], 1)
        reply = yield self.envelope(b'{"jsonrpc":"2.0","id":1,"method":"getblockhash",'
                                    b'"params":null}')
        self.assertEqual(reply["error"], {"code": -8, "message": "Missing block height parameter"})
        genesis = yield self.result("getblockhash", [0, "extra", 7])
        self.assertEqual(genesis, self.node.chain.blocks[0].hash)

    @defer.inlineCallbacks
    def test_named_params_fail_where_params_are_read(self):
        # §1.4: an object makes methods that read params fail with type_error.305
        self.assertEqual((yield self.error("getblockhash", {"height": 0})),
                         (-32603, "Internal error: " + TYPE_305_OBJECT))
        self.assertEqual((yield self.error("getblocktemplate", {"minerAddress": "x"})),
                         (-32603, "Failed to get block template: " + TYPE_305_OBJECT))
        self.assertEqual((yield self.error("submitblock", {"block": {}})),
                         (-32603, "Failed to submit block: " + TYPE_305_OBJECT))
        self.assertEqual((yield self.result("getblockcount", {"x": 1})), 1)   # ignores params


class TypeErrors(NodeCase):
    """§5 item 3: JSON-library texts with the method's prefix."""

    @defer.inlineCallbacks
    def test_generic_prefix(self):
        cases = [("getblockhash", ["1"], "number", "string"),
                 ("getblockhash", [True], "number", "boolean"),
                 ("getblockhash", [None], "number", "null"),
                 ("getbalance", [5], "string", "number"),
                 ("getbalance", [[]], "string", "array"),
                 ("validateaddress", [{}], "string", "object"),
                 ("gettransaction", ["x", 1], "boolean", "number"),
                 ("listtransactions", ["x", "10"], "number", "string")]
        for method, params, expected, actual in cases:
            self.assertEqual((yield self.error(method, params)), (
                -32603, f"Internal error: [json.exception.type_error.302] type must be "
                        f"{expected}, but is {actual}"), (method, params))

    @defer.inlineCallbacks
    def test_template_prefix(self):
        self.assertEqual((yield self.error("getblocktemplate", [{"minerAddress": 5}])), (
            -32603, "Failed to get block template: [json.exception.type_error.302] type must be "
                    "string, but is number"))

    @defer.inlineCallbacks
    def test_submit_prefix(self):
        self.assertEqual((yield self.error("submitblock", [{"hash": 5}])), (
            -32603, "Failed to submit block: [json.exception.type_error.302] type must be "
                    "string, but is number"))


class WrongParameterOrders(NodeCase):
    """§5 item 14: GXC's own pool_base.py habits are rejected like the node does."""

    @defer.inlineCallbacks
    def test_sendtoaddress_from_to_amount(self):
        wallet, other = self.node.wallet.address, self.node.other_miner_address()
        self.assertEqual((yield self.error("sendtoaddress", [wallet, other, 1.0])), (
            -32603, "Internal error: [json.exception.type_error.302] type must be string, "
                    "but is number"))

    @defer.inlineCallbacks
    def test_getblockhash_string_height(self):
        code, message = yield self.error("getblockhash", ["1"])
        self.assertEqual(code, -32603)
        self.assertIn("type must be number, but is string", message)

    @defer.inlineCallbacks
    def test_pool_base_submit_format(self):
        template = yield self.result("getblocktemplate")
        block = {"height": 1, "prev_block_hash": template["previousblockhash"],
                 "merkle_root": "00" * 32, "timestamp": template["curtime"], "nonce": 1,
                 "difficulty": 1.0, "transactions": template["transactions"]}
        self.assertEqual((yield self.error("submitblock", [block])),
                         (-32603, "Failed to submit block: Block hash is required"))

    @defer.inlineCallbacks
    def test_gxc_getBlockchainInfo_does_not_exist(self):
        self.assertEqual((yield self.error("gxc_getBlockchainInfo")),
                         (-32601, "Method not found: gxc_getBlockchainInfo"))

    @defer.inlineCallbacks
    def test_devnet_methods_are_not_node_methods_but_exist_here(self):
        # the real node answers -32601 to devnet_*; the pool must never call them
        info = yield self.result("devnet_info")
        self.assertEqual(info["wallet"], self.node.wallet.address)
        body = compact({"jsonrpc": "2.0", "id": 1, "method": "devnet_nope"})
        response = yield self.post(body)
        self.assertEqual(json.loads(response.body)["error"]["code"], -32601)
