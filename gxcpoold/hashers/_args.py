"""Argument checks shared by the hasher wrappers.

The C functions trust their sizes completely, so every wrapper validates in
Python first and raises TypeError/ValueError naming the bad argument.
"""

U64_MAX = 2**64 - 1
U256_MAX = 2**256 - 1


def as_bytes(name, value, length=None):
    """Return value as bytes (accepting bytes-like objects), checking its length."""
    if isinstance(value, bytes):
        data = value
    elif isinstance(value, (bytearray, memoryview)):
        data = bytes(value)
    else:
        raise TypeError("%s must be bytes, not %s" % (name, type(value).__name__))
    if length is not None and len(data) != length:
        raise ValueError("%s must be %d bytes, got %d" % (name, length, len(data)))
    return data


def as_int(name, value, lo, hi):
    """Check that value is an int (bool excluded) with lo <= value <= hi."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int, not %s" % (name, type(value).__name__))
    if not lo <= value <= hi:
        raise ValueError("%s must be in [%d, %d], got %d" % (name, lo, hi, value))
    return value


def as_target(name, value):
    """A 256-bit target as an int; 32 bytes are read big-endian."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return int.from_bytes(as_bytes(name, value, 32), "big")
    return as_int(name, value, 0, U256_MAX)
