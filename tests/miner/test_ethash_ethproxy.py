"""The reference miner on ethash over eth-proxy, against a scripted pool on a
loopback socket: login, eth_getWork, work pushed with id 0, eth_submitWork
with nonce, header and mix hash (all checked here with the epoch 0 light
cache), eth_submitHashrate with the reports.
"""
import re

from twisted.trial import unittest

from gxcpoold.hashers.ethash import ethash_light_cache
from tests.miner.checks import epoch0_light_hash, in_process_miner
from tests.miner.fake_pools import HEADER, EthProxyPool
from tests.miner.processes import ADDRESS
from tests.waiting import wait_for

ONE_IN_8 = 2**253
OTHER_HEADER = "6a" * 32


def verify(params, header_hex, target):
    """eth_submitWork [0x nonce, 0x header, 0x mix]: the mix is the real one
    and the final hash is under the target."""
    nonce_hex, header, mix_hex = params
    assert re.fullmatch("0x[0-9a-f]{16}", nonce_hex), params
    assert header == "0x" + header_hex, params
    assert re.fullmatch("0x[0-9a-f]{64}", mix_hex), params
    mix, final = epoch0_light_hash(bytes.fromhex(header_hex), int(nonce_hex, 16))
    assert mix.hex() == mix_hex[2:], params
    assert int.from_bytes(final, "big") <= target, params
    # the pool's own check, one call
    assert ethash_light_cache(0).verify(bytes.fromhex(header_hex), int(nonce_hex, 16), mix,
                                        target)


class EthProxyMining(unittest.TestCase):
    timeout = 50

    async def pool(self, target=ONE_IN_8):
        pool = EthProxyPool(target)
        await pool.listen()
        self.addCleanup(pool.stop)
        return pool

    async def test_login_get_work_and_shares_with_their_mix_hash(self):
        pool = await self.pool()
        miner = in_process_miner(self, pool.port, algorithm="ethash", dialect="ethproxy",
                                 threads=2)
        await wait_for(lambda: len(pool.submits) >= 6, "6 shares", timeout=40)
        login, get_work = pool.received[:2]
        self.assertEqual((login["method"], login["params"], login.get("jsonrpc")),
                         ("eth_submitLogin", [ADDRESS + ".rig", "x"], "2.0"))
        self.assertEqual((get_work["method"], get_work["params"]), ("eth_getWork", []))
        for params in pool.submits:
            verify(params, HEADER, ONE_IN_8)
        self.assertEqual(len({p[0] for p in pool.submits}), len(pool.submits))
        await wait_for(lambda: miner.accepted >= 6, "6 answers")
        self.assertEqual(miner.rejected, 0)
        self.assertEqual(miner.difficulty, 8.0)

    async def test_pushed_work_replaces_the_job_and_hashrate_is_reported(self):
        pool = await self.pool()
        miner = in_process_miner(self, pool.port, algorithm="ethash", dialect="ethproxy",
                                 report_interval=0.2)
        await wait_for(lambda: pool.submits, "a share")
        pool.push(pool.work_for(OTHER_HEADER, ONE_IN_8 // 2, 2))
        await wait_for(lambda: sum(p[1] == "0x" + OTHER_HEADER for p in pool.submits) >= 3,
                       "3 shares for the pushed work", timeout=40)
        for params in pool.submits:
            if params[1] == "0x" + OTHER_HEADER:
                verify(params, OTHER_HEADER, ONE_IN_8 // 2)
            else:
                verify(params, HEADER, ONE_IN_8)
        # a new block number: the older header is no longer worth submitting
        self.assertEqual(miner.open_jobs, 1)
        await wait_for(lambda: pool.hashrates, "eth_submitHashrate")
        rate, client_id = pool.hashrates[-1]
        self.assertRegex(rate, "^0x[0-9a-f]{64}$")
        self.assertRegex(client_id, "^0x[0-9a-f]{64}$")

    async def test_work_not_ready_then_pushed(self):
        pool = await self.pool()
        handle = pool.handle

        def not_ready_at_first(session, message):
            if message.get("method") == "eth_getWork":
                session.send({"id": message["id"], "jsonrpc": "2.0", "result": None,
                              "error": {"code": 0, "message": "Work not ready"}})
            else:
                handle(session, message)
        pool.handle = not_ready_at_first
        lines = []
        miner = in_process_miner(self, pool.port, lines, algorithm="ethash",
                                 dialect="ethproxy")
        await wait_for(lambda: any("Work not ready" in line for line in lines), "no work yet")
        self.assertEqual(pool.submits, [])
        pool.push(pool.work)
        await wait_for(lambda: miner.accepted >= 2, "2 accepted shares", timeout=40)
        for params in pool.submits:
            verify(params, HEADER, ONE_IN_8)

    async def test_an_unanswered_hashrate_report_is_not_repeated(self):
        pool = await self.pool()
        handle = pool.handle

        def never_answer_hashrate(session, message):
            if message.get("method") == "eth_submitHashrate":
                pool.hashrates.append(message["params"])
            else:
                handle(session, message)
        pool.handle = never_answer_hashrate
        lines = []
        in_process_miner(self, pool.port, lines, algorithm="ethash", dialect="ethproxy",
                         report_interval=0.05)
        await wait_for(lambda: sum("kH/s" in line for line in lines) >= 10, "10 reports")
        self.assertEqual(len(pool.hashrates), 1)
