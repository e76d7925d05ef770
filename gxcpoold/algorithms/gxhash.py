"""gxhash: GXC's own memory-hard proof of work, mined as GXC mines it (DESIGN.md section 2).

The miner hashes GXC's own block serialisation, the decimal-text header
``str(height) + prevhash + str(timestamp) + merkleroot + str(nonce)``, with
gxhash(header, nonce) (spec/gxhash.md 3, spec/gxc-legacy-hashes.md).  The
merkle root is GXC's text merkle over the coinbase txid and the job's other
txids, the timestamp is the job's ntime, and the nonce N combines the
connection's 15-bit extranonce1 (high bits) with the miner's 16-bit nonce, so
N < 2**31 and the node stores it unchanged.  The block hash the pool submits
is therefore exactly what GXC's ``Block::calculateHash`` gives for the block
the node stores.

One hash costs ~0.2 s and 64 MiB, so verification runs in a bounded thread
pool (algorithms/hashpool.py); a full pool answers Busy at once.
The wire format is docs/protocol-gxhash.md.
"""
import re
import sys
import time
from dataclasses import dataclass, field

# difficulty in expected hashes; hash_difficulty is part of the Algorithm face
from gxcpoold.algorithms.hashunits import (block_difficulty, hash_difficulty,  # noqa: F401
                                            share_target, share_work)
from gxcpoold.algorithms.hashpool import HashPool, PooledAlgorithm, pool_niceness, pool_size
from gxcpoold.hashers.gxhash import gxhash, set_matrix_pool_limit
from gxcpoold.hashers.legacy import gxc_merkle_root
from gxcpoold.hashers.targets import leading_zeros

NAME = "gxhash"
DIALECTS = ("gxhash",)
EXTRANONCE1_BITS = 15             # 4 instance bits + 11 connection bits (DESIGN section 2)
EXTRANONCE1_SIZE = 2              # bytes on the wire (4 hex digits)
MINER_NONCE_BITS = 16             # the miner's part of the nonce: 4 hex digits
NODE_NONCE_LIMIT = 2**31          # the node stores the nonce as a signed 32-bit int
# [stratum.gxhash] overrides of the StratumSettings defaults: difficulty in
# expected hashes, and a share every 30 s per worker, since each check costs
# ~0.2 s of a core.
STRATUM_DEFAULTS = {
    "endpoint": "tcp:3335",
    "start_difficulty": 64.0,
    "min_difficulty": 1.0,
    "max_difficulty": 1e12,
    "shares_per_minute": 2.0,
}

assert EXTRANONCE1_BITS + MINER_NONCE_BITS == 31
_MINER_NONCE = re.compile(r"[0-9a-fA-F]{4}")


# ---------------------------------------------------------------- jobs

@dataclass(eq=False)
class GxhashJob:
    """One unit of work, shared by every connection of the port."""
    job_id: str
    height: int
    previousblockhash: str            # verbatim from the template (it is hashed as text)
    ntime: int                        # the block timestamp
    merkleroot: str                   # GXC merkle over [coinbase txid] + job txids
    required_zeros: int               # floor(D): the GXC block test
    clean_jobs: bool = False          # True when it starts a new tip
    template: object = None           # the BlockTemplate (None in vector tests)
    transactions: tuple = ()          # the mempool txs the block will carry
    created: float = field(default_factory=time.time)
    seen_hashes: set = field(default_factory=set, repr=False)   # duplicate detection

    def __post_init__(self):
        # Everything of the header text but the nonce, encoded once per job.
        self._prefix = ("%d%s%d%s" % (self.height, self.previousblockhash, self.ntime,
                                      self.merkleroot)).encode("utf-8")

    @property
    def algorithm(self):
        return NAME

    @property
    def network_difficulty(self):
        return block_difficulty(self.required_zeros)

    def header_text(self, nonce):
        """GXC's header serialisation for this nonce, the bytes gxhash reads."""
        if isinstance(nonce, bool) or not isinstance(nonce, int) or nonce < 0:
            raise ValueError("nonce must be a non-negative int, got %r" % (nonce,))
        return self._prefix + str(nonce).encode("ascii")

    def notify_params(self, clean_jobs=None):
        """mining.notify params (docs/protocol-gxhash.md)."""
        return [self.job_id, self.height, self.previousblockhash, self.ntime, self.merkleroot,
                self.clean_jobs if clean_jobs is None else clean_jobs]


def job_merkleroot(template, transactions):
    """GXC merkle root of the block the job builds: the coinbase txid first."""
    return gxc_merkle_root([template.coinbase["txid"]] + [tx["txid"] for tx in transactions])


def build_job(template, job_id, *, pool_address, extranonce2_size=None, transactions=None,
              ntime=None, clean_jobs=False, created=None):
    """A job for a BlockTemplate.  transactions: the mempool txs to include
    (default all the template's); ntime: default the template's curtime.
    pool_address and extranonce2_size are not part of a gxhash header (the
    coinbase is the node's, unchanged); they are accepted for the contract."""
    txs = tuple(template.transactions if transactions is None else transactions)
    return GxhashJob(
        job_id=job_id, height=template.height, previousblockhash=template.previousblockhash,
        ntime=template.curtime if ntime is None else ntime,
        merkleroot=job_merkleroot(template, txs), required_zeros=template.required_zeros,
        clean_jobs=clean_jobs, template=template, transactions=txs,
        created=time.time() if created is None else created)


# ---------------------------------------------------------------- submissions

