"""Stopping the real `gxcpool-miner` while a gxhash (a fraction of a second a
hash) is under way: a second SIGTERM or SIGINT during the stop changes
nothing (`timeout` signals the process and its group: two signals)."""
import signal

from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.trial import unittest

from tests.miner.fake_pools import GxhashPool
from tests.miner.processes import MinerProcess
from tests.waiting import wait_for


class TwoSignals(unittest.TestCase):
    timeout = 50

    async def two_signals(self, signum):
        pool = GxhashPool(1)
        await pool.listen()
        self.addCleanup(pool.stop)
        miner = MinerProcess(self, pool.port, "--algorithm", "gxhash", "-t", "2")
        await wait_for(lambda: len(pool.submits) >= 2, "2 shares", timeout=30)
        miner.proc.send_signal(signum)
        await deferLater(reactor, 0.01)
        await miner.exit_after(signum)
        output = miner.output()
        self.assertEqual(miner.proc.returncode, 0, output)
        self.assertNotIn("Traceback", output)
        self.assertEqual(output.count("received %s, stopping" % signal.Signals(signum).name), 1,
                         output)

    async def test_sigterm_twice(self):
        await self.two_signals(signal.SIGTERM)

    async def test_sigint_twice(self):
        await self.two_signals(signal.SIGINT)
