"""Payouts against the devnet node with its wallet defects on: paid exactly once, always.

Defects exercised (spec/gxc-node.md section 6): txid rewrite when mined and
after a restart (7), coin selection ignoring the mempool (8), mined payouts
lingering in the mempool (6), silent mempool expiry (10), restarts (3.12).
"""
from sqlalchemy import select

from gxcpoold.ledger import accounts, meta
from gxcpoold.ledger.accounts import verify_balances
from gxcpoold.ledger.schema import balances
from gxcpoold.node.errors import NodeTransportError
from tests.ledger.dbtest import each_backend
from tests.ledger.factories import address
from tests.ledger.harness import EXPIRY, MARGIN, MATURITY, LedgerHarness


class LostAnswerClient:
    """The node acts on sendtoaddress but the answer never arrives (or, with
    reach_node=False, the request never reaches it)."""

    def __init__(self, client, reach_node):
        self.client = client
        self.reach_node = reach_node

    def __getattr__(self, name):
        return getattr(self.client, name)

    async def sendtoaddress(self, address, amount):
        if self.reach_node:
            await self.client.sendtoaddress(address, amount)
        raise NodeTransportError("sendtoaddress: connection reset before the answer")


class PayoutsMixin(LedgerHarness):
    MINERS = 5

    async def earn(self, count=None):
        """Shares for `count` miners, a pool block, and enough blocks to mature it."""
        works = {address(i): 100 * (i + 1) for i in range(count or self.MINERS)}
        self.add_shares(works)
        await self.pool_block()
        self.mine(MATURITY)
        await self.unlocker.run_once()
        return self.owed()

    def owed(self):
        return {r.account: r.amount for r in self.db.run_sync(
            lambda c: c.execute(select(balances)).all()) if not r.account.startswith("@")}

    def assert_paid_exactly_once(self, expected):
        """Each miner received exactly what the ledger credited it, in exactly as
        many transactions as the ledger has confirmed payouts for it."""
        rows = self.payout_rows()
        for account, amount in expected.items():
            on_chain = self.received_on_chain(account)
            confirmed = [r for r in rows if r.recipient == account and r.status == "confirmed"]
            self.assertEqual(sum(a for _, a in on_chain), amount, account)
            self.assertEqual(len(on_chain), len(confirmed), account)
            self.assertEqual(sorted(h for h, _ in on_chain),
                             sorted(r.block_height for r in confirmed), account)
        self.assertEqual([r for r in rows if r.status in ("pending", "sent", "unknown")], [])
        self.assertTrue(all(v == 0 for v in self.owed().values()), self.owed())
        self.assertEqual(self.db.run_sync(verify_balances), [])

    async def pay_everyone(self, rounds=30):
        for _ in range(rounds):
            await self.payouts.run_once()
            self.mine(1)                      # other miners include the mempool
            if not any(self.owed().values()) and not [
                    r for r in self.payout_rows() if r.status in ("pending", "sent", "unknown")]:
                return
        self.fail("not everyone was paid after %d rounds" % rounds)

    async def test_every_miner_is_paid_exactly_once(self):
        await self.start()
        expected = await self.earn()
        self.assertEqual(len(expected), self.MINERS)
        await self.pay_everyone()
        self.assert_paid_exactly_once(expected)
        rows = self.payout_rows()
        # txid rewrite: the mined transaction never carries the id the node answered
        self.assertTrue(all(r.txid != r.mined_txid for r in rows))
        # stale mempool: every mined payout still sits in the node's mempool
        self.assertEqual({r.txid for r in rows} <= set(self.node.mempool.txs), True)

    async def test_only_one_unmined_payout_at_a_time(self):
        # The node's coin selection ignores the mempool: a second send before the
        # first is mined would spend the same coins.  Rounds without a block send nothing.
        await self.start()
        await self.earn()
        self.assertEqual(await self.payouts.run_once(), "sent")
        for _ in range(3):
            self.assertEqual(await self.payouts.run_once(), "waiting")
        self.assertEqual(len(self.payout_rows()), 1)
        self.assertEqual(len(self.node.mempool.txs), 1)

    async def test_expired_payout_is_reissued_once_and_paid_once(self):
        await self.start()
        expected = await self.earn(2)
        self.assertEqual(await self.payouts.run_once(), "sent")
        first = self.payout_rows()[0]
        # Nobody mines it; the node drops it after its mempool expiry (defect 10).
        self.node.advance_time(EXPIRY - 1)
        self.assertEqual(await self.payouts.run_once(), "waiting")    # still listed
        self.node.advance_time(2)
        self.assertNotIn(first.txid, self.node.mempool.txs)
        self.assertEqual(await self.payouts.run_once(), "waiting")    # not yet past the margin
        self.node.advance_time(MARGIN)
        self.assertEqual(await self.payouts.run_once(), "sent")       # refunded, re-issued
        rows = self.payout_rows()
        self.assertEqual([r.status for r in rows], ["failed", "sent"])
        self.assertEqual(rows[1].recipient, first.recipient)
        self.assertEqual(rows[1].amount, first.amount)
        await self.pay_everyone()
        self.assert_paid_exactly_once(expected)

    async def test_node_restart_changes_txids_yet_the_payout_is_recognised(self):
        await self.start()
        expected = await self.earn(2)
        self.assertEqual(await self.payouts.run_once(), "sent")
        self.mine(1)                                  # mined under a new id
        self.node.restart()                           # every txid changes again
        fresh = self.payout_service()                 # a restarted pool: no cache
        self.assertEqual(await fresh.reconcile(), True)
        self.payouts = fresh
        await self.pay_everyone()
        self.assert_paid_exactly_once(expected)

    async def test_node_restart_drops_an_unmined_payout_which_is_reissued_after_expiry(self):
        await self.start()
        expected = await self.earn(2)
        await self.payouts.run_once()
        self.node.restart()                           # the mempool copy is gone
        self.assertEqual(self.node.mempool.txs, {})
        self.mine(2)
        self.assertEqual(await self.payouts.run_once(), "waiting")  # cannot prove it gone yet
        self.node.advance_time(EXPIRY + MARGIN)
        await self.pay_everyone()
        self.assert_paid_exactly_once(expected)
        self.assertEqual([r.status for r in self.payout_rows()].count("failed"), 1)

    async def test_lost_answer_after_the_node_sent_it(self):
        await self.start()
        expected = await self.earn(2)
        self.payouts = self.payout_service(client=LostAnswerClient(self.client, True))
        self.assertEqual(await self.payouts.run_once(), "unknown")
        self.assertEqual(self.payout_rows()[0].status, "unknown")
        self.assertEqual(await self.payouts.run_once(), "waiting")
        self.mine(1)
        self.payouts = self.payout_service()
        await self.pay_everyone()
        self.assert_paid_exactly_once(expected)
        self.assertEqual(len(self.payout_rows()), 2)       # nothing was sent twice

    async def test_node_down_during_the_send(self):
        await self.start()
        expected = await self.earn(2)
        self.payouts = self.payout_service(client=LostAnswerClient(self.client, False))
        self.assertEqual(await self.payouts.run_once(), "unknown")
        self.payouts = self.payout_service()
        self.mine(3)
        self.assertEqual(await self.payouts.run_once(), "waiting")
        self.node.advance_time(EXPIRY + MARGIN)
        await self.pay_everyone()
        self.assert_paid_exactly_once(expected)

    async def test_node_down_before_the_round(self):
        await self.start()
        await self.earn(2)
        from gxcpoold.node.client import NodeClient
        dead = NodeClient(self.client.reactor, "http://127.0.0.1:9", retries=0, timeout=1)
        self.payouts = self.payout_service(client=dead)
        self.assertIsNone(await self.payouts.run_once())
        self.assertEqual(self.payout_rows(), [])

    async def test_refused_send_refunds_and_halts_until_resumed(self):
        await self.start()
        await self.earn(1)
        # An account the node will not pay (mainnet prefix on testnet).
        self.db.run_sync(accounts.adjust, "GXC" + "0" * 34, 10**8, actor="test",
                         reason="a bad address")
        owed = self.owed()[address(0)]
        self.db.run_sync(accounts.adjust, address(0), -owed, actor="test", reason="isolate")
        self.assertEqual(await self.payouts.run_once(), "halted")
        row = self.payout_rows()[0]
        self.assertEqual(row.status, "failed")
        self.assertEqual(self.owed()["GXC" + "0" * 34], 10**8)          # refunded
        self.assertEqual(await self.payouts.run_once(), "halted")
        self.assertEqual(len(self.payout_rows()), 1)
        self.assertEqual(self.db.run_sync(verify_balances), [])
        from gxcpoold.ledger import payoutstore
        self.db.run_sync(payoutstore.resume, "test", "address fixed")
        self.assertIsNone(self.db.run_sync(lambda c: meta.get(c, meta.PAYOUTS_HALTED)))

    async def test_wallet_never_pays_more_than_it_holds(self):
        await self.start()
        await self.earn(1)
        self.db.run_sync(accounts.adjust, address(7), 10**12, actor="test",
                         reason="more than the wallet")
        result = await self.payouts.run_once()
        self.assertEqual(result, "sent")
        self.assertNotEqual(self.payout_rows()[0].recipient, address(7))




class SingletonMixin(PayoutsMixin):
    """Two instances sharing one PostgreSQL: only the lock holder pays."""

    async def test_a_second_instance_waits_for_the_lock(self):
        if self.backend != "postgresql":
            return
        await self.start()
        await self.earn(1)
        held = self.payouts.lock.acquire()
        try:
            other = self.payout_service()
            self.assertEqual(await other.run_once(), "locked")
            self.assertEqual(self.payout_rows(), [])
        finally:
            self.payouts.lock.release(held)
        self.assertEqual(await self.payouts.run_once(), "sent")


for _name in [n for n in dir(PayoutsMixin) if n.startswith("test_")]:
    setattr(SingletonMixin, _name, None)

globals().update(each_backend(PayoutsMixin))
globals().update({k: v for k, v in each_backend(SingletonMixin).items() if "PostgreSQL" in k})
