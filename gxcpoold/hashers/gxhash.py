"""GXC gxhash, the proof-of-work hash of GXC blocks of type POW_GXHASH.

gxhash(data, nonce) = GA(data || LE64(nonce), BLAKE2b-16(data), t=3,
m=64 MiB, p=4, T=32), where GA is GXC's own variant of Argon2id
(spec/gxhash.md); no Argon2 library computes it.  The C code in
native/gxhash.c does the work with the GIL released, so several threads
hash in parallel.  Each call needs 64 MiB and about 0.1 s of one core.

The pool's block hash is ``gxhash(header, nonce).hex()``; read as a number
it is big-endian (``int.from_bytes(h, "big")``), as the GXC node counts
leading '0' hex digits.
"""
from gxcpoold._native import ffi, lib

__all__ = ["gxhash", "gxc_argon2", "GXHASH_MAX_NONCE", "set_matrix_pool_limit"]

#: The nonce is a u64 appended little-endian to the data.
GXHASH_MAX_NONCE = 2**64 - 1

_U32_MAX = 2**32 - 1
# H0 stores the password length as a u32; gxhash appends 8 nonce bytes.
_MAX_DATA_LEN = _U32_MAX - 8

# Errors that come from bad parameters (ValueError); NO_MEMORY is MemoryError.
_PARAMETER_ERRORS = frozenset([
    lib.GXHASH_ERR_MEMORY_TOO_SMALL, lib.GXHASH_ERR_TIME_TOO_SMALL,
    lib.GXHASH_ERR_LANES_TOO_SMALL, lib.GXHASH_ERR_OUTLEN,
    lib.GXHASH_ERR_INPUT_TOO_LONG, lib.GXHASH_ERR_MEMORY_TOO_LARGE,
])


def _as_bytes(name, value):
    """Accept bytes-like input (bytes, bytearray, memoryview); refuse text."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError("%s must be bytes, not %s (encode text first, e.g. .encode('ascii'))"
                    % (name, type(value).__name__))


def _as_int(name, value, low, high):
    # bool is an int subclass; a True/False here is always a caller's bug.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int, not %s" % (name, type(value).__name__))
    if not low <= value <= high:
        raise ValueError("%s must be in %d..%d, got %d" % (name, low, high, value))
    return value


def _raise_for(rc, what):
    reason = ffi.string(lib.gxhash_strerror(rc)).decode("ascii")
    if rc == lib.GXHASH_ERR_NO_MEMORY:
        raise MemoryError("%s: %s" % (what, reason))
    if rc in _PARAMETER_ERRORS:
        raise ValueError("%s: %s" % (what, reason))
    raise RuntimeError("%s: unexpected native error %d (%s)" % (what, rc, reason))


def check_gxhash_args(data, nonce):
    """Validate gxhash arguments; return data as an immutable bytes object."""
    data = _as_bytes("data", data)
    if len(data) > _MAX_DATA_LEN:
        raise ValueError("data must be at most %d bytes, got %d" % (_MAX_DATA_LEN, len(data)))
    _as_int("nonce", nonce, 0, GXHASH_MAX_NONCE)
    return data


def gxhash(data, nonce):
    """Return the 32-byte gxhash of ``data`` (bytes) with the u64 ``nonce``."""
    data = check_gxhash_args(data, nonce)
    out = ffi.new("uint8_t[32]")
    rc = lib.gxhash_hash(ffi.from_buffer("uint8_t[]", data), len(data), nonce, out)
    if rc != lib.GXHASH_OK:
        _raise_for(rc, "gxhash")
    return bytes(ffi.buffer(out))


def gxc_argon2(password, salt, t_cost, m_cost_kib, lanes, outlen=32):
    """GXC's Argon2id variant (GA) with free parameters; returns ``outlen`` bytes.

    Not RFC 9106 Argon2id.  The reference's checks apply, in its order:
    m_cost_kib >= 8 * lanes, t_cost >= 1, lanes >= 1 (ValueError otherwise).
    """
    password = _as_bytes("password", password)
    salt = _as_bytes("salt", salt)
    for name, value in (("t_cost", t_cost), ("m_cost_kib", m_cost_kib), ("lanes", lanes)):
        _as_int(name, value, 0, _U32_MAX)
    _as_int("outlen", outlen, 1, _U32_MAX)
    if len(password) > _U32_MAX or len(salt) > _U32_MAX:
        raise ValueError("password and salt must be at most %d bytes" % _U32_MAX)
    out = ffi.new("uint8_t[]", outlen)
    rc = lib.gxhash_ga(ffi.from_buffer("uint8_t[]", password), len(password),
                       ffi.from_buffer("uint8_t[]", salt), len(salt),
                       t_cost, m_cost_kib, lanes, out, outlen)
    if rc != lib.GXHASH_OK:
        _raise_for(rc, "gxc_argon2(t_cost=%d, m_cost_kib=%d, lanes=%d)" % (t_cost, m_cost_kib, lanes))
    return bytes(ffi.buffer(out))


def set_matrix_pool_limit(limit):
    """Keep at most ``limit`` idle 64 MiB matrices for reuse (default 2; 0..64).

    Reuse saves the page faults of a fresh 64 MiB allocation (~20% of a
    hash); set it to the number of hashing threads.
    """
    _as_int("limit", limit, 0, 64)
    lib.gxhash_pool_set_limit(limit)
