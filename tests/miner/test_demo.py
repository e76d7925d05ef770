"""The devnet demo miner (DemoMinerService) mines whichever algorithm its port
speaks, once that port listens."""
from twisted.internet import defer, reactor
from twisted.trial import unittest

from gxcpoold.miner.demo import DemoMinerService, demo_address
from tests.miner.checks import epoch0_light_hash
from tests.miner.fake_pools import (HEADER, NICEHASH_EXTRANONCE, EthProxyPool, GxhashPool,
                                    NiceHashPool)
from tests.waiting import wait_for


class Port:
    """What the service needs of a Stratum port: whenListening()."""

    def __init__(self, pool):
        self.pool = pool

    def whenListening(self):
        return defer.succeed(self.pool.listening)


class DemoMiner(unittest.TestCase):
    timeout = 50

    async def mine(self, pool, **kwargs):
        await pool.listen()
        self.addCleanup(pool.stop)
        service = DemoMinerService(Port(pool), reactor, threads=1, network="testnet", **kwargs)
        service.startService()
        self.addCleanup(service.stopService)
        await wait_for(lambda: len(pool.submits) >= 2, "2 shares", timeout=40)
        return service

    async def test_gxhash(self):
        pool = GxhashPool(1)
        service = await self.mine(pool, algorithm="gxhash")
        self.assertEqual(pool.received[1]["params"][0], demo_address("testnet") + ".demo")
        self.assertEqual(service.miner.algorithm.name, "gxhash")

    async def test_ethash_nicehash(self):
        pool = NiceHashPool(0xffff / 2**45)
        await self.mine(pool, algorithm="ethash")
        for _, _, digits in pool.submits:
            _, final = epoch0_light_hash(bytes.fromhex(HEADER),
                                         int(NICEHASH_EXTRANONCE + digits, 16))
            self.assertLessEqual(int.from_bytes(final, "big"), 2**253)

    async def test_ethash_ethproxy(self):
        pool = EthProxyPool(2**253)
        await self.mine(pool, algorithm="ethash", dialect="ethproxy")
        self.assertEqual(pool.received[0]["method"], "eth_submitLogin")