def gxc_nonce(extranonce1, miner_nonce):
    """The GXC nonce N = (extranonce1 << 16) | miner_nonce, always < 2**31.

    ValueError when either part is out of range (a peer's bad input)."""
    if not isinstance(extranonce1, (bytes, bytearray)) or len(extranonce1) != EXTRANONCE1_SIZE:
        raise ValueError("extranonce1 must be %d bytes, got %r" % (EXTRANONCE1_SIZE, extranonce1))
    en1 = int.from_bytes(extranonce1, "big")
    if en1 >= 2**EXTRANONCE1_BITS:
        raise ValueError("extranonce1 %s has more than %d bits" % (extranonce1.hex(),
                                                                   EXTRANONCE1_BITS))
    if isinstance(miner_nonce, bool) or not isinstance(miner_nonce, int) \
            or not 0 <= miner_nonce < 2**MINER_NONCE_BITS:
        raise ValueError("miner nonce must be 0..65535, got %r" % (miner_nonce,))
    nonce = (en1 << MINER_NONCE_BITS) | miner_nonce
    if nonce >= NODE_NONCE_LIMIT:
        raise ValueError("nonce %d does not fit the node's 31 bits" % nonce)
    return nonce


def parse_miner_nonce(text):
    """The miner's nonce from mining.submit: exactly 4 hex digits.  ValueError otherwise."""
    if not isinstance(text, str) or not _MINER_NONCE.fullmatch(text):
        raise ValueError("nonce must be 4 hex digits, got %r" % (text,))
    return int(text, 16)


@dataclass(frozen=True)
class Submission:
    """A mining.submit, parsed: the connection's extranonce1, the miner's
    nonce, and the GXC nonce N they make (see submission())."""
    extranonce1: bytes
    miner_nonce: int
    nonce: int


def submission(extranonce1, miner_nonce):
    """The Submission for a connection's extranonce1 and the miner's nonce
    (ValueError for out-of-range values)."""
    return Submission(extranonce1=bytes(extranonce1), miner_nonce=miner_nonce,
                      nonce=gxc_nonce(extranonce1, miner_nonce))


def dedup_key(submission):
    """The GXC nonce: it contains extranonce1, so equal keys in one job are
    the same header (and the same hash)."""
    return submission.nonce


# ---------------------------------------------------------------- results

@dataclass(frozen=True)
class ShareResult:
    share_ok: bool
    block_ok: bool
    hash_hex: str          # the gxhash, lowercase hex: the block hash
    hash_int: int          # int(hash_hex, 16): gxhash is read big-endian
    work: int              # expected hashes credited (0 if not a share)

    def meets(self, difficulty):
        return self.hash_int <= share_target(difficulty)


def result_for(job, digest, difficulty):
    """The ShareResult of a gxhash digest (32 bytes) for a job at a difficulty."""
    hash_hex = digest.hex()
    hash_int = int(hash_hex, 16)
    share_ok = hash_int <= share_target(difficulty)
    return ShareResult(share_ok=share_ok,
                       block_ok=leading_zeros(hash_hex) >= job.required_zeros,
                       hash_hex=hash_hex, hash_int=hash_int,
                       work=share_work(difficulty) if share_ok else 0)


def block_for(job, result, submission, *, pool_address):
    """(submitblock object, solution) for a block-meeting result."""
    if not 0 <= submission.nonce < NODE_NONCE_LIMIT:
        # The node would store a truncated nonce whose header hashes differently.
        raise ValueError("nonce %d does not fit the node's 31 bits" % submission.nonce)
    block = job.template.submitblock(hash_hex=result.hash_hex, nonce=submission.nonce,
                                     miner=pool_address, timestamp=job.ntime,
                                     transactions=job.transactions)
    solution = {
        "algorithm": NAME,
        "job_id": job.job_id,
        "header_text": job.header_text(submission.nonce).decode("utf-8"),
        "merkleroot": job.merkleroot,
        "nonce": submission.nonce,
        "extranonce1": submission.extranonce1.hex(),
        "miner_nonce": submission.miner_nonce,
    }
    return block, solution


# ---------------------------------------------------------------- runtime

class GxhashAlgorithm(PooledAlgorithm):
    """The gxhash algorithm of one running pool: the module's functions plus
    the bounded pool (a HashPool) that hashes submissions off the reactor thread."""

    def __init__(self, pool):
        super().__init__(sys.modules[__name__], pool)

    def verify(self, job, submission, difficulty):
        """A Deferred firing with the ShareResult of hashing
        job.header_text(N) with N = submission.nonce.

        Raises Busy at once (before any hashing) when the pool already holds
        its maximum of pending hashes or is not running; a hash that was
        queued when the pool stopped errbacks with Busy ("shutting down")."""
        d = self.pool.run(gxhash, job.header_text(submission.nonce), submission.nonce)
        d.addCallback(lambda digest: result_for(job, digest, difficulty))
        return d


def make(context):
    """The runtime gxhash algorithm for an AlgorithmContext: its pool is
    sized by [stratum.gxhash] verify_threads and verify_queue."""
    threads, pending = pool_size(context.settings, context.cores)
    # Each hash needs a 64 MiB matrix: keep one idle per hashing thread for
    # reuse instead of mapping (and page-faulting) a fresh one every time.
    set_matrix_pool_limit(min(threads, 64))
    return GxhashAlgorithm(HashPool(threads, pending, reactor=context.reactor,
                                    name="gxhash-verify",
                                    niceness=pool_niceness(context.settings)))
