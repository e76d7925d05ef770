"""Issue 10's D = 1 run: the real pool (twistd, built-in devnet at difficulty
1.0 with the real node's 10 ms answers) and two reference miners
(gxcpool-miner processes) hashing at full speed for 60 seconds.

At D = 1 every share is a block candidate.  What must hold: the chain
advances all the time, every block the node accepted is in the ledger and
credited exactly once, stale shares stay a small fraction, and neither the
pool's nor the miners' memory grows.  About 70 s (bench/d1_flood.py holds
the harness and prints the figures).
"""
import json

import pytest

from bench.d1_flood import VARDIFF, flood

DURATION = 60.0
# The pool's defaults with a livelier aim (60 shares a minute per miner,
# decided every 10 s): the run is only a minute long.
STRATUM = dict(VARDIFF, shares_per_minute=60.0, retarget_interval=10.0)


@pytest.mark.timeout(240)
def test_two_miners_at_full_speed_for_a_minute_at_difficulty_1():
    figures, raw = flood(DURATION, miners=2, threads=1, stratum=STRATUM)
    print(json.dumps(figures))                   # pytest -s shows the run's figures
    context = (figures, raw["pool_output"][-4000:])

    # The chain advances all the time: a new block in every 10 s of the run.
    samples = raw["samples"]
    for start in range(0, int(DURATION) - 10, 10):
        window = [height for t, height, _, _ in samples if start <= t <= start + 10]
        assert window and window[-1] > window[0], ("no block from %ds" % start, context)

    # Every block the node accepted is in the ledger, credited once, and
    # its credits add up to its reward; no credited block is off the chain.
    chain = raw["chain"]
    assert len(chain) >= 30, context
    rows = {}
    for height, block_hash, status, credited, reward, paid in raw["ledger"]:
        rows.setdefault((height, block_hash), []).append((status, credited, reward, paid))
    for key in chain:
        assert len(rows.get(key, ())) == 1, (key, rows.get(key), context)
        status, credited, reward, paid = rows[key][0]
        assert credited and paid == reward > 0, (key, rows[key], context)
    on_chain = set(chain)
    assert [k for k, v in rows.items() if v[0][1] and k not in on_chain] == [], context

    # Stale shares: answered stale, or found for a replaced job and not sent.
    # Every accepted share ends a height here, so shares found in the ~25 ms
    # until the next job reaches the miners are stale: a few per cent.
    assert figures["shares_accepted"] >= len(chain), context
    assert figures["stale_fraction"] < 0.10, context

    # Memory: no growth over the second half of the run, sane totals.
    half = [s for s in samples if s[0] >= DURATION / 2]
    mid_pool, mid_miners = half[0][2], max(half[0][3])
    assert max(s[2] for s in half) - mid_pool < 20 * 2**20, context
    assert max(max(s[3]) for s in half) - mid_miners < 10 * 2**20, context
    assert figures["pool_rss_mb_max"] < 300 and figures["miner_rss_mb_max"] < 150, context

    # No critical line, no traceback, and the flood ends quickly.
    assert figures["pool_critical_lines"] == 0 and figures["pool_tracebacks"] == 0, context
    assert figures["pool_exit_s"] < 30, context
