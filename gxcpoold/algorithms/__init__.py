"""One module per proof-of-work algorithm (DESIGN.md sections 2-3), and their contract.

A module `gxcpoold.algorithms.<name>` turns node templates into jobs and a
miner's submission into a verified result.  The Stratum core
(gxcpoold/stratum/session.py) and the composition (gxcpoold/stratum/compose.py)
know algorithms only through `Algorithm` below and the registry: adding an
algorithm is one module here, one line in ALGORITHMS, and, when its miners
speak something new, one dialect in gxcpoold/stratum/dialects/.
"""
import importlib
from typing import Any, Iterable, Optional, Protocol, Tuple, Union

from twisted.internet import defer

# Names, in port order (3333, 3334, 3335).  Configuration sections
# [stratum.<name>] and the twistd service tree follow this list.
ALGORITHMS = ("sha256d", "ethash", "gxhash")


class UnknownAlgorithm(KeyError):
    pass


def module(name):
    """The algorithm's module, imported on first use."""
    if name not in ALGORITHMS:
        raise UnknownAlgorithm(name)
    return importlib.import_module("gxcpoold.algorithms." + name)


class ShareResult(Protocol):
    """What verifying one submission gives."""
    share_ok: bool          # the hash meets the difficulty it was checked at
    block_ok: bool          # the hash hex has at least floor(D) leading zeros
    hash_hex: str           # the hash as the algorithm displays it (the block hash if block_ok)
    hash_int: int           # the hash as the number the share target is compared with

    def meets(self, difficulty: float) -> bool:
        """Whether the hash also meets another difficulty (shares of a job
        sent before a difficulty change are credited at the older one)."""


class Job(Protocol):
    """One unit of work built from a template, shared by the port's connections."""
    job_id: str
    height: int
    previousblockhash: str
    ntime: int              # the block timestamp the job commits to
    clean_jobs: bool
    template: Any           # the node's BlockTemplate (None for replayed foreign jobs)
    transactions: tuple     # the mempool transactions the block will carry
    created: float
    seen_hashes: set        # duplicate keys of the submissions seen for this job

    @property
    def network_difficulty(self) -> float:
        """The block test expressed as a share difficulty of this algorithm."""


class Algorithm(Protocol):
    """What an algorithm gives the Stratum core (an object or a module).

    verify() may answer at once (sha256d hashes in microseconds, inline on
    the reactor thread) or return a Deferred (ethash, gxhash: hashed in
    bounded thread pools).  The core treats every answer as a Deferred.
    """
    NAME: str
    DIALECTS: Tuple[str, ...]     # dialect module names for its port, detection order
    EXTRANONCE1_BITS: int         # width of the per-connection extranonce1 value
    EXTRANONCE1_SIZE: int         # its size in bytes on the wire

    def build_job(self, template, job_id: str, *, pool_address: str, extranonce2_size: int,
                  transactions: Optional[Iterable] = None, ntime: Optional[int] = None,
                  clean_jobs: bool = False, created: Optional[float] = None) -> Job: ...

    def dedup_key(self, submission) -> Any:
        """A hashable key: equal keys in one job are the same work (checked
        before hashing, so a repeated slow hash costs nothing)."""

    def verify(self, job: Job, submission,
               difficulty: float) -> Union[ShareResult, defer.Deferred]: ...

    def block_for(self, job: Job, result: ShareResult, submission, *,
                  pool_address: str) -> Tuple[dict, dict]:
        """(the submitblock object, the full solution kept in the pool's database)."""

    def share_work(self, difficulty: float) -> int:
        """Expected hashes one share at this difficulty stands for."""

    def hash_difficulty(self, hash_int: int) -> float:
        """The difficulty a hash would meet (for "Low difficulty share" messages)."""

    # Optional, for algorithms whose verify runs in a bounded pool:
    #   check_capacity: int -- checks the pool holds at once; each connection
    #       may have at most its equal part of it in flight (session.py).
    #   services() -> [Service] -- started before the port, stopped after it.
