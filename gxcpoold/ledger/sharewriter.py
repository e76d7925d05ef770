"""ShareWriter: the database-backed ShareSink (batches, spill, replay).

add_share() only appends to a list.  A batch is written when it reaches
batch_size or every flush_interval seconds, one transaction per batch, one
batch at a time.  If the database refuses (down, locked, full), the batch is
appended to the spill file instead and the file is replayed, in one
transaction, once a write succeeds again.  stopService flushes everything.
"""
import os
import time

from sqlalchemy import insert, select
from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from gxcpoold.ledger.schema import spill_replays
from gxcpoold.ledger.sharestore import ShareStore, prune_stats
from gxcpoold.ledger.spill import SpillFile, read_spill

PRUNE_EVERY = 600.0          # seconds between statistics pruning passes


class ShareWriter(Service):
    name = "shares"
    log = Logger()

    def __init__(self, db, *, spill_path, batch_size=5000, flush_interval=1.0,
                 stats_retention=7 * 86400.0, clock=None):
        self.db = db
        self.clock = clock or db.reactor
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.stats_retention = stats_retention
        self.spill = SpillFile(spill_path)
        self.store = ShareStore()
        self.buffer = []
        self.written = 0            # shares committed to the database by this writer
        self.spilled = 0            # shares that went to the spill file
        self.db_ok = True
        self._lock = defer.DeferredLock()
        self._loop = None
        self._last_prune = 0.0

    # -- ShareSink ----------------------------------------------------------

    def add_share(self, share) -> None:
        self.buffer.append(share)
        if len(self.buffer) >= self.batch_size and not self._lock.locked:
            self.flush()

    # -- service ------------------------------------------------------------

    def startService(self):
        super().startService()
        self._loop = LoopingCall(self._tick)
        self._loop.clock = self.clock
        self._loop.start(self.flush_interval, now=False).addErrback(
            lambda f: self.log.failure("share writer loop stopped", f))

    def stopService(self):
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        return self.flush()

    def _tick(self):
        d = self.flush()
        now = time.time()
        if now - self._last_prune >= PRUNE_EVERY:
            self._last_prune = now
            d.addCallback(lambda _: self.db.run(prune_stats, now - self.stats_retention))
            d.addErrback(lambda f: self.log.warn("statistics pruning failed: {e}",
                                                 e=f.getErrorMessage()))
        return d

    # -- flushing -------------------------------------------------------------

    def flush(self) -> defer.Deferred:
        """Write everything buffered, then replay any spill; fires when done
        (shares are then in the database or durably in the spill file)."""
        return self._lock.run(self._flush)

    @defer.inlineCallbacks
    def _flush(self):
        while self.buffer:
            batch, self.buffer = self.buffer[:self.batch_size], self.buffer[self.batch_size:]
            yield self.db.in_thread(self._write_or_spill, batch)
        if self.db_ok and self.spill.has_pending():
            yield self.db.in_thread(self._replay)

    def _write_or_spill(self, batch):
        """On the database thread: one transaction, or the spill file."""
        try:
            mappings = self.db.run_sync(self.store.write, batch)
        except Exception as e:     # whatever the database said, the shares must survive
            self.spill.append(batch)
            self.spilled += len(batch)
            if self.db_ok:
                self.log.error("database write failed ({error}); spilling shares to {path}",
                               error=_short(e), path=self.spill.path)
            self.db_ok = False
            self.store.forget()
            return
        self.store.remember(mappings)
        self.written += len(batch)
        if not self.db_ok:
            self.log.info("database writable again; replaying spilled shares")
        self.db_ok = True

    def _replay(self):
        """On the database thread: each sealed spill file in one transaction."""
        for path in self.spill.pending():
            file_id, records = read_spill(path)

            def replay(connection):
                done = connection.execute(select(spill_replays.c.file_id).where(
                    spill_replays.c.file_id == file_id)).first()
                if done:
                    return 0, ({}, {})
                mappings = self.store.write(connection, records) if records else ({}, {})
                connection.execute(insert(spill_replays).values(
                    file_id=file_id, shares=len(records), replayed_at=time.time()))
                return len(records), mappings
            try:
                count, mappings = self.db.run_sync(replay)
            except Exception as e:
                self.log.error("replaying {path} failed ({error}); will retry",
                               path=path, error=_short(e))
                self.db_ok = False
                self.store.forget()
                return
            self.store.remember(mappings)
            self.written += count
            os.unlink(path)
            self.log.info("replayed {count} spilled shares from {path}", count=count, path=path)


def _short(error) -> str:
    return str(error).splitlines()[0][:300]
