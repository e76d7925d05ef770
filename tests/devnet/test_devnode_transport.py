"""Transport of spec §1.2, §1.3 and §1.6 over real loopback TCP (§5 items 1, 16)."""
import json

from twisted.internet import defer

from .nodecase import NOW, NodeCase
from .rawhttp import compact, post_bytes

EMPTY_BODY = ("Empty POST body. Use GET endpoints: /api/getinfo, /api/getblockcount, "
              "/api/getbalance?address=xxx, /api/listunspent?address=xxx, "
              "/api/getblock?hash=xxx, /api/gettransaction?txid=xxx")
COUNT_REQUEST = b'{"jsonrpc":"2.0","id":7,"method":"getblockcount"}'


def expected_response(status: bytes, body: bytes) -> bytes:
    return (b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n"
            b"Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n" + body)


class Framing(NodeCase):
    @defer.inlineCallbacks
    def test_exact_response_bytes_and_clean_close(self):
        # §1.3: status line, four headers in order, compact sorted body, then close
        response = yield self.post(COUNT_REQUEST)
        self.assertEqual(response.data, expected_response(
            b"200 OK", b'{"id":7,"jsonrpc":"2.0","result":1}'))
        self.assertFalse(response.reset)

    @defer.inlineCallbacks
    def test_any_path_is_json_rpc(self):
        # §1.2: the path is ignored
        for path in ("/", "/api/x", "/wallet/abc?x=1"):
            response = yield self.post(COUNT_REQUEST, path)
            self.assertEqual(response.json(), {"id": 7, "jsonrpc": "2.0", "result": 1})

    @defer.inlineCallbacks
    def test_errors_are_http_200(self):
        response = yield self.post(b'{"jsonrpc":"2.0","id":1,"method":"nope"}')
        self.assertEqual(response.data, expected_response(
            b"200 OK",
            b'{"error":{"code":-32601,"message":"Method not found: nope"},"id":1,"jsonrpc":"2.0"}'))

    @defer.inlineCallbacks
    def test_headers_only_is_empty_post_body(self):
        # §1.2: body written later (or never, e.g. waiting for 100 Continue)
        head = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n"
                b"Expect: 100-continue\r\n\r\n")
        response = yield self.raw(head)
        self.assertEqual(response.json(), {
            "error": {"code": -32700, "message": EMPTY_BODY}, "id": None, "jsonrpc": "2.0"})
        self.assertEqual(response.status_line, b"HTTP/1.1 200 OK")

    @defer.inlineCallbacks
    def test_body_in_a_later_segment_is_never_read(self):
        head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n"
        response = yield self.raw([head, COUNT_REQUEST], gap=0.2)
        self.assertEqual(response.json()["error"]["message"], EMPTY_BODY)

    @defer.inlineCallbacks
    def test_partial_body_is_a_parse_error(self):
        body = COUNT_REQUEST[:COUNT_REQUEST.index(b'"method":') + 9]   # ends after the colon
        self.assertEqual(len(body), 33)
        response = yield self.raw(post_bytes(COUNT_REQUEST)[:-len(COUNT_REQUEST)] + body)
        envelope = response.json()
        self.assertEqual(envelope["id"], None)
        self.assertEqual(envelope["error"]["code"], -32700)
        self.assertEqual(envelope["error"]["message"], (
            "Parse error: [json.exception.parse_error.101] parse error at line 1, column 34: "
            "syntax error while parsing value - unexpected end of input; "
            "expected '[', '{', or a literal"))

    @defer.inlineCallbacks
    def test_content_length_is_ignored(self):
        for length in (b"3", b"5000", b"banana"):
            request = (b"POST / HTTP/1.1\r\nContent-Length: " + length + b"\r\n\r\n"
                       + COUNT_REQUEST)
            response = yield self.raw(request)
            self.assertEqual(response.json()["result"], 1)

    @defer.inlineCallbacks
    def test_body_is_after_the_first_crlfcrlf(self):
        request = b"POST / HTTP/1.1\r\n\r\n" + COUNT_REQUEST + b"\r\n\r\nmore"
        response = yield self.raw(request)
        self.assertEqual(response.json()["error"]["code"], -32700)
        response = yield self.raw(b"POST / HTTP/1.1\r\n\r\n" + COUNT_REQUEST)
        self.assertEqual(response.json()["result"], 1)

    @defer.inlineCallbacks
    def test_request_under_the_limit_is_served(self):
        # observed: 8150 B OK
        def padded(size):
            body = COUNT_REQUEST[:-1] + b',"pad":"' + b"x" * size + b'"}'
            return post_bytes(body)
        size = 8150 - len(padded(0))
        while len(padded(size)) > 8150:   # Content-Length grew by a digit or two
            size -= 1
        request = padded(size)
        self.assertEqual(len(request), 8150)
        response = yield self.raw(request)
        self.assertEqual(response.json()["result"], 1)
        self.assertFalse(response.reset)

    @defer.inlineCallbacks
    def test_oversized_request_is_parse_error_then_reset(self):
        # §1.2: first 8191 bytes parsed -> -32700 with a long "last read", then RST
        for size in (8200, 9000, 20000):
            body = COUNT_REQUEST[:-1] + b',"pad":"' + b"x" * size + b'"}'
            request = post_bytes(body)
            response = yield self.raw(request)
            self.assertTrue(response.reset, size)
            if response.data:   # the answer may or may not arrive before the reset
                message = response.json()["error"]["message"]
                self.assertTrue(message.startswith(
                    "Parse error: [json.exception.parse_error.101] parse error at line 1, "
                    "column "), message)
                self.assertIn("invalid string: missing closing quote; last read: "
                              "'\"xxxxxxxx", message)
                self.assertEqual(response.json()["id"], None)

    @defer.inlineCallbacks
    def test_one_response_per_connection(self):
        # §1.1: no keep-alive.  A pipelined second request is part of the "body"
        # (everything after the first CRLFCRLF), so the one answer is a parse error.
        request = post_bytes(COUNT_REQUEST)
        response = yield self.raw(request + request)
        self.assertEqual(response.data.count(b"HTTP/1.1"), 1)
        self.assertEqual(response.json()["error"]["code"], -32700)
        self.assertIn(b"Connection: close", response.headers)
        self.assertFalse(response.reset)

    @defer.inlineCallbacks
    def test_authorization_is_ignored(self):
        # §1.1: no auth
        request = (b"POST / HTTP/1.1\r\nAuthorization: Basic Zm9vOmJhcg==\r\n\r\n"
                   + COUNT_REQUEST)
        response = yield self.raw(request)
        self.assertEqual(response.json()["result"], 1)

    @defer.inlineCallbacks
    def test_garbage_never_crashes_the_node(self):
        for junk in (b"\x00\xff\xfe garbage", b"\r\n\r\n", b"POST", bytes(range(256)) * 4,
                     b"POST / HTTP/1.1\r\n\r\n\xff\xfe\x00", b"GET \xff HTTP/1.1\r\n\r\n"):
            response = yield self.raw(junk)
            self.assertTrue(response.status_line.startswith(b"HTTP/1.1 "), junk)
        response = yield self.post(COUNT_REQUEST)
        self.assertEqual(response.json()["result"], 1)

    @defer.inlineCallbacks
    def test_invalid_utf8_echo_becomes_http_500(self):
        # the library refuses to print invalid UTF-8 (type_error.316): the handler's 500
        response = yield self.post(b'{"jsonrpc":"2.0","method":"getblockcount","id":"\xff')
        self.assertEqual(response.status_line, b"HTTP/1.1 500 Internal Server Error")
        envelope = response.json()
        self.assertEqual(envelope["id"], None)
        self.assertEqual(envelope["error"]["code"], -32603)
        self.assertTrue(envelope["error"]["message"].startswith(
            "Internal server error: [json.exception.type_error.316] invalid UTF-8 byte"))


