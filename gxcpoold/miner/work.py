"""What a sha256d miner hashes, from mining.notify (spec/stratum-v1.md sections 3-4)."""
from dataclasses import dataclass

from gxcpoold._native import ffi, lib
from gxcpoold.hashers.sha256d import sha256d, sha256d_merkle_root, stratum_header
from gxcpoold.hashers.targets import sha256d_target

NONCES = 1 << 32


@dataclass(frozen=True)
class Work:
    """One job as the miner sees it, with the connection's extranonce and difficulty."""
    job_id: str
    prevhash: bytes            # bytes.fromhex of notify's prevhash (word-swapped form)
    coinb1: bytes
    coinb2: bytes
    merkle_branch: tuple       # 32-byte siblings, internal order
    version: int
    nbits: int
    ntime: int
    extranonce1: bytes
    extranonce2_size: int
    difficulty: float
    target: int

    @classmethod
    def from_notify(cls, params, extranonce1, extranonce2_size, difficulty):
        """Raises ValueError/TypeError/IndexError for a malformed notify."""
        job_id, prevhash, coinb1, coinb2, branch, version, nbits, ntime = params[:8]
        if not isinstance(job_id, str) or not isinstance(branch, list):
            raise ValueError("malformed mining.notify")
        prev = bytes.fromhex(prevhash)
        if len(prev) != 32:
            raise ValueError("prevhash must be 32 bytes")
        siblings = tuple(bytes.fromhex(h) for h in branch)
        if any(len(h) != 32 for h in siblings):
            raise ValueError("merkle branch entries must be 32 bytes")
        return cls(job_id=job_id, prevhash=prev, coinb1=bytes.fromhex(coinb1),
                   coinb2=bytes.fromhex(coinb2), merkle_branch=siblings,
                   version=int(version, 16), nbits=int(nbits, 16), ntime=int(ntime, 16),
                   extranonce1=extranonce1, extranonce2_size=extranonce2_size,
                   difficulty=difficulty, target=sha256d_target(difficulty))

    def header_prefix(self, extranonce2: bytes) -> bytes:
        """The first 76 header bytes (all but the nonce) for one extranonce2."""
        coinbase = self.coinb1 + self.extranonce1 + extranonce2 + self.coinb2
        root = sha256d_merkle_root(sha256d(coinbase), self.merkle_branch)
        header, _ = stratum_header(self.version, self.prevhash, root, self.ntime, self.nbits, 0)
        return header[:76]

    def scanner(self, hasher):
        return Sha256dScanner(self, hasher)


class Sha256dScanner:
    """One thread's walk through a job: all 2**32 nonces of one extranonce2
    (from the hasher's sequence, so no two threads share one), then the next.

    It calls the native scan loop directly, with buffers made once: at a
    trivial share difficulty a call returns every few nonces and the
    wrapper's argument checks would cost more than the hashing.  A share is
    (extranonce2, nonce, hash)."""
    CHUNK_RANGE = (1 << 12, 1 << 22)
    FIRST_CHUNK = 1 << 16
    exhausted = False          # there is always another extranonce2

    def __init__(self, work, hasher):
        self.work = work
        self.hasher = hasher
        self.prefix = ffi.new("uint8_t[76]")
        self.target = ffi.new("uint8_t[32]")
        self.found_nonce = ffi.new("uint32_t *")
        self.digest = ffi.new("uint8_t[32]")
        self.tried = ffi.new("uint64_t *")
        ffi.memmove(self.target, work.target.to_bytes(32, "little"), 32)
        self._next_extranonce2()

    def _next_extranonce2(self):
        size = self.work.extranonce2_size
        value = self.hasher.next_sequence() % (1 << (8 * size))
        self.extranonce2 = value.to_bytes(size, "big")
        ffi.memmove(self.prefix, self.work.header_prefix(self.extranonce2), 76)
        self.nonce = 0

    def scan(self, count):
        if self.nonce >= NONCES:
            self._next_extranonce2()
        tried = self.tried
        if lib.sha256_scan(self.prefix, self.nonce, count, self.target, self.found_nonce,
                           self.digest, tried):
            nonce = self.found_nonce[0]
            self.nonce = nonce + 1
            return tried[0], (self.extranonce2, nonce, ffi.buffer(self.digest)[:])
        self.nonce += tried[0]
        return tried[0], None
