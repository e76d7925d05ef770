"""ethash: Ethash GPU miners mining GXC blocks (DESIGN.md section 2, spec/ethash.md).

Miners run real Ethereum Ethash over a header hash the pool hands out.  A
job's commitment binds it to one GXC block (height, previous block hash, the
template's coinbase txid, the txids of the job's transactions, the block
timestamp and the pool address); each connection's header hash is
keccak256(commitment || extranonce1), so no two connections ever search the
same space, whatever nonces their software tries.  The epoch (light cache,
DAG, seed hash) follows the GXC height: height // 30000.

A submission is checked with the DAG manager (gxcpoold/dag.py: the full DAG
once built, the light cache until then) in a bounded thread pool, never on
the reactor thread.  The block hash sent to the node is the Ethash final
hash, hex: a block when it has at least floor(D) leading zeros.

Difficulty is in expected hashes: share target floor(2**256 / d), work d.
EthereumStratum/1.0.0 (NiceHash) puts d / 2**32 on the wire; the
conversions for the dialects are here.
"""
import functools
import math
import os
import re
import struct
import sys
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Optional

# difficulty in expected hashes; hash_difficulty is part of the Algorithm face
from gxcpoold.algorithms.hashunits import (block_difficulty, hash_difficulty,  # noqa: F401
                                            share_target, share_work)
from gxcpoold.algorithms.hashpool import HashPool, PooledAlgorithm, pool_niceness, pool_size
from gxcpoold.dag import DAGManager
from gxcpoold.hashers._args import U64_MAX
from gxcpoold.hashers.ethash import ethash_epoch, ethash_final_hash, ethash_seedhash
from gxcpoold.hashers.keccak import keccak256
from gxcpoold.hashers.targets import leading_zeros, sha256d_target
from gxcpoold.stratum import errors
from gxcpoold.stratum.errors import MalformedRequest, StratumError

NAME = "ethash"
DIALECTS = ("ethstratum", "ethproxy")   # EthereumStratum/1.0.0 (NiceHash), eth-proxy
EXTRANONCE1_BITS = 32             # [cluster] instance_id in the top byte, a counter below
EXTRANONCE1_SIZE = 4
# [stratum.ethash] overrides of the StratumSettings defaults: difficulty in
# expected hashes per share; 4e9 is about a minute of a 60 MH/s GPU, from
# where vardiff moves it to the aimed share rate.
STRATUM_DEFAULTS = {
    "endpoint": "tcp:3334",
    "start_difficulty": 4e9,
    "min_difficulty": 1e5,
    "max_difficulty": 1e16,
    "shares_per_minute": 10.0,
}
# With --devnet: no 1 GiB DAG (light checks suffice for a demo), and a share
# difficulty the reference miner's light hashing (a few hundred hashes/s) meets.
DEVNET_STRATUM_DEFAULTS = {"dag_mode": "light", "start_difficulty": 2000.0,
                           "min_difficulty": 100.0}
DAG_MODES = ("full", "light")
COMMITMENT_TAG = b"gxcpool/ethash/job/v1"
NICEHASH_UNIT = 2**32             # EthereumStratum/1.0.0 difficulty 1 ~ 2**32 hashes
NICEHASH_EXTRANONCE_DIGITS = 4    # hex digits of the nonce prefix a NiceHash miner gets
NICEHASH_MINER_DIGITS = 12        # hex digits of the nonce the miner submits
NODE_NONCE_MASK = 0x7FFFFFFF      # the node stores the nonce as a signed 32-bit int
_MINER_NONCE = re.compile(r"[0-9a-fA-F]{%d}\Z" % NICEHASH_MINER_DIGITS)


# ---------------------------------------------------------------- jobs

def _length_prefixed(text):
    data = text.encode("utf-8")
    return struct.pack(">H", len(data)) + data


def job_commitment(*, height, previousblockhash, coinbase_txid, txids, ntime, pool_address):
    """The bytes a job's header hashes are keccak256(commitment || extranonce1) of.

    The txids (coinbase first) enter as one keccak256 of their length-prefixed
    text, so the commitment stays short however many transactions the block has."""
    txid_digest = keccak256(b"".join(_length_prefixed(t) for t in [coinbase_txid, *txids]))
    return (COMMITMENT_TAG + struct.pack(">QQ", height, ntime)
            + bytes.fromhex(previousblockhash) + txid_digest + _length_prefixed(pool_address))


