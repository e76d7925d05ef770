"""sha256 / sha256d against hashlib and the Bitcoin / Stratum V1 vectors."""
import hashlib
import json
import os
import random
from pathlib import Path

import pytest

from gxcpoold import hashing
from gxcpoold._native import ffi, lib
from gxcpoold.hashing import (sha256, sha256d, sha256d_merkle_branch, sha256d_merkle_root,
                              sha256d_scan, stratum_header, stratum_header_hash, stratum_prevhash)
from tests.threads import run_in_threads

V = json.loads((Path(__file__).parent / "vectors" / "sha256d-stratum.json").read_text())
SESSION = V["public_pool_session"]
DIFF1 = 0xFFFF << 208

EDGE_LENGTHS = [0, 1, 3, 55, 56, 63, 64, 65, 80, 111, 112, 119, 120, 127, 128, 129,
                135, 136, 137, 1000, 4096, 1 << 20]


def ref_sha256d(data):
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def portable_sha256(data):
    out = ffi.new("uint8_t[32]")
    lib.sha256_hash_portable(data, len(data), out)
    return bytes(out)


@pytest.mark.parametrize("length", EDGE_LENGTHS)
def test_matches_hashlib_on_edge_lengths(length):
    data = random.Random(length).randbytes(length)
    assert sha256(data) == hashlib.sha256(data).digest()
    assert sha256d(data) == ref_sha256d(data)
    assert portable_sha256(data) == hashlib.sha256(data).digest()


def test_matches_hashlib_on_random_inputs():
    rng = random.Random(1)
    for _ in range(300):
        data = rng.randbytes(rng.randrange(0, 700))
        assert sha256(data) == hashlib.sha256(data).digest()
        assert sha256d(data) == ref_sha256d(data)
        assert portable_sha256(data) == hashlib.sha256(data).digest()


def test_accepts_bytes_like_and_rejects_others():
    assert sha256d(bytearray(b"abc")) == ref_sha256d(b"abc")
    assert sha256d(memoryview(b"abc")) == ref_sha256d(b"abc")
    with pytest.raises(TypeError):
        sha256d("abc")
    with pytest.raises(TypeError):
        sha256(None)


@pytest.mark.parametrize("name", ["genesis", "block_100000"])
def test_bitcoin_headers(name):
    block = V["bitcoin_headers"][name]
    header = bytes.fromhex(block["header_hex"])
    assert sha256d(header)[::-1].hex() == block["block_hash_display"]
    assert sha256d(bytes.fromhex(block["coinbase_tx_hex"]))[::-1].hex() == (
        block.get("coinbase_txid_display") or block["txids_display"][0])
    # the same header rebuilt from its fields (prevhash as stratum would send it)
    prev_stratum = bytes.fromhex(stratum_prevhash(block["prev_block_display"]))
    built, digest = stratum_header(block["version"], prev_stratum,
                                   bytes.fromhex(block["merkle_root_display"])[::-1],
                                   block["ntime"], int(block["nbits"], 16), block["nonce"])
    assert built == header
    assert digest[::-1].hex() == block["block_hash_display"]
    assert DIFF1 / int.from_bytes(digest, "little") == pytest.approx(block["share_difficulty_of_hash"])


def test_block_100000_merkle_root_from_branch():
    block = V["bitcoin_headers"]["block_100000"]
    coinbase = sha256d(bytes.fromhex(block["coinbase_tx_hex"]))
    branch = [bytes.fromhex(h) for h in block["coinbase_merkle_branch_internal"]]
    assert sha256d_merkle_root(coinbase, branch)[::-1].hex() == block["merkle_root_display"]
    tx1 = sha256d(bytes.fromhex(block["tx1_hex"]))
    assert tx1[::-1].hex() == block["txids_display"][1]


@pytest.mark.parametrize("case", V["merkle_branches"]["cases"], ids=lambda c: c["name"])
def test_merkle_branch_vectors(case):
    if "leaves_after_coinbase_internal" in case:
        leaves = [bytes.fromhex(h) for h in case["leaves_after_coinbase_internal"]]
    else:  # miningcore's 100-leaf case names its leaves instead of listing them
        leaves = [sha256d(str(i).encode()) for i in range(case["leaves_after_coinbase_count"])]
    branch = sha256d_merkle_branch(leaves)
    assert [b.hex() for b in branch] == case["branch_internal"]
    first_hex = case.get("example_first_internal") or case.get("first_internal")
    if first_hex:
        root = sha256d_merkle_root(bytes.fromhex(first_hex), branch)
        expected = case.get("root_with_example_first_internal") or case.get("root_internal")
        assert root.hex() == expected
    if not leaves:
        coinbase = sha256d(b"coinbase")
        assert sha256d_merkle_root(coinbase, branch) == coinbase


def test_miningcore_simple_leaves_are_sha256d_of_ascii():
    case = V["merkle_branches"]["cases"][0]
    assert [sha256d(b"1").hex(), sha256d(b"2").hex()] == case["leaves_after_coinbase_internal"]
    assert sha256d(b"coinbase").hex() == case["example_first_internal"]


