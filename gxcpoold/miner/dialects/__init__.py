"""How the miner talks to each kind of pool port: one small class per dialect.

A dialect object belongs to one Miner and serves its connections in turn:

- login(protocol) -> Deferred: subscribe/log in on a fresh connection; fails
  (with the reason) if the pool refuses or answers nonsense.
- notification(protocol, method, params) -> True if the method is one of
  the dialect's (it then called miner.set_difficulty / miner.new_job ...).
- pushed(protocol, result): a response-shaped message nobody asked for
  (eth-proxy's pushed work).
- submission(work, share) -> (method, params, members): the request that
  submits a share found for work.
- reported(protocol, hashrate): called at every report line.
- difficulty: what a new job's share target is computed from, in the
  dialect's own unit (shown in the reports).

Pool input that does not fit raises ValueError, TypeError, IndexError or
KeyError; the miner logs it as one line and carries on.
"""
import math


def positive_number(value, what="difficulty"):
    """A finite number > 0 from JSON (not a bool), as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("%s must be a number, got %r" % (what, value))
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError("%s must be a finite number > 0, got %r" % (what, value))
    return value


HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _digits(text, what, lengths, description):
    """The hex digits of text ("0x" allowed) if their count is in lengths."""
    if not isinstance(text, str):
        raise TypeError("%s must be hex text, got %r" % (what, text))
    digits = text[2:] if text[:2] in ("0x", "0X") else text
    if len(digits) not in lengths or not HEX_DIGITS.issuperset(digits):
        raise ValueError("%s must be %s, got %r" % (what, description, text[:80]))
    return digits


def hex_bytes(text, size, what):
    """`size` bytes from hex text ("0x" allowed)."""
    return bytes.fromhex(_digits(text, what, (2 * size,), "%d hex digits" % (2 * size)))


def hex_number(text, what, max_digits=64):
    """A non-negative int from hex text ("0x" allowed), at most max_digits digits."""
    return int(_digits(text, what, range(1, max_digits + 1),
                       "1 to %d hex digits" % max_digits), 16)


def param(params, index, what):
    """params[index], or a ValueError naming what is missing."""
    if len(params) <= index:
        raise ValueError("no %s (%d params)" % (what, len(params)))
    return params[index]


def job_id_from(value):
    if not isinstance(value, str) or not value:
        raise ValueError("job id must be a non-empty string, got %r" % (value,))
    return value
