"""Variable difficulty for one connection: aim for a share rate, decide with evidence.

Pure logic on a caller-supplied clock (`now` arguments), so tests can drive
it with fake time.

The miner's share count over a sliding window is compared with what the
aimed rate predicts (a Poisson count with mean lam).  The difficulty moves
only when the count is both far off in ratio (more than 2x either way) and
statistically far off (more than Z standard deviations), so a steady miner
is left alone while a miner 1000x off is corrected after a handful of shares
(too fast) or within a minute of silence (too slow).  The new difficulty
scales by the measured ratio in one step.

The network ceiling.  Normally a share is never worth more than a block: the
difficulty is capped at the network's block difficulty (in share units), or
a miner would keep quiet about hashes that are blocks but not shares.  When
the network difficulty is below the pool's share floor (the configured
minimum) the cap is not applied at all: the floor and the aimed share rate
win.  That is the real GXC testnet, fixed at D = 1, where
one hash in 16 is a block (3.7e-9 in sha256d units): capped there, a CPU
miner sends thousands of shares a second and every one is a block candidate
for the same height (spec/gxc-node.md 6.1).  The chain takes one block per
height anyway, so nothing is lost by asking for fewer, harder shares: every
share is still a block candidate, the share rate stays at the aim, and the
pool submits at most one block per height (node/submitter.py).  A miner's
own floor (suggest_difficulty, minimum-difficulty) never lifts the cap: at
D = 6 it would make the miner's software keep quiet about blocks.
"""
import math
from collections import deque

Z = 4.0                 # standard deviations a count must be off before acting
MIN_FAST_SHARES = 8     # shares needed to call a miner too fast
WINDOW_INTERVALS = 4    # the window spans at most this many retarget intervals


def tidy(difficulty):
    """Three significant digits for computed difficulties: readable numbers,
    no churn from noise.  Values a miner asked for are kept exactly."""
    return float("%.3g" % difficulty)


class VarDiff:
    def __init__(self, *, start, minimum, maximum, shares_per_minute, retarget_interval, now):
        self.minimum = minimum
        self.maximum = maximum
        self.floor = minimum           # raised by suggest_difficulty / minimum-difficulty
        self.ceiling = math.inf        # the network's block difficulty (see the module docstring)
        self.rate = shares_per_minute / 60.0
        self.interval = retarget_interval
        self.fixed = False             # a password d=N pins the difficulty
        self._times = deque()
        self._since = now
        self.difficulty = self._clamp(start)

    # ------------------------------------------------------------ limits

    @property
    def ceiling_applies(self):
        """False when the network is below the share floor (module docstring)."""
        return self.ceiling >= self.minimum

    def _clamp(self, difficulty):
        d = min(max(difficulty, self.floor, self.minimum), self.maximum)
        if d > self.ceiling and self.ceiling_applies:
            d = self.ceiling           # never ask for more than a block
        return d

    def _change(self, difficulty, now):
        new = self._clamp(difficulty)
        self._times.clear()
        self._since = now
        if new == self.difficulty:
            return None
        self.difficulty = new
        return new

    def set_ceiling(self, ceiling, now):
        """The network's block difficulty in share units (every job brings
        it); returns a new difficulty if the current one must follow it."""
        self.ceiling = ceiling
        if self._clamp(self.difficulty) != self.difficulty:
            return self._change(self.difficulty, now)
        return None                    # unchanged: the evidence window is kept

    def set_limits(self, *, minimum, maximum, shares_per_minute, retarget_interval, now):
        """The operator's limits changed (configuration reload).  A miner's own
        floor is kept within the new bounds; returns a new difficulty if the
        current one falls outside them."""
        self.minimum, self.maximum = minimum, maximum
        self.floor = max(minimum, min(self.floor, maximum))
        self.rate = shares_per_minute / 60.0
        self.interval = retarget_interval
        if self._clamp(self.difficulty) != self.difficulty:
            return self._change(self.difficulty, now)
        return None

    def suggest(self, difficulty, now):
        """The miner asked for this difficulty (mining.suggest_difficulty):
        use it now and do not go below it later."""
        self.floor = max(self.minimum, min(difficulty, self.maximum))
        return self._change(difficulty, now)

    def set_minimum(self, difficulty, now):
        """BIP 310 minimum-difficulty: a floor only."""
        self.floor = max(self.minimum, min(difficulty, self.maximum))
        if self.difficulty < self.floor:
            return self._change(self.floor, now)
        return None

    def fix(self, difficulty, now):
        """A static difficulty (password option d=N): vardiff stops."""
        self.fixed = True
        return self._change(difficulty, now)

    # ------------------------------------------------------------ decisions

    def on_share(self, now):
        """An accepted share; returns the new difficulty or None."""
        self._times.append(now)
        return self._evaluate(now)

    def on_tick(self, now):
        """Called periodically so a miner that stopped sending is noticed."""
        return self._evaluate(now)

    def _evaluate(self, now):
        if self.fixed:
            return None
        start = max(self._since, now - WINDOW_INTERVALS * self.interval)
        while self._times and self._times[0] < start:
            self._times.popleft()
        span = now - start
        if span <= 0:
            return None
        count = len(self._times)
        if count < MIN_FAST_SHARES and span < self.interval:
            return None                 # too little evidence either way
        expected = self.rate * span
        spread = math.sqrt(expected)
        too_fast = count > 2 * expected and count - expected > Z * spread
        too_slow = count < expected / 2 and expected - count > Z * spread
        if not (too_fast or too_slow):
            return None
        # half a share stands in for zero: a silent miner drops 2/expected-fold
        return self._change(tidy(self.difficulty * max(count, 0.5) / expected), now)
