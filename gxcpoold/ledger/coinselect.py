"""What the node's wallet will do with a send, worked out before sending.

A payout is useless if no block the pool can submit can carry it: the node
reads at most one 8191-byte request (spec 1.2), and every input of a
transaction adds about 430 bytes of JSON to the block (spec 6.3).  The node
picks the inputs itself, by a fixed rule (spec 6.2): immature coinbases out;
first the outputs of the wallet's last transaction that pay the wallet (its
change), then the other outputs sorted by the string "<txHash>_<outputIndex>";
taken in that order until they reach amount + fee; the mempool is ignored.

The pool reads `listunspent [pool address]` and replays that walk.  Where it
cannot know exactly, it assumes the worse:
- whether the node finds the change of its last transaction (the node keys it
  by the id it gave the transaction, which changes when mined, spec 3.9): both
  orders are simulated, and a plan must hold in each;
- the fee (0.001 to 0.01 GXC, spec 2.13): the largest for the number of
  inputs, the smallest for which inputs are certainly spent;
- a coinbase maturing between listunspent and the send can add one input
  (inserted anywhere in the order, it lengthens the walk by at most one):
  INPUT_RESERVE inputs are kept spare;
- JSON sizes are taken above the observed ones.
Amounts are integers of base units throughout.
"""
import json
from dataclasses import dataclass

from gxcpoold.amounts import AmountError, gxc_to_base_units

NODE_READ_LIMIT = 8191          # bytes the node reads of one request (spec 1.2), whatever we send
MIN_NODE_FEE = 100_000          # 0.001 GXC (spec 2.13)
MAX_NODE_FEE = 1_000_000        # 0.01 GXC: the node's fee never exceeds it
INPUT_BYTES = 450               # JSON per input; observed 430 (spec 6.3), amounts can be longer
TX_BASE_BYTES = 600             # JSON of a transaction without inputs; observed about 520
INPUT_RESERVE = 1               # spare inputs for a coinbase maturing just before the send
MIN_TX_BYTES = 850              # no transaction with an input is smaller (observed ~950)


@dataclass(frozen=True)
class Coin:
    txid: str
    index: int
    amount: int                 # base units

    @property
    def key(self) -> str:
        """The node's sort key (spec 6.2)."""
        return "%s_%d" % (self.txid, self.index)


def coins_from_listunspent(entries, address) -> list:
    """Coins of `address` from a listunspent answer; entries that make no sense are skipped
    (they cannot be selected for a send from this address either)."""
    coins = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("address") != address:
            continue
        txid, index = entry.get("txHash"), entry.get("outputIndex")
        if not isinstance(txid, str) or isinstance(index, bool) or not isinstance(index, int):
            continue
        try:
            amount = gxc_to_base_units(entry.get("amount"), exact=False)
        except AmountError:
            continue
        if amount > 0:
            coins.append(Coin(txid, index, amount))
    return coins


def selection_orders(coins, last_txids=()) -> list:
    """The orders the node may walk: sorted by key, and, when the change of the
    wallet's last transaction (`last_txids`: ids it may have now) is among the
    coins, that change first."""
    by_key = sorted(coins, key=lambda c: c.key)
    orders = [by_key]
    last = set(last_txids)
    change = [c for c in by_key if c.txid in last]
    if change:
        orders.append(change + [c for c in by_key if c.txid not in last])
    return orders


def walk(order, target) -> list | None:
    """The node's walk: coins in order until their sum reaches target; None if never."""
    taken, total = [], 0
    for coin in order:
        if total >= target:
            break
        taken.append(coin)
        total += coin.amount
    return taken if total >= target else None


def inputs_needed(orders, amount) -> int | None:
    """The most inputs a send of `amount` can take (largest fee, worst order); None when
    some order cannot reach it."""
    counts = []
    for order in orders:
        taken = walk(order, amount + MAX_NODE_FEE)
        if taken is None:
            return None
        counts.append(len(taken))
    return max(counts)


def certain_inputs(orders, amount) -> set:
    """Keys of coins a send of `amount` spends whatever the order and the fee: the
    shortest walk of each order (smallest fee), intersected."""
    sets = []
    for order in orders:
        taken = walk(order, amount + MIN_NODE_FEE)
        sets.append({c.key for c in taken or ()})
    return set.intersection(*sets) if sets else set()


def capacity(orders, max_inputs) -> int:
    """The largest amount a send can carry with at most max_inputs inputs in every order."""
    if max_inputs < 1 or not orders:
        return 0
    return min(sum(c.amount for c in order[:max_inputs]) for order in orders) - MAX_NODE_FEE


# ------------------------------------------------------------------ sizes (spec 6.3)

def json_bytes(value) -> int:
    """Compact JSON, as the node client sends it."""
    return len(json.dumps(value, separators=(",", ":"), allow_nan=False).encode())


def max_inputs_for(budget) -> int:
    """Inputs a planned transaction may have when a block has `budget` bytes left after
    its coinbase-only form."""
    return max(0, (budget - TX_BASE_BYTES - 1) // INPUT_BYTES - INPUT_RESERVE)


def coinbase_only_block(template, miner) -> dict:
    """The block the pool would submit for this template with no mempool transaction,
    with the longest values its fields can take."""
    coinbase = (template.get("transactions") or [{}])[0]
    return {"height": template.get("height"), "hash": "0" * 64,
            "previousblockhash": template.get("previousblockhash", "0" * 64),
            "nonce": 2**31 - 1, "miner": miner or "", "timestamp": template.get("curtime", 0),
            "difficulty": template.get("difficulty", 1.0), "transactions": [coinbase]}


# ------------------------------------------------------------------ the plan

PAY, CONSOLIDATE, WAIT = "pay", "consolidate", "wait"


@dataclass(frozen=True)
class Plan:
    action: str                 # PAY, CONSOLIDATE or WAIT
    amount: int                 # what to send (PAY: to the recipient; CONSOLIDATE: to ourselves)
    inputs: int                 # most inputs the node may choose
    reason: str


def plan_send(orders, *, balance, minimum, max_inputs, wallet) -> Plan:
    """How much of `balance` to pay now so that the transaction fits.

    wallet: what getbalance says the wallet can spend.  Pays the whole balance
    when it fits; otherwise the most that fits, leaving at least `minimum` (a
    payable rest) when that is possible; when not even `minimum` fits because
    the coins are small, consolidates them (a send to the wallet itself)."""
    fits = min(capacity(orders, max_inputs), wallet - MAX_NODE_FEE)
    amount = min(balance, fits)
    rest = balance - amount
    if 0 < rest < minimum and amount - (minimum - rest) >= minimum:
        amount -= minimum - rest                # the rest is then exactly payable
    if amount >= min(minimum, balance) and amount > 0:
        return Plan(PAY, amount, inputs_needed(orders, amount) or 0,
                    "whole balance" if amount == balance else
                    "part of %d base units: %d inputs at most fit" % (balance, max_inputs))
    if wallet - MAX_NODE_FEE < min(minimum, balance):
        return Plan(WAIT, 0, 0, "the wallet holds too little")
    merged = capacity(orders, max_inputs)
    if max_inputs < 2 or merged <= 0 or min(len(o) for o in orders) < 2:
        return Plan(WAIT, 0, 0, "the coins are too small to merge (%d inputs fit)" % max_inputs)
    return Plan(CONSOLIDATE, merged, inputs_needed(orders, merged) or 0,
                "%d inputs carry only %d base units, less than the minimum %d"
                % (max_inputs, merged + MAX_NODE_FEE, min(minimum, balance)))
