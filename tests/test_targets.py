"""Difficulty/target conversions and nBits against the vector tables."""
import json
import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from gxcpoold.hashing import (DIFF1_TARGET, MAX_TARGET, compact_to_target, decode_compact,
                              ethash_boundary, hash_difficulty, hash_share_work, hash_target,
                              hex_to_target, leading_zeros, meets_leading_zeros,
                              sha256d_difficulty, sha256d_hash_difficulty, sha256d_share_work,
                              sha256d_target, target_to_compact, target_to_hex)

VEC = Path(__file__).parent / "vectors"
S = json.loads((VEC / "sha256d-stratum.json").read_text())
E = json.loads((VEC / "ethash.json").read_text())


def test_diff1_constant():
    table = S["difficulty_target"]
    assert DIFF1_TARGET == int(table["diff1_target"], 16) == int(table["diff1_target_decimal"])
    assert 2**256 / (DIFF1_TARGET + 1) == pytest.approx(table["hashes_per_diff1_share"])


@pytest.mark.parametrize("case", S["difficulty_target"]["cases"], ids=lambda c: c["difficulty"])
def test_sha256d_difficulty_table(case):
    target = int(case["target_hex"], 16)
    assert sha256d_target(case["difficulty"]) == target
    assert sha256d_target(Decimal(case["difficulty"])) == target
    assert sha256d_target(float(case["difficulty"])) == target  # float read as its decimal repr
    assert sha256d_difficulty(target) == pytest.approx(case["difficulty_of_target"])
    assert 2**256 / (target + 1) == pytest.approx(case["expected_hashes_per_share"])
    assert target_to_hex(target) == case["target_hex"]


def test_sha256d_share_work_and_hash_difficulty():
    assert sha256d_share_work(1) == 2**32
    assert sha256d_share_work(512) == 512 * 2**32
    assert sha256d_share_work(0.5) == 2**31
    assert sha256d_share_work("0.5") == Fraction(2**31)
    assert hash_share_work("1e3") == 1000
    with pytest.raises(ValueError):
        sha256d_share_work(0)
    block = S["bitcoin_headers"]["genesis"]
    digest = bytes.fromhex(block["block_hash_display"])[::-1]
    assert sha256d_hash_difficulty(digest) == pytest.approx(block["share_difficulty_of_hash"])
    assert sha256d_hash_difficulty(bytes(32)) == math.inf
    with pytest.raises(ValueError):
        sha256d_hash_difficulty(bytes(31))


@pytest.mark.parametrize("case", S["compact_bits"]["real_blocks"], ids=lambda c: c["nbits"])
def test_compact_real_blocks(case):
    nbits = int(case["nbits"], 16)
    target = compact_to_target(nbits)
    assert target == int(case["target_hex"], 16)
    assert target_to_compact(target) == nbits
    assert sha256d_difficulty(target) == pytest.approx(case["network_difficulty"])


@pytest.mark.parametrize("case", S["compact_bits"]["edge_cases"],
                         ids=lambda c: c.get("nbits") or c.get("target_hex"))
def test_compact_edge_cases(case):
    if "encodes_to" in case:
        assert target_to_compact(int(case["target_hex"], 16)) == int(case["encodes_to"], 16)
        return
    nbits = int(case["nbits"], 16)
    value, negative, overflow = decode_compact(nbits)
    assert overflow == case["overflow"]
    if overflow:
        with pytest.raises(ValueError):
            compact_to_target(nbits)
        return
    assert value == int(case["value_hex"], 16)
    assert negative == case["negative"]
    assert "%08x" % target_to_compact(value, negative) == case["re_encoded"]
    if negative or value == 0:
        with pytest.raises(ValueError):
            compact_to_target(nbits)
    else:
        assert compact_to_target(nbits) == value


def test_block_100000_target_from_nbits():
    block = S["bitcoin_headers"]["block_100000"]
    target = compact_to_target(int(block["nbits"], 16))
    assert target_to_hex(target) == block["target_from_nbits"]
    assert sha256d_difficulty(target) == pytest.approx(block["network_difficulty"])


@pytest.mark.parametrize("case", E["difficulty_boundary"]["cases"], ids=lambda c: c["difficulty_hex"][-12:])
def test_ethash_boundary_table(case):
    difficulty = int(case["difficulty_hex"], 16)
    assert target_to_hex(ethash_boundary(difficulty)) == case["boundary_hex"]
    if difficulty >= 1:
        assert hash_target(difficulty) == int(case["boundary_hex"], 16)


@pytest.mark.parametrize("case", E["difficulty_boundary"]["pool_share_conventions"]["cases"],
                         ids=lambda c: c["label"] if "label" in c else c["convention"][:10] + c["d"])
def test_ethash_pool_share_conventions(case):
    target = int(case["target_hex"], 16)
    kind = case["convention"].split(":")[0]
    if kind == "raw_hashes":
        assert hash_target(case["D"]) == target
        assert hash_share_work(case["D"]) == case["D"]
    elif kind == "nicehash_bitcoin_style":
        assert sha256d_target(case["d"]) == target
    else:
        assert kind == "pow2_32"
        assert hash_target(Fraction(case["d"]) * 2**32) == target


def test_hash_target_caps_and_round_trips():
    assert hash_target(1) == MAX_TARGET
    assert hash_target(0.5) == MAX_TARGET
    assert hash_target(2) == 2**255
    assert hash_difficulty(2**255) == 2.0
    assert sha256d_target(1e-30) == MAX_TARGET


@pytest.mark.parametrize("bad", [0, -1, "abc", float("nan"), float("inf"), True, None, [1]])
def test_bad_difficulties(bad):
    with pytest.raises((TypeError, ValueError)):
        sha256d_target(bad)
    with pytest.raises((TypeError, ValueError)):
        hash_target(bad)


def test_hex_and_leading_zeros():
    assert hex_to_target("0x00ff") == 255
    assert hex_to_target("ff" * 32) == MAX_TARGET
    with pytest.raises(ValueError):
        hex_to_target("")
    with pytest.raises(ValueError):
        hex_to_target("0" * 65)
    display = S["bitcoin_headers"]["genesis"]["block_hash_display"]
    assert leading_zeros(display) == 10
    assert leading_zeros("0" * 64) == 64
    assert leading_zeros("f" + "0" * 63) == 0
    assert meets_leading_zeros(display, 10.9)
    assert not meets_leading_zeros(display, 11.0)
    assert meets_leading_zeros(display, 1)
