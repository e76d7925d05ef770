"""Ethash: epochs, seeds, sizes, light cache, dataset items, hashimoto, share
checks (every vector in tests/vectors/ethash.json), and the full-DAG path on
small synthetic dataset sizes."""
import json
import os
import random
import struct
import threading
from pathlib import Path

import pytest

from gxcpoold import hashing
from gxcpoold._native import ffi, lib
from gxcpoold.hashing import (DAGFileError, DAGGenerationCancelled, EthashDAG, EthashLightCache,
                              EthashLightCacheLRU, EthashResult, ethash_boundary, ethash_cache_items,
                              ethash_cache_size, ethash_check_light, ethash_dataset_pages,
                              ethash_dataset_size, ethash_epoch, ethash_epoch_from_seedhash,
                              ethash_final_hash, ethash_light, ethash_light_cache, ethash_seedhash,
                              ethash_verify_light, keccak256, keccak512)
from tests.threads import run_in_threads

V = json.loads((Path(__file__).parent / "vectors" / "ethash.json").read_text())
FNV = 0x01000193
M32 = 0xFFFFFFFF


def fnv(a, b):
    return ((a * FNV) & M32) ^ b


# -- epochs, seeds, sizes --------------------------------------------------------

@pytest.mark.parametrize("case", V["epochs"]["cases"], ids=lambda c: "epoch%d" % c["epoch"])
def test_epoch_table(case):
    e = case["epoch"]
    assert ethash_epoch(case["first_block"]) == e
    assert ethash_epoch(case["last_block"]) == e
    assert ethash_cache_items(e) == case["light_cache_items_64B"]
    assert ethash_cache_size(e) == case["light_cache_size_bytes"]
    assert ethash_dataset_pages(e) == case["full_dataset_items_128B"]
    assert 2 * ethash_dataset_pages(e) == case["full_dataset_items_64B"]
    assert ethash_dataset_size(e) == case["full_dataset_size_bytes"]
    assert ethash_seedhash(e).hex() == case["seed_hash"]
    assert ethash_epoch_from_seedhash(bytes.fromhex(case["seed_hash"])) == e


@pytest.mark.parametrize("row", V["epochs"]["chfast_size_table"], ids=lambda r: str(r["epoch"]))
def test_chfast_size_table(row):
    e = row["epoch"]
    if 0 <= e <= 32639:
        assert ethash_cache_size(e) == row["light_cache_size_bytes"]
        assert ethash_dataset_size(e) == row["full_dataset_size_bytes"]
    else:
        assert lib.ethash_light_cache_items(e) == 0
        assert lib.ethash_full_dataset_pages(e) == 0
        with pytest.raises(ValueError):
            ethash_cache_size(e)


@pytest.mark.parametrize("e", [-1, 32640, 65278])
def test_out_of_range_epochs_have_no_items(e):
    assert lib.ethash_light_cache_items(e) == 0
    assert lib.ethash_full_dataset_pages(e) == 0
    with pytest.raises(ValueError):
        ethash_dataset_size(e)
    with pytest.raises(ValueError):
        ethash_seedhash(e)


def test_chfast_seed_table():
    for row in V["epochs"]["chfast_seed_table"]:
        assert ethash_seedhash(row["epoch"]).hex() == row["seed_hash"]
        assert ethash_epoch_from_seedhash(bytes.fromhex(row["seed_hash"])) == row["epoch"]
    with pytest.raises(ValueError):
        ethash_epoch_from_seedhash(b"\x01" * 32, max_epoch=50)


