"""What Stratum hands to the ledger: accepted shares and block candidates.

The Stratum side produces these records; the ledger side (gxcpoold/ledger/)
stores them.  Both sides depend only on this module, so either can be
replaced.  Work is an integer of expected hashes: it is what PPLNS and every
statistic use, and it makes shares of different algorithms comparable
(DESIGN.md section 2).
"""
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from twisted.internet import defer


@dataclass(frozen=True)
class ShareRecord:
    time: float              # Unix seconds when the pool accepted it
    algorithm: str           # "sha256d" | "ethash" | "gxhash"
    address: str             # the miner's payout address (validated at authorize)
    worker: str              # worker name ("" when the miner gave none)
    difficulty: float        # share difficulty, in the algorithm's own units
    work: int                # expected hashes this share stands for
    height: int              # height of the template the job was built from
    hash: str                # the share's hash, hex as the algorithm displays it
    is_block: bool = False   # the hash also met the network target
    instance_id: int = 0     # which pool instance accepted it ([cluster] instance_id)


@dataclass(frozen=True)
class BlockCandidate:
    """A share that meets the network target, recorded before it is submitted
    so a crash between finding and submitting loses nothing."""
    time: float
    algorithm: str
    height: int
    hash: str                # the block hash sent to the node (lowercase hex)
    previousblockhash: str
    address: str             # finder's payout address
    worker: str
    work: int
    block: dict              # the exact submitblock object
    solution: dict = field(default_factory=dict)   # header, extranonces, nonce, mix... (algorithm-specific)


# Block statuses, in the order a block usually moves through them.
CANDIDATE, SUBMITTED, ACCEPTED, IMMATURE, MATURE = (
    "candidate", "submitted", "accepted", "immature", "mature")
ORPHANED, REJECTED = "orphaned", "rejected"


class ShareSink(Protocol):
    def add_share(self, share: ShareRecord) -> None:
        """Take an accepted share; must not block (batching is the sink's job)."""


class BlockRecorder(Protocol):
    def record_candidate(self, candidate: BlockCandidate) -> defer.Deferred:
        """Persist a candidate; the Deferred fires once it is durable."""

    def set_block_status(self, height: int, hash: str, status: str,
                         reason: str = "") -> defer.Deferred:
        """Record what became of a candidate (submitted, accepted, rejected, ...)."""


class MemoryShareSink:
    """Keeps the most recent shares in memory (tests, and before a ledger exists)."""

    def __init__(self, limit=100_000):
        self.shares = deque(maxlen=limit)

    def add_share(self, share: ShareRecord) -> None:
        self.shares.append(share)


class MemoryBlockRecorder:
    def __init__(self):
        self.candidates = []
        self.statuses = {}      # (height, hash) -> [(status, reason), ...]

    def record_candidate(self, candidate: BlockCandidate) -> defer.Deferred:
        self.candidates.append(candidate)
        self.statuses[(candidate.height, candidate.hash)] = [(CANDIDATE, "")]
        return defer.succeed(None)

    def set_block_status(self, height, hash, status, reason=""):
        self.statuses.setdefault((height, hash), []).append((status, reason))
        return defer.succeed(None)
