"""Reward splits: exact base units, the window policy, and the sum invariant."""
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from gxcpoold.ledger.rewards import (PPLNS, PROP, SOLO, network_work, pplns_weights,
                                     pplns_window, split_block, split_reward)

REFERENCE_SHARES = {"m0": 1_000_000, "m1": 20_000, "m2": 5_000, "m3": 10, "m4": 1}


def test_reference_split_without_fee():
    # 50 GXC over five miners of very different size (the classic
    # open-pool reference case); each credit is floor(5e9 x w / 1025011).
    split = split_reward(5_000_000_000, 0, REFERENCE_SHARES, finder="m0")
    assert split.credits == {"m0": 4_877_996_431, "m1": 97_559_928, "m2": 24_389_982,
                             "m3": 48_779, "m4": 4_877}
    assert split.fee == 0
    assert split.remainder == 3
    assert split.total() == 5_000_000_000


def test_reference_split_with_one_percent_fee():
    # Each part is floor(5e9 x w / 1025011) as without a fee and pays
    # floor(part / 100): m0's part 4_877_996_431 pays 48_779_964.
    split = split_reward(5_000_000_000, Fraction(1, 100), REFERENCE_SHARES, finder="m0")
    assert split.fees == {"m0": 48_779_964, "m1": 975_599, "m2": 243_899, "m3": 487, "m4": 48}
    assert split.fee == 49_999_997
    assert split.credits == {"m0": 4_829_216_467, "m1": 96_584_329, "m2": 24_146_083,
                             "m3": 48_292, "m4": 4_829}
    assert split.remainder == 3            # the parts' rounding, as without a fee
    assert split.total() == 5_000_000_000


def test_the_fee_taken_before_the_split_differed_by_a_few_base_units():
    # The rule before per-miner fees: fee = floor(5e9 / 100) first, the rest by
    # work.  The per-part rule gives the miners 2 base units more of 5e9 here
    # (m0 and m2 one each); the fee account gets 50_000_000 instead of 50_000_002.
    old_credits = {"m0": 4_829_216_466, "m1": 96_584_329, "m2": 24_146_082, "m3": 48_292,
                   "m4": 4_829}
    split = split_reward(5_000_000_000, Fraction(1, 100), REFERENCE_SHARES, finder="m0")
    moved = {a: split.credits[a] - old_credits[a] for a in old_credits}
    assert moved == {"m0": 1, "m1": 0, "m2": 1, "m3": 0, "m4": 0}
    assert split.fee + split.remainder == 50_000_000


def test_each_part_pays_its_own_fee():
    # premium m1 pays 0.5 %, m2 nothing, the rest the default 1 %
    fees = {"m1": Fraction(1, 200), "m2": Fraction(0)}
    split = split_reward(5_000_000_000, Fraction(1, 100), REFERENCE_SHARES, finder="m0",
                         fees=fees)
    assert split.fees == {"m0": 48_779_964, "m1": 487_799, "m2": 0, "m3": 487, "m4": 48}
    assert split.credits["m1"] == 97_559_928 - 487_799
    assert split.credits["m2"] == 24_389_982
    assert split.rates["m1"] == Fraction(1, 200) and split.rates["m0"] == Fraction(1, 100)
    assert split.fee == sum(split.fees.values())
    assert split.total() == 5_000_000_000
    # another account's fee never changes m0's credit
    assert split.credits["m0"] == split_reward(5_000_000_000, Fraction(1, 100),
                                               REFERENCE_SHARES, finder="m0").credits["m0"]


def test_solo_and_a_single_miner_agree_with_the_fee_first_rule():
    # one part: floor(reward x fee) either way
    split = split_block(SOLO, 5_000_000_001, Fraction(3, 100), iter([]), finder="f", window=0,
                        fees={"f": Fraction(1, 50)})
    assert (split.fee, split.credits) == (100_000_000, {"f": 4_900_000_001})


def test_fee_from_config_float_is_exact():
    # 0.015 as a double is not 15/1000; the split must use the decimal meaning.
    assert split_reward(1_000_000, 0.015, {"a": 1}, finder="a").fee == 15_000


def test_network_work_is_sixteen_to_the_floor_of_d():
    assert network_work(1.0) == 16
    assert network_work(1.75) == 16
    assert network_work(6.0) == 16 ** 6
    assert network_work(3.0625) == 16 ** 3