def test_sizes_follow_the_spec_step_down_formulation():
    def old_cache(e):
        size = 2**24 + e * 2**17 - 64
        while lib.ethash_largest_prime_at_most(size // 64) != size // 64:
            size -= 128
        return size

    for e in (0, 1, 7, 100, 1234):
        assert ethash_cache_size(e) == old_cache(e)
    assert [lib.ethash_largest_prime_at_most(n) for n in (0, 1, 2, 3, 4, 100)] == [0, 0, 2, 3, 3, 97]


def test_epoch_argument_checks():
    with pytest.raises(ValueError):
        ethash_epoch(-1)
    with pytest.raises(TypeError):
        ethash_epoch(1.5)
    with pytest.raises(TypeError):
        ethash_epoch(True)
    with pytest.raises(ValueError):
        ethash_epoch(32640 * 30000)
    assert ethash_epoch(32640 * 30000 - 1) == 32639


# -- light cache -----------------------------------------------------------------

def test_light_cache_first_items_before_rounds():
    item0 = keccak512(bytes(32))
    assert item0.hex() == V["light_cache"]["epoch0_item0_before_rounds"]
    assert keccak512(item0).hex() == V["light_cache"]["epoch0_item1_before_rounds"]


def test_light_cache_items_epoch0():
    cache = ethash_light_cache(0)
    data = cache.buffer()
    for item in V["light_cache"]["items"]:
        assert item["epoch"] == 0
        i = item["index"]
        assert bytes(data[64 * i:64 * i + 64]).hex() == item["item_hex"]


@pytest.mark.parametrize("row", V["light_cache"]["whole_cache_hashes"], ids=lambda r: str(r["epoch"]))
def test_whole_light_cache_hashes(row):
    # its own instance: the 285 MB epoch-2047 cache is freed right after
    cache = EthashLightCache(row["epoch"])
    assert cache.size == ethash_cache_size(row["epoch"])
    assert keccak256(cache.buffer()).hex() == row["keccak256_of_whole_light_cache"]


# -- dataset items ------------------------------------------------------------------

def test_dataset_items_epoch0():
    cache = ethash_light_cache(0)
    for it in V["dataset_items"]["epoch0_real"]:
        page = cache.dataset_page(it["index_128B"])
        assert page.hex() == it["item_64B_first_hex"] + it["item_64B_second_hex"]
        assert cache.dataset_item(it["index_64B_first"]).hex() == it["item_64B_first_hex"]
        assert cache.dataset_item(it["index_64B_second"]).hex() == it["item_64B_second_hex"]


def test_dataset_items_epoch13():
    cache = EthashLightCache(13)
    for it in V["dataset_items"]["epoch13_real"]:
        p = it["index_128B"]
        assert cache.dataset_page(p).hex() == it["item_64B_first_hex"] + it["item_64B_second_hex"]
        assert cache.dataset_item(2 * p + 1).hex() == it["item_64B_second_hex"]


def test_dataset_items_on_the_mock_cache():
    ds = V["dataset_items"]
    n = ds["mock_light_cache_items"]
    row = bytes.fromhex(ds["mock_fill_row_hex"])
    assert row == struct.pack("<Q", 0xE14A54A1B2C3D4E5) * 8
    cache = ffi.new("uint8_t[]", row * n)
    out = ffi.new("uint8_t[128]")
    for it in ds["mock"]:
        expected = it["item_64B_first_hex"] + it["item_64B_second_hex"]
        lib.ethash_dataset_page(cache, n, it["index_128B"], out)
        assert bytes(out).hex() == expected
        lib.ethash_dataset_page_portable(cache, n, it["index_128B"], out)
        assert bytes(out).hex() == expected


def test_generic_and_vector_item_paths_agree():
    cache = ethash_light_cache(0)
    out = ffi.new("uint8_t[128]")
    for page in [0, 1, 77, 8388592, 2**31 - 1] + random.Random(4).sample(range(2**31), 40):
        lib.ethash_dataset_page_portable(cache.c_pointer(), cache.items, page, out)
        assert bytes(out) == cache.dataset_page(page)


# -- hashimoto ----------------------------------------------------------------------

@pytest.mark.parametrize("case", V["hash_cases"]["cases"],
                         ids=lambda c: "%d-%s" % (c["block_number"], c["nonce"][:6]))
def test_hash_cases(case):
    assert ethash_epoch(case["block_number"]) == case["epoch"]
    assert ethash_seedhash(case["epoch"]).hex() == case["seed_hash"]
    header, nonce = bytes.fromhex(case["header_hash"]), int(case["nonce"], 16)
    mix, final = ethash_light(case["block_number"], header, nonce)
    assert mix.hex() == case["mix_hash"]
    assert final.hex() == case["final_hash"]
    assert ethash_final_hash(header, nonce, mix) == final
    assert 2**256 // int.from_bytes(final, "big") == case["max_difficulty_met"]
    if "meets_raw_difficulty" in case:
        assert int.from_bytes(final, "big") <= hashing.hash_target(case["meets_raw_difficulty"])


def python_hashimoto(cache, header, nonce):
    """The hashimoto loop in Python over C dataset pages, for the trace."""
    s = keccak512(header + struct.pack("<Q", nonce))
    sw = struct.unpack("<16I", s)
    mix = list(sw) * 2
    indices, pages = [], []
    for i in range(64):
        p = fnv(i ^ sw[0], mix[i % 32]) % cache.pages
        page = cache.dataset_page(p)
        indices.append(p)
        pages.append(page)
        mix = [fnv(a, b) for a, b in zip(mix, struct.unpack("<32I", page))]
    cmix = [fnv(fnv(fnv(mix[4 * k], mix[4 * k + 1]), mix[4 * k + 2]), mix[4 * k + 3]) for k in range(8)]
    mix_hash = struct.pack("<8I", *cmix)
    return s, indices, pages, mix_hash, keccak256(s + mix_hash)


def test_block0_trace():
    trace = V["hash_cases"]["block0_trace"]
    header, nonce = bytes.fromhex(trace["header_hash"]), int(trace["nonce"], 16)
    assert (header + struct.pack("<Q", nonce)).hex() == trace["seed_input_hex"]
    s, indices, pages, mix, final = python_hashimoto(ethash_light_cache(0), header, nonce)
    assert s.hex() == trace["keccak512_seed_s"]
    assert indices == trace["dataset_page_indices_128B"]
    assert pages[0].hex() == trace["first_page_128B_hex"]
    assert mix.hex() == trace["mix_hash"]
    assert final.hex() == trace["final_hash"]


@pytest.mark.parametrize("case", V["verify_cases"]["cases"], ids=lambda c: c["name"])
def test_verify_cases(case):
    header, nonce = bytes.fromhex(case["header_hash"]), int(case["nonce"], 16)
    mix, boundary = bytes.fromhex(case["mix_hash"]), bytes.fromhex(case["boundary"])
    if "difficulty" in case:
        assert ethash_boundary(case["difficulty"]) == int(case["boundary"], 16)
    block = case["epoch"] * 30000
    expected = EthashResult[case["expected"].replace("ETHASH_", "")]
    assert ethash_check_light(block, header, nonce, mix, boundary) is expected
    assert ethash_check_light(block, header, nonce, mix, int(case["boundary"], 16)) is expected
    assert ethash_verify_light(block, header, nonce, mix, boundary) == case["valid"]
    assert ethash_light_cache(case["epoch"]).verify(header, nonce, mix, boundary) == case["valid"]


def test_share_argument_checks():
    header = bytes(32)
    with pytest.raises(ValueError):
        ethash_light(0, bytes(31), 0)
    with pytest.raises(TypeError):
        ethash_light(0, "00" * 32, 0)
    with pytest.raises(ValueError):
        ethash_light(0, header, 2**64)
    with pytest.raises(ValueError):
        ethash_light(0, header, -1)
    with pytest.raises(TypeError):
        ethash_light(0, header, 1.0)
    with pytest.raises(ValueError):
        ethash_check_light(0, header, 0, bytes(33), 2**255)
    with pytest.raises(ValueError):
        ethash_check_light(0, header, 0, bytes(32), 2**256)
    with pytest.raises(ValueError):
        ethash_check_light(0, header, 0, bytes(32), bytes(31))
    # the extreme nonces are fine
    assert ethash_light(0, header, 2**64 - 1) != ethash_light(0, header, 0)


def test_light_threads_match_serial():
    cache = ethash_light_cache(0)
    header = bytes.fromhex(V["hash_cases"]["cases"][0]["header_hash"])
    nonces = list(range(1000, 1040))
    expected = [cache.hash(header, n) for n in nonces]
    assert run_in_threads(lambda k: [ethash_light(k, header, n) for n in nonces]) == [expected] * 4


def test_lru_builds_each_epoch_once_and_evicts_oldest():
    lru = EthashLightCacheLRU(maxsize=2, sizes=lambda e: (257 + e, 1031))
    got = []
    threads = [threading.Thread(target=lambda: got.append(lru.get(3))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in got}) == 1
    assert got[0].items == 260 and got[0].pages == 1031
    lru.get(4)
    lru.get(3)  # refreshes 3
    lru.get(5)  # evicts 4
    assert lru.cached_epochs() == [3, 5]


def test_lru_reports_build_errors_and_retries():
    calls = []

    def sizes(e):
        calls.append(e)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return (100, 100)

    lru = EthashLightCacheLRU(sizes=sizes)
    with pytest.raises(RuntimeError):
        lru.get(0)
    assert lru.get(0).items == 100


# -- full dataset (synthetic sizes) -----------------------------------------------

@pytest.fixture(scope="module")
def small_cache():
    """Epoch-0 cache with a 1 MiB dataset (8191 pages) instead of 1 GiB."""
    return EthashLightCache(0, dataset_pages=8191)


@pytest.fixture(scope="module")
def small_dag(small_cache):
    dag = EthashDAG.generate(small_cache, threads=2, chunk_pages=1000)
    yield dag
    dag.close()


def test_generated_pages_equal_light_pages(small_cache, small_dag):
    assert small_dag.pages == 8191 and small_dag.size == 8191 * 128
    for p in [0, 1, 2, 999, 1000, 4095, 8190] + random.Random(0).sample(range(8191), 30):
        assert small_dag.page(p) == small_cache.dataset_page(p)


def test_full_hash_equals_light_hash_at_the_same_size(small_cache, small_dag):
    rng = random.Random(9)
    for _ in range(40):
        header, nonce = rng.randbytes(32), rng.randrange(2**64)
        assert small_dag.hash(header, nonce) == small_cache.hash(header, nonce)


def test_tiny_cache_and_odd_sizes():
    cache = EthashLightCache(2, cache_items=509, dataset_pages=3001)
    dag = EthashDAG.generate(cache, threads=3, chunk_pages=7)
    try:
        for nonce in range(20):
            assert dag.hash(b"\x07" * 32, nonce) == cache.hash(b"\x07" * 32, nonce)
    finally:
        dag.close()


def test_full_dag_check_and_verify(small_cache, small_dag):
    header, nonce = bytes(range(32)), 12345
    mix, final = small_dag.hash(header, nonce)
    target = int.from_bytes(final, "big")
    assert small_dag.check(header, nonce, mix, target) is EthashResult.SUCCESS
    assert small_dag.verify(header, nonce, mix, target)
    assert small_dag.check(header, nonce, mix, target - 1) is EthashResult.INVALID_FINAL_HASH
    bad_mix = mix[:-1] + bytes([mix[-1] ^ 1])
    assert small_dag.check(header, nonce, bad_mix, 2**256 - 1) is EthashResult.INVALID_MIX_HASH
    assert not small_dag.verify(header, nonce, bad_mix, 2**256 - 1)
    assert small_cache.check(header, nonce, bad_mix, 2**256 - 1) is EthashResult.INVALID_MIX_HASH


def test_full_dag_threads_match_serial(small_dag):
    header = b"\x42" * 32
    nonces = list(range(500))
    expected = [small_dag.hash(header, n) for n in nonces]
    assert run_in_threads(lambda k: [small_dag.hash(header, n) for n in nonces]) == [expected] * 4


def test_save_load_round_trip(tmp_path, small_cache, small_dag):
    path = small_dag.save(str(tmp_path))
    assert path == EthashDAG.file_path(str(tmp_path), 0, 8191)
    assert os.listdir(tmp_path) == [os.path.basename(path)]
    with EthashDAG.load(str(tmp_path), 0, light_cache=small_cache) as loaded:
        assert (loaded.epoch, loaded.pages, loaded.cache_items) == (0, 8191, small_cache.items)
        for nonce in range(20):
            assert loaded.hash(b"\x01" * 32, nonce) == small_dag.hash(b"\x01" * 32, nonce)
    assert loaded.closed
    with pytest.raises(ValueError):
        loaded.hash(b"\x01" * 32, 0)


def test_generate_into_directory(tmp_path, small_cache, small_dag):
    seen = []
    dag = EthashDAG.generate(small_cache, directory=str(tmp_path), threads=2, chunk_pages=2000,
                             progress=lambda done, total: seen.append((done, total)))
    try:
        assert dag.path == EthashDAG.file_path(str(tmp_path), 0, 8191)
        assert os.listdir(tmp_path) == [os.path.basename(dag.path)]
        assert max(seen) == (8191, 8191)
        assert dag.hash(b"\x02" * 32, 7) == small_dag.hash(b"\x02" * 32, 7)
    finally:
        dag.close()


def test_load_refuses_bad_files(tmp_path, small_cache, small_dag):
    d = str(tmp_path)
    with pytest.raises(DAGFileError):
        EthashDAG.load(d, 0, light_cache=small_cache)  # missing
    path = small_dag.save(d)
    # wrong light cache (other page count) looks for another file name
    with pytest.raises(DAGFileError):
        EthashDAG.load(d, 0, light_cache=EthashLightCache(0, cache_items=509, dataset_pages=8191))
    # corrupt the last page (always spot-checked)
    with open(path, "r+b") as f:
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 0xFF]))
    with pytest.raises(DAGFileError):
        EthashDAG.load(d, 0, light_cache=small_cache)
    # truncated
    with open(path, "r+b") as f:
        f.truncate(4096 + 128 * 100)
    with pytest.raises(DAGFileError):
        EthashDAG.load(d, 0, light_cache=small_cache)
    # not a DAG at all
    with open(path, "wb") as f:
        f.write(b"hello")
    with pytest.raises(DAGFileError):
        EthashDAG.load_file(path)


