"""request_latency: every answer waits like the real node's 10 ms accept loop (spec §6.1),
in the reactor, over loopback HTTP."""
from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.trial import unittest

from gxcpoold.devnet import DevNodeService, DevNodeSettings
from gxcpoold.devnet.http import READ_GRACE

from .nodecase import NodeCase
from .rawhttp import compact, post_bytes

LATENCY = 0.25


class RecordingReactor:
    """The real reactor, noting the delay of every callLater made through it."""

    def __init__(self, real):
        self._real = real
        self.delays = []

    def callLater(self, delay, *args, **kwargs):
        self.delays.append(delay)
        return self._real.callLater(delay, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._real, name)


class WriteAndLeave(Protocol):
    """Writes a request, then goes away before any answer can come."""

    def __init__(self, request: bytes):
        self.request = request
        self.gone = defer.Deferred()

    def connectionMade(self):
        self.transport.write(self.request)
        reactor.callLater(0.05, self.transport.abortConnection)

    def connectionLost(self, reason):
        self.gone.callback(None)


class SlowNode(NodeCase):
    def setUp(self):
        self.clock_reactor = RecordingReactor(reactor)
        settings = DevNodeSettings(genesis_seed="tests", request_latency=LATENCY)
        self.service = DevNodeService(settings, "tcp:0:interface=127.0.0.1",
                                      reactor=self.clock_reactor)
        self.node = self.service.node
        self.service.startService()
        return self.service.whenListening().addCallback(self._listening)

    def answer_delays(self):
        # the emulated read's grace period counts as part of the wait
        return [d for d in self.clock_reactor.delays if d == LATENCY - READ_GRACE]

    @defer.inlineCallbacks
    def test_every_answer_waits_in_the_reactor(self):
        self.assertEqual((yield self.result("getblockcount")), 1)
        template = yield self.result("getblocktemplate")
        self.assertEqual(template["height"], 1)
        self.assertEqual(len(self.answer_delays()), 2)

    @defer.inlineCallbacks
    def test_requests_wait_side_by_side(self):
        # two slow answers in flight at once: the wait does not block the reactor
        first = self.result("getblockcount")
        second = self.result("getbestblockhash")
        counts = yield defer.gatherResults([first, second])
        self.assertEqual(counts, [1, self.node.chain.tip.hash])
        self.assertEqual(len(self.answer_delays()), 2)

    @defer.inlineCallbacks
    def test_a_block_is_handled_after_the_wait_even_if_its_client_left(self):
        block = yield self.block_from_template()
        request = post_bytes(compact({"jsonrpc": "2.0", "id": 1, "method": "submitblock",
                                      "params": [block]}))
        client = WriteAndLeave(request)
        yield connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", self.port), client)
        yield client.gone
        self.assertEqual(self.node.chain.n, 1)         # not yet handled
        self.assertEqual((yield self.result("getblockcount")), 2)
        self.assertEqual(self.node.chain.tip.hash, block["hash"])


class SettingRange(unittest.TestCase):
    def test_latency_must_be_a_small_non_negative_number(self):
        for bad in (-0.001, 10.5, float("nan")):
            with self.assertRaises(ValueError):
                DevNodeSettings(request_latency=bad)
        self.assertEqual(DevNodeSettings().request_latency, 0.0)
