"""The verifier's queue is shared fairly between a port's connections.

A connection may have at most its equal part of the slow-hash queue in
flight (gxcpoold/stratum/session.py _check_limit): a flooder that stays
within its own bound cannot fill the queue and starve an honest miner,
whose share is always taken for checking.
"""
from twisted.internet import defer, reactor
from twisted.trial import unittest

from tests.stratum.test_gxhash_dialect import (WORKER, GatedVerifier, GxhashPool, error_of)
from tests.waiting import wait_for


class FairShares(unittest.TestCase):
    timeout = 60

    async def test_a_flood_within_its_own_bound_leaves_room_for_an_honest_miner(self):
        # one hashing thread held by a gate, room for 4 checks; 4 per connection
        verifier = GatedVerifier(threads=1, max_pending=4, reactor=reactor)
        pool = await GxhashPool(self, difficulty=60.0, verifier=verifier,
                                max_checks_per_connection=4).start()
        flooder, en1_flooder = await pool.login()
        honest, _ = await pool.login()
        job_id = flooder.notifies()[-1][0]

        answers = flooder.send_all(*[("mining.submit", [WORKER, job_id, "%04x" % n])
                                     for n in range(1, 9)])
        session = pool.session_of(en1_flooder)
        await wait_for(lambda: session.busy_count >= 1, "the flooder told to slow down")
        # two connections share four slots: the flooder holds two, not four
        self.assertEqual(session.checks_in_flight, 2)
        self.assertEqual(verifier.pending, 2)

        # the honest miner's share is taken for checking, not refused
        honest_answer = honest.submit(job_id, 100)
        await wait_for(lambda: verifier.pending == 3, "the honest share in the queue")
        verifier.gate.set()
        self.assertIs((await honest_answer)["result"], True)
        results = await defer.gatherResults(answers)
        refused = [error_of(r) for r in results if r["result"] is not True]
        self.assertTrue(refused)
        for code, message, _ in refused:
            self.assertEqual(code, 20)
            self.assertTrue(message.startswith("Busy:"), message)
        self.assertEqual(session.invalid_shares, 0)     # busy is not invalid