def _session_root():
    notify = SESSION["notify_params"]
    submit = SESSION["submit_params"]
    coinbase = bytes.fromhex(notify["coinb1"] + SESSION["extranonce1"] + submit["extranonce2"]
                             + notify["coinb2"])
    assert coinbase.hex() == SESSION["recomputed"]["coinbase_hex"]
    txid = sha256d(coinbase)
    assert txid.hex() == SESSION["recomputed"]["coinbase_txid_internal"]
    root = sha256d_merkle_root(txid, [bytes.fromhex(h) for h in notify["merkle_branch"]])
    assert root.hex() == SESSION["recomputed"]["merkle_root_internal"]
    return root


def test_public_pool_session_header_with_version_rolling():
    notify, submit, rec = SESSION["notify_params"], SESSION["submit_params"], SESSION["recomputed"]
    assert stratum_prevhash(SESSION["block_template"]["previousblockhash"]) == notify["prevhash"]
    root = _session_root()
    mask = int(SESSION["version_rolling"]["granted_mask"], 16)
    bits = int(submit["version_bits"], 16)
    assert bits & ~mask == 0
    version = (int(notify["version"], 16) & ~mask) | (bits & mask)
    assert "%08x" % version == rec["version_used"]
    args = (version, bytes.fromhex(notify["prevhash"]), root, int(submit["ntime"], 16),
            int(notify["nbits"], 16), int(submit["nonce"], 16))
    header, digest = stratum_header(*args)
    assert header.hex() == rec["header_hex"]
    assert digest[::-1].hex() == rec["block_hash_display"]
    assert stratum_header_hash(*args) == digest
    diff = DIFF1 / int.from_bytes(digest, "little")
    assert diff == pytest.approx(rec["share_difficulty"])
    assert diff >= SESSION["session_difficulty_at_submit"]
    assert int.from_bytes(digest, "little") > int(rec["network_target_from_nbits"], 16)  # not a block


def test_public_pool_session_without_version_rolling_is_low_difficulty():
    notify, submit = SESSION["notify_params"], SESSION["submit_params"]
    control = SESSION["recomputed"]["control_without_version_rolling"]
    header, digest = stratum_header(int(notify["version"], 16), bytes.fromhex(notify["prevhash"]),
                                    _session_root(), int(submit["ntime"], 16),
                                    int(notify["nbits"], 16), int(submit["nonce"], 16))
    assert header.hex() == control["header_hex"]
    assert DIFF1 / int.from_bytes(digest, "little") == pytest.approx(control["share_difficulty"])


def test_header_argument_checks():
    ok = (0x20000000, bytes(32), bytes(32), 0, 0x1D00FFFF, 0)
    stratum_header_hash(*ok)
    with pytest.raises(ValueError):
        stratum_header_hash(ok[0], bytes(31), *ok[2:])
    with pytest.raises(ValueError):
        stratum_header_hash(2**32, *ok[1:])
    with pytest.raises(TypeError):
        stratum_header_hash("20000000", *ok[1:])
    with pytest.raises(ValueError):
        stratum_header_hash(*ok[:5], -1)
    with pytest.raises(ValueError):
        sha256d_merkle_root(bytes(32), [bytes(33)])
    with pytest.raises(ValueError):
        stratum_prevhash("00" * 31)


def test_scan_finds_the_genesis_nonce():
    block = V["bitcoin_headers"]["genesis"]
    header = bytes.fromhex(block["header_hex"])
    nonce = block["nonce"]
    target = int(V["compact_bits"]["real_blocks"][0]["target_hex"], 16)
    found = sha256d_scan(header[:76], nonce - 5000, 10000, target)
    assert found is not None
    assert found[0] == nonce
    assert found[1][::-1].hex() == block["block_hash_display"]
    # a range that stops just before the nonce finds nothing
    assert sha256d_scan(header[:76], nonce - 5000, 5000, target) is None


def test_scan_agrees_with_python_loop_on_easy_target():
    rng = random.Random(7)
    prefix = rng.randbytes(76)
    target = 1 << 248  # about 1 in 256 hashes
    start = 1000
    expected = None
    for n in range(start, start + 5000):
        h = ref_sha256d(prefix + n.to_bytes(4, "little"))
        if int.from_bytes(h, "little") <= target:
            expected = (n, h)
            break
    assert expected is not None
    assert sha256d_scan(prefix, start, 5000, target) == expected


def test_scan_exact_target_is_inclusive_and_stops_at_nonce_limit():
    prefix = bytes(76)
    n = 0xFFFFFFFF
    h = ref_sha256d(prefix + n.to_bytes(4, "little"))
    value = int.from_bytes(h, "little")
    assert sha256d_scan(prefix, n, 10, value) == (n, h)
    assert sha256d_scan(prefix, n, 10, value - 1) is None  # would need to wrap
    assert sha256d_scan(prefix, 0, 0, 2**256 - 1) is None


def test_threads_give_the_same_results_as_serial():
    rng = random.Random(3)
    inputs = [rng.randbytes(rng.randrange(0, 300)) for _ in range(400)]
    expected = [ref_sha256d(d) for d in inputs]
    assert run_in_threads(lambda k: [sha256d(d) for d in inputs]) == [expected] * 4


def test_facade_names():
    for name in ("sha256", "sha256d", "sha256d_merkle_root", "stratum_header_hash", "sha256d_scan"):
        assert callable(getattr(hashing, name))


def test_large_input_is_not_truncated():
    data = os.urandom(3 << 20)
    assert sha256d(data) == ref_sha256d(data)
