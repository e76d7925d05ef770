"""Payouts that always fit in a block, against the devnet node's real coin
selection (spec 6.2) and transaction sizes (6.3), blocks mined through the
real submitblock path under the node's request limit.

Balances needing 1, 5 and 50 transactions are paid completely, every
transaction mined; a payout the node built too large to be mined (sent before
this pool sized its payouts, or against its prediction) is replaced without
stalling later payouts, and confirmed if it is mined after all; small coins
are merged when nothing else can pay.  Throughout: the node wallet holds
exactly what the ledger says it owes, plus nothing.
"""
import json
from types import SimpleNamespace

from sqlalchemy import select
from twisted.internet import task
from twisted.logger import Logger, LogLevel, formatEvent

from gxcpoold.devnet.views import template_tx
from gxcpoold.ledger import accounts, coinselect
from gxcpoold.ledger import payoutstore as store
from gxcpoold.ledger.accounts import verify_balances
from gxcpoold.ledger.payouts import FOLLOW_UP_PAUSE, PayoutService
from gxcpoold.ledger.schema import balances
from tests.ledger.dbtest import each_backend
from tests.ledger.factories import address
from tests.ledger.harness import EXPIRY, MARGIN, LedgerHarness
from tests.waiting import wait_for

GXC = 100_000_000
UNFINISHED = ("pending", "sent", "unknown")


