"""The chain scan records and credits, once, accepted blocks paying the pool that the
ledger lacks."""
import collections
import dataclasses
import os
import tempfile
from fractions import Fraction
from types import SimpleNamespace

from sqlalchemy import select
from twisted.internet import reactor

from gxcpoold.ledger import meta
from gxcpoold.ledger.blocks import LedgerBlockRecorder, RewardPolicy
from gxcpoold.ledger.blockscan import META_KEY, BlockScanner
from gxcpoold.ledger.schema import blocks
from gxcpoold.ledger.sharewriter import ShareWriter
from gxcpoold.node.client import NodeClient
from gxcpoold.shares import ACCEPTED, SUBMITTED
from tests.devnet.loopback import start_devnode
from tests.ledger.blockfinding import (assert_each_credited_once, chain_blocks_paying,
                                       ledger_blocks, pool_block)
from tests.ledger.dbtest import each_backend, trial_database
from tests.ledger.factories import address, share

POLICY = RewardPolicy("pplns", 2.0, Fraction(1, 100), "@pool-fee")


class CountingClient:
    """The node client, counting getblock calls by height."""

    def __init__(self, client):
        self.client = client
        self.getblocks = collections.Counter()

    def __getattr__(self, name):
        return getattr(self.client, name)

    def getblock(self, selector, verbose=True):
        self.getblocks[selector] += 1
        return self.client.getblock(selector, verbose)


class BlockScanMixin:
    backend = "sqlite"

    async def setUp(self):
        self.devnode = await start_devnode(self, difficulty=1.0, maturity=2)
        self.node = self.devnode.node
        self.wallet = self.node.wallet.address
        self.client = CountingClient(NodeClient(reactor, self.devnode.url, retries=0, timeout=5))
        self.db = trial_database(self, self.backend)
        self.writer = ShareWriter(self.db, spill_path=os.path.join(tempfile.mkdtemp(), "s"),
                                  flush_interval=3600.0)
        self.addCleanup(self.writer._stop_io)
        self.recorder = LedgerBlockRecorder(self.db, POLICY, self.writer)
        self.link = SimpleNamespace(client=self.client, pool_address=self.wallet)

    def scanner(self):
        return BlockScanner(self.db, self.link, self.recorder, self.writer, clock=reactor)

    async def submit_recorded(self, status):
        """A block the pool found and recorded (status as given)."""
        block, candidate = await pool_block(self.client, self.wallet)
        await self.client.submitblock(block)
        await self.recorder.record_candidate(candidate)
        await self.recorder.set_block_status(candidate.height, candidate.hash, status)
        return candidate.height, candidate.hash

    async def test_blocks_the_ledger_lacks_are_recorded_and_credited_once(self):
        before = self.node.mine_other(self.wallet)          # before this ledger existed
        scanner = self.scanner()
        self.assertEqual(await scanner.scan(), 0)
        self.writer.add_share(share(miner=3, work=500, time=1.0))
        credited = await self.submit_recorded(ACCEPTED)
        unsettled = await self.submit_recorded(SUBMITTED)
        lost = [self.node.mine_other(self.wallet) for _ in range(2)]   # never recorded
        self.node.mine_other(None)                                      # another pool's
        # The lost block's share reached the ledger: the finder is known.
        found, _ = await pool_block(self.client, self.wallet)
        self.writer.add_share(dataclasses.replace(share(miner=4, work=16, time=2.0),
                                                  hash=found["hash"], is_block=True))
        await self.client.submitblock(found)
        await self.writer.flush()
        self.client.getblocks.clear()

        self.assertEqual(await scanner.scan(), 3)
        expected = chain_blocks_paying(self.node, self.wallet)
        del expected[(1, before)]
        assert_each_credited_once(self, self.db, expected)
        self.assertNotIn(1, [row[0] for row in ledger_blocks(self.db)])
        # Credited heights cost no node call; the unsettled one only getblockhash.
        self.assertNotIn(credited[0], self.client.getblocks)
        self.assertNotIn(unsettled[0], self.client.getblocks)
        self.assertEqual(set(self.client.getblocks.values()), {1})
        rows = {(r[0], r[1]): r for r in ledger_blocks(self.db)}
        self.assertIn((found["height"], found["hash"]), rows)
        finders = self.db.run_sync(lambda c: dict(c.execute(
            select(blocks.c.hash, blocks.c.address)).all()))
        self.assertEqual(finders[found["hash"]], address(4))
        self.assertEqual(finders[lost[0]], POLICY.fee_account)

        # Again, and after a restart: nothing new, nothing fetched again.
        self.client.getblocks.clear()
        self.assertEqual(await scanner.scan(), 0)
        self.assertEqual(await self.scanner().scan(), 0)
        self.assertEqual(sum(self.client.getblocks.values()), 0)
        assert_each_credited_once(self, self.db, expected)
        position = self.db.run_sync(lambda c: meta.get(c, META_KEY))
        self.assertEqual(position, "%s %d" % (self.node.chain.blocks[0].hash,
                                              self.node.chain.n - 1))

    async def test_a_routine_scan_leaves_the_newest_blocks_to_the_submitter(self):
        scanner = self.scanner()
        await scanner.scan()
        lost = [self.node.mine_other(self.wallet) for _ in range(3)]
        self.assertEqual(await scanner.scan(margin=2), 1)
        self.assertEqual([r[1] for r in ledger_blocks(self.db)], lost[:1])
        self.assertEqual(await scanner.scan(), 2)
        self.assertEqual(sorted(r[1] for r in ledger_blocks(self.db)), sorted(lost))

    async def test_a_fabricated_block_is_refused(self):
        scanner = self.scanner()
        await scanner.scan()
        self.node.mine_other(self.wallet)
        real_getblock = self.client.client.getblock

        def fabricated(selector, verbose=True):
            # What the node answers for a height it lacks (defect 11).
            return real_getblock(selector + 1000, verbose)
        self.client.client.getblock = fabricated
        await scanner._scan_if_wanted()
        self.assertTrue(scanner.wanted)                    # postponed, retried later
        self.assertEqual(ledger_blocks(self.db), [])
        self.client.client.getblock = real_getblock
        self.assertEqual(await scanner.scan(), 1)


globals().update(each_backend(BlockScanMixin))
