"""Payout rows and the balance moves that go with them (database thread).

Statuses: pending  intent recorded and balance debited; the send may or may not
                   have reached the node (a crash can stop us anywhere)
          sent     the node answered with a mempool txid
          unknown  the send failed without an answer; outcome unknown
          confirmed found in a block (by content, chainscan.py)
          failed   provably not paid; the amount went back to the balance
"""
import time

from sqlalchemy import insert, select, update

from gxcpoold.ledger import meta
from gxcpoold.ledger.accounts import add_to_balance, record_audit
from gxcpoold.ledger.schema import balances, payouts

PENDING, SENT, UNKNOWN, CONFIRMED, FAILED = "pending", "sent", "unknown", "confirmed", "failed"
UNFINISHED = (PENDING, SENT, UNKNOWN)


def unfinished_payouts(connection):
    return connection.execute(select(payouts).where(payouts.c.status.in_(UNFINISHED))
                              .order_by(payouts.c.id)).all()


def payable_accounts(connection, minimum):
    """(account, amount) owed at least `minimum`, largest first; internal "@" accounts never."""
    return connection.execute(select(balances.c.account, balances.c.amount)
                              .where(balances.c.amount >= minimum,
                                     ~balances.c.account.startswith("@"))
                              .order_by(balances.c.amount.desc(), balances.c.account)).all()


def create_intent(connection, recipient, minimum, start_height, node_time, now=None):
    """Record the payout of recipient's whole balance and debit it, in this one
    transaction; None if another payout is unfinished or the balance is too small."""
    now = time.time() if now is None else now
    if connection.execute(select(payouts.c.id).where(payouts.c.status.in_(UNFINISHED))
                          .limit(1)).first():
        return None
    query = select(balances).where(balances.c.account == recipient)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None or row.amount < minimum:
        return None
    seq = row.payout_seq + 1
    key = "%s#%d" % (recipient, seq)
    payout_id = connection.execute(insert(payouts).values(
        idempotency_key=key, recipient=recipient, amount=row.amount, status=PENDING,
        start_height=start_height, node_time=node_time, note="", created_at=now,
        updated_at=now)).inserted_primary_key[0]
    connection.execute(update(balances).where(balances.c.account == recipient).values(
        amount=balances.c.amount - row.amount, payout_seq=seq, updated_at=now))
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


def refund(connection, payout_id, note, *, halt=None, actor="payouts"):
    """Provably not paid: failed, and the amount back to the balance."""
    row = connection.execute(select(payouts).where(payouts.c.id == payout_id)).one()
    if not _move(connection, payout_id, UNFINISHED, status=FAILED, note=note):
        return False
    add_to_balance(connection, row.recipient, row.amount)
    if halt:
        meta.put(connection, meta.PAYOUTS_HALTED, halt)
    record_audit(connection, actor=actor, action="payout-failed", account=row.recipient,
                 payout_id=payout_id, reason=note)
    return True


def confirm(connection, payout_id, seen, fee_account, *, actor="payouts", note=""):
    """Found in block seen.height: confirmed; the network fee is the pool's cost."""
    if not _move(connection, payout_id, UNFINISHED, status=CONFIRMED, block_height=seen.height,
                 block_hash=seen.block_hash, mined_txid=seen.txid, network_fee=seen.fee,
                 note=note):
        return False
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
