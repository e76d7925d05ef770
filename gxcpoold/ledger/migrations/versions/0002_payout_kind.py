"""Payouts: kind (payout | consolidation).

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("payouts", sa.Column("kind", sa.String(16), nullable=False,
                                       server_default="payout"))


def downgrade():
    with op.batch_alter_table("payouts") as batch:
        batch.drop_column("kind")