class GetEndpoints(NodeCase):
    @defer.inlineCallbacks
    def test_health_paths(self):
        # §1.6: height is N
        for path in ("/", "/health", "/ping"):
            response = yield self.get(path)
            self.assertEqual(response.data, expected_response(b"200 OK", (
                '{"difficulty":1.0,"height":1,"network":"testnet",'
                f'"service":"GXC Blockchain Node","status":"ok","timestamp":{NOW}}}').encode()))

    @defer.inlineCallbacks
    def test_api_wrappers_return_the_envelope_with_id_1(self):
        for path in ("/api/getblockcount", "/getblockcount"):
            response = yield self.get(path)
            self.assertEqual(response.data, expected_response(
                b"200 OK", b'{"id":1,"jsonrpc":"2.0","result":1}'))
        for path, method in (("/api/getinfo", "getblockchaininfo"),
                             ("/api/getdifficulty", "getdifficulty"),
                             ("/api/getbestblockhash", "getbestblockhash"),
                             ("/api/getblockchaininfo", "getblockchaininfo"),
                             ("/api/getmininginfo", "getmininginfo"),
                             ("/api/getrawmempool", "getrawmempool")):
            response = yield self.get(path)
            expected = yield self.rpc(method)
            self.assertEqual(response.json(), expected, path)
        for path in ("/api/getnetworkinfo", "/api/getpeerinfo", "/api/getmempoolinfo",
                     "/api/getstakinginfo", "/api/listvalidators"):
            response = yield self.get(path)
            self.assertIn("result", response.json(), path)

    @defer.inlineCallbacks
    def test_template_wrapper_pays_the_node_wallet(self):
        response = yield self.get("/api/getblocktemplate")
        coinbase = response.json()["result"]["transactions"][0]
        self.assertEqual(coinbase["to"], self.node.wallet.address)

    @defer.inlineCallbacks
    def test_balance_and_unspent_wrappers(self):
        wallet = self.node.wallet.address
        response = yield self.get(f"/api/getbalance?address={wallet}")
        self.assertEqual(response.json(), {"id": 1, "jsonrpc": "2.0", "result": 0.0})
        response = yield self.get("/api/getbalance")
        self.assertEqual(response.json()["error"], {"code": -8,
                                                    "message": "Missing address parameter"})
        response = yield self.get("/api/listunspent")   # no address: all UTXOs
        self.assertEqual(response.json()["result"], [])  # genesis coinbase still immature
        response = yield self.get(f"/api/listunspent?address={wallet}")
        self.assertEqual(response.json()["result"], [])

    @defer.inlineCallbacks
    def test_getblock_and_gettransaction_wrappers(self):
        genesis = self.node.chain.blocks[0].hash
        response = yield self.get(f"/api/getblock?hash={genesis}")
        self.assertEqual(response.json()["result"]["hash"], genesis)
        response = yield self.get("/api/getblockhash?hash=" + genesis)   # prefix match
        self.assertEqual(response.json()["result"]["height"], 0)
        response = yield self.get("/api/gettransaction?txid=" + "1cc98c7186b3aea9c7ef5028e4395d"
                                  "cbe612516d05ddc486daa2c28d673a50ef")
        self.assertEqual(response.json()["result"]["blockindex"], 0)

    @defer.inlineCallbacks
    def test_missing_parameter_is_400(self):
        for path, body in (
                ("/api/getblock", b'{"error":"Missing hash parameter",'
                                  b'"usage":"/api/getblock?hash=BLOCKHASH"}'),
                ("/api/getblockhash", b'{"error":"Missing hash parameter",'
                                      b'"usage":"/api/getblock?hash=BLOCKHASH"}'),
                ("/api/gettransaction", b'{"error":"Missing txid parameter",'
                                        b'"usage":"/api/gettransaction?txid=TXID"}')):
            response = yield self.get(path)
            self.assertEqual(response.data, expected_response(b"400 Bad Request", body))

    @defer.inlineCallbacks
    def test_unknown_get_is_404(self):
        response = yield self.get("/nope?x=1")
        self.assertEqual(response.data, expected_response(b"404 Not Found", (
            b'{"error":"Not found","path":"/nope","hint":"Try /health, /api/getinfo, '
            b'/api/admin/login, /api/fraud/report, /api/mm/apply"}')))

    @defer.inlineCallbacks
    def test_other_methods_are_405(self):
        for method in (b"PUT", b"DELETE", b"post", b"HEAD"):
            response = yield self.raw(method + b" / HTTP/1.1\r\n\r\n")
            self.assertEqual(response.data, expected_response(
                b"405 Method Not Allowed", b'{"error":"Method not allowed"}'))

    @defer.inlineCallbacks
    def test_options_is_200_with_cors_and_empty_body(self):
        response = yield self.raw(b"OPTIONS /anything HTTP/1.1\r\n\r\n")
        self.assertEqual(response.status_line, b"HTTP/1.1 200 OK")
        self.assertIn(b"Access-Control-Allow-Methods: GET, POST, OPTIONS", response.headers)
        self.assertIn(b"Access-Control-Allow-Origin: *", response.headers)
        self.assertEqual(response.body, b"")


