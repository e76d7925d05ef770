"""The database away while blocks are found: afterwards every block the node accepted is
in the ledger and credited once, and the outage was two log lines, not a traceback per block.

The pool's own parts over real interfaces: the devnet node over loopback HTTP, the block
submitter, the local candidate store, the share journal and the chain scan, a database
that really goes away (tests/ledger/outage.py).  Some blocks are sent behind the pool's
back during the outage (as when a process dies between submitblock and recording it):
only the chain scan can find those.
"""
import os
import shutil
import tempfile
import time
from fractions import Fraction
from types import SimpleNamespace

from sqlalchemy import func, select
from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.logger import LogLevel

from gxcpoold.ledger.blocks import RewardPolicy
from gxcpoold.ledger.blockscan import BlockScanner
from gxcpoold.ledger.candidates import DurableBlockRecorder, candidate_path
from gxcpoold.ledger.schema import shares
from gxcpoold.ledger.sharewriter import ShareWriter
from gxcpoold.node.client import NodeClient
from gxcpoold.node.submitter import BlockSubmitter
from gxcpoold.shares import ACCEPTED
from tests.devnet.loopback import start_devnode
from tests.ledger.blockfinding import (LogCapture, assert_each_credited_once,
                                       chain_blocks_paying, pool_block)
from tests.ledger.dbtest import each_backend
from tests.ledger.factories import share
from tests.ledger.outage import DatabaseOutage
from tests.waiting import wait_for

POLICY = RewardPolicy("pplns", 2.0, Fraction(1, 100), "@pool-fee")
BLOCK_EVERY = 0.25          # seconds between blocks during the outage


class BlockOutageMixin:
    backend = "sqlite"
    outage_seconds = 10.0
    timeout = 240

    async def start_pool(self):
        self.devnode = await start_devnode(self, difficulty=1.0, maturity=2)
        self.node = self.devnode.node
        self.wallet = self.node.wallet.address
        self.client = NodeClient(reactor, self.devnode.url, retries=0, timeout=5)
        self.outage = DatabaseOutage(self, self.backend)
        state = tempfile.mkdtemp(prefix="gxcstate-")
        self.addCleanup(shutil.rmtree, state, True)
        db = self.outage.db
        self.writer = ShareWriter(db, spill_path=os.path.join(state, "shares.spill"),
                                  flush_interval=0.2)
        self.recorder = DurableBlockRecorder(db, POLICY, self.writer,
                                             os.path.join(state, "blocks"), retry_interval=0.5)
        link = SimpleNamespace(client=self.client, pool_address=self.wallet)
        self.scanner = BlockScanner(db, link, self.recorder, self.writer, clock=reactor,
                                    interval=1.0)
        self.writer.recovery_observers.append(self.scanner.request)
        self.recorder.recovery_observers.append(self.scanner.request)
        self.submitter = BlockSubmitter(_CheckingClient(self), self.recorder, clock=reactor)
        services = (self.writer, self.recorder, self.scanner, self.submitter)
        for service in services:
            service.startService()
        for service in services:
            self.addCleanup(lambda s=service: s.running and s.stopService())
        self.shares_added = 0
        await wait_for(lambda: not self.scanner.wanted and self.scanner._running_scan is None,
                       "the start-up scan")

    def add_shares(self, count=5):
        for i in range(count):
            self.writer.add_share(share(time=time.time(), miner=i % 3, work=4))
        self.shares_added += count

    async def find_block(self, behind_the_pools_back=False):
        block, candidate = await pool_block(self.client, self.wallet)
        if behind_the_pools_back:
            await self.client.submitblock(block)
        else:
            self.assertEqual(await self.submitter.submit(candidate), ACCEPTED)

    def settled(self):
        return (not self.recorder.entries and not self.writer.queue and self.writer.db_ok
                and self.recorder.db_ok and not self.scanner.wanted
                and self.scanner._running_scan is None)

    async def test_every_block_accepted_during_an_outage_is_credited_once(self):
        await self.start_pool()
        logs = LogCapture(self)
        for _ in range(3):
            self.add_shares()
            await self.find_block()
        await self.outage.start()
        deadline = time.monotonic() + self.outage_seconds
        found = behind = 0
        while time.monotonic() < deadline:
            self.add_shares()
            unrecorded = found % 4 == 3
            await self.find_block(behind_the_pools_back=unrecorded)
            found += 1
            behind += unrecorded
            await deferLater(reactor, BLOCK_EVERY)
        await self.outage.end()
        await self.writer.flush()
        await wait_for(self.settled, "the ledger to catch up", timeout=120)

        expected = chain_blocks_paying(self.node, self.wallet)
        self.assertEqual(len(expected), 3 + found)
        assert_each_credited_once(self, self.outage.direct, expected)
        stored = self.outage.direct.run_sync(
            lambda c: c.execute(select(func.count()).select_from(shares)).scalar())
        self.assertEqual(stored, self.shares_added)
        self.assertGreaterEqual(self.submitter.client.sent, 3 + found - behind)
        # The local candidates went in first; the scan found exactly the others.
        self.assertEqual(len(self.scanner.recovered), behind)
        # The outage in the log: one error when it began, one line when it ended, per part.
        for part in ("candidates", "sharewriter"):
            self.assertEqual(len(logs.lines(part, LogLevel.error)), 1, part)
        self.assertEqual(logs.tracebacks(), [])
        self.assertEqual(logs.criticals(), [])


class _CheckingClient:
    """The node client; each submitblock first checks that the candidate is on disk."""

    def __init__(self, test):
        self.test = test
        self.sent = 0

    def __getattr__(self, name):
        return getattr(self.test.client, name)

    def submitblock(self, block, *args, **kw):
        key = SimpleNamespace(height=block["height"], hash=block["hash"])
        path = candidate_path(self.test.recorder.directory, key)
        self.test.assertTrue(os.path.exists(path), "submitblock before %s was written" % path)
        self.sent += 1
        return self.test.client.submitblock(block, *args, **kw)


globals().update(each_backend(BlockOutageMixin))
# The outage of the report (PostgreSQL, a minute) held for its full length.
BlockOutagePostgreSQL.outage_seconds = 60.0      # noqa: F821
