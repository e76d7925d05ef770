"""What an ethash miner hashes: the pool's header hash with the epoch's
dataset (spec/ethash.md sections 1-3), whichever dialect brought the job.

The light cache is built in a hashing thread (about a second for epoch 0,
more for later epochs), once per epoch for all threads; with a full DAG file
of the job's epoch, hashing reads the DAG instead (about a hundred times
faster).  The miner's nonce bits are those left after the pool's fixed
prefix (a NiceHash extranonce); each job's walk through them starts at a
random point, so two jobs with the same header rarely hash the same nonces.
"""
import random
from collections import namedtuple
from dataclasses import dataclass, field

from gxcpoold.hashers.ethash import ethash_epoch_from_seedhash, ethash_light_cache
from gxcpoold.miner.nonces import NonceSpace

EthashShare = namedtuple("EthashShare", "nonce mix_hash final_hash")


class EthashHashing:
    """How to hash an epoch: the full DAG when there is one for it, else its
    light cache (shared by all threads and jobs)."""

    def __init__(self, dag=None):
        self.dag = dag

    def hash_function(self, seed):
        """hash(header_hash, nonce) -> (mix, final) for the seed's epoch.
        Slow the first time for an epoch: call it from a hashing thread.
        ValueError for a seed hash of no epoch."""
        epoch = ethash_epoch_from_seedhash(seed)
        if self.dag is not None and self.dag.epoch == epoch:
            return self.dag.hash
        return ethash_light_cache(epoch).hash


@dataclass(frozen=True, eq=False)
class EthashWork:
    """One ethash job with the share target and nonce layout it came with."""
    job_id: str
    seed: bytes
    header: bytes
    target: int                 # a share iff the final hash, big-endian, is <= target
    difficulty: float           # as the pool put it, for the reports
    nonce_prefix: int           # the pool's fixed high bits, already shifted into place
    miner_bits: int             # how many low nonce bits the miner picks
    hashing: EthashHashing
    nonces: NonceSpace = field(init=False)

    def __post_init__(self):
        size = 1 << self.miner_bits
        object.__setattr__(self, "nonces", NonceSpace(size, random.randrange(size)))

    def scanner(self, hasher):
        return EthashScanner(self, self.hashing.hash_function(self.seed))

    def miner_part(self, nonce):
        """The miner's own bits of a full nonce."""
        return nonce & ((1 << self.miner_bits) - 1)


class EthashScanner:
    """One thread's share of a job: runs of nonces taken from the job, one
    native hash each.  A share is an EthashShare with the full 64-bit nonce."""
    # light: ~3 ms a hash, so chunks of a few nonces; with the DAG, thousands
    CHUNK_RANGE = (1, 1 << 14)
    FIRST_CHUNK = 1

    def __init__(self, work, hash_function):
        self.work = work
        self.hash = hash_function
        self.next = self.end = 0
        self.exhausted = False

    def scan(self, count):
        work, tried = self.work, 0
        while tried < count:
            if self.next >= self.end:
                run = work.nonces.take(count - tried)
                if run is None:
                    self.exhausted = True
                    break
                self.next, self.end = run
            nonce = work.nonce_prefix | self.next
            self.next += 1
            mix, final = self.hash(work.header, nonce)
            tried += 1
            if int.from_bytes(final, "big") <= work.target:
                return tried, EthashShare(nonce, mix, final)
        return tried, None
