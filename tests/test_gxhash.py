"""GXC gxhash and its Argon2id variant GA against every vector of
tests/vectors/gxhash.json (copied from the spec's vectors), plus edge inputs,
argument checks and concurrency."""
import hashlib
import json
import os
import struct
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from gxcpoold._native import ffi, lib
from gxcpoold.hashing import gxc_argon2, gxhash
from gxcpoold.hashers.gxhash import GXHASH_MAX_NONCE, set_matrix_pool_limit

VECTORS = json.load(open(os.path.join(os.path.dirname(__file__), "vectors", "gxhash.json"),
                         encoding="utf-8"))
GXHASH_VECTORS = VECTORS["gxhash"]
GA_VECTORS = VECTORS["argon2_variant"]
BLOCK = 1024


def b2b(data, n=32):
    return hashlib.blake2b(data, digest_size=n).digest()


def ga_memory(v, passes):
    """The GA block matrix after `passes` passes (bytes, lane 0 first)."""
    nbytes = v["total_blocks"] * BLOCK
    buf = ffi.new("uint8_t[]", nbytes)
    pwd, salt = bytes.fromhex(v["pwd_hex"]), bytes.fromhex(v["salt_hex"])
    rc = lib.gxhash_ga_memory(ffi.from_buffer("uint8_t[]", pwd), len(pwd),
                              ffi.from_buffer("uint8_t[]", salt), len(salt),
                              v["t_cost"], v["m_cost"], v["parallelism"], passes, buf, nbytes)
    assert rc == lib.GXHASH_OK
    return bytes(ffi.buffer(buf))


def block_at(memory, v, lane, index):
    start = (lane * v["lane_length"] + index) * BLOCK
    return memory[start:start + BLOCK]


def h0_model(pwd, salt, t, m, p):
    """H0 of spec section 4.2, written independently of the C code."""
    fields = struct.pack("<6I", p, 32, m, t, 0x13, 2)
    return b2b(fields + struct.pack("<I", len(pwd)) + pwd + struct.pack("<I", len(salt)) + salt
               + struct.pack("<2I", 0, 0), 64)


def ref_model(r, s, l, J1, J2, SL, p):
    """REF(r, s, l, J) of spec section 4.6, in Python, for the traces."""
    LL = 4 * SL
    rl = l if (r == 0 and s == 0) else J2 % p
    if r == 0:
        W = l * SL - (1 if l else 0) if s == 0 else s * SL + (0 if rl == l else l * LL) - 1
    else:
        W = LL - SL - 1 if rl == l else LL - 1
    W &= 0xFFFFFFFF
    x = (J1 * J1) >> 32
    rel = ((W - 1) & 0xFFFFFFFF) - ((W * x) >> 32)
    st = 0 if r == 0 else ((s + 1) % 4) * SL
    return rl, (st + rel) % LL


# --- full gxhash ------------------------------------------------------------

@pytest.mark.parametrize("v", GXHASH_VECTORS, ids=lambda v: v["name"])
def test_gxhash_vectors(v):
    data, nonce = bytes.fromhex(v["data_hex"]), int(v["nonce"])
    assert len(data) == v["data_len"]
    if "data_text" in v:
        assert data == v["data_text"].encode("ascii")
    assert struct.pack("<Q", nonce).hex() == v["nonce_le_hex"]
    assert data + struct.pack("<Q", nonce) == bytes.fromhex(v["argon2_pwd_hex"])
    assert b2b(data, 16).hex() == v["salt_blake2b128_hex"]
    assert h0_model(bytes.fromhex(v["argon2_pwd_hex"]), b2b(data, 16), 3, 65536, 4).hex() == v["h0_hex"]
    assert gxhash(data, nonce).hex() == v["gxhash"]


def test_spec_example_abc_nonce_1():
    assert gxhash(b"abc", 1).hex() == \
        "0310fde4ef1ecf92bf5b836ad427a5154af21e58496af40556efeecbb013293c"


def test_gxhash_final_block_of_one_full_vector():
    # F (the XOR of the lanes' last blocks) of a full-size gxhash, from the matrix dump.
    v = GXHASH_VECTORS[0]
    data = bytes.fromhex(v["data_hex"])
    spec = {"pwd_hex": v["argon2_pwd_hex"], "salt_hex": v["salt_blake2b128_hex"], "t_cost": 3,
            "m_cost": 65536, "parallelism": 4, "total_blocks": 65536, "lane_length": 16384}
    memory = ga_memory(spec, 3)
    final = 0
    for lane in range(4):
        final ^= int.from_bytes(block_at(memory, spec, lane, 16383), "little")
    final = final.to_bytes(BLOCK, "little")
    assert final[:32].hex() == v["final_block_first32_hex"]
    assert b2b(final).hex() == v["gxhash"] == gxhash(data, int(v["nonce"])).hex()


def test_gxhash_is_ga_with_fixed_parameters_on_odd_and_large_inputs():
    for data, nonce in ((b"", GXHASH_MAX_NONCE), (bytes(range(7)) * 11, 2**32 + 1),
                        (os.urandom(1 << 20), 12345)):
        expected = gxc_argon2(data + struct.pack("<Q", nonce), b2b(data, 16), 3, 65536, 4, 32)
        assert gxhash(data, nonce) == expected


