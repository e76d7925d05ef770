"""Payout rows and the balance moves that go with them (database thread).

Statuses: pending  intent recorded and balance debited; the send may or may not
                   have reached the node (a crash can stop us anywhere)
          sent     the node answered with a mempool txid
          unknown  the send failed without an answer; outcome unknown
          confirmed found in a block (by content, chainscan.py)
          failed   provably not paid; the amount went back to the balance
          replaced in the node's mempool but too large for any block the pool can
                   submit: the amount went back to the balance, to be paid by
                   transactions that fit and spend one of its inputs.  Watched
                   until the node's mempool expiry: should it be mined after
                   all, it is confirmed and the balance debited again.

Kinds: payout         to a miner, debited from its balance
       consolidation  the pool wallet to itself, merging small coins: no
                      balance moves; its node fee is the pool's, like a payout's
"""
import time

from sqlalchemy import func, insert, select, update

from gxcpoold.ledger import meta
from gxcpoold.ledger.accounts import add_to_balance, record_audit
from gxcpoold.ledger.schema import balances, payouts

PENDING, SENT, UNKNOWN, CONFIRMED, FAILED = "pending", "sent", "unknown", "confirmed", "failed"
REPLACED = "replaced"
UNFINISHED = (PENDING, SENT, UNKNOWN)
PAYOUT, CONSOLIDATION = "payout", "consolidation"


def unfinished_payouts(connection):
    return connection.execute(select(payouts).where(payouts.c.status.in_(UNFINISHED))
                              .order_by(payouts.c.id)).all()


def replaced_payouts(connection):
    return connection.execute(select(payouts).where(payouts.c.status == REPLACED)
                              .order_by(payouts.c.id)).all()


def last_send_ids(connection):
    """Ids the node may give the wallet's last transaction: the mempool id of the
    latest send and, once mined, its id in the block (coin selection, spec 6.2)."""
    row = connection.execute(select(payouts.c.txid, payouts.c.mined_txid)
                             .where(payouts.c.txid.is_not(None))
                             .order_by(payouts.c.id.desc()).limit(1)).first()
    return {i for i in (row or ()) if i}


def payable_accounts(connection, minimum):
    """(account, amount) owed at least `minimum`, largest first; internal "@" accounts never."""
    return connection.execute(select(balances.c.account, balances.c.amount)
                              .where(balances.c.amount >= minimum,
                                     ~balances.c.account.startswith("@"))
                              .order_by(balances.c.amount.desc(), balances.c.account)).all()


def _unfinished_exists(connection):
    return connection.execute(select(payouts.c.id).where(payouts.c.status.in_(UNFINISHED))
                              .limit(1)).first() is not None


def create_intent(connection, recipient, minimum, start_height, node_time, amount=None,
                  now=None):
    """Record the payout of `amount` (default: the whole balance; never more) to
    recipient and debit it, in this one transaction; None if another payout is
    unfinished or the balance is below the minimum."""
    now = time.time() if now is None else now
    if _unfinished_exists(connection):
        return None
    query = select(balances).where(balances.c.account == recipient)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None or row.amount < minimum:
        return None
    pay = row.amount if amount is None else min(amount, row.amount)
    if pay <= 0:                       # also an empty or negative balance
        return None
    seq = row.payout_seq + 1
    key = "%s#%d" % (recipient, seq)
    payout_id = connection.execute(insert(payouts).values(
        idempotency_key=key, recipient=recipient, amount=pay, status=PENDING, kind=PAYOUT,
        start_height=start_height, node_time=node_time, note="", created_at=now,
        updated_at=now)).inserted_primary_key[0]
    connection.execute(update(balances).where(balances.c.account == recipient).values(
        amount=balances.c.amount - pay, payout_seq=seq, updated_at=now))
    return connection.execute(select(payouts).where(payouts.c.id == payout_id)).one()


