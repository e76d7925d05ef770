"""GXC's legacy text hashes: its "sha256d" and its merkle root over txid strings.

Both work on text and return lowercase hex text; every intermediate hash is
re-hashed as its 64 hex characters, never as raw bytes, and nothing is
byte-reversed (spec/gxc-legacy-hashes.md).  This is NOT Bitcoin's double
SHA-256.  Not hot (a few calls per template), so hashlib is used.
"""
import hashlib

__all__ = ["gxc_sha256d_hex", "gxc_merkle_root"]


def _text_bytes(name, value):
    if isinstance(value, str):
        # GXC hashes the std::string bytes; txids and headers are ASCII, and
        # UTF-8 is what such a string would hold for anything else.
        return value.encode("utf-8")
    raise TypeError("%s must be str, not %s" % (name, type(value).__name__))


def _sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def gxc_sha256d_hex(text):
    """GXC sha256d: hex(SHA-256(hex(SHA-256(text)) as ASCII))."""
    return _sha256_hex(_sha256_hex(_text_bytes("text", text)).encode("ascii"))


def gxc_merkle_root(txids):
    """GXC merkle root of an ordered list of txid strings.

    [] -> "" and [x] -> x unchanged; otherwise pairs are joined as text and
    hashed with gxc_sha256d_hex, an odd last entry paired with itself, level
    by level up to one string.
    """
    if isinstance(txids, (str, bytes)):
        raise TypeError("txids must be a list of str, not a single %s" % type(txids).__name__)
    level = list(txids)
    for i, txid in enumerate(level):
        _text_bytes("txids[%d]" % i, txid)
    if not level:
        return ""
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [gxc_sha256d_hex(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]
