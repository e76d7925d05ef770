"""PayoutService: pays mature balances without ever paying twice or losing a credit.

The GXC node's wallet shapes this (spec/gxc-node.md section 6, defects 6-10,
and 6.2-6.3): txids change when mined and after restarts, coin selection
ignores the mempool (two unmined payouts can double-spend), an unmined payout
silently expires after an hour, and a transaction with more than about 13
inputs makes every block carrying it larger than the node reads.  So each
round:

1. take the lock (a PostgreSQL advisory lock: one instance pays);
2. reconcile unfinished payouts against the chain: scan blocks from the
   height the payout was recorded at for a transaction with its content
   (chainscan.py).  Found -> confirmed.  Its txid still in the mempool ->
   wait, unless the template shows it too large for any block the pool can
   submit: then it is replaced (below).  Neither, once the node's clock is
   past the mempool expiry plus a margin -> provably never paid: failed,
   amount back to the balance (to be paid again later).  Otherwise wait.
   Nothing new is sent while any payout is unfinished: at most one unmined
   payout exists at any time;
3. pick the largest balance the wallet (getbalance) can pay whole, and size
   the send to the inputs the node will choose (coinselect.py, from
   listunspent): the whole balance if its transaction fits in a block,
   otherwise the most that fits; the rest is paid by later rounds, one
   transaction after another.  When the coins are so small that not even the
   minimum payout fits, the round merges them instead (a consolidation: a
   send from the pool wallet to itself);
4. record the intent and debit the balance in one transaction
   (idempotency key recipient#n), send it with sendtoaddress, record the
   answer (txid), learn its inputs from the template.

Replacing a payout that cannot be mined: it is marked replaced and its amount
goes back to the balance; the next send must spend one of its inputs (checked
against the predicted selection before sending, and against the template
after), so at most one of the two can ever be mined.  The replaced payout is
watched until the node's mempool expiry: found in a block after all, it is
confirmed and the balance debited again.

Errors: the node refusing the send (an RPC error) means nothing was sent: the
payout is refunded and payouts halt until an operator resumes them
(gxcpool-admin payouts resume).  No answer at all leaves the outcome unknown:
the payout stays unfinished, which blocks new payouts until reconciliation
settles it.  Both are logged at critical level.  A crash anywhere leaves an
unfinished payout that the next start reconciles before anything is sent.
"""
from dataclasses import dataclass

from twisted.internet import defer
from twisted.logger import Logger

from gxcpoold.amounts import format_gxc, gxc_to_base_units
from gxcpoold.events import EventHub
from gxcpoold.ledger import coinselect as cs
from gxcpoold.ledger import meta
from gxcpoold.ledger import payoutstore as store
from gxcpoold.ledger.chainscan import ChainScanner, match_payout
from gxcpoold.ledger.faults import fault_point
from gxcpoold.ledger.timedtask import SingletonTask
from gxcpoold.node.errors import NodeRPCError

MAX_NODE_FEE = cs.MAX_NODE_FEE      # 0.01 GXC: the node's fee never exceeds it (spec 2.13)
EXPIRY_MARGIN = 600                 # seconds past the node's mempool expiry before re-issuing
FOLLOW_UP_PAUSE = 10.0              # seconds between rounds started by new blocks


@dataclass(frozen=True)
class TemplateView:
    """What one getblocktemplate shows the payout processor: the mempool
    transactions with their inputs, and the room a block has for them."""
    txs: dict                        # mempool id -> transaction object
    room: int                        # bytes left after the coinbase-only submitblock
    node_room: int                   # the same under the node's own read limit


    @classmethod
    def of(cls, template, client, pool_address):
        block = cs.coinbase_only_block(template, pool_address)
        size = len(client.encode("submitblock", [block], 2**31))
        txs = {tx.get("txid"): tx for tx in (template.get("transactions") or [])[1:]
               if isinstance(tx, dict)}
        return cls(txs, client.max_request_bytes - size, cs.NODE_READ_LIMIT - size)

    def fits(self, tx) -> bool:
        return cs.json_bytes(tx) + 1 <= self.room     # +1: the comma before it

    def alone_in_any_block(self, tx) -> bool:
        """True when no block the node can read holds this transaction beside even the
        smallest other one: then it and its replacement are never mined together."""
        return cs.json_bytes(tx) + 1 + cs.MIN_TX_BYTES + 1 > self.node_room

    def input_keys(self, txid) -> set | None:
        tx = self.txs.get(txid)
        if tx is None:
            return None
        return {"%s_%s" % (i.get("txHash"), i.get("outputIndex"))
                for i in tx.get("inputs") or [] if isinstance(i, dict)}


