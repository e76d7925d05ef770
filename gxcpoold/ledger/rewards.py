"""Sharing a block reward: PPLNS by work, PROP and SOLO (DESIGN.md section 6).

Pure functions on Python ints; no database, no floats in the money path.

Rules (these are the pool's documented policy, docs/ledger.md and docs/fees.md):
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
  in proportion to their work.  Nothing is withheld.
- No shares at all: the finder's part is the whole reward.
- Each account's part = floor(reward x its work / total work).  SOLO: the
  finder's part is the whole reward.
- Each part pays that account's own fee rate (the pool fee, a volume tier or
  the address's own fee, ledger/fees.py): fee = floor(part x rate), and the
  account is credited part - fee.  The fee account receives the sum of
  those fees.
- The base units left over by the parts' rounding (fewer than the number of
  accounts) are the remainder, credited to the remainder account (by default
  the fee account).
So credits + fee + remainder == reward, always, and an account's credit
depends on its own work, the total work and its own fee only: a miner can
recompute it exactly without knowing anyone else's fee.

Before per-miner fees (issue 14) the pool fee was taken first, floor(reward
x fee), and the rest split by work.  Flooring each part's fee instead can
move a few base units per block (fewer than the number of accounts) from the
fee account to the miners; with one account (SOLO, a lone miner) and with a
zero fee both rules agree exactly.  The change is deliberate: it is what
lets each miner's fee be recorded and checked on its own.
"""
import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Iterator

PPLNS, PROP, SOLO = "pplns", "prop", "solo"


@dataclass(frozen=True)
class Split:
    credits: dict            # account -> base units credited (its part minus its fee)
    fee: int                 # sum of the accounts' fees
    remainder: int
    work: dict               # account -> work counted for it
    window: int              # work the scheme asked for (0: no window)
    counted: int             # work actually found
    min_shares: int = 0      # shares the scheme asked for at least (PPLNS)
    shares: int = 0          # shares actually counted
    fees: dict = dataclasses.field(default_factory=dict)   # account -> fee its part paid
    rates: dict = dataclasses.field(default_factory=dict)  # account -> fee rate applied

    @property
    def window_filled(self) -> bool:
        return self.counted >= self.window and self.shares >= self.min_shares

    def total(self) -> int:
        return sum(self.credits.values()) + self.fee + self.remainder


@dataclass(frozen=True)
class Weights:
    """What a scheme counts for each account, before any money is split."""
    work: dict               # account -> work
    counted: int
    window: int = 0
    min_shares: int = 0
    shares: int = 0


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


def _rate(fee_rate) -> Fraction:
    rate = exact_fraction(fee_rate)
    if not 0 <= rate < 1:
        raise ValueError("fee rate must be in [0, 1): %r" % (fee_rate,))
    return rate


def split_reward(reward: int, fee_rate, weights: dict, *, finder: str,
                 window: int = 0, counted: int | None = None, fees=None) -> Split:
    """Split `reward` base units by weight; each part pays its account's fee.

    fee_rate: the default rate; fees: {account: rate} for accounts whose rate
    differs (a premium address, a volume tier).  Rates are in [0, 1)."""
    if isinstance(reward, bool) or not isinstance(reward, int) or reward < 0:
        raise ValueError("reward must be a non-negative int of base units")
    default = _rate(fee_rate)
    fees = {a: _rate(r) for a, r in (fees or {}).items()}
    weights = {a: int(w) for a, w in weights.items() if int(w) > 0}
    if not weights:
        weights = {finder: 1}          # no shares recorded: the finder takes it
    total = sum(weights.values())
    credits, paid, rates = {}, {}, {}
    for account, w in weights.items():
        part = reward * w // total
        rate = fees.get(account, default)
        fee = part * rate.numerator // rate.denominator
        credits[account], paid[account], rates[account] = part - fee, fee, rate
    fee = sum(paid.values())
    remainder = reward - fee - sum(credits.values())
    return Split(credits=credits, fee=fee, remainder=remainder, work=weights, window=window,
                 counted=total if counted is None else counted, fees=paid, rates=rates)


def scheme_weights(scheme: str, shares_newest_first: Iterator, *, finder: str, window: int,
                   min_shares: int = 0) -> Weights:
    """The work each account counts for under the scheme.

    pplns: shares newest first from the block back, window in hashes, at
           least min_shares shares.
    prop:  shares of the round only (the caller stops at the previous block).
    solo:  the finder alone; shares are ignored.
    """
    if scheme == PPLNS:
        weights, counted, taken = pplns_weights(shares_newest_first, window, min_shares)
        return Weights(weights, counted, window=window, min_shares=min_shares, shares=taken)
    if scheme == PROP:
        weights, counted = prop_weights(shares_newest_first)
        return Weights(weights, counted)
    if scheme == SOLO:
        return Weights({finder: 1}, 1)
    raise ValueError("unknown payout scheme %r" % (scheme,))


def paid_accounts(weights: Weights, finder: str) -> list:
    """The accounts a split of these weights credits (whose fees it needs)."""
    return [a for a, w in weights.work.items() if int(w) > 0] or [finder]


def split_weights(weights: Weights, reward: int, fee_rate, *, finder: str, fees=None) -> Split:
    split = split_reward(reward, fee_rate, weights.work, finder=finder, window=weights.window,
                         counted=weights.counted, fees=fees)
    return dataclasses.replace(split, min_shares=weights.min_shares, shares=weights.shares)


def split_block(scheme: str, reward: int, fee_rate, shares_newest_first: Iterator, *,
                finder: str, window: int, min_shares: int = 0, fees=None) -> Split:
    """One entry point for the three schemes (scheme_weights, then split_reward)."""
    weights = scheme_weights(scheme, shares_newest_first, finder=finder, window=window,
                             min_shares=min_shares)
    return split_weights(weights, reward, fee_rate, finder=finder, fees=fees)