@dataclass(eq=False)
class EthashJob:
    """One unit of work, shared by every connection of the port."""
    job_id: str
    height: int
    previousblockhash: str            # verbatim from the template
    ntime: int                        # the block timestamp the job commits to
    required_zeros: int               # floor(D): the GXC block test
    epoch: int                        # height // 30000
    seedhash: bytes                   # the epoch's seed hash (32 bytes)
    commitment: bytes                 # see job_commitment()
    clean_jobs: bool = False          # True when it starts a new tip
    template: object = None           # the BlockTemplate (None in vector tests)
    transactions: tuple = ()          # the mempool txs the block will carry
    created: float = field(default_factory=time.time)
    seen_hashes: set = field(default_factory=set, repr=False)   # duplicate detection

    @property
    def algorithm(self):
        return NAME

    @property
    def network_difficulty(self):
        return block_difficulty(self.required_zeros)

    def header_hash(self, extranonce1):
        """The 32-byte header hash one connection mines: unique per connection and job."""
        if not isinstance(extranonce1, bytes) or len(extranonce1) != EXTRANONCE1_SIZE:
            raise ValueError("extranonce1 must be %d bytes, got %r" % (EXTRANONCE1_SIZE,
                                                                        extranonce1))
        return keccak256(self.commitment + extranonce1)


def build_job(template, job_id, *, pool_address, extranonce2_size=None, transactions=None,
              ntime=None, clean_jobs=False, created=None):
    """A job for a BlockTemplate.  transactions: the mempool txs to include
    (default all the template's); ntime: default the template's curtime.
    extranonce2_size is accepted for the contract: ethash has no extranonce2."""
    txs = tuple(template.transactions if transactions is None else transactions)
    ntime = template.curtime if ntime is None else ntime
    epoch = ethash_epoch(template.height)
    commitment = job_commitment(
        height=template.height, previousblockhash=template.previousblockhash,
        coinbase_txid=template.coinbase["txid"], txids=[tx["txid"] for tx in txs],
        ntime=ntime, pool_address=pool_address)
    return EthashJob(
        job_id=job_id, height=template.height, previousblockhash=template.previousblockhash,
        ntime=ntime, required_zeros=template.required_zeros, epoch=epoch,
        seedhash=ethash_seedhash(epoch), commitment=commitment, clean_jobs=clean_jobs,
        template=template, transactions=txs, created=time.time() if created is None else created)


# ---------------------------------------------------------------- submissions

@dataclass(frozen=True)
class Submission:
    """A share, parsed from the wire by a dialect."""
    extranonce1: bytes                # the connection's (EXTRANONCE1_SIZE bytes)
    header_hash: bytes                # 32 bytes: job.header_hash(extranonce1)
    nonce: int                        # the full 64-bit nonce (read big-endian from hex)
    mix_hash: Optional[bytes] = None  # 32 bytes claimed by the miner; None: NiceHash sends none


def dedup_key(submission):
    """(extranonce1, nonce) as one int: with the job they fix the header hash
    and so the result, so equal keys in one job are the same work."""
    return (int.from_bytes(submission.extranonce1, "big") << 64) | submission.nonce


def check_submission(submission):
    """MalformedRequest unless the submission's fields have the right types and sizes."""
    s = submission
    if not isinstance(s.extranonce1, bytes) or len(s.extranonce1) != EXTRANONCE1_SIZE:
        raise MalformedRequest("Invalid extranonce")
    if not isinstance(s.header_hash, bytes) or len(s.header_hash) != 32:
        raise MalformedRequest("Invalid header hash: 32 bytes expected")
    if isinstance(s.nonce, bool) or not isinstance(s.nonce, int) or not 0 <= s.nonce <= U64_MAX:
        raise MalformedRequest("Invalid nonce: a 64-bit value expected")
    if s.mix_hash is not None and (not isinstance(s.mix_hash, bytes) or len(s.mix_hash) != 32):
        raise MalformedRequest("Invalid mix hash: 32 bytes expected")


def nicehash_extranonce(extranonce1):
    """The nonce prefix an EthereumStratum/1.0.0 miner gets: the low 16 bits
    of the connection's extranonce1, 4 hex digits."""
    return "%04x" % (int.from_bytes(extranonce1, "big") & 0xFFFF)


