"""GXC's legacy text sha256d and merkle root (spec/gxc-legacy-hashes.md)."""
import hashlib
import json
import os

import pytest

from gxcpoold.hashing import gxc_merkle_root, gxc_sha256d_hex

VECTORS = json.load(open(os.path.join(os.path.dirname(__file__), "vectors",
                                      "gxc-legacy-hashes.json"), encoding="utf-8"))


@pytest.mark.parametrize("vector", VECTORS["sha256d"], ids=lambda v: v["name"])
def test_sha256d_vectors(vector):
    assert bytes.fromhex(vector["input_hex"]) == vector["input_text"].encode("ascii")
    assert hashlib.sha256(vector["input_text"].encode()).hexdigest() == vector["sha256_hex_text"]
    result = gxc_sha256d_hex(vector["input_text"])
    assert result == vector["gxc_sha256d"]
    # GXC's sha256d re-hashes hex text; Bitcoin's double SHA-256 is different.
    assert result != vector["contrast_bitcoin_style_sha256d"]


@pytest.mark.parametrize("vector", VECTORS["merkle"], ids=lambda v: v["name"])
def test_merkle_vectors(vector):
    assert gxc_merkle_root(vector["txids"]) == vector["gxc_merkle_root"]


def test_merkle_three_is_last_paired_with_itself():
    a, b, c = (hashlib.sha256(x).hexdigest() for x in (b"a", b"b", b"c"))
    assert gxc_merkle_root([a, b, c]) == gxc_sha256d_hex(
        gxc_sha256d_hex(a + b) + gxc_sha256d_hex(c + c))


def test_merkle_is_case_and_order_sensitive():
    a, b = VECTORS["merkle"][2]["txids"]
    assert gxc_merkle_root([a, b]) != gxc_merkle_root([b, a])
    assert gxc_merkle_root([a.upper(), b]) != gxc_merkle_root([a, b])


def test_merkle_accepts_any_iterable_and_leaves_input_alone():
    txids = [v for v in VECTORS["merkle"][3]["txids"]]
    copy = list(txids)
    assert gxc_merkle_root(tuple(txids)) == VECTORS["merkle"][3]["gxc_merkle_root"]
    assert gxc_merkle_root(iter(txids)) == VECTORS["merkle"][3]["gxc_merkle_root"]
    assert txids == copy


def test_type_errors():
    with pytest.raises(TypeError):
        gxc_sha256d_hex(b"abc")
    with pytest.raises(TypeError):
        gxc_merkle_root("abc")
    with pytest.raises(TypeError):
        gxc_merkle_root([b"ab", b"cd"])
