"""Indexes for the web's read model: stats by miner and slot, blocks by time.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_stats_miner_id_slot", "stats", ["miner_id", "slot"])
    op.create_index("ix_blocks_time", "blocks", ["time"])


def downgrade():
    op.drop_index("ix_blocks_time", "blocks")
    op.drop_index("ix_stats_miner_id_slot", "stats")
