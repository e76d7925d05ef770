"""What a miner hashes, from mining.notify (spec/stratum-v1.md sections 3-4)."""
from dataclasses import dataclass

from gxcpoold.hashers.sha256d import sha256d, sha256d_merkle_root, stratum_header
from gxcpoold.hashers.targets import sha256d_target


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
