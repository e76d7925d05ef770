"""sha256d: Bitcoin SHA-256 miners mining GXC blocks (DESIGN.md section 2).

The miner hashes an ordinary 80-byte Bitcoin header.  Its merkle root covers
a coinbase blob (coinb1 | extranonce1 | extranonce2 | coinb2) that commits to
the GXC block being built -- height, previous block hash, the template's
coinbase txid and the pool address -- and, as merkle branch, the template's
other txids.  The GXC node never recomputes a block hash (spec/gxc-node.md
3.3): the pool recomputes it here and sends the display hash (sha256d
byte-reversed, lowercase hex) as the block hash when it has at least
floor(D) leading zeros.

Byte orders and the header layout follow spec/stratum-v1.md sections 3-7.
"""
import functools
import math
import struct
import sys
import time
from dataclasses import dataclass, field

from gxcpoold.hashers.sha256d import (sha256d, sha256d_merkle_branch, sha256d_merkle_root,
                                      stratum_header, stratum_prevhash)
from gxcpoold.hashers.targets import DIFF1_TARGET, leading_zeros, sha256d_target

NAME = "sha256d"
DIALECTS = ("v1",)
EXTRANONCE1_BITS = 32             # [cluster] instance_id in the top byte, a counter below
JOB_VERSION = 0x20000000          # BIP 9 top bits; no bits under the rolling mask
NBITS = 0x1D00FFFF                # meaningless to the GXC node; diff-1 for miners' display
VERSION_ROLLING_MASK = 0x1FFFE000  # BIP 320 general-purpose bits
EXTRANONCE1_SIZE = 4
EXTRANONCE2_SIZES = range(4, 9)
NTIME_FUTURE_WINDOW = 7000        # seconds a miner may roll ntime forward (ckpool's bound)
# [stratum.sha256d] defaults: Bitcoin difficulty units (diff 1 = 2**32 hashes).
STRATUM_DEFAULTS = {}
POOL_TAG = b"/gxcpool/"
MAX_SCRIPTSIG = 100               # consensus bound Bitcoin firmware may assume


def txid_internal(txid_hex):
    """A txid shown as display hex, in the internal byte order merkle trees use."""
    return bytes.fromhex(txid_hex)[::-1]


def _push(data):
    """A minimal script push of data (at most 255 bytes)."""
    if len(data) < 0x4C:
        return bytes([len(data)]) + data
    if len(data) <= 0xFF:
        return b"\x4c" + bytes([len(data)]) + data
    raise ValueError("push of %d bytes is too long" % len(data))


