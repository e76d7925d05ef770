"""A few seconds' cache in front of the read model.

A thousand dashboards asking for the pool's figures every few seconds must
cost the database one query per figure per few seconds, not a thousand:
the first caller starts the read, callers meanwhile share its Deferred, and
its answer serves everyone until it is `ttl` seconds old.  A failed read is
not kept.
"""
from twisted.internet import defer

DEFAULT_TTL = 2.0
# Reads whose figures only move once a minute (ledger/queries.py counts whole
# minutes) and cost the most: kept longer.  The 24 h leaderboard over 1.4 M
# statistics rows takes 0.7 s on SQLite.
SLOW_READS = {"leaderboard": 30.0, "hashrate_series": 30.0}
MAX_ENTRIES = 4096           # distinct argument tuples kept (a miner page per address)


class ReadCache:
    def __init__(self, ctx, ttl=DEFAULT_TTL):
        self.ctx = ctx
        self.ttl = ttl
        self._entries = {}       # key -> (time, value)
        self._pending = {}       # key -> [Deferred waiting]

    def read(self, fn, *args, ttl=None):
        """ctx.read(fn, *args), or its answer of less than ttl seconds ago."""
        key = (fn, args)
        now = self.ctx.clock.seconds()
        if ttl is None:
            ttl = SLOW_READS.get(getattr(fn, "__name__", ""), self.ttl)
        found = self._entries.get(key)
        if found is not None and now - found[0] < ttl:
            return defer.succeed(found[1])
        waiting = self._pending.get(key)
        d = defer.Deferred()
        if waiting is not None:
            waiting.append(d)
            return d
        self._pending[key] = [d]
        self.ctx.read(fn, *args).addCallbacks(self._done, self._failed,
                                              callbackArgs=(key, now), errbackArgs=(key,))
        return d

    def _done(self, value, key, started):
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (started, value)
        for d in self._pending.pop(key, []):
            d.callback(value)

    def _failed(self, failure, key):
        for d in self._pending.pop(key, []):
            d.errback(failure)
