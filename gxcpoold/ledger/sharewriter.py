"""ShareWriter: the database-backed ShareSink (journal, batches, spill, replay).

add_share() appends the share to the journal (spill.py: one write() to the
OS, so it survives a SIGKILL before the miner hears `true`) and keeps a copy
in memory.  Every flush_interval seconds, or when batch_size shares are
waiting, the journal file is sealed and fsynced, and its shares are written
to the database in one transaction that records the file's id; the file is
then removed.  If the database refuses (down, locked, full), sealed files
stay on disk and are replayed, oldest first, once it takes writes again;
meanwhile the live file is only fsynced at each interval, and sealed when it
reaches MAX_FILE_BYTES.  stopService seals and writes everything it can.
"""
import collections
import os
import shutil
import threading
import time

from sqlalchemy import delete, exc as sa_exc, insert, select
from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

from gxcpoold.durable import fsync_directory, unlink_if_present
from gxcpoold.events import EventHub
from gxcpoold.ledger.schema import spill_replays
from gxcpoold.ledger.sharestore import ShareStore, prune_stats
from gxcpoold.ledger.spill import (READY_SUFFIX, Sealed, ShareJournal,
                                   read_spill, seal_durably)

PRUNE_EVERY = 600.0               # seconds between statistics pruning passes
REFUSED_SUFFIX = ".refused-"      # a sealed file the database refused (not an outage)
# Exceptions that mean "the database is not there" rather than "it refused these rows".
OUTAGE_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
                 sa_exc.TimeoutError, OSError)
MAX_QUEUED = 4                    # sealed files kept in memory while the database is slow
MAX_FILE_BYTES = 64 << 20         # a journal file is sealed at this size even during an outage
REPORT_FIRST_BYTES = 64 << 20     # journal waiting for the database: warn at 64 MB, 128 MB, ...


