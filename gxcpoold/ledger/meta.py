"""Small persistent facts in the meta table (genesis hash, payout halt)."""
from sqlalchemy import delete, select

from gxcpoold.ledger.schema import meta
from gxcpoold.ledger.sharestore import dialect_insert

GENESIS_HASH = "genesis_hash"
PAYOUTS_HALTED = "payouts_halted"


def get(connection, key, default=None):
    value = connection.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
    return default if value is None else value


def put(connection, key, value):
    stmt = dialect_insert(connection, meta).values(key=key, value=value)
    connection.execute(stmt.on_conflict_do_update(index_elements=["key"],
                                                  set_={"value": stmt.excluded.value}))


def remove(connection, key):
    connection.execute(delete(meta).where(meta.c.key == key))