class WireFormat(NodeCase):
    @defer.inlineCallbacks
    def test_keys_sorted_compact_and_floats_with_a_point(self):
        # §1.3
        response = yield self.post(compact(
            {"jsonrpc": "2.0", "id": 1, "method": "getblocktemplate"}))
        body = response.body
        self.assertEqual(body, json.dumps(json.loads(body), separators=(",", ":"),
                                          sort_keys=True).encode())
        self.assertIn(b'"difficulty":1.0,', body)
        self.assertIn(b'"coinbasevalue":5000000000,', body)
        self.assertIn(b'"reward":50.0,', body)
        result = json.loads(body)["result"]
        self.assertEqual(list(result), sorted(result))
        self.assertEqual(list(result["transactions"][0]), sorted(result["transactions"][0]))

    @defer.inlineCallbacks
    def test_estimatefee_prints_shortest_round_trip_floats(self):
        self.node.fund(self.node.wallet.address, 5.0)
        yield self.result("sendtoaddress", [self.node.other_miner_address(), 1.0])
        response = yield self.post(compact({"jsonrpc": "2.0", "id": 1, "method": "estimatefee"}))
        self.assertEqual(response.body, (
            b'{"id":1,"jsonrpc":"2.0","result":{"base_fee":0.001,"current_tier":"low",'
            b'"dynamic_fees_enabled":true,"fee":0.00101,"fee_tiers":{"high":0.002,'
            b'"low":0.001,"medium":0.0015,"very_high":0.003},"max_fee":0.01,'
            b'"pending_transactions":1,"recommended_fee":0.00101}}'))


