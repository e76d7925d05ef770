"""PayoutService: pays mature balances without ever paying twice or losing a credit.

The GXC node's wallet shapes this (spec/gxc-node.md section 6, defects 6-10):
txids change when mined and after restarts, coin selection ignores the
mempool (two unmined payouts can double-spend), an unmined payout silently
expires after an hour.  So each round:

1. take the lock (a PostgreSQL advisory lock: one instance pays);
2. reconcile unfinished payouts against the chain: scan blocks from the
   height the payout was recorded at for a transaction with its content
   (chainscan.py).  Found -> confirmed.  Its txid still in the mempool ->
   wait.  Neither, once the node's clock is past the mempool expiry plus a
   margin -> provably never paid: failed, amount back to the balance (to be
   paid again later).  Otherwise wait.  Nothing new is sent while any payout
   is unfinished: at most one unmined payout exists at any time;
3. check the pool wallet holds the amount plus the largest node fee;
4. record the intent and debit the balance in one transaction
   (idempotency key recipient#n), send it with sendtoaddress, record the
   answer (txid), learn the first input from the template.

Errors: the node refusing the send (an RPC error) means nothing was sent: the
payout is refunded and payouts halt until an operator resumes them
(gxcpool-admin payouts resume).  No answer at all leaves the outcome unknown:
the payout stays unfinished, which blocks new payouts until reconciliation
settles it.  Both are logged at critical level.  A crash anywhere leaves an
unfinished payout that the next start reconciles before anything is sent.
"""
from twisted.internet import defer
from twisted.logger import Logger

from gxcpoold.amounts import format_gxc, gxc_to_base_units
from gxcpoold.ledger import meta
from gxcpoold.ledger import payoutstore as store
from gxcpoold.ledger.chainscan import ChainScanner, match_payout
from gxcpoold.ledger.faults import fault_point
from gxcpoold.ledger.timedtask import SingletonTask
from gxcpoold.node.errors import NodeRPCError

MAX_NODE_FEE = 1_000_000            # 0.01 GXC: the node's fee never exceeds it (spec 2.13)
EXPIRY_MARGIN = 600                 # seconds past the node's mempool expiry before re-issuing


