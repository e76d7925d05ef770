"""What the pool counts for its metrics, at next to no cost where it counts.

The figures live with the objects that produce them (a Stratum port counts
its refusals and times its checks, the node client times its calls) as
plain ints and lists; /metrics (gxcpoold/web/metrics.py) reads them when
scraped.  No Prometheus object is touched on the share path: a labelled
Prometheus counter costs microseconds per increment, and a sha256d share
costs the pool about 45 in all.  Everything here runs on the reactor thread.
"""
from bisect import bisect_left

from gxcpoold.stratum import errors

# Share check times: microseconds (sha256d inline, ethash with a DAG) up to
# seconds (gxhash, an ethash light cache being built).
CHECK_BUCKETS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025,
                 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Node calls and share batch commits: a millisecond to the node's timeout.
RPC_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
               10.0, 30.0)
WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                 10.0, 30.0, 60.0)

# An inline check (sha256d) is timed once in this many: reading the clock
# twice per share would cost more than the figure is worth.  A pooled check
# (milliseconds at least) is timed every time.
INLINE_SAMPLE_EVERY = 64

# Why a share was refused, by Stratum error code (gxcpoold/stratum/errors.py).
# "busy" and "malformed" are told apart by type, not code (both are 20).
REJECT_REASONS = {
    errors.JOB_NOT_FOUND: "stale",
    errors.DUPLICATE: "duplicate",
    errors.LOW_DIFFICULTY: "low_difficulty",
    errors.UNAUTHORIZED: "unauthorized",
    errors.NOT_SUBSCRIBED: "not_subscribed",
}
BUSY, MALFORMED, OTHER = "busy", "malformed", "other"
ALL_REASONS = tuple(REJECT_REASONS.values()) + (BUSY, MALFORMED, OTHER)
# The requests that carry a share, in every dialect: a malformed one is a refused share.
SHARE_METHODS = frozenset({"mining.submit", "eth_submitWork"})


def reject_reason(error) -> str:
    """The reason label of a refused share's StratumError (not MalformedRequest:
    the session counts those where it learns of them, session.malformed)."""
    if isinstance(error, errors.Busy):
        return BUSY
    return REJECT_REASONS.get(error.code, OTHER)


class Timings:
    """A histogram of durations in seconds: counts per bucket (upper bounds
    inclusive, as Prometheus reads them), the sum, the count."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds):
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)     # the last one: above every bound
        self.sum = 0.0

    def observe(self, seconds):
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.sum += seconds

    @property
    def count(self):
        return sum(self.counts)

    def cumulative(self):
        """[(upper bound, observations at or below it)...], +Inf last."""
        out, total = [], 0
        for bound, n in zip(self.bounds + (float("inf"),), self.counts):
            total += n
            out.append((bound, total))
        return out


class TimingsByKey(dict):
    """key (e.g. an RPC method) -> Timings, made on first use."""

    def __init__(self, bounds):
        super().__init__()
        self.bounds = tuple(bounds)

    def observe(self, key, seconds):
        timings = self.get(key)
        if timings is None:
            timings = self[key] = Timings(self.bounds)
        timings.observe(seconds)