class LenientTransport(NodeCase):
    settings = {"single_read": False}

    @defer.inlineCallbacks
    def test_waits_for_the_whole_request(self):
        head = (b"POST / HTTP/1.1\r\nContent-Length: " + str(len(COUNT_REQUEST)).encode()
                + b"\r\n\r\n")
        response = yield self.raw([head, COUNT_REQUEST], gap=0.05)
        self.assertEqual(response.json()["result"], 1)
        body = COUNT_REQUEST[:-1] + b',"pad":"' + b"x" * 20000 + b'"}'
        response = yield self.raw(post_bytes(body))
        self.assertEqual(response.json()["result"], 1)
        self.assertFalse(response.reset)


class ConfiguredRequestLimit(NodeCase):
    settings = {"request_limit": 200}

    @defer.inlineCallbacks
    def test_limit_applies(self):
        response = yield self.post(COUNT_REQUEST)
        self.assertEqual(response.json()["result"], 1)
        body = COUNT_REQUEST[:-1] + b',"pad":"' + b"x" * 300 + b'"}'
        response = yield self.raw(post_bytes(body))
        self.assertTrue(response.reset)


class ClockOffset(NodeCase):
    settings = {"clock_offset": 100.0}

    @defer.inlineCallbacks
    def test_node_clock_is_shifted(self):
        template = yield self.result("getblocktemplate")
        self.assertEqual(template["curtime"], NOW + 100)
