"""The reference miner on gxhash, against a scripted pool of the gxhash dialect
on a loopback socket.

Every submitted n is checked here: GXC nonce N = extranonce1 << 16 | n
(below 2**31), header text = height, prevhash, timestamp, merkle root and N
as decimal/hex text, and gxhash(text, N) (the function checked against the
published vector) under floor(2**256 / d).
"""
import re

from twisted.trial import unittest

from tests.miner.checks import checked_gxhash, in_process_miner
from tests.miner.fake_pools import (GXHASH_EXTRANONCE1, GXHASH_MERKLEROOT, GXHASH_PREVHASH,
                                    GxhashPool)
from tests.miner.processes import ADDRESS
from tests.waiting import wait_for


def verify(params, pool, job_id="g1"):
    """The submission [worker, job, n as 4 hex digits] hashes under the
    pool's target; returns the hash hex."""
    worker, job, n_hex = params
    assert (worker, job) == (ADDRESS + ".rig", job_id), params
    assert re.fullmatch("[0-9a-f]{4}", n_hex), params
    nonce = GXHASH_EXTRANONCE1 << 16 | int(n_hex, 16)
    assert nonce < 2**31
    height, timestamp = pool.job[1], pool.job[3]
    text = "%d%s%d%s%d" % (height, GXHASH_PREVHASH, timestamp, GXHASH_MERKLEROOT, nonce)
    digest = checked_gxhash(text.encode("ascii"), nonce)
    assert int.from_bytes(digest, "big") <= 2**256 // pool.difficulty, (params, digest.hex())
    return digest.hex()


class GxhashMining(unittest.TestCase):
    timeout = 50

    async def pool(self, difficulty):
        pool = GxhashPool(difficulty)
        await pool.listen()
        self.addCleanup(pool.stop)
        return pool

    async def test_at_difficulty_1_the_first_hash_is_a_share(self):
        pool = await self.pool(1)
        lines = []
        miner = in_process_miner(self, pool.port, lines, algorithm="gxhash",
                                 report_interval=0.5)
        await wait_for(lambda: pool.submits, "a share", timeout=30)
        self.assertEqual(pool.received[0], {"id": 1, "method": "mining.subscribe",
                                            "params": ["gxcpool-miner/1.0"]})
        self.assertEqual(pool.received[1]["params"], [ADDRESS + ".rig", "x"])
        verify(pool.submits[0], pool)
        await wait_for(lambda: any("accepted 1" in line for line in lines), "a report")
        report = [line for line in lines if "accepted" in line][-1]
        # at difficulty 1 every hash is a share: a fast machine may find more than
        # the miner keeps in flight, which the report adds as "skipped"
        self.assertRegex(report, r"^\d+\.\d\d H/s  accepted \d+  rejected 0  difficulty 1"
                                 r"(  skipped \d+ shares \(.*\))?$")
        self.assertGreaterEqual(miner.accepted, 1)

    async def test_at_difficulty_4_only_hashes_under_the_target_are_sent(self):
        pool = await self.pool(4)
        # two threads: shares come twice as fast
        in_process_miner(self, pool.port, algorithm="gxhash", threads=2)
        await wait_for(lambda: len(pool.submits) >= 3, "3 shares", timeout=40)
        hashes = [verify(params, pool) for params in pool.submits]
        self.assertEqual(len(set(hashes)), len(hashes))
