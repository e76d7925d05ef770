"""native BLAKE2b (RFC 7693) against Python's hashlib.blake2b."""
import hashlib
import random

import pytest

from gxcpoold._native import ffi, lib


def native_blake2b(data, outlen):
    out = ffi.new("uint8_t[]", max(outlen, 1))
    rc = lib.blake2b_hash(out, outlen, ffi.from_buffer("uint8_t[]", data), len(data))
    assert rc == 0
    return bytes(ffi.buffer(out, outlen))


def test_rfc_abc_512():
    # The check value quoted in spec/gxhash.md section 2.
    assert native_blake2b(b"abc", 64).hex() == (
        "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
        "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")


@pytest.mark.parametrize("length", list(range(0, 300)) + [383, 384, 385, 1023, 1024, 1025])
def test_lengths_around_block_boundaries(length):
    data = bytes((i * 7 + length) & 0xFF for i in range(length))
    for outlen in (16, 32, 64):
        assert native_blake2b(data, outlen) == hashlib.blake2b(data, digest_size=outlen).digest()


def test_every_digest_length_is_its_own_hash_not_a_truncation():
    data = b"The digest length is in the parameter block"
    for outlen in range(1, 65):
        assert native_blake2b(data, outlen) == hashlib.blake2b(data, digest_size=outlen).digest()
    assert native_blake2b(data, 32) != native_blake2b(data, 64)[:32]


def test_random_inputs():
    rng = random.Random(4)
    for _ in range(200):
        data = rng.randbytes(rng.randrange(0, 5000))
        outlen = rng.randrange(1, 65)
        assert native_blake2b(data, outlen) == hashlib.blake2b(data, digest_size=outlen).digest()


def test_one_mebibyte():
    data = random.Random(1).randbytes(1 << 20) + b"odd"
    assert native_blake2b(data, 64) == hashlib.blake2b(data).digest()


@pytest.mark.parametrize("outlen", [0, 65, 1000])
def test_bad_digest_length_is_refused(outlen):
    out = ffi.new("uint8_t[1024]")
    assert lib.blake2b_hash(out, outlen, b"x", 1) == -1


def test_null_input_only_with_zero_length():
    out = ffi.new("uint8_t[32]")
    assert lib.blake2b_hash(out, 32, ffi.NULL, 0) == 0
    assert bytes(out) == hashlib.blake2b(b"", digest_size=32).digest()
    assert lib.blake2b_hash(out, 32, ffi.NULL, 1) == -1
    assert lib.blake2b_hash(ffi.NULL, 32, b"x", 1) == -1
