"""NodeClient over real loopback TCP against scripted servers: framing, errors, retries."""
import json

from twisted.internet import defer, reactor
from twisted.trial import unittest

from gxcpoold.node.callqueue import SUBMIT
from gxcpoold.node.client import NodeClient
from gxcpoold.node.errors import (NodeBusy, NodeProtocolError, NodeRPCError, NodeRequestTooLarge,
                                  NodeTransportError)
from tests.node.fakes import ScriptedNode, answer_with, http, request_json


class ClientTestCase(unittest.TestCase):
    def serve(self, respond):
        node = ScriptedNode(respond)
        url = node.listen()
        self.addCleanup(node.stop)
        return node, url

    def client(self, url, **kw):
        kw.setdefault("timeout", 2.0)
        kw.setdefault("retry_backoff", 0.01)
        return NodeClient(reactor, url, **kw)


class Framing(ClientTestCase):
    async def test_one_compact_jsonrpc2_request_per_connection(self):
        node, url = self.serve(answer_with(7))
        result = await self.client(url).call("getblockcount")
        self.assertEqual(result, 7)
        self.assertEqual(len(node.requests), 1)
        raw = node.requests[0]
        head, _, body = raw.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"POST / HTTP/1.1\r\n"))
        self.assertIn(b"Content-Length: %d" % len(body), head)
        self.assertEqual(json.loads(body), {"jsonrpc": "2.0", "id": 1, "method": "getblockcount",
                                            "params": []})
        self.assertNotIn(b" ", body)               # compact separators

    async def test_params_are_positional(self):
        node, url = self.serve(answer_with("ab" * 32))
        await self.client(url).getblockhash(5)
        self.assertEqual(request_json(node.requests[0])["params"], [5])

    async def test_getblock_sends_boolean_verbosity(self):
        node, url = self.serve(answer_with({}))
        await self.client(url).getblock(3, verbose=0)
        self.assertEqual(request_json(node.requests[0])["params"], [3, False])

    async def test_listunspent_always_names_the_address(self):
        # `listunspent []` crashes the node's handler once a fee is mined (defect 13)
        node, url = self.serve(answer_with([]))
        client = self.client(url)
        await client.listunspent("tGXC" + "a" * 34)
        self.assertEqual(request_json(node.requests[0])["params"], ["tGXC" + "a" * 34])
        with self.assertRaises(ValueError):
            client.listunspent("")
        self.assertEqual(len(node.requests), 1)

    async def test_sendtoaddress_amount_is_a_json_number_from_base_units(self):
        node, url = self.serve(answer_with("t" * 64))
        await self.client(url).sendtoaddress("tGXC" + "a" * 34, 123_456_789)
        self.assertEqual(request_json(node.requests[0])["params"], ["tGXC" + "a" * 34, 1.23456789])

    async def test_rpc_error_is_raised_with_code_and_message(self):
        body = b'{"error":{"code":-32603,"message":"Failed to submit block: Stale block"},"id":1,"jsonrpc":"2.0"}'
        node, url = self.serve(lambda data: http(body))
        with self.assertRaises(NodeRPCError) as info:
            await self.client(url).call("submitblock", {})
        self.assertEqual(info.exception.code, -32603)
        self.assertEqual(info.exception.message, "Failed to submit block: Stale block")
        self.assertEqual(len(node.requests), 1)       # an answer is never retried


