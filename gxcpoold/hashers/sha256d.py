"""SHA-256 and Bitcoin's sha256d for the Stratum V1 share path (native/sha256.c).

Hashes are returned in internal byte order (the raw digest); display order,
as RPC and explorers show block hashes, is the reverse (``h[::-1].hex()``).
Header layout and byte orders follow spec/stratum-v1.md section 4.
"""
import threading

from gxcpoold._native import ffi, lib
from gxcpoold.hashers._args import U256_MAX, as_bytes, as_int

__all__ = [
    "sha256",
    "sha256d",
    "sha256d_merkle_root",
    "sha256d_merkle_branch",
    "stratum_prevhash",
    "stratum_header",
    "stratum_header_hash",
    "sha256d_scan",
]

U32_MAX = 2**32 - 1

_new = ffi.new
_buffer = ffi.buffer
_sha256 = lib.sha256_hash
_sha256d = lib.sha256_double
# One output buffer per thread: the C call releases the GIL, so a shared
# buffer could be overwritten by another thread before it is copied out.
_local = threading.local()


def _out32():
    try:
        return _local.out32
    except AttributeError:
        out = _local.out32 = _new("uint8_t[32]")
        return out


def _data(value):
    # bytes go to C as they are; other buffers are copied once by as_bytes
    if value.__class__ is bytes:
        return value
    return as_bytes("data", value)


def sha256(data):
    """SHA-256 of data (bytes-like) -> 32 bytes."""
    data = _data(data)
    out = _out32()
    _sha256(data, len(data), out)
    return _buffer(out)[:]


def sha256d(data):
    """SHA-256(SHA-256(data)) -> 32 bytes, internal order."""
    data = _data(data)
    out = _out32()
    _sha256d(data, len(data), out)
    return _buffer(out)[:]


def sha256d_merkle_root(coinbase_hash, branch):
    """Fold a coinbase txid (32 bytes, internal order) up a stratum merkle
    branch (iterable of 32-byte siblings, internal order, bottom-up)."""
    first = as_bytes("coinbase_hash", coinbase_hash, 32)
    siblings = [as_bytes("branch[%d]" % i, s, 32) for i, s in enumerate(branch)]
    out = _new("uint8_t[32]")
    lib.sha256_merkle_root(first, b"".join(siblings), len(siblings), out)
    return _buffer(out)[:]


def sha256d_merkle_branch(txids):
    """The stratum merkle_branch for a block whose coinbase is leaf 0 and
    whose other transactions have the given txids (32 bytes each, internal
    order): the siblings of leaf 0 from the bottom up (spec/stratum-v1.md 7)."""
    level = [None] + [as_bytes("txids[%d]" % i, t, 32) for i, t in enumerate(txids)]
    branch = []
    while len(level) > 1:
        branch.append(level[1])
        if len(level) % 2:
            level.append(level[-1])
        level = [None] + [sha256d(level[i] + level[i + 1]) for i in range(2, len(level), 2)]
    return branch


def stratum_prevhash(previousblockhash):
    """mining.notify's prevhash hex from a template's previousblockhash
    (display hex): the display hex cut in 8-hex words, taken in reverse order."""
    if not isinstance(previousblockhash, str):
        raise TypeError("previousblockhash must be a str")
    if len(previousblockhash) != 64:
        raise ValueError("previousblockhash must be 64 hex digits")
    bytes.fromhex(previousblockhash)  # raises ValueError on non-hex
    words = [previousblockhash[i:i + 8] for i in range(0, 64, 8)]
    return "".join(reversed(words)).lower()


def _header_args(version, prevhash, merkle_root, ntime, nbits, nonce):
    return (as_int("version", version, 0, U32_MAX),
            as_bytes("prevhash", prevhash, 32),
            as_bytes("merkle_root", merkle_root, 32),
            as_int("ntime", ntime, 0, U32_MAX),
            as_int("nbits", nbits, 0, U32_MAX),
            as_int("nonce", nonce, 0, U32_MAX))


def stratum_header(version, prevhash, merkle_root, ntime, nbits, nonce):
    """Build the 80-byte header and hash it -> (header, hash).

    version, ntime, nbits, nonce are ints (parse the stratum hex with
    int(s, 16)); prevhash is bytes.fromhex of mining.notify's prevhash (each
    4-byte word byte-reversed, as sent); merkle_root is internal order."""
    args = _header_args(version, prevhash, merkle_root, ntime, nbits, nonce)
    header = _new("uint8_t[80]")
    out = _new("uint8_t[32]")
    lib.sha256_stratum_header_hash(args[0], args[1], args[2], args[3], args[4], args[5], header, out)
    return _buffer(header)[:], _buffer(out)[:]


def stratum_header_hash(version, prevhash, merkle_root, ntime, nbits, nonce):
    """sha256d of the header built from stratum fields (see stratum_header)."""
    args = _header_args(version, prevhash, merkle_root, ntime, nbits, nonce)
    out = _new("uint8_t[32]")
    lib.sha256_stratum_header_hash(args[0], args[1], args[2], args[3], args[4], args[5],
                                   ffi.NULL, out)
    return _buffer(out)[:]


def sha256d_scan(header76, nonce_start, count, target):
    """Miner inner loop: try nonces nonce_start .. nonce_start+count-1 (never
    past 2**32-1) on the 76-byte header prefix and return (nonce, hash) for
    the first whose hash, read little-endian, is <= target (an int), or None.
    The GIL is released while C scans."""
    prefix = as_bytes("header76", header76, 76)
    start = as_int("nonce_start", nonce_start, 0, U32_MAX)
    count = as_int("count", count, 0, 2**64 - 1)
    target = as_int("target", target, 0, U256_MAX)
    nonce = _new("uint32_t *")
    out = _new("uint8_t[32]")
    found = lib.sha256_scan(prefix, start, count, target.to_bytes(32, "little"), nonce, out,
                            ffi.NULL)
    if not found:
        return None
    return nonce[0], _buffer(out)[:]