class PayoutService(SingletonTask):
    name = "payouts"
    lock_name = "payouts"
    log = Logger()
    node_down_note = "nothing sent this round"

    def __init__(self, db, node, *, minimum, fee_account="@pool-fee", mempool_expiry=3600.0,
                 interval=600.0, expiry_margin=EXPIRY_MARGIN, clock=None, events=None):
        """node: anything with .client (NodeClient) and .pool_address (NodeService);
        with add_template_observer (NodeService), a new block starts a round soon
        after one that sent something, so a large balance is paid block after block."""
        super().__init__(db, interval, clock)
        self.events = events if events is not None else EventHub(self.clock)
        self.node = node
        self.minimum = minimum
        self.fee_account = fee_account
        self.mempool_expiry = mempool_expiry
        self.expiry_margin = expiry_margin
        self.scanner = None
        self._follow_up = False          # the last round sent or waits for a mined payout
        self._reported = set()           # payouts whose size problem was logged
        self._last_start = None
        observe = getattr(node, "add_template_observer", None)
        if observe is not None:
            observe(self._on_template)

    @property
    def client(self):
        return self.node.client

    def _now(self):
        return (self.clock or self.db.reactor).seconds()

    def _on_template(self, template, new_tip):
        if not (new_tip and self.running and self._follow_up) or self._running is not None:
            return
        if self._last_start is not None and self._now() - self._last_start < FOLLOW_UP_PAUSE:
            return
        self.run_once()

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
        self._last_start = self._now()
        self._follow_up = False
        pool_address = yield self._prepare()
        if pool_address is None:
            return "chain unknown"
        clear = yield self._reconcile(pool_address)
        halted = yield self.db.run(store.halted, write=False)
        if halted:
            self.log.error("payouts halted: {reason}", reason=halted)
            return "halted"
        if not clear:
            self._follow_up = True
            return "waiting"
        result = yield self._pay_one(pool_address)
        self._follow_up = result in ("sent", "consolidating", "waiting")
        return result

    @defer.inlineCallbacks
    def reconcile(self):
        """Settle unfinished payouts (also on its own, e.g. at start-up).  True when
        none is left; None when the node's chain is not the ledger's."""
        pool_address = yield self._prepare()
        if pool_address is None:
            return None
        return (yield self._reconcile(pool_address))

    @defer.inlineCallbacks
    def _template_view(self, pool_address):
        template = yield self.client.getblocktemplate(pool_address)
        return TemplateView.of(template, self.client, pool_address)

    @defer.inlineCallbacks
    def _reconcile(self, pool_address):
        """Settle unfinished payouts from what the chain shows.  True when none is left."""
        open_payouts = yield self.db.run(store.unfinished_payouts, write=False)
        replaced = yield self.db.run(store.replaced_payouts, write=False)
        if not open_payouts and not replaced:
            return True
        # The coins first, then the height: a coin missing here was spent by a block
        # below n, which the scan below sees (a payout is never judged dead because
        # of a block the scan has not read).
        _, unspent = yield self._unspent_keys(pool_address)
        n = yield self.client.getblockcount()
        info = yield self.client.getblockchaininfo()
        node_now = int(info["mediantime"])
        mempool = set((yield self.client.getrawmempool()) or [])
        view = yield self._template_view(pool_address)
        claimed = yield self.db.run(store.claimed_payments, write=False)
        for payout in replaced:
            yield self._watch_replaced(payout, n, node_now, claimed, view, unspent)
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
                self.events.publish("payout.mined", key=payout.idempotency_key,
                                    recipient=payout.recipient, amount=payout.amount,
                                    block_height=seen.height)
                continue
            spent = self._spent_input(payout, view, unspent)
            if spent is not None:
                note = ("not in blocks %d-%d and its input %s was spent by another mined "
                        "transaction: can never be mined" % (payout.start_height, n - 1, spent))
                yield self.db.run(store.refund, payout.id, note)
                self.log.warn("payout {key} to {to} can never be mined (its input {spent} is "
                              "spent); {amount} GXC back to the balance, to be paid again",
                              key=payout.idempotency_key, to=payout.recipient, spent=spent,
                              amount=format_gxc(payout.amount))
                continue
            if payout.txid and payout.txid in mempool:
                tx = view.txs.get(payout.txid)
                if tx is not None and not view.fits(tx):
                    if view.alone_in_any_block(tx):
                        yield self._replace(payout, tx, view)
                        continue
                    self._too_large_for_our_limit(payout, tx, view)
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
    def _unspent_keys(self, pool_address):
        # Always with the address: listunspent [] fails once a fee was mined (defect 13).
        entries = yield self.client.listunspent(pool_address)
        return entries, {c.key for c in cs.coins_from_listunspent(entries, pool_address)}

    @staticmethod
    def _spent_input(payout, view, unspent):
        """An input of the payout's mempool transaction that the chain has spent (so it
        can never be mined), or None.  listunspent keeps coins that mempool
        transactions spend (spec 2.12): a missing coin was spent by a block."""
        keys = view.input_keys(payout.txid) if payout.txid else None
        missing = sorted((keys or set()) - unspent)
        return missing[0] if missing else None

    @defer.inlineCallbacks
    def _replace(self, payout, tx, view):
        inputs, size = len(tx.get("inputs") or []), cs.json_bytes(tx)
        note = ("in the node's mempool with %d inputs (%d bytes of JSON, %d fit in a block "
                "beside the coinbase): no block the pool can submit carries it; replaced"
                % (inputs, size, max(view.room - 1, 0)))
        yield self.db.run(store.replace, payout.id, note)
        again = ("its amount is back in the balance and is paid again in transactions that fit"
                 if payout.kind == store.PAYOUT else "the coins are merged again in a smaller one")
        self.log.error(
            "payout {key}: {amount} GXC to {to} (mempool id {txid}) has {inputs} inputs, "
            "{size} bytes of JSON; no block under the request limit of {limit} bytes can carry "
            "it, so it would never be mined. Next: {again}, the next one spending one of its "
            "inputs so that at most one of them is ever mined; it is watched until the node "
            "drops it ({expiry:.0f} s after it was sent) and confirmed if it is mined after all",
            key=payout.idempotency_key, amount=format_gxc(payout.amount), to=payout.recipient,
            txid=payout.txid, inputs=inputs, size=size, limit=self.client.max_request_bytes,
            again=again, expiry=self.mempool_expiry)

    def _too_large_for_our_limit(self, payout, tx, view):
        """Too large for [node] max_request_bytes, yet a block under the node's own limit
        could carry it beside a replacement: replacing it is not safe (both could be
        mined together).  Said once per payout; it is paid again after its expiry."""
        if payout.idempotency_key in self._reported:
            return
        self._reported.add(payout.idempotency_key)
        need = cs.json_bytes(tx) + 1 + (cs.NODE_READ_LIMIT - view.node_room)
        self.log.error("payout {key}: {amount} GXC to {to} (mempool id {txid}) needs a "
                       "{need}-byte block, above [node] max_request_bytes = {limit}. Next: "
                       "it is refunded and paid again in transactions that fit once the node "
                       "drops it ({expiry:.0f} s after it was sent); to have it mined sooner, "
                       "raise max_request_bytes to at least {need} (at most 8191)",
                       key=payout.idempotency_key, amount=format_gxc(payout.amount),
                       to=payout.recipient, txid=payout.txid, need=need,
                       limit=self.client.max_request_bytes, expiry=self.mempool_expiry)

    @defer.inlineCallbacks
    def _watch_replaced(self, payout, n, node_now, claimed, view, unspent):
        """A replaced payout mined after all is confirmed; one that can no longer be
        mined (an input spent, or past the mempool expiry) is final."""
        payments = yield self.scanner.payments_between(payout.start_height, n)
        seen = match_payout(payout, payments, claimed)
        if seen is not None:
            yield self.db.run(store.confirm, payout.id, seen, self.fee_account)
            claimed.add((seen.height, seen.recipient, seen.amount))
            self.log.warn("payout {key}: {amount} GXC to {to}, replaced as too large, was mined "
                          "in block {height} after all: confirmed, the balance debited again "
                          "(its replacement cannot be mined: they share an input)",
                          key=payout.idempotency_key, amount=format_gxc(payout.amount),
                          to=payout.recipient, height=seen.height)
            return
        spent = self._spent_input(payout, view, unspent)
        if spent is not None:
            why = "its input %s was spent by another mined transaction" % spent
        elif node_now - payout.node_time >= self.mempool_expiry + self.expiry_margin:
            why = "it left the node's mempool unmined"
        else:
            return
        yield self.db.run(store.retire, payout.id, "%s; %s: never paid" % (payout.note, why))
        self.log.info("payout {key} (replaced) can never be mined: {why}; final",
                      key=payout.idempotency_key, why=why)

    @defer.inlineCallbacks
    def _live_replaced(self, view, unspent):
        """[(payout, input keys)] of replaced payouts the node could still mine: in the
        mempool with every input unspent."""
        live = []
        for payout in (yield self.db.run(store.replaced_payouts, write=False)):
            keys = view.input_keys(payout.txid) if payout.txid else None
            if keys and keys <= unspent:
                live.append((payout, keys))
        return live

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
        recipient, balance = payable[0]
        view = yield self._template_view(pool_address)
        entries, unspent = yield self._unspent_keys(pool_address)
        last = yield self.db.run(store.last_send_ids, write=False)
        orders = cs.selection_orders(cs.coins_from_listunspent(entries, pool_address), last)
        max_inputs = cs.max_inputs_for(view.room)
        plan = cs.plan_send(orders, balance=balance, minimum=self.minimum,
                            max_inputs=max_inputs, wallet=wallet)
        if plan.action == cs.WAIT:
            self.log.warn("payouts: cannot pay {to} now: {reason} ({count} coins, {inputs} "
                          "inputs fit in a block); waiting for larger coins", to=recipient,
                          reason=plan.reason, count=len(orders[0]), inputs=max_inputs)
            return "coins too small"
        live = yield self._live_replaced(view, unspent)
        # Double-pay safety while a replaced payout P is still in the mempool: the
        # node's selection is deterministic and ignores the mempool, so it walks
        # the same coins for the next send as it did for P (the change of P, its
        # last transaction, is not in the chain).  If the next send certainly
        # spends a coin P spends, the two conflict: once either is in a block the
        # other is invalid forever, and no block holds both since P alone does
        # not fit.  Where the prediction cannot promise that, wait for P to leave
        # the mempool (expiry) instead.
        certain = cs.certain_inputs(orders, plan.amount)
        apart = [p for p, keys in live if not certain & keys]
        if apart:
            self.log.warn("payouts: the next send would not certainly spend an input of the "
                          "replaced payout {key}; nothing sent until it leaves the node's "
                          "mempool", key=apart[0].idempotency_key)
            return "waiting"
        n = yield self.client.getblockcount()
        info = yield self.client.getblockchaininfo()
        node_time = int(info["mediantime"])
        if plan.action == cs.CONSOLIDATE:
            payout = yield self.db.run(store.create_consolidation, pool_address, plan.amount, n,
                                       node_time, "merging small coins: " + plan.reason)
        else:
            payout = yield self.db.run(store.create_intent, recipient, self.minimum, n,
                                       node_time, plan.amount)
        if payout is None:
            return "nothing to pay"
        if payout.amount + MAX_NODE_FEE > wallet:      # the balance grew since we looked
            yield self.db.run(store.refund, payout.id, "wallet too small when recorded")
            return "wallet short"
        fault_point("after-intent")
        try:
            txid = yield self.client.sendtoaddress(payout.recipient, payout.amount)
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
        self.events.publish("payout.sent", key=payout.idempotency_key, recipient=recipient,
                            amount=payout.amount, txid=txid, payout_kind=payout.kind)
        if payout.kind == store.CONSOLIDATION:
            self.log.info("payouts: merging small coins: {amount} GXC from the pool wallet to "
                          "itself (mempool id {txid}; {inputs} inputs at most)",
                          amount=format_gxc(payout.amount), txid=txid, inputs=plan.inputs)
        else:
            self.log.info("payout {key}: {amount} GXC to {to} sent (mempool id {txid}; {inputs} "
                          "inputs at most{part})", key=payout.idempotency_key,
                          amount=format_gxc(payout.amount), to=recipient, txid=txid,
                          inputs=plan.inputs,
                          part="" if payout.amount == balance else
                          "; %s GXC stay for later rounds" % format_gxc(balance - payout.amount))
        keys = yield self._learn_inputs(payout, pool_address, txid)
        for replaced, stuck_keys in live:
            if keys is not None and not keys & stuck_keys:
                self.log.critical("payout {key} spends none of the inputs of the replaced "
                                  "payout {old}, against the prediction: both could be mined; "
                                  "{old} is watched and, if mined, its recipient is debited "
                                  "again", key=payout.idempotency_key,
                                  old=replaced.idempotency_key)
        return "consolidating" if payout.kind == store.CONSOLIDATION else "sent"

    @defer.inlineCallbacks
    def _learn_inputs(self, payout, pool_address, txid):
        """The template lists mempool transactions with their inputs: keep the
        first one, to tell look-alike payments apart, and check the send has the
        size that was planned.  Best effort: input keys, or None."""
        try:
            view = yield self._template_view(pool_address)
            tx = view.txs.get(txid)
            if tx is None or not tx.get("inputs"):
                return None
            first = tx["inputs"][0]
            yield self.db.run(store.set_first_input, payout.id, first.get("txHash"),
                              first.get("outputIndex"))
            if not view.fits(tx):      # replaced by the next round
                self.log.error("payout {key}: the node chose {inputs} inputs, more than "
                               "predicted; a block cannot carry it", key=payout.idempotency_key,
                               inputs=len(tx["inputs"]))
            return view.input_keys(txid)
        except Exception as e:
            self.log.debug("payouts: inputs of {txid} unknown ({e})", txid=txid, e=e)
            return None
