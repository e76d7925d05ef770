"""Per-miner fees: miner_fees (an address's own fee), credits.fee (what a part paid).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "miner_fees",
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("fee", sa.BigInteger, nullable=False),
        sa.Column("set_at", sa.Float, nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("address", name="pk_miner_fees"))
    # Credits written before this revision record no per-account fee: 0.
    op.add_column("credits", sa.Column("fee", sa.BigInteger, nullable=False,
                                       server_default="0"))


def downgrade():
    with op.batch_alter_table("credits") as batch:
        batch.drop_column("fee")
    op.drop_table("miner_fees")