class Failures(ClientTestCase):
    async def test_node_down_is_a_transport_error_after_retries(self):
        node, url = self.serve(answer_with(1))
        await node.stop()                         # nothing listens there any more
        client = self.client(url, retries=2)
        with self.assertRaises(NodeTransportError) as info:
            await client.call("getblockcount")
        self.assertIn("cannot connect", str(info.exception))

    async def test_silent_node_times_out(self):
        node, url = self.serve(lambda data: None)
        client = self.client(url, timeout=0.3, retries=1)
        with self.assertRaises(NodeTransportError) as info:
            await client.call("getblockcount")
        self.assertIn("no answer", str(info.exception))
        self.assertEqual(len(node.requests), 2)       # one retry

    async def test_reset_then_recovery_within_retries(self):
        answers = ["reset", "reset"]
        ok = answer_with(42)
        node, url = self.serve(lambda data: answers.pop(0) if answers else ok(data))
        self.assertEqual(await self.client(url, retries=3).call("getblockcount"), 42)
        self.assertEqual(len(node.requests), 3)

    async def test_partial_read_answer_is_retried(self):
        # The node saw only the headers (request split in segments): not an answer.
        empty = (b'{"error":{"code":-32700,"message":"Empty POST body. Use GET endpoints: ..."},'
                 b'"id":null,"jsonrpc":"2.0"}')
        answers = [http(empty)]
        ok = answer_with(3)
        node, url = self.serve(lambda data: answers.pop(0) if answers else ok(data))
        self.assertEqual(await self.client(url).call("getblockcount"), 3)

    async def test_payments_are_never_retried(self):
        node, url = self.serve(lambda data: "reset")
        with self.assertRaises(NodeTransportError):
            await self.client(url, retries=5).sendtoaddress("tGXC" + "a" * 34, 1)
        self.assertEqual(len(node.requests), 1)

    async def test_garbage_answers_are_protocol_errors(self):
        cases = [
            b"\x00\xff\xfe garbage with no http at all",
            http(b"not json"),
            http(b"[1,2,3]"),
            http(b'{"jsonrpc":"1.0","id":1,"result":1}'),
            http(b'{"jsonrpc":"2.0","id":99,"result":1}'),
            http(b'{"jsonrpc":"2.0","id":1}'),
            http(b'{"jsonrpc":"2.0","id":1,"error":"bad"}'),
            http(b'{"error":"Not found"}', status=b"404 Not Found"),
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n",
        ]
        for answer in cases:
            node, url = self.serve(lambda data, a=answer: a)
            with self.assertRaises(NodeProtocolError, msg=repr(answer)):
                await self.client(url).call("getblockcount")

    async def test_cut_short_body_is_a_transport_error(self):
        node, url = self.serve(lambda data: b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"id\"")
        with self.assertRaises(NodeTransportError):
            await self.client(url, retries=0).call("getblockcount")


class SizeLimit(ClientTestCase):
    def block(self, extra_txs):
        coinbase = {"txid": "c" * 64, "is_coinbase": True, "outputs": [{"address": "x"}]}
        txs = [{"txid": "%064x" % i, "inputs": [{"signature": "30" * 70}], "pad": "p" * 800}
               for i in range(extra_txs)]
        return {"height": 5, "hash": "0" * 64, "transactions": [coinbase] + txs}

    def test_fit_block_drops_mempool_transactions_from_the_end(self):
        client = self.client("http://127.0.0.1:1")
        block = self.block(20)
        fitted = client.fit_block(block)
        kept = fitted["transactions"]
        self.assertEqual(kept[0]["txid"], "c" * 64)
        self.assertTrue(1 < len(kept) < 21)
        self.assertEqual(kept, block["transactions"][:len(kept)])
        self.assertLessEqual(len(client.encode("submitblock", [fitted], 12345)), 8000)
        bigger = dict(fitted, transactions=block["transactions"][:len(kept) + 1])
        self.assertGreater(len(client.encode("submitblock", [bigger], 1)), 8000)
        self.assertEqual(len(block["transactions"]), 21)      # the input is untouched

    def test_coinbase_only_block_too_large_is_refused(self):
        client = self.client("http://127.0.0.1:1", max_request_bytes=1024)
        block = self.block(0)
        block["transactions"][0]["pad"] = "p" * 2000
        with self.assertRaises(NodeRequestTooLarge):
            client.fit_block(block)

    async def test_oversized_call_is_refused_before_sending(self):
        node, url = self.serve(answer_with(True))
        with self.assertRaises(NodeRequestTooLarge):
            await self.client(url).call("validateaddress", "a" * 9000)
        self.assertEqual(node.requests, [])

    async def test_submitblock_sends_the_fitted_block(self):
        node, url = self.serve(answer_with(None))
        sent = await self.client(url).submitblock(self.block(20))
        self.assertEqual(request_json(node.requests[0])["params"], [sent])
        self.assertLessEqual(len(node.requests[0]), 8000)


