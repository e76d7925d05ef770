"""Coin selection of the node wallet's ``sendtoaddress`` (spec §6.2).

The real wallet (``Wallet::createTransaction``) works on the chain's UTXO set:

1. candidates are the wallet address's outputs minus immature coinbases; outputs
   already spent by mempool transactions stay candidates (§3.9 point 5, the
   double-spend defect; the ``double_spend`` knob removes them instead);
2. inputs are taken until their sum reaches ``amount + fee``:
   a. first the outputs of the wallet's last transaction (``lastTxHash``, its
      change back to the wallet), if still unspent;
   b. then every other candidate by the key string ``"<txHash>_<outputIndex>"``
      in ascending (byte) order.

"If still unspent" is read the way the node reads everything else: by id.  The
wallet remembers the id ``sendtoaddress`` returned (the mempool id t) and looks
for ``"<t>_<i>"`` in the chain's UTXO set.  Two facts of the spec decide what
that finds:

* a transaction still in the mempool has no outputs in the chain's UTXO set
  (§3.7: mempool outputs are only "pending"), so its change is never spent
  before it is mined;
* a mined transaction is stored under a new id t' (§3.9 point 3), so its change
  is the UTXO ``"<t'>_1"``, which the lookup by t never finds; the wallet file
  keeps t (the spec says nothing of the wallet learning t').

So with the node's txid rewrite (the default) step a never selects anything
and the order is step b alone: the mined change takes its place among the other
outputs by its key t'.  Step a matters only with ``txid_rewrite = false``,
where the mined change keeps the id t and is spent first.  The simulator does
exactly that lookup rather than special-casing either setting.
"""
from .model import Utxo


def selection_order(candidates: list[Utxo], last_tx_hash: str) -> list[Utxo]:
    """Candidates in the order the wallet takes them (step a, then step b)."""
    by_key = sorted(candidates, key=lambda u: u.key)
    # txids are never empty, so a wallet that never sent ("") has no step a
    return ([u for u in by_key if u.txid == last_tx_hash]
            + [u for u in by_key if u.txid != last_tx_hash])


def select(candidates: list[Utxo], last_tx_hash: str, target: float) -> tuple[list[Utxo], float]:
    """Inputs in the wallet's order until their sum reaches `target`; (inputs, sum).

    The sum is a C++-style double accumulation, as in the node; it may stay
    below `target` when the candidates do not suffice (the caller refuses).
    """
    chosen, total = [], 0.0
    for utxo in selection_order(candidates, last_tx_hash):
        if total >= target:
            break
        chosen.append(utxo)
        total += utxo.amount
    return chosen, total
