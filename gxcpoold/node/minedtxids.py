"""The mempool transactions the node already mined, kept across restarts.

The node never drops a mined transaction from its mempool: it lingers in
every later template until it expires, and a block that includes it again
fails "Block validation failed" (spec/gxc-node.md 3.9 point 4, defect 6).
The pool remembers the txids it got mined and leaves them out of its jobs.
Kept only in memory, that memory was lost at every restart and the first
block after it failed and had to be resubmitted; so the set lives in a small
JSON file in the state directory, replaced atomically after each change.

A txid matters only while it can still be in the mempool: it expires
`mempool_expiry` seconds after it was created, which is before it was mined,
so entries older than that (plus a margin) are dropped, and the file stays
small whatever the uptime.
"""
import json

from twisted.internet import defer, threads
from twisted.logger import Logger

from gxcpoold.durable import write_atomically

FILE_NAME = "mined-txids.json"
MARGIN = 600.0            # seconds kept beyond the node's mempool expiry (clock skew, slow expiry)
LIMIT = 10_000            # txids at most; the oldest go first


class MinedTxids:
    """A set of txids (`in`, `update`, `len`) remembered with when they were mined."""

    log = Logger()

    def __init__(self, path, *, clock, mempool_expiry=3600.0, limit=LIMIT, run_in_thread=None):
        """path: the JSON file (None: memory only).  run_in_thread(fn, *args)
        -> Deferred runs the file write off the reactor thread."""
        self.path = path
        self.clock = clock
        self.keep_for = mempool_expiry + MARGIN
        self.limit = limit
        self._run = run_in_thread or threads.deferToThread
        self._mined = {}                  # txid -> time it was mined, oldest first
        self._saving = None               # the write in progress
        self._dirty = False
        self._failing = False

    def __contains__(self, txid):
        return txid in self._mined

    def __len__(self):
        return len(self._mined)

    def __iter__(self):
        return iter(self._mined)

    def update(self, txids):
        now = self.clock.seconds()
        new = [t for t in txids if isinstance(t, str) and t and t not in self._mined]
        if not new:
            return
        for txid in new:
            self._mined[txid] = now
        self._expire(now)
        self.save()

    def _expire(self, now):
        cutoff = now - self.keep_for
        for txid in [t for t, at in self._mined.items() if at < cutoff]:
            del self._mined[txid]
        while len(self._mined) > self.limit:
            del self._mined[next(iter(self._mined))]

    # ------------------------------------------------------------ the file

    def load(self):
        """Read the file (missing or unreadable: start empty, with one line saying why)."""
        if self.path is None:
            return
        try:
            with open(self.path, "rb") as f:
                entries = json.loads(f.read())
            if not isinstance(entries, dict):
                raise ValueError("not a JSON object")
            loaded = sorted((float(at), str(txid)) for txid, at in entries.items())
        except FileNotFoundError:
            return
        except (OSError, ValueError, TypeError) as e:
            self.log.warn("ignoring {path}: {error}; mined mempool transactions are learnt "
                          "again from the node's answers", path=self.path, error=e)
            return
        self._mined = {txid: at for at, txid in loaded}
        self._expire(self.clock.seconds())
        if self._mined:
            self.log.info("{n} mined mempool transaction(s) remembered from {path}",
                          n=len(self._mined), path=self.path)

    def save(self):
        """Write the current set soon; one write at a time, the latest set wins.
        Returns a Deferred firing when the file holds it."""
        self._dirty = True
        if self.path is None:
            return defer.succeed(None)
        if self._saving is None:
            saving = self._save_loop()
            if saving.called:
                return defer.succeed(None)    # written already (a synchronous runner)
            self._saving = saving
        waiter = defer.Deferred()
        self._saving.addBoth(lambda result: (waiter.callback(None), result)[1])
        return waiter

    @defer.inlineCallbacks
    def _save_loop(self):
        try:
            while self._dirty:
                self._dirty = False
                data = json.dumps(self._mined, separators=(",", ":")).encode()
                try:
                    yield self._run(write_atomically, self.path, data)
                except Exception as e:
                    if not self._failing:
                        self._failing = True
                        self.log.warn("cannot write {path} ({error!r}): a restart will retry "
                                      "mined mempool transactions once", path=self.path, error=e)
                    return
                self._failing = False
        finally:
            self._saving = None