def test_one_mebibyte_input_depends_on_every_byte_and_the_nonce():
    data = bytes(1 << 20)
    h = gxhash(data, 7)
    assert len(h) == 32
    assert gxhash(data[:-1] + b"\x01", 7) != h
    assert gxhash(data, 8) != h
    assert gxhash(bytearray(data), 7) == h
    assert gxhash(memoryview(data), 7) == h


# --- GA with small parameters -----------------------------------------------

@pytest.mark.parametrize("v", GA_VECTORS, ids=lambda v: v["name"])
def test_ga_tag(v):
    pwd, salt = bytes.fromhex(v["pwd_hex"]), bytes.fromhex(v["salt_hex"])
    if "pwd_text" in v:
        assert pwd == v["pwd_text"].encode()
    tag = gxc_argon2(pwd, salt, v["t_cost"], v["m_cost"], v["parallelism"], v["outlen"])
    assert tag.hex() == v["tag_hex"]


@pytest.mark.parametrize("v", GA_VECTORS, ids=lambda v: v["name"])
def test_ga_intermediate_values(v):
    t, m, p = v["t_cost"], v["m_cost"], v["parallelism"]
    SL = m // (4 * p)
    assert (v["segment_length"], v["lane_length"], v["total_blocks"]) == (SL, 4 * SL, 4 * SL * p)
    pwd, salt = bytes.fromhex(v["pwd_hex"]), bytes.fromhex(v["salt_hex"])
    assert h0_model(pwd, salt, t, m, p).hex() == v["h0_hex"]

    initial = ga_memory(v, 0)
    for k in (0, 1):
        blk = block_at(initial, v, 0, k)
        assert blk[:32].hex() == v["lane0_block%d_first32_hex" % k]
        assert b2b(blk).hex() == v["lane0_block%d_blake2b256" % k]
        if "lane0_block%d_hex" % k in v:
            assert blk.hex() == v["lane0_block%d_hex" % k]

    after = [initial] + [ga_memory(v, r) for r in range(1, t + 1)]
    assert [b2b(mem).hex() for mem in after[1:]] == v["memory_blake2b256_after_each_pass"]

    final = 0
    for lane in range(p):
        final ^= int.from_bytes(block_at(after[t], v, lane, 4 * SL - 1), "little")
    final = final.to_bytes(BLOCK, "little")
    assert final[:32].hex() == v["final_block_first32_hex"]
    assert b2b(final).hex() == v["final_block_blake2b256"]
    if "final_block_hex" in v:
        assert final.hex() == v["final_block_hex"]
    if "lane0_block2_hex" in v:
        assert block_at(after[1], v, 0, 2).hex() == v["lane0_block2_hex"]

    fields = v.get("trace_fields")
    for row in v.get("trace", []):
        e = dict(zip(fields, row))
        r, lane, j, prev = e["pass"], e["lane"], e["index_in_lane"], e["prev_index"]
        new = block_at(after[r + 1], v, lane, j)
        assert new[:16].hex() == e["new_block_first16_hex"]
        assert b2b(new).hex() == e["new_block_blake2b256"]
        # The previous block as it was when block j was computed.
        prev_block = block_at(after[r + 1] if prev < j else after[r], v, lane, prev)
        J = int.from_bytes(prev_block[:8], "little")
        assert (J & 0xFFFFFFFF, J >> 32) == (e["J1"], e["J2"])
        assert ref_model(r, e["slice"], lane, e["J1"], e["J2"], SL, p) == \
            (e["ref_lane"], e["ref_index"])


@pytest.mark.parametrize("check", VECTORS["param_checks"],
                         ids=lambda c: "t%d-m%d-p%d" % (c["t"], c["m"], c["p"]))
def test_param_checks(check):
    args = (b"password", b"somesalt", check["t"], check["m"], check["p"])
    if check["result"] == "ok":
        assert len(gxc_argon2(*args)) == 32
    else:
        reason = check["result"].split(": ", 1)[1].lower()   # e.g. "memory cost too small"
        with pytest.raises(ValueError, match=reason):
            gxc_argon2(*args)


def test_param_checks_in_reference_order():
    # m < 8p is reported before t < 1, which is reported before p < 1.
    with pytest.raises(ValueError, match="memory cost too small"):
        gxc_argon2(b"", b"", 0, 7, 1)
    with pytest.raises(ValueError, match="time cost too small"):
        gxc_argon2(b"", b"", 0, 8, 0)


# --- argument validation --------------------------------------------------------

@pytest.mark.parametrize("nonce", [-1, 2**64, 2**70])
def test_nonce_out_of_range(nonce):
    with pytest.raises(ValueError, match="nonce"):
        gxhash(b"abc", nonce)


@pytest.mark.parametrize("data,nonce", [("abc", 0), (None, 0), (b"abc", 1.0), (b"abc", True),
                                        (b"abc", "1")])