def test_window_is_n_times_network_work():
    assert pplns_window(2.0, 6.0) == 2 * 16 ** 6
    assert pplns_window(0.5, 1.0) == 8
    assert pplns_window(1.1, 2.0) == 282          # 1.1 x 256 = 281.6, rounded up


def test_pplns_counts_only_the_part_of_the_edge_share_inside_the_window():
    # newest first: a(100) b(100) c(100) d(...) with a window of 250
    weights, counted, taken = pplns_weights([("a", 100), ("b", 100), ("c", 100), ("d", 100)],
                                            250)
    assert weights == {"a": 100, "b": 100, "c": 50}
    assert (counted, taken) == (250, 3)


def test_pplns_takes_whole_shares_until_the_minimum_count_then_cuts_the_edge():
    shares = [("a", 100), ("b", 100), ("c", 100), ("d", 100)]
    # the work window (150) is full after two shares, but three are required
    assert pplns_weights(shares, 150, min_shares=3) == ({"a": 100, "b": 100, "c": 100}, 300, 3)
    # three shares are in after 300; the window of 350 still cuts the fourth
    assert pplns_weights(shares, 350, min_shares=3) == (
        {"a": 100, "b": 100, "c": 100, "d": 50}, 350, 4)
    split = split_block(PPLNS, 1_000, 0, iter(shares[:2]), finder="a", window=16, min_shares=3)
    assert not split.window_filled and (split.shares, split.min_shares) == (2, 3)


def test_a_share_worth_more_than_a_block_pays_by_work_with_a_share_minimum():
    # The real testnet, D = 1: 32 hashes is the window of N = 2, far below one
    # share.  Vardiff gives both miners the same share rate, so shares (and so
    # blocks) alternate although "big" hashes ten times faster.  Without a share
    # minimum each finder takes its whole block: both earn the same.  With one,
    # each is paid by the work it did.
    import random
    rng = random.Random(7)
    history, earned = [], {False: {"big": 0, "small": 0}, True: {"big": 0, "small": 0}}
    for _ in range(3000):
        finder = rng.choice(["big", "small"])
        history.append((finder, 10 * 2 ** 20 if finder == "big" else 2 ** 20))
        if len(history) < 200:
            continue
        for with_minimum in (False, True):
            split = split_block(PPLNS, 5_000_000_000, 0, reversed(history), finder=finder,
                                window=pplns_window(2.0, 1.0),
                                min_shares=200 if with_minimum else 0)
            for account, amount in split.credits.items():
                earned[with_minimum][account] += amount
    without, with_ = earned[False], earned[True]
    assert 0.8 < without["big"] / without["small"] < 1.25      # by share count: unfair
    assert 9.0 < with_["big"] / with_["small"] < 11.0          # by work: 10 to 1


def test_pplns_window_by_work_across_algorithms():
    # A sha256d share (diff 1 = 2**32 hashes) and gxhash shares (diff = hashes)
    # weigh by expected hashes, whatever the algorithm.
    window = pplns_window(2.0, 8.0)           # 2 x 16**8 = 2**33
    shares = [("gx", 2 ** 31), ("sha", 2 ** 32), ("gx", 2 ** 31), ("old", 2 ** 40)]
    split = split_block(PPLNS, 10_000, 0, iter(shares), finder="gx", window=window)
    assert split.work == {"gx": 2 ** 32, "sha": 2 ** 32}
    assert split.credits == {"gx": 5_000, "sha": 5_000}
    assert split.window_filled


def test_window_not_full_splits_the_whole_reward_among_the_shares_there():
    window = pplns_window(2.0, 6.0)
    split = split_block(PPLNS, 5_000_000_000, Fraction(1, 100),
                        iter([("a", 3 * 16 ** 5), ("b", 16 ** 5)]), finder="a", window=window)
    assert not split.window_filled
    assert split.counted == 4 * 16 ** 5
    assert split.fee == 50_000_000
    assert split.credits == {"a": 3_712_500_000, "b": 1_237_500_000}
    assert split.remainder == 0


def test_no_shares_at_all_pays_the_finder():
    split = split_block(PPLNS, 5_000_000_000, Fraction(1, 100), iter([]), finder="f",
                        window=100)
    assert split.credits == {"f": 4_950_000_000}
    assert split.fee == 50_000_000