def nicehash_nonce(extranonce1, miner_nonce_hex):
    """The full 64-bit nonce of an EthereumStratum/1.0.0 submit: the
    connection's 4-hex-digit prefix followed by the miner's 12 hex digits.
    ValueError for anything but exactly 12 hex digits."""
    if not isinstance(miner_nonce_hex, str) or not _MINER_NONCE.match(miner_nonce_hex):
        raise ValueError("nonce must be %d hex digits, got %r"
                         % (NICEHASH_MINER_DIGITS, miner_nonce_hex))
    prefix = int.from_bytes(extranonce1, "big") & 0xFFFF
    return (prefix << 4 * NICEHASH_MINER_DIGITS) | int(miner_nonce_hex, 16)


# ---------------------------------------------------------------- difficulty

def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError("%s must be a positive number, got %r" % (name, value))
    return value


def to_nicehash(difficulty):
    """The EthereumStratum/1.0.0 mining.set_difficulty number for a
    difficulty in expected hashes: d / 2**32 (exact in binary floating point)."""
    return float(_positive("difficulty", difficulty)) / NICEHASH_UNIT


def difficulty_from_nicehash(d_nh):
    """Expected hashes for an EthereumStratum/1.0.0 difficulty: d_nh * 2**32."""
    return float(_positive("NiceHash difficulty", d_nh)) * NICEHASH_UNIT


@functools.lru_cache(maxsize=4096)
def nicehash_target(d_nh):
    """The share target the EthereumStratum/1.0.0 spec (and ethminer) derive
    from d_nh: floor(0x00000000ffff0000...0000 / d_nh).  It is 65535/65536 of
    share_target(difficulty_from_nicehash(d_nh)); dialects accept a share
    meeting either (spec/ethash.md section 2)."""
    return sha256d_target(_positive("NiceHash difficulty", d_nh))


# ---------------------------------------------------------------- results

@dataclass(frozen=True)
class ShareResult:
    share_ok: bool
    block_ok: bool
    hash_hex: str                     # the final hash, lowercase hex: the block hash
    hash_int: int                     # the final hash read big-endian
    mix_hash: Optional[bytes]         # the recomputed mix; None: not computed (see check())
    work: int                         # expected hashes credited (0 if not a share)

    @property
    def verified(self):
        """Whether the mix was recomputed (only then may the hash count)."""
        return self.mix_hash is not None

    def meets(self, difficulty):
        return self.verified and self.hash_int <= share_target(difficulty)

    def meets_target(self, target):
        """Whether the final hash is at or below a target (an int)."""
        return self.verified and self.hash_int <= target


def result_for(job, mix_hash, final_hash, difficulty):
    """The ShareResult of a recomputed (mix, final) pair for a job."""
    hash_hex = final_hash.hex()
    hash_int = int.from_bytes(final_hash, "big")
    share_ok = hash_int <= share_target(difficulty)
    return ShareResult(share_ok=share_ok, block_ok=leading_zeros(hash_hex) >= job.required_zeros,
                       hash_hex=hash_hex, hash_int=hash_int, mix_hash=mix_hash,
                       work=share_work(difficulty) if share_ok else 0)


def check(hash_fn, job, submission, difficulty, floor_difficulty=None):
    """Verify a submission: ShareResult, or StratumError for a wrong header
    hash or mix hash.  hash_fn(block_number, header_hash, nonce) -> (mix,
    final) is the expensive part (DAGManager.hash); call this in a worker thread.

    With a claimed mix, chfast's order: the claimed mix's final hash (two
    keccaks) first.  When it meets neither the block test nor the easiest
    difficulty the pool credits (floor_difficulty, e.g. min_difficulty;
    default `difficulty`), no mix can make the share count: it comes back as
    an unverified low share without the expensive hash."""
    header = job.header_hash(submission.extranonce1)
    if submission.header_hash != header:
        raise StratumError(errors.JOB_NOT_FOUND, "Header hash does not belong to this job")
    nonce, claimed_mix = submission.nonce, submission.mix_hash
    if claimed_mix is not None:
        claimed = ethash_final_hash(header, nonce, claimed_mix)
        claimed_int = int.from_bytes(claimed, "big")
        easiest = difficulty if floor_difficulty is None else min(difficulty, floor_difficulty)
        if claimed_int > share_target(easiest) \
                and leading_zeros(claimed.hex()) < job.required_zeros:
            return ShareResult(share_ok=False, block_ok=False, hash_hex=claimed.hex(),
                               hash_int=claimed_int, mix_hash=None, work=0)
    mix, final = hash_fn(job.height, header, nonce)
    if claimed_mix is not None and claimed_mix != mix:
        raise StratumError(errors.OTHER, "Invalid mix hash")
    return result_for(job, mix, final, difficulty)


