"""The node's mempool with its defects (spec §3.9, §2.16, §2.18).

Arrival order is kept (templates and getrawmempool list txs that way).  By
default a mined tx is NOT removed (§3.9 point 4: the node matches by id, and
the mined copy got a new id), so it keeps appearing in templates and poisons
every later block that includes it; it leaves only by expiry or restart.
"""
from .model import Transaction

TEMPLATE_TX_LIMIT = 1000      # §2.1 / §2.16: at most 1000 mempool txs listed
BASE_FEE = 0.001              # §2.18
FEE_STEP = 0.00001            # §2.18: per pending tx
MAX_FEE = 0.01                # §2.18


class Mempool:
    def __init__(self):
        self.txs: dict[str, Transaction] = {}   # txid -> tx, arrival order

    def __len__(self) -> int:
        return len(self.txs)

    def add(self, tx: Transaction) -> None:
        self.txs[tx.txid] = tx

    def listed(self) -> list[Transaction]:
        return list(self.txs.values())[:TEMPLATE_TX_LIMIT]

    def fee(self) -> float:
        """§2.13 / §2.18: min(0.01, 0.001 + 0.00001 x mempool size)."""
        return min(MAX_FEE, BASE_FEE + FEE_STEP * len(self.txs))

    def total_fees(self) -> float:
        return sum(tx.fee for tx in self.txs.values())

    def spent_keys(self) -> set[str]:
        """UTXO keys spent by any mempool tx (getbalance subtracts them, §2.10)."""
        return {f"{i.tx_hash}_{i.output_index}" for tx in self.txs.values() for i in tx.inputs}

    def expire(self, now: int, expiry: float) -> list[str]:
        """Drop txs older than `expiry` seconds (§3.9 point 4; the node's main loop does this)."""
        gone = [txid for txid, tx in self.txs.items() if now - tx.timestamp >= expiry]
        for txid in gone:
            del self.txs[txid]
        return gone

    def keep_only(self, still_valid) -> list[str]:
        """Drop txs for which `still_valid(tx)` is false (purge / restart)."""
        gone = [txid for txid, tx in self.txs.items() if not still_valid(tx)]
        for txid in gone:
            del self.txs[txid]
        return gone