def test_single_miner_gets_everything_after_fee():
    split = split_block(PPLNS, 5_000_000_001, Fraction(1, 50), iter([("a", 7)] * 1000),
                        finder="a", window=10 ** 6)
    assert split.fee == 100_000_000          # floor(5000000001 / 50)
    assert split.credits == {"a": 4_900_000_001}
    assert split.remainder == 0


def test_thousands_of_miners():
    shares = [("miner%05d" % i, 1 + i % 97) for i in range(5000)]
    split = split_block(PPLNS, 5_000_000_000, Fraction(1, 100), iter(shares),
                        finder="miner00000", window=10 ** 9)
    assert len(split.credits) == 5000
    assert split.total() == 5_000_000_000
    assert 0 <= split.remainder < 5000
    total = sum(w for _, w in shares)
    for account, work in shares[:50]:
        part = 5_000_000_000 * work // total
        assert split.credits[account] == part - part // 100


def test_prop_takes_every_share_given():
    split = split_block(PROP, 1000, 0, iter([("a", 1), ("b", 3)]), finder="a", window=0)
    assert split.credits == {"a": 250, "b": 750}


def test_solo_pays_the_finder_only():
    split = split_block(SOLO, 1000, Fraction(1, 10), iter([("a", 1), ("b", 3)]), finder="b",
                        window=0)
    assert split.credits == {"b": 900}
    assert split.fee == 100


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError):
        split_reward(-1, 0, {"a": 1}, finder="a")
    with pytest.raises(ValueError):
        split_reward(10, Fraction(1), {"a": 1}, finder="a")
    with pytest.raises(ValueError):
        split_reward(10, 0, {"a": 1}, finder="a", fees={"a": Fraction(1)})
    with pytest.raises(ValueError):
        split_reward(10, 0, {"a": 1}, finder="a", fees={"a": Fraction(-1, 100)})
    with pytest.raises(ValueError):
        split_block("pps", 10, 0, iter([]), finder="a", window=1)


accounts = st.text(alphabet="abcdefgh", min_size=1, max_size=3)
# Fees as configured: whole 1e-8 in [0, 1), biased to the usual few per cent.
fee_rates = st.one_of(st.integers(0, 5_000_000), st.integers(0, 10 ** 8 - 1)).map(
    lambda units: Fraction(units, 10 ** 8))


@settings(max_examples=400, deadline=None)
@given(reward=st.integers(0, 21_000_000 * 10 ** 8),
       fee=st.fractions(min_value=0, max_value=Fraction(49, 100)),
       own=st.dictionaries(accounts, fee_rates, max_size=6),
       shares=st.lists(st.tuples(accounts, st.integers(0, 2 ** 80)), max_size=60),
       window=st.integers(1, 2 ** 82),
       scheme=st.sampled_from([PPLNS, PROP, SOLO]))
def test_credits_fee_and_remainder_always_add_up_to_the_reward(reward, fee, own, shares, window,
                                                               scheme):
    split = split_block(scheme, reward, fee, iter(shares), finder="finder", window=window,
                        fees=own)
    assert split.total() == reward
    assert all(amount >= 0 for amount in split.credits.values())
    assert 0 <= split.remainder < max(1, len(split.credits))
    assert split.fee == sum(split.fees.values())
    total = sum(split.work.values())
    for account, work in split.work.items():
        # each part pays exactly its own account's fee, and the credit is within
        # one base unit of the exact share of the reward after that fee
        rate = own.get(account, fee)
        part = reward * work // total
        assert split.fees[account] == part * rate.numerator // rate.denominator
        assert split.credits[account] + split.fees[account] == part
        assert abs(split.credits[account] - Fraction(reward * work, total) * (1 - rate)) < 1
    if not own:
        # against the rule before per-miner fees (fee first, then the rest by
        # work): each credit moves by at most one base unit
        first = reward * fee.numerator // fee.denominator
        for account, work in split.work.items():
            assert abs(split.credits[account] - (reward - first) * work // total) <= 1
    if scheme == PPLNS:
        assert split.counted <= window
        # more work never earns less at the same fee
        same = [a for a in split.work if own.get(a, fee) == fee]
        ranked = sorted(same, key=split.work.get)
        for low, high in zip(ranked, ranked[1:]):
            assert split.credits[low] <= split.credits[high]