class Admission(ClientTestCase):
    """Calls in flight are bounded and wait by priority (node/callqueue.py)."""

    def slow_node(self, delay=0.05):
        node, url = self.serve(answer_with(1))
        node.delay = delay
        return node, url

    async def test_one_call_in_flight_and_block_submission_first(self):
        node, url = self.slow_node()
        client = self.client(url)
        first = client.call("getblockcount")          # goes out at once
        others = [client.call("getblock", 1, True), client.getbestblockhash(),
                  client.call("submitblock", {})]
        self.assertEqual((client.queue.in_flight, client.queue.waiting), (1, 3))
        await defer.gatherResults([first] + others)
        methods = [request_json(r)["method"] for r in node.requests]
        self.assertEqual(methods, ["getblockcount", "submitblock", "getbestblockhash",
                                   "getblock"])
        self.assertEqual((client.queue.in_flight, client.queue.waiting), (0, 0))

    async def test_full_queue_fails_the_least_urgent_call_fast(self):
        node, url = self.slow_node()
        client = self.client(url, queue_limit=2)
        first = client.call("getblockcount")
        low = [client.call("getblock", 1, True), client.call("getblock", 2, True)]
        with self.assertRaises(NodeBusy):                 # nothing less urgent to evict
            await client.call("listunspent", "tGXC")
        template = client.getbestblockhash()             # evicts the newest low-priority call
        with self.assertRaises(NodeBusy) as info:
            await low[1]
        self.assertIn("getblock not sent", str(info.exception))
        await defer.gatherResults([first, low[0], template])
        self.assertEqual(len(node.requests), 3)
        self.assertEqual(client.queue.refused, 2)

    async def test_a_cancelled_waiting_call_leaves_the_queue(self):
        node, url = self.slow_node()
        client = self.client(url)
        first = client.call("getblockcount")
        waiting = client.getbestblockhash()
        waiting.cancel()
        self.failureResultOf(waiting, defer.CancelledError)
        self.assertEqual(client.queue.waiting, 0)
        await first
        self.assertEqual(len(node.requests), 1)

    async def test_a_larger_limit_lets_calls_overlap(self):
        node, url = self.slow_node()
        client = self.client(url, max_in_flight=3)
        calls = [client.call("getblockcount") for _ in range(3)]
        self.assertEqual((client.queue.in_flight, client.queue.waiting), (3, 0))
        await defer.gatherResults(calls)

    async def test_cancel_all_abandons_every_call_and_retries_none(self):
        node, url = self.slow_node()
        client = self.client(url)
        calls = [client.call("getblockcount"), client.getbestblockhash()]
        client.cancel_all()                       # the node link is stopping
        for d in calls:
            self.failureResultOf(d, defer.CancelledError)
        self.assertEqual((client.queue.in_flight, client.queue.waiting), (0, 0))
        # no retry timer is left behind (trial fails the test on a dirty reactor)

    async def test_a_caller_can_raise_a_calls_priority(self):
        node, url = self.slow_node()
        client = self.client(url)
        first = client.call("getblockcount")
        later = [client.getbestblockhash(), client.getblockhash(7, priority=SUBMIT)]
        await defer.gatherResults([first] + later)
        methods = [request_json(r)["method"] for r in node.requests]
        self.assertEqual(methods, ["getblockcount", "getblockhash", "getbestblockhash"])
