"""Blocks against the devnet node: credit, confirm, mature, orphan, reject, node down, wiped node."""
import time

from sqlalchemy import select

from gxcpoold.ledger import meta
from gxcpoold.ledger.accounts import verify_balances
from gxcpoold.ledger.schema import balances, blocks, credits
from gxcpoold.node.client import NodeClient
from gxcpoold.shares import ACCEPTED, BlockCandidate, SUBMITTED
from tests.ledger.dbtest import each_backend
from tests.ledger.factories import address
from tests.ledger.harness import MATURITY, LedgerHarness


def fake_candidate(height, block_hash, reward=50.0):
    return BlockCandidate(time=time.time(), algorithm="gxhash", height=height, hash=block_hash,
                          previousblockhash="0" * 64, address=address(9), worker="",
                          work=16, block={"difficulty": 4.0, "transactions": [
                              {"outputs": [{"address": "x", "amount": reward}]}]})


class UnlockerMixin(LedgerHarness):
    def rows(self, table):
        return self.db.run_sync(lambda c: c.execute(select(table)).all())

    def block_row(self, block_hash):
        return self.db.run_sync(lambda c: c.execute(
            select(blocks).where(blocks.c.hash == block_hash)).one())

    def balance_map(self):
        return {r.account: r.amount for r in self.rows(balances)}

    async def test_accepted_block_is_credited_then_matures_into_balances(self):
        await self.start()
        self.add_shares({address(1): 1000, address(2): 3000})
        height, block_hash = await self.pool_block()
        row = self.block_row(block_hash)
        self.assertEqual((row.status, row.credited, row.reward), ("immature", True, 5_000_000_000))
        self.assertEqual(self.balance_map(), {})
        self.assertEqual(sum(c.amount for c in self.rows(credits)), 5_000_000_000)
        self.mine(MATURITY - 2)
        await self.unlocker.run_once()
        self.assertEqual(self.block_row(block_hash).status, "immature")
        self.mine(1)
        await self.unlocker.run_once()
        row = self.block_row(block_hash)
        self.assertEqual((row.status, row.confirmations), ("mature", MATURITY))
        self.assertEqual(self.balance_map(), {address(1): 1_237_500_000,
                                              address(2): 3_712_500_000,
                                              "@pool-fee": 50_000_000})
        self.assertEqual(self.db.run_sync(verify_balances), [])
        await self.unlocker.run_once()               # maturing twice would double balances
        self.assertEqual(self.balance_map()[address(2)], 3_712_500_000)

    async def test_block_the_submitter_never_confirmed_is_found_and_credited(self):
        await self.start()
        self.add_shares({address(1): 500})
        height = self.node.chain.n
        block_hash = self.node.mine_other(self.wallet)
        await self.recorder.record_candidate(fake_candidate(height, block_hash))
        await self.recorder.set_block_status(height, block_hash, SUBMITTED)
        await self.unlocker.run_once()
        row = self.block_row(block_hash)
        self.assertEqual((row.status, row.credited), ("immature", True))

    async def test_height_taken_by_another_block_orphans_and_voids_credits(self):
        await self.start()
        self.add_shares({address(1): 500})
        height = self.node.chain.n
        ours = "0000" + "ab" * 30
        await self.recorder.record_candidate(fake_candidate(height, ours))
        await self.recorder.set_block_status(height, ours, ACCEPTED)   # the ledger believed it
        self.assertEqual(self.block_row(ours).status, "immature")
        self.mine(MATURITY + 1)                  # the chain has another block there
        await self.unlocker.run_once()
        row = self.block_row(ours)
        self.assertEqual(row.status, "orphaned")
        self.assertEqual({c.status for c in self.rows(credits)}, {"void"})
        self.assertEqual(self.balance_map(), {})
        self.assertEqual(self.db.run_sync(verify_balances), [])

    async def test_candidate_whose_height_was_filled_is_rejected(self):
        await self.start()
        height = self.node.chain.n
        ours = "0000" + "cd" * 30
        await self.recorder.record_candidate(fake_candidate(height, ours))
        self.mine(1)
        await self.unlocker.run_once()
        row = self.block_row(ours)
        self.assertEqual((row.status, row.credited), ("rejected", False))
        self.assertEqual(self.rows(credits), [])

    async def test_node_down_changes_nothing(self):
        await self.start()
        self.add_shares({address(1): 500})
        height, block_hash = await self.pool_block()
        self.mine(MATURITY)
        self.unlocker.client = NodeClient(self.client.reactor, "http://127.0.0.1:9", retries=0,
                                          timeout=1)
        await self.unlocker.run_once()           # logs a warning, raises nothing
        self.assertEqual(self.block_row(block_hash).status, "immature")
        self.unlocker.client = self.client
        await self.unlocker.run_once()
        self.assertEqual(self.block_row(block_hash).status, "mature")

    async def test_wiped_node_orphans_unmatured_blocks_and_halts_payouts(self):
        await self.start()
        self.add_shares({address(1): 500})
        _, mature_hash = await self.pool_block()
        self.mine(MATURITY)
        await self.unlocker.run_once()
        _, young_hash = await self.pool_block()
        old_genesis = self.node.chain.blocks[0].hash
        self.node.generation += 1            # the operator wiped the data dir (defect 18)
        self.node._fresh_start()
        await self.unlocker.run_once()
        self.assertEqual(self.block_row(mature_hash).status, "mature")
        self.assertEqual(self.block_row(young_hash).status, "orphaned")
        self.assertIn("replaced", self.block_row(young_hash).reason)
        stored = self.db.run_sync(lambda c: meta.get(c, meta.GENESIS_HASH))
        self.assertNotEqual(stored, old_genesis)
        self.assertIn("replaced", self.db.run_sync(lambda c: meta.get(c, meta.PAYOUTS_HALTED)))
        self.assertEqual(self.db.run_sync(verify_balances), [])


globals().update(each_backend(UnlockerMixin))
