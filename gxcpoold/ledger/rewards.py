"""Sharing a block reward: PPLNS by work, PROP and SOLO (DESIGN.md section 6).

Pure functions on Python ints; no database, no floats in the money path.

Rules (these are the pool's documented policy):
- Network work of a block = 16 ** floor(D) expected hashes, for every algorithm.
- PPLNS window = N x network work, and never fewer than the last M shares
  (pplns_min_shares).  Shares are taken newest first (up to the block's own
  share); once M shares are in, the share that crosses the window's edge
  counts only for the part of its work inside the window, so the window is
  exact.  Why M: when a share is worth more than a block (the real testnet's
  D = 1 is 16 hashes a block, below any share floor) N blocks of work are
  less than one share, so the finder's own share would fill the window and
  take the whole reward; blocks then follow the share rate, which vardiff
  makes equal for every connection, not the hashrate.  A window of many
  shares pays each miner by work again.
- Window not full (a young pool): the shares there are split the whole reward
  after fee, in proportion to their work.  Nothing is withheld.
- No shares at all: the finder is credited the whole reward after fee.
- Fee = floor(reward x fee rate), to the pool's fee account.
- Each account gets floor(rest x its work / total work).  The base units left
  over by that rounding (fewer than the number of accounts) are the remainder,
  credited to the remainder account (by default the fee account).
So credits + fee + remainder == reward, always.
"""
import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Iterator

PPLNS, PROP, SOLO = "pplns", "prop", "solo"


@dataclass(frozen=True)
class Split:
    credits: dict            # account -> base units
    fee: int
    remainder: int
    work: dict               # account -> work counted for it
    window: int              # work the scheme asked for (0: no window)
    counted: int             # work actually found
    min_shares: int = 0      # shares the scheme asked for at least (PPLNS)
    shares: int = 0          # shares actually counted

    @property
    def window_filled(self) -> bool:
        return self.counted >= self.window and self.shares >= self.min_shares

    def total(self) -> int:
        return sum(self.credits.values()) + self.fee + self.remainder


def network_work(difficulty) -> int:
    """Expected hashes per block at node difficulty D: 16 ** floor(D)."""
    zeros = math.floor(difficulty)
    if zeros < 0:
        raise ValueError("difficulty must not be negative: %r" % (difficulty,))
    return 16 ** zeros


def exact_fraction(number) -> Fraction:
    # repr() of a float is its shortest decimal form: 1.1 means 11/10, not the binary double.
    return Fraction(repr(number)) if isinstance(number, float) else Fraction(number)


def pplns_window(n, difficulty) -> int:
    """N x network work, rounded up to whole hashes."""
    window = exact_fraction(n) * network_work(difficulty)
    if window <= 0:
        raise ValueError("the PPLNS window must be positive")
    return math.ceil(window)


def pplns_weights(shares_newest_first: Iterable, window: int, min_shares: int = 0):
    """Work per account inside the window: whole shares until min_shares are
    in, then up to `window` work.  shares: (account, work) newest first.
    Returns (weights, counted work, shares counted)."""
    weights, counted, taken = {}, 0, 0
    for account, work in shares_newest_first:
        work = int(work)
        if taken < min_shares:
            take = work
        elif counted >= window:
            break
        else:
            take = min(work, window - counted)
        if take <= 0:
            continue
        weights[account] = weights.get(account, 0) + take
        counted += take
        taken += 1
    return weights, counted, taken


def prop_weights(shares_newest_first: Iterable):
    """PROP: every share of the round (the caller stops at the previous block)."""
    weights, counted = {}, 0
    for account, work in shares_newest_first:
        work = int(work)
        if work > 0:
            weights[account] = weights.get(account, 0) + work
            counted += work
    return weights, counted


def split_reward(reward: int, fee_rate, weights: dict, *, finder: str,
                 window: int = 0, counted: int | None = None) -> Split:
    """Split `reward` base units: fee first, the rest by weight, remainder last."""
    if isinstance(reward, bool) or not isinstance(reward, int) or reward < 0:
        raise ValueError("reward must be a non-negative int of base units")
    rate = exact_fraction(fee_rate)
    if not 0 <= rate < 1:
        raise ValueError("fee rate must be in [0, 1)")
    fee = reward * rate.numerator // rate.denominator
    rest = reward - fee
    weights = {a: int(w) for a, w in weights.items() if int(w) > 0}
    if not weights:
        weights = {finder: 1}          # no shares recorded: the finder takes it
    total = sum(weights.values())
    credits = {a: rest * w // total for a, w in weights.items()}
    remainder = rest - sum(credits.values())
    return Split(credits=credits, fee=fee, remainder=remainder, work=weights, window=window,
                 counted=total if counted is None else counted)


def split_block(scheme: str, reward: int, fee_rate, shares_newest_first: Iterator, *,
                finder: str, window: int, min_shares: int = 0) -> Split:
    """One entry point for the three schemes.

    pplns: shares newest first from the block back, window in hashes, at
           least min_shares shares.
    prop:  shares of the round only (the caller stops at the previous block).
    solo:  the finder alone; shares are ignored.
    """
    if scheme == PPLNS:
        weights, counted, taken = pplns_weights(shares_newest_first, window, min_shares)
        split = split_reward(reward, fee_rate, weights, finder=finder, window=window,
                             counted=counted)
        return dataclasses.replace(split, min_shares=min_shares, shares=taken)
    if scheme == PROP:
        weights, counted = prop_weights(shares_newest_first)
        return split_reward(reward, fee_rate, weights, finder=finder, counted=counted)
    if scheme == SOLO:
        return split_reward(reward, fee_rate, {finder: 1}, finder=finder, counted=1)
    raise ValueError("unknown payout scheme %r" % (scheme,))