def block_for(job, result, submission, *, pool_address):
    """(submitblock object, solution) for a block-meeting result."""
    if not result.verified:
        raise ValueError("a share whose mix was not recomputed is never a block")
    block = job.template.submitblock(
        hash_hex=result.hash_hex, miner=pool_address, timestamp=job.ntime,
        nonce=submission.nonce & NODE_NONCE_MASK,     # the full nonce is in the solution
        transactions=job.transactions)
    solution = {
        "algorithm": NAME,
        "job_id": job.job_id,
        "header_hash": submission.header_hash.hex(),
        "nonce": "%016x" % submission.nonce,
        "mix_hash": result.mix_hash.hex(),
        "seedhash": job.seedhash.hex(),
        "epoch": job.epoch,
        "extranonce1": submission.extranonce1.hex(),
        "commitment": job.commitment.hex(),
    }
    return block, solution


# ---------------------------------------------------------------- runtime

class EthashAlgorithm(PooledAlgorithm):
    """The ethash algorithm of one running pool: the module's functions plus
    the DAG manager and the bounded pool that checks shares."""

    def __init__(self, dag, pool, *, floor_difficulty=None, dag_mode="full"):
        super().__init__(sys.modules[__name__], pool)
        self.dag = dag
        self.floor_difficulty = floor_difficulty
        self.dag_mode = dag_mode

    def services(self):
        """Start before the port, stop after it."""
        return [self.dag, self.pool]

    def build_job(self, template, job_id, **kw):
        """build_job(), and the DAG manager learns the height (new epochs are
        prepared, old ones dropped)."""
        job = build_job(template, job_id, **kw)
        if self.dag.height != job.height:
            self.dag.note_height(job.height)
        return job

    def verify(self, job, submission, difficulty):
        """A Deferred firing with the ShareResult (or failing with a
        StratumError: wrong header or mix hash).  Raises Busy at once when
        the check pool is full, MalformedRequest for a badly formed submission."""
        check_submission(submission)
        return self.pool.run(check, self.dag.hash, job, submission, difficulty,
                             self.floor_difficulty)

    def status(self):
        """For the web status page: the current epoch, whether its shares are
        checked with the full DAG or the light cache, DAG build progress."""
        dag = self.dag.status()
        height = dag["height"]
        epoch = ethash_epoch(height) if height is not None else None
        building = dag["progress"]
        return {
            "algorithm": NAME,
            "dag_mode": self.dag_mode,
            "height": height,
            "epoch": epoch,
            "mode": "full" if epoch is not None and self.dag.is_full(epoch) else "light",
            "epochs_ready": dag["epochs_ready"],
            "building": dag["building"],
            "progress": (None if building is None
                         else {"epoch": building[0], "percent": 100.0 * building[1] / building[2]}),
            "verify": self.pool.status(),
        }


def make(context, *, check_threadpool=None, **dag_options):
    """The runtime ethash algorithm for an AlgorithmContext.  [stratum.ethash]
    dag_mode picks full DAG or light only; verify_threads/verify_queue size
    the check pool.  DAG files live in <state_dir>/ethash/.  Tests only:
    check_threadpool replaces the check pool's threads, dag_options go to
    DAGManager (sizes=, threadpool=, ...)."""
    settings = context.settings
    dag_mode = getattr(settings, "dag_mode", "full")
    if dag_mode not in DAG_MODES:
        raise ValueError("dag_mode must be 'full' or 'light', got %r" % (dag_mode,))
    # Half the cores generate a DAG: the other half keep checking shares meanwhile.
    dag_options.setdefault("generate_threads", max(1, context.cores // 2))
    dag_options.setdefault("niceness", pool_niceness(settings))
    dag = DAGManager(os.path.join(str(context.state_dir), NAME), reactor=context.reactor,
                     full=dag_mode == "full", **dag_options)
    threads, pending = pool_size(settings, context.cores)
    pool = HashPool(threads, pending, reactor=context.reactor, name="ethash-verify",
                    threadpool=check_threadpool, niceness=pool_niceness(settings))
    return EthashAlgorithm(dag, pool, floor_difficulty=getattr(settings, "min_difficulty", None),
                           dag_mode=dag_mode)