class ShareWriter(Service):
    name = "shares"
    log = Logger()

    def __init__(self, db, *, spill_path, batch_size=5000, flush_interval=1.0,
                 stats_retention=7 * 86400.0, clock=None, events=None):
        self.db = db
        self.clock = clock or db.reactor
        self.events = events if events is not None else EventHub(self.clock)
        self.last_write_seconds = None   # how long the last batch took to commit
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.stats_retention = stats_retention
        self.journal = ShareJournal(spill_path)
        self.store = ShareStore()
        self.live = []              # copy of the live file's shares; None once dropped
        self.queue = collections.deque(Sealed(p, None, None) for p in self.journal.pending())
        self.unjournaled = []       # shares the journal could not take (disk full)
        self.written = 0            # shares committed to the database by this writer
        self.spilled = 0            # shares that waited on disk for the database
        self.db_ok = True
        self.recovery_observers = []   # called when the database takes writes again
        self._removed_ids = []      # ids of files removed (durably): their rows can go
        self._lock = defer.DeferredLock()
        self._loop = None
        self._last_prune = 0.0
        self._journal_error = None
        self._next_report = REPORT_FIRST_BYTES
        self._io = None             # one thread for journal fsyncs, in order
        self._io_trigger = None

    # -- ShareSink ----------------------------------------------------------

    def add_share(self, share) -> None:
        try:
            self.journal.append(share)
        except OSError as e:
            self._cannot_journal(e)
            self.unjournaled.append(share)
            self._seal_after_error()
            return
        if self._journal_error is not None:
            self._journal_error = None
            self.log.info("share journal {path} writable again", path=self.journal.path)
        if self.live is not None:
            self.live.append(share)
        if (self.journal.records >= self.batch_size and self.db_ok
                and not self._lock.locked and self.running):
            self.flush()

    def _seal_after_error(self):
        """A failed write may have left half a line: seal the file there, so the
        half line is a torn last line (dropped) and the next share starts a new file."""
        j = self.journal
        if j.live_fd is None:
            return
        try:
            path, file_id, fd = j.seal()
        except OSError:
            return
        self.queue.append(Sealed(path, file_id, self.live))
        self.live = []
        self._io_run(seal_durably, fd, j.directory).addErrback(
            lambda f: self._cannot_journal(f.value))

    def _cannot_journal(self, error):
        if self._journal_error is None:
            self._journal_error = str(error)
            self.log.critical("cannot write the share journal {path} ({error}): accepted "
                              "shares are only in memory until it can (free disk space)",
                              path=self.journal.path, error=error)

    # -- service ------------------------------------------------------------

    def _io_run(self, fn, *args):
        if self._io is None:
            self._io = _JournalThread(minthreads=1, maxthreads=1, name="gxcpool-journal")
            self._io.start()
            self._io_trigger = self.db.reactor.addSystemEventTrigger(
                "during", "shutdown", self._stop_io)
        return deferToThreadPool(self.db.reactor, self._io, fn, *args)

    def _stop_io(self):
        pool, self._io = self._io, None
        if pool is not None:
            pool.stop()

    def startService(self):
        super().startService()
        if self.queue:
            self.log.info("{count} share journal file(s) from an earlier run to write",
                          count=len(self.queue))
        self._loop = LoopingCall(self._tick)
        self._loop.clock = self.clock
        self._loop.start(self.flush_interval, now=bool(self.queue)).addErrback(
            lambda f: self.log.failure("share writer loop stopped", f))

    @defer.inlineCallbacks
    def stopService(self):
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        yield self.flush()
        sealed = self.journal.close()
        if sealed is not None:       # shares that arrived during the last write
            yield self._io_run(seal_durably, sealed[2], self.journal.directory)
            self.queue.append(Sealed(sealed[0], sealed[1], self.live))
            self.live = []
            yield self._lock.run(self._drain)
        if self._io is not None:
            self._stop_io()
            try:
                self.db.reactor.removeSystemEventTrigger(self._io_trigger)
            except (ValueError, KeyError, TypeError):
                pass

    def _tick(self):
        # Returns nothing: the next tick must come on time even if the database
        # hangs, so the journal is fsynced every interval whatever happens.
        if self._lock.locked:
            self._make_durable().addErrback(lambda f: self._cannot_journal(f.value))
            return
        d = self.flush()
        d.addErrback(lambda f: self.log.failure("share journal write failed", f))
        now = time.time()
        if now - self._last_prune >= PRUNE_EVERY and self.db_ok:
            self._last_prune = now
            d.addCallback(lambda _: self.db.run(prune_stats, now - self.stats_retention))
            d.addErrback(lambda f: self.log.warn("statistics pruning failed: {e}",
                                                 e=short_error(f.value)))

    # -- flushing -------------------------------------------------------------

    def flush(self) -> defer.Deferred:
        """Seal and fsync the journal, then write what waits; fires when done
        (every share added before the call is then in the database, or durably
        on disk if the database refused, or the database is slow)."""
        return self._lock.run(self._flush, self._make_durable())

    def _make_durable(self):
        try:
            return self._seal_or_sync()
        except OSError as e:
            self._cannot_journal(e)
            return defer.succeed(None)

    def _seal_or_sync(self):
        j = self.journal
        if j.records == 0 or j.live_fd is None:
            return defer.succeed(None)
        if (self.db_ok and len(self.queue) < MAX_QUEUED) or j.size >= MAX_FILE_BYTES:
            path, file_id, fd = j.seal()
            self.queue.append(Sealed(path, file_id, self.live))
            self.live = []
            return self._io_run(seal_durably, fd, j.directory)
        # The database is away (or slow): keep appending to one file, durably;
        # its shares are read back from disk when it is replayed.
        self.live = None
        self._report_growth()
        return self._io_run(os.fsync, j.live_fd)

    @defer.inlineCallbacks
    def _flush(self, durable):
        try:
            yield durable
        except OSError as e:
            self._cannot_journal(e)
        yield self._drain()
        if self.db_ok and self.live is None and self.journal.records:
            # The database came back during this flush: the outage's live file too.
            try:
                yield self._make_durable()
            except OSError as e:
                self._cannot_journal(e)
            yield self._drain()

    @defer.inlineCallbacks
    def _drain(self):
        if self.unjournaled:
            batch, self.unjournaled = self.unjournaled, []
            ok = yield self.db.in_thread(self._write, Sealed(None, None, batch))
            if not ok:
                self.unjournaled[:0] = batch
                return
        while self.queue:
            before, started = self.written, time.monotonic()
            ok = yield self.db.in_thread(self._write, self.queue[0])
            if not ok:
                return
            self.queue.popleft()
            self.last_write_seconds = time.monotonic() - started
            self.events.publish("shares.written", count=self.written - before,
                                seconds=self.last_write_seconds)

    def _write(self, item):
        """On the database thread: one sealed file (or unjournaled batch) in one
        transaction with its id; True when the database has it."""
        dropped = 0
        file_id, records = item.file_id, item.records
        if item.path is not None and (records is None or file_id is None):
            try:
                file_id, records, dropped = read_spill(item.path)
            except FileNotFoundError:
                self.log.error("share journal file {path} vanished before it was written",
                               path=item.path)
                return True
        removed = list(self._removed_ids)

        def write(connection):
            if file_id is not None:
                done = connection.execute(select(spill_replays.c.file_id).where(
                    spill_replays.c.file_id == file_id)).first()
                if done:
                    return 0, ({}, {})
            mappings = self.store.write(connection, records) if records else ({}, {})
            if file_id is not None:
                connection.execute(insert(spill_replays).values(
                    file_id=file_id, shares=len(records), replayed_at=time.time()))
            if removed:
                connection.execute(delete(spill_replays).where(
                    spill_replays.c.file_id.in_(removed)))
            return len(records), mappings
        try:
            count, mappings = self.db.run_sync(write)
        except OUTAGE_ERRORS as e:     # the database is away; the shares are on disk
            self.store.forget()
            if self.db_ok:
                self.log.error("database write failed ({error}); shares wait in {path}* "
                               "until it is back", error=short_error(e), path=self.journal.path)
                self.db_ok = False
            if not item.failed:
                item.failed = True
                self.spilled += len(records)
            return False
        except Exception as e:     # it refused these shares: never let them block the rest
            self.store.forget()
            return self._refused(item, records, e)
        self.store.remember(mappings)
        del self._removed_ids[:len(removed)]
        self.written += count
        if item.path is not None:
            unlink_if_present(item.path)
            # The removal must be durable before the id row may go (next batch).
            fsync_directory(self.journal.directory)
            self._removed_ids.append(file_id)
        if dropped:
            self.log.warn("{path}: {dropped} unreadable line(s) dropped (torn by a crash)",
                          path=item.path, dropped=dropped)
        if not self.db_ok:
            self.db_ok = True
            self._next_report = REPORT_FIRST_BYTES
            self.log.info("database writable again; replayed shares from the journal")
            self.db.reactor.callFromThread(self._recovered)
        elif item.records is None and item.path is not None:
            self.log.info("replayed {count} journaled shares from {path}", count=count,
                          path=item.path)
        return True

    def _refused(self, item, records, error):
        if item.path is None:
            self.log.error("the database refused {count} shares the journal could not take "
                           "({error}); they are lost", count=len(records),
                           error=short_error(error))
            return True
        kept = item.path.replace(READY_SUFFIX, REFUSED_SUFFIX)
        os.replace(item.path, kept)
        self.log.error("the database refused the shares of {path} ({error}); the file is kept "
                       "as {kept} for inspection and the next files are written",
                       path=item.path, error=short_error(error), kept=kept)
        return True

    def _recovered(self):
        for observer in list(self.recovery_observers):
            observer()

    def _report_growth(self):
        waiting = self.journal.size + sum(_size(s.path) for s in self.queue)
        if waiting < self._next_report:
            return
        while self._next_report <= waiting:
            self._next_report *= 2
        free = shutil.disk_usage(self.journal.directory).free
        self.log.warn("share journal holds {mb} MB waiting for the database; {free} MB free "
                      "on {path}", mb=waiting >> 20, free=free >> 20, path=self.journal.directory)


class _JournalThread(ThreadPool):
    """A daemon thread: a writer nobody stopped (a test, a failed start) must
    not keep the process alive; a running pool stops it in stopService."""

    @staticmethod
    def threadFactory(*args, **kw):
        return threading.Thread(*args, daemon=True, **kw)


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def short_error(error) -> str:
    """The first line of an error, for a one-line log message."""
    return (str(error).splitlines() or ["?"])[0][:300]
