"""The ledger: everything about money (DESIGN.md sections 6 and 7).

schema      tables (SQLAlchemy Core); migrations/ holds the Alembic history
db          engine set-up and the dedicated database thread pool
migrate     `db upgrade` (Alembic, from the installed package)
rewards     PPLNS / PROP / SOLO splits: pure, exact integers
sharewriter the ShareSink: share journal (spill), batched writes, replay
spill       the share journal's files: append, seal, read back
blocks      block rows and statuses, credits when a block is accepted
candidates  the BlockRecorder: candidates on local disk first, then the database
blockscan   accepted blocks paying the pool that the ledger lacks, from the chain
unlocker    confirmations, maturity, orphans, a wiped node
payouts     the payout processor and its reconciliation against the chain
chainscan   finding a payout in the node's blocks by content
accounts    balances, adjustments, the audit trail
admin       the gxcpool-admin command
"""
