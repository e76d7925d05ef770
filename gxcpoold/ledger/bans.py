"""Bans on miner addresses or IPs, kept in the database (admin command, Stratum checks)."""
import time

from sqlalchemy import delete, or_, select

from gxcpoold.ledger.schema import bans
from gxcpoold.ledger.sharestore import dialect_insert

KINDS = ("address", "ip")


def ban(connection, kind, value, reason, *, hours=None, now=None):
    if kind not in KINDS:
        raise ValueError("ban kind must be one of %s" % ", ".join(KINDS))
    now = time.time() if now is None else now
    expires = now + hours * 3600 if hours else None
    stmt = dialect_insert(connection, bans).values(kind=kind, value=value, reason=reason,
                                                   created_at=now, expires_at=expires)
    connection.execute(stmt.on_conflict_do_update(
        index_elements=["kind", "value"],
        set_={"reason": reason, "created_at": now, "expires_at": expires}))


def unban(connection, kind, value) -> bool:
    return connection.execute(delete(bans).where(bans.c.kind == kind,
                                                 bans.c.value == value)).rowcount > 0


def active_bans(connection, now=None):
    now = time.time() if now is None else now
    return connection.execute(select(bans).where(or_(bans.c.expires_at.is_(None),
                                                     bans.c.expires_at > now))
                              .order_by(bans.c.kind, bans.c.value)).all()


def is_banned(connection, kind, value, now=None) -> bool:
    return any(b.kind == kind and b.value == value for b in active_bans(connection, now))
