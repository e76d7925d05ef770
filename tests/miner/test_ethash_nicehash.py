"""The reference miner on ethash over EthereumStratum/1.0.0 (NiceHash), against
a scripted pool on a loopback socket.

The share difficulty is tiny (about one hash in 8 is a share), so light
hashing (a few ms a nonce) finds shares at once; every submitted nonce is
checked here with the epoch 0 light cache, itself checked against the
published vector.  A nonce assembled wrongly passes the target with
probability 1/8, so several shares make a wrong miner fail.
"""
import re

from twisted.trial import unittest

from tests.miner.checks import epoch0_light_hash, in_process_miner, nicehash_target
from tests.miner.fake_pools import HEADER, NICEHASH_EXTRANONCE, SEED_EPOCH_0, NiceHashPool
from tests.miner.processes import ADDRESS
from tests.waiting import wait_for

ONE_IN_8 = 0xffff / 2**45     # NiceHash difficulty whose target is about 2**253
OTHER_HEADER = "5f" * 32


def verify(params, job_id, extranonce, header_hex, difficulty):
    """The submission [worker, job, 12 hex digits] hashes under the target."""
    worker, job, digits = params
    assert (worker, job) == (ADDRESS + ".rig", job_id), params
    assert re.fullmatch("[0-9a-f]{%d}" % (16 - len(extranonce)), digits), params
    nonce = int(extranonce + digits, 16)
    _, final = epoch0_light_hash(bytes.fromhex(header_hex), nonce)
    assert int.from_bytes(final, "big") <= nicehash_target(difficulty), params


class NiceHashMining(unittest.TestCase):
    timeout = 50

    async def pool(self, difficulty=ONE_IN_8, **kwargs):
        pool = NiceHashPool(difficulty, **kwargs)
        await pool.listen()
        self.addCleanup(pool.stop)
        return pool

    async def test_shares_verify_with_the_extranonce_in_front(self):
        pool = await self.pool()
        miner = in_process_miner(self, pool.port, algorithm="ethash", threads=2)
        await wait_for(lambda: len(pool.submits) >= 6, "6 shares", timeout=40)
        self.assertEqual(pool.received[0]["params"], ["gxcpool-miner/1.0",
                                                      "EthereumStratum/1.0.0"])
        self.assertEqual(pool.methods()[:3], ["mining.subscribe", "mining.extranonce.subscribe",
                                              "mining.authorize"])
        self.assertEqual(pool.received[2]["params"], [ADDRESS + ".rig", "x"])
        for params in pool.submits:
            verify(params, "a1", NICEHASH_EXTRANONCE, HEADER, ONE_IN_8)
        self.assertEqual(len({p[2] for p in pool.submits}), len(pool.submits))
        await wait_for(lambda: miner.accepted >= 6, "6 answers")
        self.assertEqual(miner.rejected, 0)

    async def test_a_new_extranonce_and_difficulty_apply_from_the_next_job(self):
        pool = await self.pool()
        miner = in_process_miner(self, pool.port, algorithm="ethash")
        await wait_for(lambda: pool.submits, "a share")
        harder = ONE_IN_8 * 2
        pool.notify_all("mining.set_extranonce", "0bad")
        pool.notify_all("mining.set_difficulty", harder)
        pool.notify_all("mining.notify", "a2", SEED_EPOCH_0, OTHER_HEADER, True)
        await wait_for(lambda: sum(p[1] == "a2" for p in pool.submits) >= 4, "4 shares for a2",
                       timeout=40)
        for params in pool.submits:
            if params[1] == "a2":
                verify(params, "a2", "0bad", OTHER_HEADER, harder)
            else:
                verify(params, "a1", NICEHASH_EXTRANONCE, HEADER, ONE_IN_8)
        self.assertEqual(miner.difficulty, harder)
        self.assertEqual(miner.open_jobs, 1)

    async def test_the_pool_may_refuse_extranonce_subscribe(self):
        pool = await self.pool()
        handle = pool.handle

        def no_extranonce_subscribe(session, message):
            if message.get("method") == "mining.extranonce.subscribe":
                session.send({"id": message["id"], "result": None,
                              "error": [20, "Unsupported method", None]})
            else:
                handle(session, message)
        pool.handle = no_extranonce_subscribe
        miner = in_process_miner(self, pool.port, algorithm="ethash")
        await wait_for(lambda: miner.accepted >= 2, "2 accepted shares", timeout=40)
        for params in pool.submits:
            verify(params, "a1", NICEHASH_EXTRANONCE, HEADER, ONE_IN_8)

    async def test_a_three_byte_extranonce_leaves_ten_digits_to_the_miner(self):
        # the spec's own example: extranonce a2eea0, the miner's part 10 hex digits
        pool = await self.pool(extranonce="a2eea0")
        in_process_miner(self, pool.port, algorithm="ethash")
        await wait_for(lambda: len(pool.submits) >= 4, "4 shares", timeout=40)
        for params in pool.submits:
            verify(params, "a1", "a2eea0", HEADER, ONE_IN_8)