def test_cancelled_generation_leaves_no_file(tmp_path, small_cache):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(DAGGenerationCancelled):
        EthashDAG.generate(small_cache, directory=str(tmp_path), cancel=cancel)
    assert os.listdir(tmp_path) == []


def test_close_waits_for_running_hashes(small_cache):
    dag = EthashDAG.generate(small_cache, threads=2)
    started = [threading.Event() for _ in range(3)]
    errors, counts = [], []

    def hasher(k):
        n = 0
        while True:
            try:
                dag.hash(b"\x03" * 32, n)
            except ValueError:
                break  # closed: the expected way out
            except BaseException as exc:  # anything else is a bug
                errors.append(exc)
                break
            n += 1
            started[k].set()
        counts.append(n)

    threads = [threading.Thread(target=hasher, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for ev in started:
        assert ev.wait(10)
    dag.close()  # must not unmap under a running hash
    for t in threads:
        t.join(10)
    assert errors == []
    assert len(counts) == 3 and min(counts) >= 1
    assert dag.closed


def test_generate_argument_checks(small_cache):
    with pytest.raises(TypeError):
        EthashDAG.generate("not a cache")
    with pytest.raises(ValueError):
        EthashDAG.generate(small_cache, threads=0)


def test_facade_contract():
    mix, final = hashing.ethash_light(0, bytes(32), 0)
    assert len(mix) == 32 and len(final) == 32
    assert hashing.ethash_epoch(60000) == 2
    assert hashing.ethash_seedhash(1) == keccak256(bytes(32))
    assert callable(hashing.EthashDAG.hash)
