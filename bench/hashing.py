"""sha256d / keccak / ethash figures: one JSON line per figure (no assertions;
tests/ checks correctness).

    .venv/bin/python bench/hashing.py [--no-dag] [--dag-dir DIR] [--threads N]

- sha256d per 80-byte header through the Python API, against hashlib;
- the share path's one-call stratum header hash, and the miner scan loop;
- keccak256 of a 32-byte value, against safe-pysha3;
- ethash epoch 0: light cache build, light verification and full-DAG
  verification, against the PyPI `ethash` package (chfast's C++ library) when
  it is installed (`pip install ethash`; it is not a project dependency);
- generation of the real epoch-0 DAG (1 GiB) with all cores.

The gxhash figures are printed by bench/gxhash.py (same line format).
"""
import argparse
import hashlib
import json
import os
import platform
import tempfile
import time

from gxcpoold._native import ffi, lib
from gxcpoold.hashing import (EthashDAG, EthashLightCache, keccak256, sha256d, sha256d_scan,
                              stratum_header_hash)

HEADER80 = bytes.fromhex(
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd"
    "7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c")
ETH_HEADER = bytes.fromhex("2a8de2adf89af77358250bf908bf04ba94a6e8c3ba87775564a41d269a05e4ce")
ETH_NONCE = 0x4242424242424242
ETH_MIX = bytes.fromhex("58f759ede17a706c93f13030328bcea40c1d1341fb26f2facd21ceb0dae57017")
MAX_BOUNDARY = b"\xff" * 32


def emit(figure, value, unit, **extra):
    line = {"bench": "hashing", "figure": figure, "value": round(value, 6), "unit": unit,
            "machine": platform.machine(), "cpus": os.cpu_count()}
    line.update(extra)
    print(json.dumps(line), flush=True)


def per_call(fn, seconds=1.0, min_calls=3):
    """Best-of-3 mean seconds per call of fn(), each run about `seconds` long."""
    calls, start = 0, time.perf_counter()
    while calls < min_calls or time.perf_counter() - start < seconds / 10:
        fn()
        calls += 1
    n = max(min_calls, int(calls * 10))
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best


def bench_sha256d():
    h = HEADER80
    s = hashlib.sha256
    ours = per_call(lambda: sha256d(h))
    ref = per_call(lambda: s(s(h).digest()).digest())
    emit("sha256d_header_per_s", 1 / ours, "headers/s", ns_per_header=round(ours * 1e9, 1),
         hashlib_per_s=round(1 / ref), hashlib_ns=round(ref * 1e9, 1),
         ratio_vs_hashlib=round(ours / ref, 3), target_ratio="<= 1.5",
         sha_extensions=bool(lib.sha256_uses_cpu_extensions()))
    out = ffi.new("uint8_t[32]")
    portable = per_call(lambda: lib.sha256_hash_portable(h, 80, out))
    emit("sha256_portable_80B", portable * 1e9, "ns",
         note="single SHA-256 on the portable C path, used on CPUs without SHA extensions")
    prev, root = bytes(32), bytes(32)
    share = per_call(lambda: stratum_header_hash(0x20002000, prev, root, 1689514988, 0x192495F8, 7))
    emit("stratum_header_hash", share * 1e6, "us", note="share path: build header + sha256d, one call")
    count = 2_000_000
    start = time.perf_counter()
    sha256d_scan(h[:76], 0, count, 0)  # target 0: never found, scans all
    emit("sha256d_scan_per_s", count / (time.perf_counter() - start), "hashes/s", threads=1)


def bench_keccak():
    import sha3
    data = bytes(32)
    ours = per_call(lambda: keccak256(data))
    ref = per_call(lambda: sha3.keccak_256(data).digest())
    emit("keccak256_32B", ours * 1e9, "ns", pysha3_ns=round(ref * 1e9, 1),
         ratio_vs_pysha3=round(ours / ref, 3))


def per_share(verify, shares, rounds=3):
    """Best-of-rounds mean seconds per verify(nonce, mix) over distinct shares
    (distinct nonces touch different pages: no unrealistically warm caches)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for nonce, mix in shares:
            if not verify(nonce, mix):
                raise AssertionError("benchmark share did not verify")
        best = min(best, (time.perf_counter() - start) / len(shares))
    return best


def bench_ethash(dag_dir, threads, with_dag):
    try:
        import ethash as pypi_ethash
    except ImportError:
        pypi_ethash = None

    start = time.perf_counter()
    cache = EthashLightCache(0)
    build = time.perf_counter() - start
    extra = {}
    if pypi_ethash is not None:
        start = time.perf_counter()
        pypi_ethash.hash(0, ETH_HEADER, ETH_NONCE)  # builds its global epoch context
        extra["pypi_ethash_s"] = round(time.perf_counter() - start, 3)
    emit("ethash_light_cache_build_epoch0", build, "s", **extra)

    assert cache.verify(ETH_HEADER, ETH_NONCE, ETH_MIX, MAX_BOUNDARY)
    shares = [(n, cache.hash(ETH_HEADER, n)[0]) for n in range(10**6, 10**6 + 300)]
    light = per_share(lambda n, m: cache.verify(ETH_HEADER, n, m, MAX_BOUNDARY), shares)
    extra = {"target": "<= 1.2x pypi ethash", "shares": len(shares)}
    if pypi_ethash is not None:
        ref = per_share(lambda n, m: pypi_ethash.verify(0, ETH_HEADER, m, n, MAX_BOUNDARY), shares)
        extra.update(pypi_ethash_ms=round(ref * 1e3, 4), ratio_vs_pypi=round(light / ref, 3))
    else:
        extra["pypi_ethash"] = "not installed (pip install ethash failed or skipped): no comparison"
    emit("ethash_light_verify_epoch0", light * 1e3, "ms", **extra)

    if not with_dag:
        emit("ethash_dag_generate_epoch0", 0, "s", skipped="--no-dag")
        return
    tmp = None
    if dag_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="gxcpool-dag-bench-")
        dag_dir = tmp.name
    try:
        start = time.perf_counter()
        dag = EthashDAG.generate(cache, directory=dag_dir, threads=threads)
        gen = time.perf_counter() - start
        emit("ethash_dag_generate_epoch0", gen, "s", threads=threads, bytes=dag.size,
             target="< 180 s", into="file " + dag.path)
        try:
            full_shares = [(n, dag.hash(ETH_HEADER, n)[0]) for n in range(10**7, 10**7 + 20000)]
            full = per_share(lambda n, m: dag.verify(ETH_HEADER, n, m, MAX_BOUNDARY), full_shares)
            emit("ethash_full_verify_epoch0", full * 1e6, "us", shares=len(full_shares),
                 speedup_vs_light=round(light / full, 1), target="speedup >= 100")
        finally:
            dag.close()
    finally:
        if tmp is not None:
            tmp.cleanup()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-dag", action="store_true", help="skip the 1 GiB DAG figures")
    parser.add_argument("--dag-dir", help="where to write the epoch-0 DAG (default: a temp dir)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    bench_sha256d()
    bench_keccak()
    bench_ethash(args.dag_dir, args.threads, not args.no_dag)
    # gxhash: see bench/gxhash.py


if __name__ == "__main__":
    main()
