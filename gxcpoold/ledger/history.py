"""A miner's history as CSV rows: credits per block, payouts, adjustments."""
import csv

from sqlalchemy import select

from gxcpoold.amounts import format_gxc
from gxcpoold.ledger.schema import audit, blocks, credits, payouts

COLUMNS = ("time", "event", "amount_gxc", "amount_base_units", "status", "block_height",
           "block_hash", "reference", "note")


def miner_history(connection, account):
    rows = []
    for r in connection.execute(
            select(blocks.c.time, blocks.c.height, blocks.c.hash, credits.c.amount,
                   credits.c.status, credits.c.kind, credits.c.work, credits.c.fee)
            .join(blocks, blocks.c.id == credits.c.block_id)
            .where(credits.c.account == account)):
        # a share credit's fee: what its part of the reward paid (docs/fees.md)
        note = "work %d" % r.work + (", fee %d base units" % r.fee if r.fee else "")
        rows.append((r.time, "credit-" + r.kind, r.amount, r.status, r.height, r.hash, "",
                     note))
    for r in connection.execute(select(payouts).where(payouts.c.recipient == account)):
        rows.append((r.created_at, "payout", -r.amount, r.status, r.block_height,
                     r.block_hash or "", r.idempotency_key, r.note))
    for r in connection.execute(select(audit).where(audit.c.account == account,
                                                    audit.c.amount.is_not(None))):
        rows.append((r.time, r.action, r.amount, "", None, "", r.actor, r.reason))
    rows.sort(key=lambda row: row[0])
    return rows


def write_csv(rows, stream):
    writer = csv.writer(stream)
    writer.writerow(COLUMNS)
    for t, event, amount, status, height, block_hash, ref, note in rows:
        writer.writerow(("%.3f" % t, event, format_gxc(amount), amount, status,
                         "" if height is None else height, block_hash, ref, note))
