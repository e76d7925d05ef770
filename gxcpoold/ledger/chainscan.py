"""Finding a payout in the node's blocks by what it pays, never by txid.

The node gives a transaction a new id when it is mined and again after a
restart (spec 3.9, 3.12; defect 7), so a payout is recognised by content: a
non-coinbase transaction from the pool address with an output paying exactly
`amount` to `recipient`, in a block at or after the height the payout was
recorded at.  A consolidation (a send from the pool wallet to itself) is the
same with the pool address as recipient: the node puts the amount sent first
and the change second (spec 2.1).  The first input, when known, picks between look-alikes.
"""
from dataclasses import dataclass

from twisted.internet import defer

from gxcpoold.amounts import AmountError, gxc_to_base_units
from gxcpoold.node.errors import NodeProtocolError


@dataclass(frozen=True)
class PaymentSeen:
    height: int
    block_hash: str
    txid: str                  # the id the node shows now (changes after restarts)
    recipient: str
    amount: int
    fee: int
    input_txid: str
    input_index: int | None


def _units(value) -> int | None:
    try:
        return gxc_to_base_units(value, exact=False)
    except AmountError:
        return None


def payments_in_block(block: dict, pool_address: str) -> list:
    """Every (recipient, amount) output of transactions the pool wallet sent, but
    its change (outputs after the first one paying the pool address)."""
    seen = []
    for tx in block.get("tx") or []:
        if not isinstance(tx, dict) or tx.get("coinbase") or tx.get("from") != pool_address:
            continue
        inputs = tx.get("inputs") or tx.get("vin") or []
        first = inputs[0] if inputs and isinstance(inputs[0], dict) else {}
        fee = _units(tx.get("fee", 0)) or 0
        for position, out in enumerate(tx.get("outputs") or tx.get("vout") or []):
            if not isinstance(out, dict):
                continue
            if out.get("address") == pool_address and position > 0:
                continue                       # change (the first output is what was sent,
                                               # to the pool itself for a consolidation)
            amount = _units(out.get("amount", out.get("value")))
            if amount is None:
                continue
            seen.append(PaymentSeen(block["height"], block["hash"], tx.get("txid", ""),
                                    out.get("address"), amount, fee,
                                    first.get("txHash", first.get("prev_tx_hash", "")),
                                    first.get("outputIndex", first.get("output_index"))))
    return seen


class ChainScanner:
    """Reads blocks once per chain and remembers the pool wallet's payments in them."""

    def __init__(self, client, pool_address):
        self.client = client
        self.pool_address = pool_address
        self.genesis = None
        self._payments = {}            # height -> [PaymentSeen]

    def reset(self, genesis):
        if genesis != self.genesis:
            self.genesis = genesis
            self._payments.clear()

    @defer.inlineCallbacks
    def payments_between(self, start, stop):
        """PaymentSeen for heights start <= h < stop (stop <= getblockcount)."""
        found = []
        for height in range(max(start, 1), stop):
            if height not in self._payments:
                block = yield self.client.getblock(height, True)
                # Unknown heights give an invented block (defect 11): check what came back.
                if not isinstance(block, dict) or block.get("height") != height:
                    raise NodeProtocolError("getblock %d answered a block for height %r"
                                            % (height, block.get("height") if isinstance(block, dict) else block))
                expected = yield self.client.getblockhash(height)
                if block.get("hash") != expected:
                    raise NodeProtocolError("getblock %d hash %r is not getblockhash's %r"
                                            % (height, block.get("hash"), expected))
                self._payments[height] = payments_in_block(block, self.pool_address)
            found.extend(self._payments[height])
        return found


def match_payout(payout, payments, claimed) -> PaymentSeen | None:
    """The payment that is this payout: same recipient and amount, not claimed by
    another payout (claimed: {(height, recipient, amount)} of confirmed ones; txids
    are no key, they change); one spending the recorded first input wins, else
    the earliest.  Only one payout is ever unmined, and the next one is recorded
    at a height above where the previous one was found, so look-alikes are rare."""
    candidates = [p for p in payments
                  if p.recipient == payout.recipient and p.amount == payout.amount
                  and p.height >= payout.start_height
                  and (p.height, p.recipient, p.amount) not in claimed]
    if not candidates:
        return None
    if payout.input_txid:
        same_input = [p for p in candidates if p.input_txid == payout.input_txid
                      and p.input_index == payout.input_index]
        if same_input:
            return same_input[0]
    return candidates[0]