def _height_push(height):
    """BIP 34: the height as a minimal little-endian script number, pushed."""
    raw = height.to_bytes((height.bit_length() + 8) // 8, "little")  # room for the sign bit
    return _push(raw)


def _varint(n):
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + struct.pack("<H", n)
    return b"\xfe" + struct.pack("<I", n)


def _output(value, script):
    return struct.pack("<q", value) + _varint(len(script)) + script


def coinbase_parts(*, height, previousblockhash, coinbase_txid, pool_address, coinbasevalue,
                   extranonce2_size):
    """(coinb1, coinb2) of a legacy Bitcoin coinbase transaction.

    scriptSig = BIP34 height | pool tag | extranonce1 | extranonce2; outputs:
    the reward to an OP_RETURN naming the pool address, and a zero-value
    OP_RETURN carrying the previous block hash and the template coinbase txid.
    The commitments make every header belong to exactly one GXC block."""
    if extranonce2_size not in EXTRANONCE2_SIZES:
        raise ValueError("extranonce2 size must be 4 to 8 bytes, got %r" % (extranonce2_size,))
    prefix = _height_push(height) + _push(POOL_TAG)
    script_len = len(prefix) + EXTRANONCE1_SIZE + extranonce2_size
    if not 2 <= script_len <= MAX_SCRIPTSIG:
        raise ValueError("coinbase scriptSig would be %d bytes" % script_len)
    coinb1 = (struct.pack("<i", 1) + b"\x01" + b"\x00" * 32 + b"\xff\xff\xff\xff"
              + _varint(script_len) + prefix)
    address_script = b"\x6a" + _push(pool_address.encode("ascii"))
    commitment = (b"\x6a" + _push(txid_internal(previousblockhash))
                  + _push(txid_internal(coinbase_txid)))
    coinb2 = (b"\xff\xff\xff\xff" + _varint(2) + _output(coinbasevalue, address_script)
              + _output(0, commitment) + b"\x00\x00\x00\x00")
    return coinb1, coinb2


@dataclass(eq=False)
class Sha256dJob:
    """One unit of work, shared by every connection of the port."""
    job_id: str
    height: int
    previousblockhash: str            # display hex, verbatim from the template
    coinb1: bytes
    coinb2: bytes
    merkle_branch: tuple              # 32-byte siblings, internal order, bottom-up
    version: int
    nbits: int
    ntime: int
    required_zeros: int               # floor(D): the GXC block test
    clean_jobs: bool = False          # True when it starts a new tip
    template: object = None           # the BlockTemplate (None in replay tests)
    transactions: tuple = ()          # the mempool txs the merkle branch covers
    created: float = field(default_factory=time.time)
    seen_hashes: set = field(default_factory=set, repr=False)   # duplicate detection

    def __post_init__(self):
        self.prevhash_stratum = stratum_prevhash(self.previousblockhash)
        self.prevhash_bytes = bytes.fromhex(self.prevhash_stratum)

    @property
    def algorithm(self):
        return NAME

    @property
    def network_difficulty(self):
        """The block test as a share difficulty: a share above it is worth
        nothing more (DIFF1 / 2**(256 - 4 * floor(D)))."""
        return DIFF1_TARGET / 2 ** (256 - 4 * self.required_zeros)

    def notify_params(self, clean_jobs=None):
        """mining.notify params (spec/stratum-v1.md section 3)."""
        return [self.job_id, self.prevhash_stratum, self.coinb1.hex(), self.coinb2.hex(),
                [h.hex() for h in self.merkle_branch], "%08x" % self.version,
                "%08x" % self.nbits, "%08x" % self.ntime,
                self.clean_jobs if clean_jobs is None else clean_jobs]


def build_job(template, job_id, *, pool_address, extranonce2_size, transactions=None,
              ntime=None, clean_jobs=False, created=None):
    """A job for a BlockTemplate.  transactions: the mempool txs to include
    (default all the template's); ntime: default the template's curtime."""
    txs = tuple(template.transactions if transactions is None else transactions)
    coinb1, coinb2 = coinbase_parts(
        height=template.height, previousblockhash=template.previousblockhash,
        coinbase_txid=template.coinbase["txid"], pool_address=pool_address,
        coinbasevalue=template.coinbasevalue, extranonce2_size=extranonce2_size)
    branch = tuple(sha256d_merkle_branch([txid_internal(tx["txid"]) for tx in txs]))
    return Sha256dJob(
        job_id=job_id, height=template.height, previousblockhash=template.previousblockhash,
        coinb1=coinb1, coinb2=coinb2, merkle_branch=branch, version=JOB_VERSION, nbits=NBITS,
        ntime=template.curtime if ntime is None else ntime,
        required_zeros=template.required_zeros, clean_jobs=clean_jobs, template=template,
        transactions=txs, created=time.time() if created is None else created)


@dataclass(frozen=True)
class Submission:
    """A mining.submit, already parsed from hex."""
    extranonce1: bytes
    extranonce2: bytes
    ntime: int
    nonce: int
    version: int          # the full header version (rolled bits applied)


def rolled_version(job_version, version_bits, mask):
    """BIP 310: the header version for submitted version bits, or None when
    bits outside the negotiated mask are set."""
    if version_bits & ~mask & 0xFFFFFFFF:
        return None
    return (job_version & ~mask) | (version_bits & mask)


@dataclass(frozen=True)
class ShareResult:
    share_ok: bool
    block_ok: bool
    hash_hex: str          # display hash, lowercase
    work: int              # expected hashes credited (0 if not a share)
    hash_int: int
    header: bytes
    coinbase: bytes

    def meets(self, difficulty):
        return self.hash_int <= share_target(difficulty)

    @property
    def as_tuple(self):
        return self.share_ok, self.block_ok, self.hash_hex, self.work


@functools.lru_cache(maxsize=4096)
def share_target(difficulty):
    """sha256d_target, cached: sessions reuse a handful of difficulties and
    the exact Fraction arithmetic is a fifth of a share check otherwise."""
    return sha256d_target(difficulty)


def share_work(difficulty):
    """Expected hashes of a share at this difficulty, as an int: d * 2**32."""
    return int(round(difficulty * 2**32))


def hash_difficulty(hash_int):
    return DIFF1_TARGET / hash_int if hash_int else math.inf


def verify(job, submission, difficulty):
    """Rebuild the header of a submission and test it: a share at
    `difficulty`, a block at floor(D) leading zeros of the display hash."""
    coinbase = job.coinb1 + submission.extranonce1 + submission.extranonce2 + job.coinb2
    root = sha256d_merkle_root(sha256d(coinbase), job.merkle_branch)
    header, digest = stratum_header(submission.version, job.prevhash_bytes, root,
                                    submission.ntime, job.nbits, submission.nonce)
    hash_int = int.from_bytes(digest, "little")
    hash_hex = digest[::-1].hex()
    share_ok = hash_int <= share_target(difficulty)
    block_ok = leading_zeros(hash_hex) >= job.required_zeros
    return ShareResult(share_ok=share_ok, block_ok=block_ok, hash_hex=hash_hex,
                       work=share_work(difficulty) if share_ok else 0, hash_int=hash_int,
                       header=header, coinbase=coinbase)


def node_nonce(nonce):
    """The nonce sent to the node: it stores a signed 32-bit value, so keep
    0 <= nonce < 2**31 (the full nonce stays in the candidate's solution)."""
    return nonce & 0x7FFFFFFF


def block_for(job, result, submission, *, pool_address):
    """(submitblock object, solution) for a block-meeting result."""
    block = job.template.submitblock(hash_hex=result.hash_hex,
                                     nonce=node_nonce(submission.nonce), miner=pool_address,
                                     timestamp=job.ntime, transactions=job.transactions)
    solution = {
        "algorithm": NAME,
        "job_id": job.job_id,
        "header": result.header.hex(),
        "coinbase": result.coinbase.hex(),
        "merkle_branch": [h.hex() for h in job.merkle_branch],
        "extranonce1": submission.extranonce1.hex(),
        "extranonce2": submission.extranonce2.hex(),
        "ntime": submission.ntime,
        "nonce": submission.nonce,
        "version": submission.version,
    }
    return block, solution


def dedup_key(submission):
    """Everything the header is built from, as one 64-bit number: the same
    key is the same hash.  Python hashes bytes with a per-process key
    (SipHash), so a miner cannot aim a collision at another miner's shares;
    by chance, a false duplicate among a million shares of one job is about
    3e-8 likely.  A small int keeps a busy job's set cheap: the 192-bit key
    this replaced cost 10 % of the pool's CPU per share at 1000 connections
    (bench/stratum_load.py --baseline)."""
    return hash((submission.extranonce1, submission.extranonce2, submission.ntime,
                 submission.nonce, submission.version))


def make(context):
    """sha256d needs no resources of its own: the module is the algorithm,
    and its verify answers at once (microseconds, on the reactor thread)."""
    return sys.modules[__name__]