class PayoutSizesMixin(LedgerHarness):
    timeout = 300

    async def setup_wallet(self, coins, coin_gxc, owed, minimum=GXC):
        """A pool wallet of `coins` coins of `coin_gxc`; the ledger owes `owed`
        ({account: base units}) and the fee account holds the rest, so the ledger
        and the wallet start equal."""
        await self.start(minimum=minimum)
        await self.unlocker.run_once()                  # records the genesis
        for _ in range(coins):
            self.node.fund(self.wallet, coin_gxc)
        total = self.wallet_balance(self.wallet)
        for account, amount in owed.items():
            self.db.run_sync(accounts.adjust, account, amount, actor="test", reason="owed")
        self.db.run_sync(accounts.adjust, "@pool-fee", total - sum(owed.values()),
                         actor="test", reason="the rest of the wallet")

    def ledger_total(self):
        return sum(r.amount for r in self.db.run_sync(
            lambda c: c.execute(select(balances)).all()))

    def open_rows(self):
        return [r for r in self.payout_rows() if r.status in UNFINISHED]

    async def pay_until_done(self, rounds):
        """Payout round, then a block through submitblock, until nothing is owed
        or unfinished; returns the round results."""
        results = []
        for _ in range(rounds):
            results.append(await self.payouts.run_once())
            await self.submit_block()
            if results[-1] == "nothing to pay" and not self.open_rows():
                return results
        self.fail("still paying after %d rounds: %s" % (rounds, results[-8:]))

    def mined_payout_txs(self):
        """{recipient: [number of inputs of each mined transaction paying it]}."""
        found = {}
        for block in self.node.chain.blocks:
            for tx in block.transactions:
                if not tx.coinbase and tx.sender == self.wallet:
                    found.setdefault(tx.outputs[0].address, []).append(len(tx.inputs))
        return found

    def assert_wallet_equals_ledger(self):
        self.assertEqual(self.db.run_sync(verify_balances), [])
        self.assertEqual(self.wallet_balance(self.wallet), self.ledger_total())

    async def test_balances_needing_1_5_and_50_transactions_are_paid_completely(self):
        owed = {address(1): 10 * GXC, address(2): 60 * GXC, address(3): 640 * GXC}
        await self.setup_wallet(800, 1.0, {})
        max_inputs = coinselect.max_inputs_for(8000 - 1000)
        self.assertEqual(max_inputs, 13)
        # one balance after the other: each change coin (~0.009 GXC) of a part can take
        # an input slot of a later part, so only a fresh wallet pays exactly as planned
        for account, amount in owed.items():
            self.db.run_sync(accounts.adjust, "@pool-fee", -amount, actor="test", reason="owed")
            self.db.run_sync(accounts.adjust, account, amount, actor="test", reason="owed")
            await self.pay_until_done(80)
        mined = self.mined_payout_txs()
        for account, amount in owed.items():
            self.assertEqual(self.wallet_balance(account), amount, account)     # paid completely
        rows = self.payout_rows()
        self.assertEqual([r for r in rows if r.status != "confirmed"], [])  # each one mined
        counts = {a: len([r for r in rows if r.recipient == a]) for a in owed}
        self.assertEqual(counts[address(1)], 1)
        self.assertIn(counts[address(2)], (5, 6))
        self.assertTrue(50 <= counts[address(3)] <= 55, counts)
        for account in owed:
            self.assertEqual(len(mined[account]), counts[account])
            self.assertLessEqual(max(mined[account]), max_inputs + coinselect.INPUT_RESERVE)
        self.assert_wallet_equals_ledger()
        self.assertLess(self.ledger_total(), 90 * GXC)          # the node fees were paid

    async def test_a_payout_too_large_for_any_block_is_replaced_and_later_payouts_go_on(self):
        owed = {address(1): 20 * GXC, address(2): 5 * GXC}
        await self.setup_wallet(60, 1.0, owed)
        # An earlier pool version sent the whole 20 GXC: the node took 21 coins.
        stuck = self.db.run_sync(store.create_intent, address(1), GXC, self.node.chain.n,
                                 self.node.now())
        txid = await self.client.sendtoaddress(address(1), stuck.amount)
        self.db.run_sync(store.mark_sent, stuck.id, txid)
        tx = template_tx(self.node.mempool.txs[txid])
        self.assertEqual(len(tx["inputs"]), 21)
        self.assertGreater(len(json.dumps(tx, separators=(",", ":"))), 8000)
        self.assertEqual(await self.submit_block(), [])          # no block can carry it

        logged = []
        self.payouts.log = Logger(observer=logged.append)
        self.assertEqual(await self.payouts.run_once(), "sent")
        rows = self.payout_rows()
        self.assertEqual([r.status for r in rows], ["replaced", "sent"])
        replacement = self.node.mempool.txs[rows[1].txid]
        self.assertLessEqual(len(replacement.inputs), 13)
        # it spends the stuck one's first coin: at most one of them can be mined
        first = lambda t: (t.inputs[0].tx_hash, t.inputs[0].output_index)   # noqa: E731
        self.assertEqual(first(replacement), first(self.node.mempool.txs[txid]))
        [error] = [e for e in logged if e["log_level"] == LogLevel.error]
        self.assertIn("has 21 inputs", formatEvent(error))
        self.assertIn("Next:", formatEvent(error))

        await self.pay_until_done(20)
        self.assertEqual(self.wallet_balance(address(1)), 20 * GXC)
        self.assertEqual(self.wallet_balance(address(2)), 5 * GXC)
        statuses = [r.status for r in self.payout_rows()]
        self.assertEqual(statuses[0], "failed")          # the stuck one: never paid, final
        self.assertEqual(set(statuses[1:]), {"confirmed"})
        self.assertIn(txid, self.node.mempool.txs)        # long before its expiry
        self.assert_wallet_equals_ledger()

    async def test_a_payout_only_our_lower_limit_refuses_waits_for_its_expiry(self):
        # A block under the node's own limit (8191 B) could carry it beside a small
        # replacement, and a block holding both pays both (spec 3.9): no replacing.
        await self.setup_wallet(60, 1.0, {address(1): 11 * GXC})
        self.client.max_request_bytes = 6000
        stuck = self.db.run_sync(store.create_intent, address(1), GXC, self.node.chain.n,
                                 self.node.now())
        txid = await self.client.sendtoaddress(address(1), stuck.amount)
        self.db.run_sync(store.mark_sent, stuck.id, txid)
        self.assertEqual(len(self.node.mempool.txs[txid].inputs), 12)
        logged = []
        self.payouts.log = Logger(observer=logged.append)
        for _ in range(2):
            self.assertEqual(await self.payouts.run_once(), "waiting")
            self.assertEqual(await self.submit_block(), [])
        [error] = [e for e in logged if e["log_level"] == LogLevel.error]     # said once
        self.assertIn("raise max_request_bytes to at least", formatEvent(error))
        self.assertEqual([r.status for r in self.payout_rows()], ["sent"])
        self.node.advance_time(EXPIRY + MARGIN)
        await self.pay_until_done(10)
        self.assertEqual(self.wallet_balance(address(1)), 11 * GXC)
        rows = self.payout_rows()
        self.assertEqual([r.status for r in rows], ["failed"] + ["confirmed"] * (len(rows) - 1))
        self.assertGreaterEqual(len(rows), 3)                      # parts of 8 inputs at most
        self.assertLessEqual(max(self.mined_payout_txs()[address(1)]), 8)
        self.assert_wallet_equals_ledger()

    async def test_a_replaced_payout_mined_after_all_is_confirmed_once(self):
        owed = {address(1): 20 * GXC}
        await self.setup_wallet(60, 1.0, owed)
        stuck = self.db.run_sync(store.create_intent, address(1), GXC, self.node.chain.n,
                                 self.node.now())
        txid = await self.client.sendtoaddress(address(1), stuck.amount)
        self.db.run_sync(store.mark_sent, stuck.id, txid)
        self.assertEqual(await self.payouts.run_once(), "sent")      # replaced, part 1 sent
        # A miner without the request limit mines the stuck one alone.
        self.node.submit([self.other_block([template_tx(self.node.mempool.txs[txid])])],
                         source="other miner")
        await self.pay_until_done(10)
        self.assertEqual(self.wallet_balance(address(1)), 20 * GXC)    # paid once
        rows = self.payout_rows()
        self.assertEqual(rows[0].status, "confirmed")
        self.assertEqual(rows[1].status, "failed")        # shared the stuck one's input
        self.assertEqual([r for r in rows[2:] if r.status != "confirmed"], [])
        self.assertEqual(self.owed_to(address(1)), 0)
        self.assert_wallet_equals_ledger()

    async def test_small_coins_are_merged_when_nothing_else_can_pay(self):
        owed = {address(1): GXC}
        await self.setup_wallet(150, 0.02, owed)
        results = await self.pay_until_done(80)
        self.assertIn("consolidating", results)
        self.assertEqual(self.wallet_balance(address(1)), GXC)
        rows = self.payout_rows()
        merges = [r for r in rows if r.kind == "consolidation"]
        self.assertTrue(merges and all(r.status == "confirmed" for r in merges))
        self.assertTrue(all(r.recipient == self.wallet for r in merges))
        for inputs in self.mined_payout_txs()[self.wallet]:
            self.assertLessEqual(inputs, 14)
        self.assert_wallet_equals_ledger()

    async def test_parts_go_one_at_a_time_each_once_the_previous_is_mined(self):
        owed = {address(1): 40 * GXC}
        await self.setup_wallet(60, 1.0, owed)
        self.assertEqual(await self.payouts.run_once(), "sent")
        self.assertEqual(await self.payouts.run_once(), "waiting")     # not mined yet
        await self.submit_block()
        self.assertEqual(await self.payouts.run_once(), "sent")
        self.assertEqual(len(self.payout_rows()), 2)
        self.assertTrue(all(r.amount < 13 * GXC for r in self.payout_rows()))

    async def test_a_new_block_starts_the_next_round_soon_after_one_that_sent(self):
        await self.setup_wallet(60, 1.0, {address(1): 40 * GXC})
        observers, clock = [], task.Clock()
        link = SimpleNamespace(client=self.client, pool_address=self.wallet,
                               add_template_observer=observers.append)
        payer = PayoutService(self.db, link, minimum=GXC, mempool_expiry=EXPIRY,
                              expiry_margin=MARGIN, interval=3600.0, clock=clock)
        payer.startService()                            # the first round runs at once
        self.addCleanup(payer.stopService)
        await wait_for(lambda: payer._running is None, "the first round")
        self.assertEqual(len(self.payout_rows()), 1)
        await self.submit_block()
        observers[0](None, True)                        # too soon after the last round
        self.assertIsNone(payer._running)
        clock.advance(FOLLOW_UP_PAUSE)
        observers[0](None, False)                       # a refresh, not a new block
        self.assertIsNone(payer._running)
        observers[0](None, True)
        self.assertEqual(await payer._running, "sent")
        self.assertEqual(len(self.payout_rows()), 2)

    # -- helpers ---------------------------------------------------------------

    def owed_to(self, account):
        return self.db.run_sync(accounts.balance_of, account)

    def other_block(self, txs):
        """A block at height N by another miner carrying `txs` (no request limit)."""
        chain = self.node.chain
        coinbase = template_tx(self.node.coinbase_for(self.node.other_miner_address()))
        return {"height": chain.n, "hash": ("0" * chain.required_zeros + "f" * 64)[:64],
                "previousblockhash": chain.tip.hash, "nonce": 1, "timestamp": self.node.now(),
                "difficulty": chain.required_difficulty, "transactions": [coinbase] + txs}


globals().update(each_backend(PayoutSizesMixin))
