"""What a gxhash miner hashes (the gxhash dialect, docs/protocol-gxhash.md):
GXC's own header text of a job, with the GXC nonce N = extranonce1 << 16 | n.

One hash takes a fraction of a second and 64 MiB, so a thread hashes one
nonce per chunk and sees new work after every hash.  The miner's 65536 n of
a job are shared by the threads; when they are all tried the threads wait
for the next job.
"""
from collections import namedtuple
from dataclasses import dataclass, field

from gxcpoold.hashers.gxhash import gxhash
from gxcpoold.miner.nonces import NonceSpace

GxhashShare = namedtuple("GxhashShare", "n nonce hash")


@dataclass(frozen=True, eq=False)
class GxhashWork:
    job_id: str
    height: int
    prevhash: str
    timestamp: int
    merkleroot: str
    extranonce1: int
    n_bits: int                 # the miner's low nonce bits (16)
    difficulty: float           # expected hashes per share
    target: int                 # a share iff int(hash hex, 16) <= target
    nonces: NonceSpace = field(init=False)
    prefix: bytes = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "nonces", NonceSpace(1 << self.n_bits))
        text = "%d%s%d%s" % (self.height, self.prevhash, self.timestamp, self.merkleroot)
        object.__setattr__(self, "prefix", text.encode("ascii"))

    def gxc_nonce(self, n):
        return (self.extranonce1 << self.n_bits) | n

    def header(self, nonce):
        """The header text GXC hashes: height, prevhash, timestamp, merkle root, nonce."""
        return self.prefix + str(nonce).encode("ascii")

    def scanner(self, hasher):
        return GxhashScanner(self)


class GxhashScanner:
    CHUNK_RANGE = (1, 1)
    FIRST_CHUNK = 1

    def __init__(self, work):
        self.work = work
        self.exhausted = False

    def scan(self, count):
        work = self.work
        run = work.nonces.take(1)
        if run is None:
            self.exhausted = True
            return 0, None
        n = run[0]
        nonce = work.gxc_nonce(n)
        digest = gxhash(work.header(nonce), nonce)
        if int.from_bytes(digest, "big") <= work.target:
            return 1, GxhashShare(n, nonce, digest)
        return 1, None
