"""Ledger tables (SQLAlchemy Core).

The Alembic history in migrations/ must produce exactly this schema; a test
compares the two.  Money columns are BigInteger base units (1e-8 GXC).
Share work can exceed 64 bits (sha256d work = difficulty x 2**32), so it is
stored exactly as a decimal string on SQLite and NUMERIC on PostgreSQL.
"""
from sqlalchemy import (BigInteger, Boolean, Column, Float, ForeignKey, Index, Integer,
                        MetaData, Numeric, SmallInteger, String, Table, Text, UniqueConstraint)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

# SQLite only makes INTEGER PRIMARY KEY an auto-increment rowid alias.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class ExactWork(TypeDecorator):
    """A non-negative Python int of any size, stored without rounding."""
    impl = String(80)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(80, 0))
        return dialect.type_descriptor(String(80))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "postgresql":
            return value                     # psycopg sends ints of any size as numeric
        return str(int(value))

    def process_result_value(self, value, dialect):
        return None if value is None else int(value)


# Small facts: genesis hash of the chain the ledger follows, payout halt reason.
meta = Table(
    "meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

miners = Table(
    "miners", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("address", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
)

workers = Table(
    "workers", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("miner_id", ForeignKey("miners.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("last_share_at", Float, nullable=False),
    UniqueConstraint("miner_id", "name"),
)

# One row per accepted share; the PPLNS window walks them newest first by time.
shares = Table(
    "shares", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False, index=True),
    Column("algorithm", String(16), nullable=False),
    Column("miner_id", BigInteger, nullable=False),
    Column("worker_id", BigInteger, nullable=False),
    Column("difficulty", Float, nullable=False),
    Column("work", ExactWork, nullable=False),
    Column("height", Integer, nullable=False),
    Column("hash", String(128), nullable=False),
    Column("is_block", Boolean, nullable=False),
    Column("instance_id", SmallInteger, nullable=False),
)

blocks = Table(
    "blocks", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("height", Integer, nullable=False),
    Column("hash", String(128), nullable=False),
    Column("previous_hash", String(128), nullable=False),
    Column("algorithm", String(16), nullable=False),
    Column("address", String(64), nullable=False),       # finder
    Column("worker", String(64), nullable=False),
    Column("work", ExactWork, nullable=False),
    Column("network_difficulty", Float, nullable=False),  # the template's D
    Column("time", Float, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("reason", Text, nullable=False, default=""),
    Column("reward", BigInteger, nullable=False),          # coinbase amount, base units
    Column("confirmations", Integer, nullable=False, default=0),
    Column("credited", Boolean, nullable=False, default=False),
    Column("genesis_hash", String(128), nullable=True),
    Column("candidate", Text, nullable=False),             # JSON: submitblock object + solution
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("height", "hash"),
)

# What each account earns from each block; immature until the block matures.
credits = Table(
    "credits", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("block_id", ForeignKey("blocks.id"), nullable=False),
    Column("account", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),           # share | fee | remainder
    Column("amount", BigInteger, nullable=False),
    Column("work", ExactWork, nullable=False),
    Column("status", String(16), nullable=False),         # immature | mature | void
    # share credits: the fee this account's part paid (amount + fee = its part);
    # the block's "fee" credit is the sum of these.  0 on other kinds.
    Column("fee", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("block_id", "account", "kind"),
)

# An address's own fee rate, set by an operator (gxcpool-admin fee set; every
# change is in `audit`).  fee: 1e-8 of a reward, 1_000_000 = 0.01 = 1 %.
miner_fees = Table(
    "miner_fees", metadata,
    Column("address", String(64), primary_key=True),
    Column("fee", BigInteger, nullable=False),
    Column("set_at", Float, nullable=False),
    Column("set_by", String(64), nullable=False),
    Column("reason", Text, nullable=False),
)

# Mature, unpaid money per account (miner address or an internal "@name").
balances = Table(
    "balances", metadata,
    Column("account", String(64), primary_key=True),
    Column("amount", BigInteger, nullable=False),
    Column("payout_seq", Integer, nullable=False, default=0),
    Column("updated_at", Float, nullable=False),
)

payouts = Table(
    "payouts", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(128), nullable=False, unique=True),
    Column("recipient", String(64), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("start_height", Integer, nullable=False),      # getblockcount when recorded
    Column("node_time", Integer, nullable=False),         # node clock when recorded
    Column("sent_at", Float, nullable=True),
    Column("txid", String(128), nullable=True),           # mempool id: informative only
    Column("input_txid", String(128), nullable=True),     # first input, when learnt
    Column("input_index", Integer, nullable=True),
    Column("block_height", Integer, nullable=True),       # where it was found
    Column("block_hash", String(128), nullable=True),
    Column("mined_txid", String(128), nullable=True),
    Column("network_fee", BigInteger, nullable=True),
    Column("note", Text, nullable=False, default=""),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    # payout: to a miner, debited from its balance; consolidation: the pool wallet to
    # itself, merging small coins (no balance moves; the node fee is the pool's)
    Column("kind", String(16), nullable=False, server_default="payout"),
)

bans = Table(
    "bans", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),           # address | ip
    Column("value", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=True),
    UniqueConstraint("kind", "value"),
)

# Every change of a balance made by a person, and every payout resolution.
audit = Table(
    "audit", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("account", String(64), nullable=True, index=True),
    Column("amount", BigInteger, nullable=True),
    Column("payout_id", BigInteger, nullable=True),
    Column("reason", Text, nullable=False),
)

# Hashrate time series: work per 1-minute slot.  Statistics, not money, so a
# double is precise enough and lets SQL add them up.
stats = Table(
    "stats", metadata,
    Column("slot", BigInteger, primary_key=True),          # Unix minute start
    Column("algorithm", String(16), primary_key=True),
    Column("miner_id", BigInteger, primary_key=True),
    Column("worker_id", BigInteger, primary_key=True),
    Column("shares", Integer, nullable=False),
    Column("work", Float, nullable=False),
)
# A miner's page and chart read its own slots only (ledger/queries.py), not
# every miner's slots of the last 24 h.
Index("ix_stats_miner_id_slot", stats.c.miner_id, stats.c.slot)
# The web's blocks list finds each block's previous pool block by time.
Index("ix_blocks_time", blocks.c.time)

# Spill files already replayed, so a crash after commit never replays twice.
spill_replays = Table(
    "spill_replays", metadata,
    Column("file_id", String(64), primary_key=True),
    Column("shares", Integer, nullable=False),
    Column("replayed_at", Float, nullable=False),
)
