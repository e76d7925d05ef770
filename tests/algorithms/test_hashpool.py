"""HashPool: slow share checks in a bounded pool of threads, on a real reactor,
hashing real gxhash (the slowest check the pool runs) against the published vectors."""
import json
import os
import sys
import threading
from pathlib import Path

import pytest
from twisted.application.service import MultiService
from twisted.internet import defer
from twisted.trial import unittest

from gxcpoold.algorithms.hashpool import HashPool, pool_size
from gxcpoold.config import StratumSettings
from gxcpoold.hashers.gxhash import gxhash
from gxcpoold.priority import DEFAULT_NICENESS
from gxcpoold.stratum.errors import Busy, StratumError

VECTORS = json.loads((Path(__file__).resolve().parent.parent / "vectors" / "gxhash.json")
                     .read_text())["gxhash"]
CASES = [(bytes.fromhex(v["data_hex"]), int(v["nonce"]), v["gxhash"]) for v in VECTORS[:4]]


def hex_gxhash(data, nonce):
    return gxhash(data, nonce).hex()


class HashPoolTests(unittest.TestCase):
    timeout = 60

    def started(self, threads, max_pending=None):
        pool = HashPool(threads, max_pending)
        pool.startService()
        self.addCleanup(pool.stopService)
        return pool

    @defer.inlineCallbacks
    def test_results_match_the_vectors_and_pending_drains(self):
        pool = self.started(2, 8)
        calls = [pool.run(hex_gxhash, data, nonce) for data, nonce, _ in CASES]
        self.assertEqual(pool.pending, len(CASES))
        self.assertEqual(pool.status(), {"threads": 2, "pending": 4, "max_pending": 8})
        results = yield defer.gatherResults(calls, consumeErrors=True)
        self.assertEqual(results, [expected for _, _, expected in CASES])
        self.assertEqual(pool.pending, 0)

    @defer.inlineCallbacks
    def test_busy_beyond_max_pending_and_room_again_once_drained(self):
        pool = self.started(1, 2)
        first = pool.run(hex_gxhash, CASES[0][0], CASES[0][1])
        second = pool.run(hex_gxhash, CASES[1][0], CASES[1][1])
        with self.assertRaises(Busy) as refused:
            pool.run(hex_gxhash, b"flood", 0)
        # the Stratum error the session answers with (and throttles the sender on)
        self.assertIsInstance(refused.exception, StratumError)
        self.assertEqual(refused.exception.code, 20)
        self.assertEqual(pool.pending, 2)
        self.assertEqual((yield defer.gatherResults([first, second])), [CASES[0][2], CASES[1][2]])
        self.assertEqual((yield pool.run(hex_gxhash, CASES[2][0], CASES[2][1])), CASES[2][2])

    @defer.inlineCallbacks
    def test_a_failing_check_fails_its_deferred_and_frees_its_slot(self):
        pool = self.started(1, 1)
        with self.assertRaises(TypeError):
            yield pool.run(gxhash, "text, not bytes", 0)
        with self.assertRaises(ValueError):
            yield pool.run(gxhash, b"x", -1)
        self.assertEqual(pool.pending, 0)
        self.assertEqual((yield pool.run(hex_gxhash, CASES[0][0], CASES[0][1])), CASES[0][2])

    @defer.inlineCallbacks
    def test_stop_refuses_queued_checks_and_new_ones(self):
        pool = HashPool(1, 4)
        pool.startService()
        calls = [pool.run(hex_gxhash, data, nonce) for data, nonce, _ in CASES[:3]]
        yield pool.stopService()     # the first hash may be running; the last is surely queued
        with self.assertRaises(Busy) as late:
            pool.run(hex_gxhash, b"late", 0)
        self.assertIn("shutting down", late.exception.message)
        outcomes = yield defer.DeferredList(calls, consumeErrors=True)
        for (ok, value), (_, _, expected) in zip(outcomes, CASES):
            if ok:
                self.assertEqual(value, expected)
            else:
                value.trap(Busy)
                self.assertIn("shutting down", value.value.message)
        self.assertFalse(outcomes[-1][0])
        self.assertEqual(pool.pending, 0)

    def test_not_started_is_busy(self):
        with self.assertRaises(Busy) as refused:
            HashPool(1).run(hex_gxhash, b"x", 0)
        self.assertIn("shutting down", refused.exception.message)

    @defer.inlineCallbacks
    def test_runs_as_a_service(self):
        parent = MultiService()
        pool = HashPool(2)
        pool.setServiceParent(parent)
        parent.startService()
        self.assertTrue(pool.running)
        self.assertEqual((yield pool.run(hex_gxhash, CASES[0][0], CASES[0][1])), CASES[0][2])
        yield parent.stopService()
        self.assertFalse(pool.running)
        self.assertRaises(Busy, pool.run, hex_gxhash, b"x", 0)

    @defer.inlineCallbacks
    def test_two_threads_hash_at_the_same_time(self):
        """gxhash releases the GIL: a second thread starts and stays inside its
        hash while the first is in its own.

        With a switch interval far longer than the test, a thread gives up
        the GIL only when it blocks or native code releases it, so a thread
        holding the GIL can never see the other thread in the middle of its
        hash (the control below shows the test tells the two apart)."""
        self.assertTrue((yield self.overlapping(gxhash, rounds=6)))

    @defer.inlineCallbacks
    def test_the_overlap_test_fails_for_a_check_that_holds_the_gil(self):
        def holds_the_gil(data, nonce):
            return sum(range(3_000_000))      # a C loop that never lets the GIL go
        self.assertFalse((yield self.overlapping(holds_the_gil, rounds=2)))

    @defer.inlineCallbacks
    def overlapping(self, f, *, rounds):
        """Run f on two pool threads at once (a barrier starts them together),
        up to `rounds` times: True as soon as a thread that finished f saw
        the other one inside f.  gxhash results are checked against the vectors."""
        previous = sys.getswitchinterval()
        sys.setswitchinterval(100.0)
        self.addCleanup(sys.setswitchinterval, previous)
        pool = self.started(2, 2)
        for round_ in range(rounds):
            barrier, state = threading.Barrier(2), {0: "waiting", 1: "waiting"}

            def check(me, data, nonce):
                barrier.wait(30)
                state[me] = "inside"
                digest = f(data, nonce)
                saw = state[1 - me]
                state[me] = "done"
                return digest, saw

            pair = CASES[2 * round_ % len(CASES):][:2]
            results = yield defer.gatherResults(
                [pool.run(check, me, data, nonce) for me, (data, nonce, _) in enumerate(pair)],
                consumeErrors=True)
            if f is gxhash:
                self.assertEqual([d.hex() for d, _ in results], [e for _, _, e in pair])
            if any(saw == "inside" for _, saw in results):
                return True
        return False