class PayoutService(SingletonTask):
    name = "payouts"
    lock_name = "payouts"
    log = Logger()
    node_down_note = "nothing sent this round"

    def __init__(self, db, node, *, minimum, fee_account="@pool-fee", mempool_expiry=3600.0,
                 interval=600.0, expiry_margin=EXPIRY_MARGIN, clock=None):
        """node: anything with .client (NodeClient) and .pool_address (NodeService)."""
        super().__init__(db, interval, clock)
        self.node = node
        self.minimum = minimum
        self.fee_account = fee_account
        self.mempool_expiry = mempool_expiry
        self.expiry_margin = expiry_margin
        self.scanner = None

    @property
    def client(self):
        return self.node.client

    # -- the round -------------------------------------------------------------------

    @defer.inlineCallbacks
    def _prepare(self):
        """The pool address, once the node's chain is the one the ledger follows; else None."""
        pool_address = self.node.pool_address
        if not pool_address:
            pool_address = yield self.client.getnewaddress()
        genesis = yield self.client.getblockhash(0)
        known = yield self.db.run(meta.get, meta.GENESIS_HASH, write=False)
        if known != genesis:
            # The unlocker records the genesis first and deals with a replaced chain.
            self.log.warn("payouts: waiting for the unlocker to confirm the node's chain")
            return None
        if self.scanner is None or self.scanner.pool_address != pool_address:
            self.scanner = ChainScanner(self.client, pool_address)
        self.scanner.reset(genesis)
        return pool_address

    @defer.inlineCallbacks
    def round(self):
        pool_address = yield self._prepare()
        if pool_address is None:
            return "chain unknown"
        clear = yield self._reconcile()
        halted = yield self.db.run(store.halted, write=False)
        if halted:
            self.log.error("payouts halted: {reason}", reason=halted)
            return "halted"
        if not clear:
            return "waiting"
        return (yield self._pay_one(pool_address))

    @defer.inlineCallbacks
    def reconcile(self):
        """Settle unfinished payouts (also on its own, e.g. at start-up).  True when
        none is left; None when the node's chain is not the ledger's."""
        if (yield self._prepare()) is None:
            return None
        return (yield self._reconcile())

    @defer.inlineCallbacks
    def _reconcile(self):
        """Settle unfinished payouts from what the chain shows.  True when none is left."""
        open_payouts = yield self.db.run(store.unfinished_payouts, write=False)
        if not open_payouts:
            return True
        n = yield self.client.getblockcount()
        info = yield self.client.getblockchaininfo()
        node_now = int(info["mediantime"])
        mempool = set((yield self.client.getrawmempool()) or [])
        claimed = yield self.db.run(store.claimed_payments, write=False)
        clear = True
        for payout in open_payouts:
            payments = yield self.scanner.payments_between(payout.start_height, n)
            seen = match_payout(payout, payments, claimed)
            if seen is not None:
                fault_point("reconcile-before-confirm")
                yield self.db.run(store.confirm, payout.id, seen, self.fee_account)
                claimed.add((seen.height, seen.recipient, seen.amount))
                self.log.info("payout {key}: {amount} GXC to {to} found in block {height}",
                              key=payout.idempotency_key, amount=format_gxc(payout.amount),
                              to=payout.recipient, height=seen.height)
                continue
            if payout.txid and payout.txid in mempool:
                clear = False
                continue
            waited = node_now - payout.node_time
            if waited >= self.mempool_expiry + self.expiry_margin:
                note = ("neither in blocks %d-%d nor in the mempool %ds after it was recorded "
                        "(node expiry %ds): never paid" % (payout.start_height, n - 1, waited,
                                                           self.mempool_expiry))
                yield self.db.run(store.refund, payout.id, note)
                self.log.warn("payout {key} to {to} expired unmined; {amount} GXC back to the "
                              "balance, to be paid again", key=payout.idempotency_key,
                              to=payout.recipient, amount=format_gxc(payout.amount))
                continue
            clear = False
            self.log.info("payout {key} to {to} not mined yet ({status}); no new payout until "
                          "it is", key=payout.idempotency_key, to=payout.recipient,
                          status=payout.status)
        return clear

    @defer.inlineCallbacks
    def _pay_one(self, pool_address):
        owed = yield self.db.run(store.payable_accounts, self.minimum, write=False)
        if not owed:
            return "nothing to pay"
        wallet = gxc_to_base_units((yield self.client.getbalance(pool_address)), exact=False)
        payable = [(a, amount) for a, amount in owed if amount + MAX_NODE_FEE <= wallet]
        if not payable:
            self.log.warn("payouts: the pool wallet holds {wallet} GXC, not enough for the "
                          "smallest payout due ({need} GXC + fee); waiting",
                          wallet=format_gxc(wallet), need=format_gxc(owed[-1][1]))
            return "wallet short"
        recipient = payable[0][0]
        n = yield self.client.getblockcount()
        info = yield self.client.getblockchaininfo()
        payout = yield self.db.run(store.create_intent, recipient, self.minimum, n,
                                   int(info["mediantime"]))
        if payout is None:
            return "nothing to pay"
        if payout.amount + MAX_NODE_FEE > wallet:      # the balance grew since we looked
            yield self.db.run(store.refund, payout.id, "wallet too small when recorded")
            return "wallet short"
        fault_point("after-intent")
        try:
            txid = yield self.client.sendtoaddress(recipient, payout.amount)
        except NodeRPCError as e:
            reason = "node refused payout %s: %s" % (payout.idempotency_key, e.message)
            yield self.db.run(store.refund, payout.id, reason, halt=reason)
            self.log.critical("{reason}; refunded; payouts halted until an operator runs "
                              "`gxcpool-admin payouts resume`", reason=reason)
            return "halted"
        except Exception as e:
            note = "send failed without an answer (%s); outcome unknown" % e
            yield self.db.run(store.mark_unknown, payout.id, note)
            self.log.critical("payout {key}: {note}; no payout is sent until the chain "
                              "settles it", key=payout.idempotency_key, note=note)
            return "unknown"
        fault_point("after-send")
        yield self.db.run(store.mark_sent, payout.id, txid)
        fault_point("after-record")
        self.log.info("payout {key}: {amount} GXC to {to} sent (mempool id {txid})",
                      key=payout.idempotency_key, amount=format_gxc(payout.amount),
                      to=recipient, txid=txid)
        yield self._learn_first_input(payout.id, pool_address, txid)
        return "sent"

    @defer.inlineCallbacks
    def _learn_first_input(self, payout_id, pool_address, txid):
        """The template lists mempool transactions with their inputs: keep the
        first one, to tell look-alike payments apart.  Best effort."""
        try:
            template = yield self.client.getblocktemplate(pool_address)
            for tx in template.get("transactions", [])[1:]:
                if tx.get("txid") == txid and tx.get("inputs"):
                    first = tx["inputs"][0]
                    yield self.db.run(store.set_first_input, payout_id,
                                      first.get("txHash"), first.get("outputIndex"))
                    return
        except Exception as e:
            self.log.debug("payouts: first input of {txid} unknown ({e})", txid=txid, e=e)