def test_gxhash_type_errors(data, nonce):
    with pytest.raises(TypeError):
        gxhash(data, nonce)


@pytest.mark.parametrize("kwargs,error", [
    (dict(outlen=0), ValueError),
    (dict(outlen=2**32), ValueError),
    (dict(t_cost=-1), ValueError),
    (dict(m_cost_kib=2**32), ValueError),
    (dict(lanes=1.0), TypeError),
    (dict(password="password"), TypeError),
    (dict(salt=None), TypeError),
])
def test_gxc_argon2_argument_errors(kwargs, error):
    args = dict(password=b"password", salt=b"somesalt", t_cost=1, m_cost_kib=8, lanes=1)
    args.update(kwargs)
    with pytest.raises(error):
        gxc_argon2(**args)


def hx_model(x, n):
    """Hx of spec section 4.3, in Python: plain BLAKE2b-n up to 64 bytes, RFC H' above."""
    if n <= 64:
        return b2b(x, n)
    v = b2b(struct.pack("<I", n) + x, 64)
    out, rem = v[:32], n - 32
    while rem > 64:
        v = b2b(v, 64)
        out, rem = out + v[:32], rem - 32
    return out + b2b(v, rem)


@pytest.mark.parametrize("outlen", [1, 4, 31, 33, 64, 65, 96, 97, 128, 1000, 1024])
def test_output_lengths_follow_hx_on_the_final_block(outlen):
    # Empty password and salt, m = 8: F is lane 0's last block after pass 1.
    v = {"pwd_hex": "", "salt_hex": "", "t_cost": 1, "m_cost": 8, "parallelism": 1,
         "total_blocks": 8, "lane_length": 8}
    final = block_at(ga_memory(v, 1), v, 0, 7)
    assert gxc_argon2(b"", b"", 1, 8, 1, outlen) == hx_model(final, outlen)


@pytest.mark.skipif(open("/proc/sys/vm/overcommit_memory").read().strip() == "1"
                    if os.path.exists("/proc/sys/vm/overcommit_memory") else True,
                    reason="needs an allocator that refuses absurd sizes")
def test_impossible_memory_is_a_memory_error():
    with pytest.raises(MemoryError):
        gxc_argon2(b"", b"", 1, 2**32 - 1, 1)


def test_native_errors_and_null_pointers():
    out = ffi.new("uint8_t[32]")
    assert lib.gxhash_hash(ffi.NULL, 1, 0, out) == lib.GXHASH_ERR_NULL_POINTER
    assert lib.gxhash_hash(b"x", 1, 0, ffi.NULL) == lib.GXHASH_ERR_NULL_POINTER
    assert lib.gxhash_ga(ffi.NULL, 0, ffi.NULL, 0, 1, 8, 1, out, 32) == lib.GXHASH_OK
    assert lib.gxhash_ga_memory(b"", 0, b"", 0, 1, 8, 1, 2, ffi.new("uint8_t[8192]"), 8192) \
        == lib.GXHASH_ERR_BAD_BUFFER
    assert lib.gxhash_ga_memory(b"", 0, b"", 0, 1, 8, 1, 1, ffi.new("uint8_t[8191]"), 8191) \
        == lib.GXHASH_ERR_BAD_BUFFER
    assert ffi.string(lib.gxhash_strerror(12345)) == b"unknown gxhash error"


# --- matrix pool and threads ------------------------------------------------------

def test_matrix_pool_limit_bounds_idle_matrices():
    try:
        set_matrix_pool_limit(0)
        assert lib.gxhash_pool_idle() == 0
        v = GXHASH_VECTORS[5]
        assert gxhash(bytes.fromhex(v["data_hex"]), int(v["nonce"])).hex() == v["gxhash"]
        assert lib.gxhash_pool_idle() == 0
        set_matrix_pool_limit(1)
        assert gxhash(bytes.fromhex(v["data_hex"]), int(v["nonce"])).hex() == v["gxhash"]
        assert lib.gxhash_pool_idle() == 1
        # A reused (dirty) matrix gives the same answers.
        for v in GXHASH_VECTORS[:3]:
            assert gxhash(bytes.fromhex(v["data_hex"]), int(v["nonce"])).hex() == v["gxhash"]
        with pytest.raises(ValueError):
            set_matrix_pool_limit(65)
    finally:
        set_matrix_pool_limit(2)


def test_concurrent_calls_match_serial_results():
    jobs = [(bytes.fromhex(v["data_hex"]), int(v["nonce"]), v["gxhash"]) for v in GXHASH_VECTORS[:8]]
    jobs += [(b"", 0, None), (b"", 0, None)]   # the same input twice at once
    serial = {(d, n): gxhash(d, n).hex() for d, n, _ in jobs}
    barrier = threading.Barrier(4)

    def work(i):
        data, nonce, _ = jobs[i]
        if i < 4:
            barrier.wait(timeout=60)     # make the first four calls really overlap
        return gxhash(data, nonce).hex()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(len(jobs))))
    for (data, nonce, expected), got in zip(jobs, results):
        assert got == serial[(data, nonce)]
        if expected is not None:
            assert got == expected
