"""Balances and the audit trail.

A balance is mature, unpaid money.  It only moves in the same transaction as
the event that justifies it, so at any commit:

  balance(account) = sum of its mature credits
                   + sum of its audit amounts (adjustments, network fees)
                   - sum of its payouts that were not refunded (status not failed
                     or replaced; consolidations move no balance)

verify_balances() checks exactly that.
"""
import time

from sqlalchemy import case, func, insert, select

from gxcpoold.ledger.schema import audit, balances, credits, payouts
from gxcpoold.ledger.sharestore import dialect_insert

MATURE, IMMATURE, VOID = "mature", "immature", "void"
REFUNDED = ("failed", "replaced")   # payout statuses whose amount is back in the balance


def add_to_balance(connection, account: str, delta: int, *, now=None):
    if isinstance(delta, bool) or not isinstance(delta, int):
        raise TypeError("balance changes are ints of base units")
    now = time.time() if now is None else now
    stmt = dialect_insert(connection, balances).values(
        account=account, amount=delta, payout_seq=0, updated_at=now)
    stmt = stmt.on_conflict_do_update(index_elements=["account"], set_={
        "amount": balances.c.amount + stmt.excluded.amount, "updated_at": now})
    connection.execute(stmt)


def balance_of(connection, account: str) -> int:
    value = connection.execute(select(balances.c.amount).where(
        balances.c.account == account)).scalar()
    return value or 0


def record_audit(connection, *, actor, action, reason, account=None, amount=None,
                 payout_id=None, now=None):
    connection.execute(insert(audit).values(
        time=time.time() if now is None else now, actor=actor, action=action, account=account,
        amount=amount, payout_id=payout_id, reason=reason))


def adjust(connection, account: str, amount: int, *, actor: str, reason: str):
    """An operator's credit (amount > 0) or debit (< 0), with its audit entry.
    A debit may not take a balance below zero."""
    if not reason.strip():
        raise ValueError("an adjustment needs a reason")
    if amount == 0:
        raise ValueError("an adjustment of 0 changes nothing")
    if amount < 0 and balance_of(connection, account) + amount < 0:
        raise ValueError("debit of %d exceeds the balance %d of %s"
                         % (-amount, balance_of(connection, account), account))
    add_to_balance(connection, account, amount)
    record_audit(connection, actor=actor, action="credit" if amount > 0 else "debit",
                 account=account, amount=amount, reason=reason)


def expected_balances(connection) -> dict:
    """What every balance must be, recomputed from credits, audit and payouts."""
    expected = {}
    for account, amount in connection.execute(
            select(credits.c.account, func.sum(credits.c.amount))
            .where(credits.c.status == MATURE).group_by(credits.c.account)):
        expected[account] = expected.get(account, 0) + int(amount)
    for account, amount in connection.execute(
            select(audit.c.account, func.sum(audit.c.amount))
            .where(audit.c.account.is_not(None), audit.c.amount.is_not(None))
            .group_by(audit.c.account)):
        expected[account] = expected.get(account, 0) + int(amount)
    for account, amount in connection.execute(
            select(payouts.c.recipient, func.sum(case((payouts.c.status.not_in(REFUNDED),
                                                       payouts.c.amount), else_=0)))
            .where(payouts.c.kind == "payout").group_by(payouts.c.recipient)):
        expected[account] = expected.get(account, 0) - int(amount)
    return expected


def verify_balances(connection) -> list:
    """[(account, stored, expected)] for every balance that disagrees; [] when all agree."""
    stored = {a: int(v) for a, v in connection.execute(select(balances.c.account,
                                                               balances.c.amount))}
    expected = expected_balances(connection)
    wrong = []
    for account in sorted(stored.keys() | expected.keys()):
        if stored.get(account, 0) != expected.get(account, 0):
            wrong.append((account, stored.get(account, 0), expected.get(account, 0)))
    return wrong
