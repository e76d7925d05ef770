"""GxhashVerifier: gxhash in a bounded Twisted thread pool, run on a real reactor."""
import json
import os

from twisted.application.service import MultiService
from twisted.internet import defer
from twisted.trial import unittest

from gxcpoold.hashers.gxhash import GxhashBusy, GxhashVerifier, GxhashVerifierStopped

VECTORS = json.load(open(os.path.join(os.path.dirname(__file__), "vectors", "gxhash.json"),
                         encoding="utf-8"))["gxhash"]
CASES = [(bytes.fromhex(v["data_hex"]), int(v["nonce"]), v["gxhash"]) for v in VECTORS[:4]]


class GxhashVerifierTests(unittest.TestCase):

    def make(self, **kwargs):
        verifier = GxhashVerifier(**kwargs)
        verifier.start()
        self.addCleanup(verifier.stop)
        return verifier

    @defer.inlineCallbacks
    def test_results_match_vectors_and_pending_drains(self):
        verifier = self.make(max_threads=2, max_pending=8)
        calls = [verifier.hash(data, nonce) for data, nonce, _ in CASES]
        self.assertEqual(verifier.pending, len(CASES))
        results = yield defer.gatherResults(calls, consumeErrors=True)
        self.assertEqual([r.hex() for r in results], [expected for _, _, expected in CASES])
        self.assertEqual(verifier.pending, 0)

    @defer.inlineCallbacks
    def test_refuses_beyond_max_pending(self):
        verifier = self.make(max_threads=1, max_pending=2)
        first = verifier.hash(CASES[0][0], CASES[0][1])
        second = verifier.hash(CASES[1][0], CASES[1][1])
        self.assertRaises(GxhashBusy, verifier.hash, b"flood", 0)
        self.assertEqual(verifier.pending, 2)
        results = yield defer.gatherResults([first, second])
        self.assertEqual([r.hex() for r in results], [CASES[0][2], CASES[1][2]])
        # Room again once the backlog has drained.
        third = yield verifier.hash(CASES[2][0], CASES[2][1])
        self.assertEqual(third.hex(), CASES[2][2])

    def test_bad_arguments_raise_at_once(self):
        verifier = self.make(max_threads=1)
        self.assertRaises(TypeError, verifier.hash, "text", 0)
        self.assertRaises(ValueError, verifier.hash, b"x", -1)
        self.assertEqual(verifier.pending, 0)

    @defer.inlineCallbacks
    def test_stop_fails_queued_calls_and_refuses_new_ones(self):
        verifier = GxhashVerifier(max_threads=1, max_pending=4)
        verifier.start()
        calls = [verifier.hash(data, nonce) for data, nonce, _ in CASES[:3]]
        verifier.stop()     # the first call may be running; the last is surely queued
        self.assertRaises(GxhashVerifierStopped, verifier.hash, b"late", 0)
        outcomes = yield defer.DeferredList(calls, consumeErrors=True)
        for (ok, value), (_, _, expected) in zip(outcomes, CASES):
            if ok:
                self.assertEqual(value.hex(), expected)
            else:
                value.trap(GxhashVerifierStopped)
        self.assertFalse(outcomes[-1][0])
        self.assertEqual(verifier.pending, 0)

    def test_not_started_refuses(self):
        self.assertRaises(GxhashVerifierStopped, GxhashVerifier().hash, b"x", 0)

    @defer.inlineCallbacks
    def test_runs_as_a_service(self):
        parent = MultiService()
        verifier = GxhashVerifier(max_threads=2)
        verifier.setServiceParent(parent)
        parent.startService()
        self.assertTrue(verifier.running)
        result = yield verifier.hash(CASES[0][0], CASES[0][1])
        self.assertEqual(result.hex(), CASES[0][2])
        yield parent.stopService()
        self.assertFalse(verifier.running)
        self.assertRaises(GxhashVerifierStopped, verifier.hash, b"x", 0)

    def test_rejects_bad_sizes(self):
        for kwargs in (dict(max_threads=0), dict(max_threads=True), dict(max_pending=0)):
            self.assertRaises(ValueError, GxhashVerifier, **kwargs)
