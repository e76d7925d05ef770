"""gxhash figures: one JSON line per figure (no assertions; see tests/ for correctness).

    .venv/bin/python bench/gxhash.py [--hashes N]

- seconds per gxhash on one core, with the 64 MiB matrix reused (the
  verifier's steady state) and with a fresh allocation per call;
- hashes per second with one thread per core (the GIL is released in C).
"""
import argparse
import json
import os
import platform
import threading
import time

from gxcpoold.hashers.gxhash import gxhash, set_matrix_pool_limit

HEADER = b"1" + b"0" * 64 + b"1700000000" + b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def emit(figure, value, unit, **extra):
    line = {"bench": "gxhash", "figure": figure, "value": round(value, 5), "unit": unit,
            "machine": platform.machine(), "cpus": os.cpu_count()}
    line.update(extra)
    print(json.dumps(line), flush=True)


def seconds_per_hash(count, first_nonce=0):
    start = time.perf_counter()
    for nonce in range(first_nonce, first_nonce + count):
        gxhash(HEADER + str(nonce).encode(), nonce)
    return (time.perf_counter() - start) / count


def hashes_per_second(threads, count_per_thread):
    barrier = threading.Barrier(threads + 1)

    def worker(index):
        barrier.wait()
        seconds_per_hash(count_per_thread, first_nonce=index * count_per_thread)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in pool:
        t.join()
    return threads * count_per_thread / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hashes", type=int, default=30, help="hashes per measurement")
    args = parser.parse_args()
    cores = os.cpu_count() or 1

    set_matrix_pool_limit(cores)
    seconds_per_hash(3)     # warm up: fill the matrix pool, fault pages in
    runs = [seconds_per_hash(args.hashes) for _ in range(3)]
    emit("gxhash_seconds_per_hash_1_thread", min(runs), "s", runs=[round(r, 5) for r in runs],
         matrix="reused")

    set_matrix_pool_limit(0)
    runs = [seconds_per_hash(args.hashes // 2 or 1) for _ in range(3)]
    emit("gxhash_seconds_per_hash_1_thread_fresh_matrix", min(runs), "s",
         runs=[round(r, 5) for r in runs], matrix="allocated per call")

    set_matrix_pool_limit(cores)
    rates = [hashes_per_second(cores, args.hashes) for _ in range(3)]
    emit("gxhash_hashes_per_second_all_cores", max(rates), "H/s", threads=cores,
         runs=[round(r, 3) for r in rates])


if __name__ == "__main__":
    main()
