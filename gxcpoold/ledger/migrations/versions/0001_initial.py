"""Initial ledger schema.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from gxcpoold.ledger.schema import ExactWork

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_meta"))
    op.create_table(
        "miners",
        sa.Column("id", RowId, autoincrement=True, nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_miners"),
        sa.UniqueConstraint("address", name="uq_miners_address"))
    op.create_table(
        "workers",
        sa.Column("id", RowId, autoincrement=True, nullable=False),
        sa.Column("miner_id", RowId, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("last_share_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workers"),
        sa.ForeignKeyConstraint(["miner_id"], ["miners.id"], name="fk_workers_miner_id_miners"),
        sa.UniqueConstraint("miner_id", "name", name="uq_workers_miner_id_name"))
    op.create_table(
        "shares",
        sa.Column("id", RowId, autoincrement=True, nullable=False),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("miner_id", sa.BigInteger, nullable=False),
        sa.Column("worker_id", sa.BigInteger, nullable=False),
        sa.Column("difficulty", sa.Float, nullable=False),
        sa.Column("work", ExactWork, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(128), nullable=False),
        sa.Column("is_block", sa.Boolean, nullable=False),
        sa.Column("instance_id", sa.SmallInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shares"))
    op.create_index("ix_shares_time", "shares", ["time"])
    op.create_table(
        "blocks",
        sa.Column("id", RowId, autoincrement=True, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(128), nullable=False),
        sa.Column("previous_hash", sa.String(128), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("work", ExactWork, nullable=False),
        sa.Column("network_difficulty", sa.Float, nullable=False),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("reward", sa.BigInteger, nullable=False),
        sa.Column("confirmations", sa.Integer, nullable=False),
        sa.Column("credited", sa.Boolean, nullable=False),
        sa.Column("genesis_hash", sa.String(128), nullable=True),
        sa.Column("candidate", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_blocks"),
        sa.UniqueConstraint("height", "hash", name="uq_blocks_height_hash"))
    op.create_index("ix_blocks_status", "blocks", ["status"])
    op.create_table(
        "credits",
        sa.Column("id", RowId, autoincrement=True, nullable=False),
        sa.Column("block_id", RowId, nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("work", ExactWork, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_credits"),
        sa.ForeignKeyConstraint(["block_id"], ["blocks.id"], name="fk_credits_block_id_blocks"),
        sa.UniqueConstraint("block_id", "account", "kind",
                            name="uq_credits_block_id_account_kind"))
    op.create_index("ix_credits_account", "credits", ["account"])
    op.create_table(
        "balances",
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("payout_seq", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("account", name="pk_balances"))
    op.create_table(
        "payouts",
        sa.Column("id", RowId, autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start_height", sa.Integer, nullable=False),
        sa.Column("node_time", sa.Integer, nullable=False),
        sa.Column("sent_at", sa.Float, nullable=True),
        sa.Column("txid", sa.String(128), nullable=True),
        sa.Column("input_txid", sa.String(128), nullable=True),
        sa.Column("input_index", sa.Integer, nullable=True),
        sa.Column("block_height", sa.Integer, nullable=True),
        sa.Column("block_hash", sa.String(128), nullable=True),
        sa.Column("mined_txid", sa.String(128), nullable=True),
        sa.Column("network_fee", sa.BigInteger, nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payouts"),
        sa.UniqueConstraint("idempotency_key", name="uq_payouts_idempotency_key"))
    op.create_index("ix_payouts_recipient", "payouts", ["recipient"])
    op.create_index("ix_payouts_status", "payouts", ["status"])
    op.create_table(
        "bans",
        sa.Column("id", RowId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_bans"),
        sa.UniqueConstraint("kind", "value", name="uq_bans_kind_value"))
    op.create_table(
        "audit",
        sa.Column("id", RowId, autoincrement=True, nullable=False),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("account", sa.String(64), nullable=True),
        sa.Column("amount", sa.BigInteger, nullable=True),
        sa.Column("payout_id", sa.BigInteger, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit"))
    op.create_index("ix_audit_account", "audit", ["account"])
    op.create_table(
        "stats",
        sa.Column("slot", sa.BigInteger, nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("miner_id", sa.BigInteger, nullable=False),
        sa.Column("worker_id", sa.BigInteger, nullable=False),
        sa.Column("shares", sa.Integer, nullable=False),
        sa.Column("work", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("slot", "algorithm", "miner_id", "worker_id", name="pk_stats"))
    op.create_table(
        "spill_replays",
        sa.Column("file_id", sa.String(64), nullable=False),
        sa.Column("shares", sa.Integer, nullable=False),
        sa.Column("replayed_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("file_id", name="pk_spill_replays"))


def downgrade():
    for table in ("spill_replays", "stats", "audit", "bans", "payouts", "balances", "credits",
                  "blocks", "shares", "workers", "miners", "meta"):
        op.drop_table(table)
