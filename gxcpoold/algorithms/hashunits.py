"""Difficulty in expected hashes, the unit of ethash and gxhash (DESIGN.md section 2).

A share at difficulty d has target floor(2**256 / d) and stands for d hashes
of work; a hash meets every difficulty up to 2**256 / hash.
"""
import functools
import math

from gxcpoold.hashers.targets import hash_target


@functools.lru_cache(maxsize=4096)
def share_target(difficulty):
    """floor(2**256 / d), cached: sessions reuse a handful of difficulties."""
    return hash_target(difficulty)


def share_work(difficulty):
    """Expected hashes of a share at this difficulty: d itself, rounded."""
    return int(round(difficulty))


def hash_difficulty(hash_int):
    """The difficulty a hash meets: 2**256 / hash (inf for zero)."""
    return 2**256 / hash_int if hash_int else math.inf


def block_difficulty(required_zeros):
    """The GXC block test (floor(D) leading zero hex digits) as a share
    difficulty: 16 ** floor(D) expected hashes."""
    return float(16 ** required_zeros)
