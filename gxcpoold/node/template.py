"""A block template from getblocktemplate, checked before any job is built from it.

A node that answers nonsense must not turn into jobs miners waste work on,
so every field a job or a block submission uses is checked here
(spec/gxc-node.md section 2.1).
"""
import math
import re
from dataclasses import dataclass, field

from gxcpoold.node.errors import NodeProtocolError

_HEX64 = re.compile(r"[0-9a-fA-F]{64}\Z")


@dataclass(frozen=True)
class BlockTemplate:
    height: int                    # N: the height of the block to build
    previousblockhash: str         # the tip, verbatim (case preserved)
    difficulty: float              # D, echoed verbatim into submitblock
    coinbase: dict                 # transactions[0], passed back unchanged
    transactions: tuple            # mempool transactions after the coinbase
    coinbasevalue: int             # reward in base units
    curtime: int                   # node clock; use for block timestamps
    raw: dict = field(repr=False, compare=False)

    @property
    def required_zeros(self) -> int:
        """Leading '0' hex characters a block hash needs: floor(D)."""
        return math.floor(self.difficulty)

    @property
    def network_work(self) -> int:
        """Expected hashes per block, the same for every algorithm: 16 ** floor(D)."""
        return 16 ** self.required_zeros

    @property
    def txids(self) -> list:
        """Transaction ids in template order, coinbase first."""
        return [self.coinbase["txid"]] + [tx["txid"] for tx in self.transactions]

    def submitblock(self, *, hash_hex, nonce, miner, timestamp, transactions) -> dict:
        """The submitblock object of a block built on this template, in the node's
        shape (spec/gxc-node.md section 5, step 4): the template's own height,
        parent, difficulty (verbatim) and coinbase (unchanged) around what the
        pool decided."""
        return {
            "height": self.height,
            "hash": hash_hex,
            "previousblockhash": self.previousblockhash,
            "nonce": nonce,
            "miner": miner,
            "timestamp": timestamp,
            "difficulty": self.difficulty,
            "transactions": [self.coinbase] + list(transactions),
        }

    @classmethod
    def from_rpc(cls, result) -> "BlockTemplate":
        if not isinstance(result, dict):
            raise NodeProtocolError("template is not an object: %r" % (result,))
        # bounds of the jobs' binary fields (found by fuzz/): a height the node
        # stores as a signed 32-bit int, a 32-bit header time, an 8-byte amount
        height = _int(result, "height", minimum=1, maximum=2**31 - 1)
        prev = result.get("previousblockhash")
        if not isinstance(prev, str) or not _HEX64.match(prev):
            raise NodeProtocolError("template previousblockhash is not 64 hex characters: %r"
                                    % (prev,))
        difficulty = result.get("difficulty")
        # the range test first: math.isfinite() of an int beyond float range
        # raises OverflowError (found by fuzz/), and the range refuses it anyway
        if (isinstance(difficulty, bool) or not isinstance(difficulty, (int, float))
                or not 0 < difficulty <= 1e6 or not math.isfinite(difficulty)):
            raise NodeProtocolError("template difficulty is not a positive number: %r"
                                    % (difficulty,))
        txs = result.get("transactions")
        if not isinstance(txs, list) or not txs:
            raise NodeProtocolError("template has no transactions (the coinbase comes first)")
        for i, tx in enumerate(txs):
            if not isinstance(tx, dict) or not isinstance(tx.get("txid"), str) or not tx["txid"]:
                raise NodeProtocolError("template transaction %d has no txid" % i)
            # every job hashes the txids as 32 bytes (merkle trees, commitments)
            if not _HEX64.match(tx["txid"]):
                raise NodeProtocolError("template transaction %d: txid %r is not 64 hex digits"
                                        % (i, tx["txid"][:80]))
        coinbase = txs[0]
        if coinbase.get("is_coinbase") is not True:
            raise NodeProtocolError("template transaction 0 is not the coinbase")
        if coinbase.get("block_height", height) != height:
            raise NodeProtocolError("template coinbase is for height %r, template for %d"
                                    % (coinbase.get("block_height"), height))
        return cls(height=height, previousblockhash=prev, difficulty=difficulty,
                   coinbase=coinbase, transactions=tuple(txs[1:]),
                   coinbasevalue=_int(result, "coinbasevalue", minimum=0, maximum=2**63 - 1),
                   curtime=_int(result, "curtime", minimum=0, maximum=2**32 - 1), raw=result)


def _int(result, key, minimum, maximum):
    value = result.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise NodeProtocolError("template %s is not a whole number from %d to %d: %.80r"
                                % (key, minimum, maximum, value))
    return value
