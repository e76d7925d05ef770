"""Difficulty <-> target arithmetic, in exact integers (pure Python).

Two conventions (DESIGN.md section 2, spec/stratum-v1.md 6, spec/ethash.md 2):

* sha256d ("bdiff"): target = floor(DIFF1 / d) with the Bitcoin diff-1 target
  DIFF1 = 0xffff * 2**208; a share of difficulty d is worth d * 2**32 hashes.
* ethash / gxhash ("raw hashes"): target = floor(2**256 / d); a share of
  difficulty d is worth d hashes.

Difficulties may be int, float, Decimal, Fraction or a decimal string; floats
are read as their shortest decimal repr, so 0.001 means exactly 1/1000.
A hash meets a target when hash_int <= target (inclusive).
"""
import decimal
import math
from fractions import Fraction

from gxcpoold.hashers._args import U256_MAX, as_bytes, as_int

__all__ = [
    "DIFF1_TARGET",
    "MAX_TARGET",
    "sha256d_target",
    "sha256d_difficulty",
    "sha256d_hash_difficulty",
    "sha256d_share_work",
    "hash_target",
    "hash_difficulty",
    "hash_share_work",
    "ethash_boundary",
    "decode_compact",
    "compact_to_target",
    "target_to_compact",
    "target_to_hex",
    "hex_to_target",
    "leading_zeros",
    "meets_leading_zeros",
]

DIFF1_TARGET = 0xFFFF << 208
MAX_TARGET = U256_MAX


def _fraction(difficulty):
    """A positive difficulty as an exact Fraction."""
    if isinstance(difficulty, bool):
        raise TypeError("difficulty must be a number, not bool")
    if isinstance(difficulty, Fraction):
        value = difficulty
    elif isinstance(difficulty, int):
        value = Fraction(difficulty)
    elif isinstance(difficulty, float):
        if not math.isfinite(difficulty):
            raise ValueError("difficulty must be finite, got %r" % difficulty)
        value = Fraction(repr(difficulty))
    elif isinstance(difficulty, (str, decimal.Decimal)):
        try:
            value = Fraction(difficulty)
        except (ValueError, ZeroDivisionError) as exc:
            raise ValueError("bad difficulty %r: %s" % (difficulty, exc)) from None
    else:
        raise TypeError("difficulty must be int, float, Decimal, Fraction or str, not %s"
                        % type(difficulty).__name__)
    if value <= 0:
        raise ValueError("difficulty must be > 0, got %s" % difficulty)
    return value


def _capped(numerator, difficulty):
    d = _fraction(difficulty)
    return min(numerator * d.denominator // d.numerator, MAX_TARGET)


def sha256d_target(difficulty):
    """Share target for a stratum V1 difficulty: floor(DIFF1 / d)."""
    return _capped(DIFF1_TARGET, difficulty)


def sha256d_difficulty(target):
    """The difficulty a target stands for: DIFF1 / target (float)."""
    target = as_int("target", target, 1, MAX_TARGET)
    return DIFF1_TARGET / target


def sha256d_hash_difficulty(hash_internal):
    """Share difficulty of a sha256d hash (32 bytes internal order, read
    little-endian); inf for an all-zero hash."""
    value = int.from_bytes(as_bytes("hash", hash_internal, 32), "little")
    return DIFF1_TARGET / value if value else math.inf


def _number(difficulty):
    """Validate; keep numbers as they are, turn decimal strings into Fractions."""
    value = _fraction(difficulty)
    return value if isinstance(difficulty, str) else difficulty


def sha256d_share_work(difficulty):
    """Expected hashes of a sha256d share: d * 2**32 (same number type; a
    decimal string gives a Fraction)."""
    return _number(difficulty) * 2**32


def hash_target(difficulty):
    """Raw-hash target (ethash, gxhash): floor(2**256 / d), capped at 2**256-1."""
    return _capped(2**256, difficulty)


def hash_difficulty(target):
    """Raw-hash difficulty a target stands for: 2**256 / target (float)."""
    target = as_int("target", target, 1, MAX_TARGET)
    return 2**256 / target


def hash_share_work(difficulty):
    """Expected hashes of an ethash/gxhash share: d itself (validated)."""
    return _number(difficulty)


def ethash_boundary(difficulty):
    """chfast's boundary for an integer difficulty: floor(2**256 / d), with
    d = 0 or 1 giving 2**256 - 1."""
    difficulty = as_int("difficulty", difficulty, 0, U256_MAX)
    if difficulty <= 1:
        return MAX_TARGET
    return 2**256 // difficulty


def decode_compact(nbits):
    """Bitcoin Core SetCompact: nBits -> (value, negative, overflow)."""
    nbits = as_int("nbits", nbits, 0, 2**32 - 1)
    size = nbits >> 24
    word = nbits & 0x007FFFFF
    if size <= 3:
        word >>= 8 * (3 - size)
        value = word
    else:
        value = word << (8 * (size - 3))
    negative = word != 0 and bool(nbits & 0x00800000)
    overflow = word != 0 and (size > 34 or (word > 0xFF and size > 33)
                              or (word > 0xFFFF and size > 32))
    return (value if not overflow else None), negative, overflow


def compact_to_target(nbits):
    """nBits -> target int; ValueError for negative, zero or overflowing."""
    value, negative, overflow = decode_compact(nbits)
    if overflow:
        raise ValueError("nbits %08x overflows 256 bits" % nbits)
    if negative:
        raise ValueError("nbits %08x is negative" % nbits)
    if value == 0:
        raise ValueError("nbits %08x is zero" % nbits)
    return value


def target_to_compact(target, negative=False):
    """Bitcoin Core GetCompact: target int -> nBits int."""
    target = as_int("target", target, 0, MAX_TARGET)
    size = (target.bit_length() + 7) // 8
    if size <= 3:
        compact = target << (8 * (3 - size))
    else:
        compact = target >> (8 * (size - 3))
    if compact & 0x00800000:  # the mantissa's top bit is the sign: make room
        compact >>= 8
        size += 1
    compact |= size << 24
    if negative and compact & 0x007FFFFF:
        compact |= 0x00800000
    return compact


def target_to_hex(target):
    """64 lowercase hex digits, big-endian (what miners want on the wire)."""
    return "%064x" % as_int("target", target, 0, MAX_TARGET)


def hex_to_target(text):
    """Parse a big-endian hex target ('0x' optional, up to 64 digits)."""
    if not isinstance(text, str):
        raise TypeError("target hex must be a str")
    digits = text[2:] if text[:2].lower() == "0x" else text
    if not 0 < len(digits) <= 64:
        raise ValueError("target hex must have 1..64 digits")
    return int(digits, 16)


def leading_zeros(hash_hex):
    """Number of leading '0' characters of a hex hash string."""
    if not isinstance(hash_hex, str):
        raise TypeError("hash_hex must be a str")
    return len(hash_hex) - len(hash_hex.lstrip("0"))


def meets_leading_zeros(hash_hex, difficulty):
    """The GXC node's block test: at least floor(difficulty) leading zeros."""
    if isinstance(difficulty, bool) or not isinstance(difficulty, (int, float)):
        raise TypeError("difficulty must be a number")
    return leading_zeros(hash_hex) >= math.floor(difficulty)