def own_priority():
    """The calling thread's nice value (per thread on Linux)."""
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def main_priority():
    return os.getpriority(os.PRIO_PROCESS, os.getpid())


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="per-thread nice values are Linux's")
class NicenessTests(unittest.TestCase):
    """The workers run at a lower CPU priority than the reactor (main) thread."""
    timeout = 60

    @defer.inlineCallbacks
    def priorities_of_two_workers(self, **kwargs):
        """The nice values two workers read from inside themselves, each at its
        first check and again at its second."""
        pool = HashPool(2, **kwargs)
        pool.startService()
        self.addCleanup(pool.stopService)
        seen = []
        for _ in range(2):
            barrier = threading.Barrier(2)    # one check on each of the two threads

            def check():
                barrier.wait(30)
                return threading.get_native_id(), own_priority()
            seen += (yield defer.gatherResults([pool.run(check), pool.run(check)]))
        self.assertEqual(len({thread for thread, _ in seen}), 2)
        self.assertNotIn(os.getpid(), {thread for thread, _ in seen})
        return sorted(priority for _, priority in seen)

    @defer.inlineCallbacks
    def test_each_worker_lowers_its_own_priority(self):
        before = main_priority()
        priorities = yield self.priorities_of_two_workers(niceness=7)
        self.assertEqual(priorities, [min(19, before + 7)] * 4)
        if before < 19:
            self.assertGreater(priorities[0], before)
        self.assertEqual(main_priority(), before)      # the reactor thread keeps its own
        self.assertEqual(own_priority(), before)

    @defer.inlineCallbacks
    def test_by_default_lower_than_the_reactor(self):
        before = main_priority()
        priorities = yield self.priorities_of_two_workers()
        self.assertEqual(priorities, [min(19, before + DEFAULT_NICENESS)] * 4)
        self.assertEqual(main_priority(), before)

    @defer.inlineCallbacks
    def test_niceness_0_leaves_the_priority_alone(self):
        before = main_priority()
        self.assertEqual((yield self.priorities_of_two_workers(niceness=0)), [before] * 4)

    def test_niceness_argument(self):
        for niceness in (-1, 20, 1.5, True, "5"):
            self.assertRaises(ValueError, HashPool, 1, niceness=niceness)
        self.assertEqual(HashPool(1).niceness, DEFAULT_NICENESS)
        self.assertEqual(HashPool(1, niceness=19).niceness, 19)


def test_pool_size_from_the_settings():
    assert pool_size(StratumSettings(), 6) == (6, 24)
    assert pool_size(StratumSettings(verify_threads=3), 6) == (3, 12)
    assert pool_size(StratumSettings(verify_threads=3, verify_queue=5), 6) == (3, 5)
    assert pool_size(StratumSettings(verify_queue=2), 0) == (1, 2)


def test_arguments_are_checked():
    for threads in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError):
            HashPool(threads)
    for max_pending in (0, True, 2.0):
        with pytest.raises(ValueError):
            HashPool(2, max_pending)
    assert HashPool(3).max_pending == 12