def create_consolidation(connection, pool_address, amount, start_height, node_time, note,
                         now=None):
    """Record a send of `amount` from the pool wallet to itself; None if a payout is
    unfinished.  Tracked like a payout (one unmined send at a time), no balance moves."""
    now = time.time() if now is None else now
    if _unfinished_exists(connection):
        return None
    count = connection.execute(select(func.count()).select_from(payouts)
                               .where(payouts.c.kind == CONSOLIDATION)).scalar()
    payout_id = connection.execute(insert(payouts).values(
        idempotency_key="@consolidation#%d" % (count + 1), recipient=pool_address,
        amount=amount, status=PENDING, kind=CONSOLIDATION, start_height=start_height,
        node_time=node_time, note=note, created_at=now, updated_at=now)).inserted_primary_key[0]
    return connection.execute(select(payouts).where(payouts.c.id == payout_id)).one()


def _move(connection, payout_id, from_statuses, **values):
    values.setdefault("updated_at", time.time())
    return connection.execute(update(payouts).where(payouts.c.id == payout_id,
                                                    payouts.c.status.in_(from_statuses))
                              .values(**values)).rowcount == 1


def mark_sent(connection, payout_id, txid):
    return _move(connection, payout_id, (PENDING, UNKNOWN), status=SENT, txid=txid,
                 sent_at=time.time())


def mark_unknown(connection, payout_id, note):
    return _move(connection, payout_id, (PENDING,), status=UNKNOWN, note=note)


def set_first_input(connection, payout_id, txid, index):
    connection.execute(update(payouts).where(payouts.c.id == payout_id).values(
        input_txid=txid, input_index=index))


def _give_back(connection, row, note, actor, action):
    if row.kind == PAYOUT:
        add_to_balance(connection, row.recipient, row.amount)
    record_audit(connection, actor=actor, action=action, account=row.recipient,
                 payout_id=row.id, reason=note)


def refund(connection, payout_id, note, *, halt=None, actor="payouts"):
    """Provably not paid: failed, and the amount back to the balance."""
    row = connection.execute(select(payouts).where(payouts.c.id == payout_id)).one()
    if not _move(connection, payout_id, UNFINISHED, status=FAILED, note=note):
        return False
    _give_back(connection, row, note, actor, "payout-failed")
    if halt:
        meta.put(connection, meta.PAYOUTS_HALTED, halt)
    return True


def replace(connection, payout_id, note, *, actor="payouts"):
    """In the mempool but no block can carry it: the amount back to the balance now,
    the payout watched (status replaced) until it can no longer be mined."""
    row = connection.execute(select(payouts).where(payouts.c.id == payout_id)).one()
    if not _move(connection, payout_id, UNFINISHED, status=REPLACED, note=note):
        return False
    _give_back(connection, row, note, actor, "payout-replaced")
    return True


def retire(connection, payout_id, note):
    """A replaced payout past the node's mempool expiry: never paid, final."""
    return _move(connection, payout_id, (REPLACED,), status=FAILED, note=note)


def confirm(connection, payout_id, seen, fee_account, *, actor="payouts", note=""):
    """Found in block seen.height: confirmed; the network fee is the pool's cost.
    A replaced payout found after all takes its amount from the balance again."""
    row = connection.execute(select(payouts).where(payouts.c.id == payout_id)).one()
    if not _move(connection, payout_id, UNFINISHED + (REPLACED,), status=CONFIRMED,
                 block_height=seen.height, block_hash=seen.block_hash, mined_txid=seen.txid,
                 network_fee=seen.fee, note=note or row.note):
        return False
    if row.status == REPLACED and row.kind == PAYOUT:
        add_to_balance(connection, row.recipient, -row.amount)
        record_audit(connection, actor=actor, action="payout-mined-after-all",
                     account=row.recipient, payout_id=payout_id,
                     reason="replaced payout found in block %d" % seen.height)
    if seen.fee:
        add_to_balance(connection, fee_account, -seen.fee)
        record_audit(connection, actor=actor, action="network-fee", account=fee_account,
                     amount=-seen.fee, payout_id=payout_id,
                     reason="node fee of the payout found in block %d" % seen.height)
    return True


def claimed_payments(connection):
    return {(r.block_height, r.recipient, r.amount) for r in connection.execute(
        select(payouts.c.block_height, payouts.c.recipient, payouts.c.amount)
        .where(payouts.c.status == CONFIRMED))}


def halted(connection):
    return meta.get(connection, meta.PAYOUTS_HALTED)


def resume(connection, actor, reason):
    meta.remove(connection, meta.PAYOUTS_HALTED)
    record_audit(connection, actor=actor, action="payouts-resumed", reason=reason)
