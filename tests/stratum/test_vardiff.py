"""Vardiff on a fake clock: simulated miners with Poisson share times."""
import random

import pytest

from gxcpoold.stratum.vardiff import VarDiff

SPM = 20.0          # aim: a share every 3 s
INTERVAL = 30.0


def vardiff(start=1.0, minimum=1e-6, maximum=1e12, now=0.0):
    return VarDiff(start=start, minimum=minimum, maximum=maximum, shares_per_minute=SPM,
                   retarget_interval=INTERVAL, now=now)


def run(v, speed, seconds, seed=1, tick=5.0, start_time=0.0):
    """A miner whose hashrate gives `speed` x the aimed share rate at
    difficulty 1; returns [(time, new difficulty)].  Shares are drawn at the
    difficulty in force, ticks every `tick` seconds, on fake time."""
    rng = random.Random(seed)
    hashrate = speed * SPM / 60.0          # diff-1 shares per second
    now, changes = start_time, []
    next_tick = start_time + tick
    next_share = now + rng.expovariate(hashrate / v.difficulty)
    end = start_time + seconds
    while now < end:
        if next_tick <= next_share:
            now = next_tick
            new = v.on_tick(now)
            next_tick += tick
        else:
            now = next_share
            new = v.on_share(now)
        if new is not None:
            changes.append((now, new))
        if new is not None or now >= next_share:
            # memoryless: redraw the next share at the difficulty now in force
            next_share = now + rng.expovariate(hashrate / v.difficulty)
    return changes


@pytest.mark.parametrize("seed", range(5))
def test_a_miner_1000x_faster_is_corrected_within_a_minute(seed):
    v = vardiff()
    changes = run(v, 1000.0, 60.0, seed)
    assert changes and changes[0][0] < 60.0
    assert 300 <= v.difficulty <= 3000          # aimed difficulty is 1000


@pytest.mark.parametrize("seed", range(5))
def test_a_miner_1000x_slower_is_corrected_within_a_minute(seed):
    v = vardiff()
    changes = run(v, 0.001, 60.0, seed)
    assert changes and changes[0][0] <= 60.0 and changes[0][1] < 0.1
    run(v, 0.001, 240.0, seed, start_time=60.0)
    assert 0.0003 <= v.difficulty <= 0.003      # aimed difficulty is 0.001


@pytest.mark.parametrize("seed", range(3))
def test_a_steady_miner_is_left_alone(seed):
    v = vardiff(start=1.0)
    assert run(v, 1.0, 6 * 3600.0, seed) == []


@pytest.mark.parametrize("seed", range(3))
def test_after_settling_the_difficulty_stays(seed):
    v = vardiff(start=1.0)
    run(v, 50.0, 300.0, seed)
    settled = v.difficulty
    assert 20 <= settled <= 120
    later = run(v, 50.0, 3 * 3600.0, seed + 100, start_time=300.0)
    assert len(later) <= 1


def test_minimum_and_maximum_are_honoured():
    v = vardiff(start=1.0, minimum=0.5, maximum=4.0)
    run(v, 1000.0, 120.0)
    assert v.difficulty == 4.0
    v = vardiff(start=1.0, minimum=0.5, maximum=4.0)
    run(v, 0.001, 300.0)
    assert v.difficulty == 0.5


def test_suggested_difficulty_is_used_exactly_and_is_a_floor():
    v = vardiff()
    assert v.suggest(512, 0.0) == 512
    run(v, 0.01, 600.0)
    assert v.difficulty == 512
    assert vardiff(maximum=100).suggest(512, 0.0) == 100


def test_minimum_difficulty_extension_is_a_floor_only():
    v = vardiff(start=1.0)
    assert v.set_minimum(0.5, 0.0) is None and v.difficulty == 1.0
    assert v.set_minimum(8.0, 0.0) == 8.0
    run(v, 0.001, 600.0)
    assert v.difficulty == 8.0


def test_network_ceiling_caps_the_difficulty_above_the_floor():
    v = vardiff(start=1.0, minimum=0.001)
    assert v.set_ceiling(0.004, 0.0) == 0.004
    run(v, 0.1, 60.0)                # 25x too fast at the ceiling
    assert v.difficulty == 0.004
    v = vardiff(start=1.0)
    assert v.set_ceiling(50.0, 0.0) is None


def test_network_below_the_floor_leaves_the_aim_in_charge():
    # the real testnet: D = 1 is 3.7e-9 in sha256d units, under any sane floor
    v = vardiff(start=1.0, minimum=0.0001)
    assert v.set_ceiling(3.7e-9, 0.0) is None and v.difficulty == 1.0
    assert not v.ceiling_applies
    run(v, 30.0, 60.0)               # 10 shares/s against an aim of 20/min: raised
    raised = v.difficulty
    assert raised > 10.0
    assert v.set_ceiling(3.7e-9, 61.0) is None and v.difficulty == raised  # each new job


def test_the_miners_own_floor_never_lifts_the_ceiling():
    # a miner asking for more than a block would keep quiet about blocks
    v = vardiff(start=1.0, minimum=0.0001)
    assert v.set_ceiling(0.5, 0.0) == 0.5            # above the configured floor: capped
    assert v.suggest(2.0, 1.0) is None               # the miner's floor is above the network
    assert v.ceiling_applies and v.difficulty == 0.5
    assert v.set_ceiling(0.5, 2.0) is None and v.difficulty == 0.5


def test_ceiling_back_above_the_floor_caps_again():
    v = vardiff(start=8.0, minimum=0.0001)
    v.set_ceiling(3.7e-9, 0.0)
    assert v.difficulty == 8.0
    assert v.set_ceiling(4.0, 1.0) == 4.0            # a network harder than the floor


def test_fixed_difficulty_never_moves():
    v = vardiff()
    v.fix(2.0, 0.0)
    assert run(v, 1000.0, 120.0) == [] and v.difficulty == 2.0


def test_no_decision_without_evidence():
    v = vardiff()
    for t in range(7):
        assert v.on_share(t * 0.001) is None     # 7 quick shares: not yet
    assert v.on_tick(20.0) is None


def test_new_limits_clamp_the_difficulty_and_keep_the_miners_floor_inside_them():
    v = VarDiff(start=100.0, minimum=1.0, maximum=1000.0, shares_per_minute=20,
                retarget_interval=30, now=0.0)
    v.suggest(50.0, now=1.0)                   # the miner's own floor
    assert v.set_limits(minimum=1.0, maximum=40.0, shares_per_minute=10,
                        retarget_interval=60, now=2.0) == 40.0
    assert v.floor == 40.0 and v.rate == 10 / 60 and v.interval == 60
    assert v.set_limits(minimum=1.0, maximum=1000.0, shares_per_minute=10,
                        retarget_interval=60, now=3.0) is None     # 40 is inside: unchanged
    assert v.set_limits(minimum=500.0, maximum=1000.0, shares_per_minute=10,
                        retarget_interval=60, now=4.0) == 500.0
