"""Keccak-256 and Keccak-512 as Ethereum uses them (native/keccak.c).

Original Keccak padding (0x01), so keccak256(b"") is c5d24601...a470, not
FIPS-202 SHA3-256's a7ffc6f8...434a.
"""
import threading

from gxcpoold._native import ffi, lib
from gxcpoold.hashers._args import as_bytes

__all__ = ["keccak256", "keccak512"]

_buffer = ffi.buffer
_k256 = lib.keccak_256
_k512 = lib.keccak_512
# Per-thread output buffers: the C call releases the GIL, so a shared buffer
# could be overwritten by another thread before it is copied out.
_local = threading.local()


def _outs():
    try:
        return _local.outs
    except AttributeError:
        outs = _local.outs = (ffi.new("uint8_t[32]"), ffi.new("uint8_t[64]"))
        return outs


def _data(value):
    if value.__class__ is bytes:
        return value
    return as_bytes("data", value)


def keccak256(data):
    """Keccak-256 of data (bytes-like) -> 32 bytes."""
    data = _data(data)
    out = _outs()[0]
    _k256(data, len(data), out)
    return _buffer(out)[:]


def keccak512(data):
    """Keccak-512 of data (bytes-like) -> 64 bytes."""
    data = _data(data)
    out = _outs()[1]
    _k512(data, len(data), out)
    return _buffer(out)[:]
