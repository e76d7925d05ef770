"""Block candidates on local disk first, in the database when it takes them.

The block submitter waits for record_candidate() before it sends submitblock,
so that Deferred fires once the candidate is fsynced in its own file under
<state>/blocks/ (not once the database has it: a database outage must not
hold back a block, nor lose one).  Statuses reported later are appended to
the same file.  A sync pass writes each file's candidate and statuses to the
database, crediting accepted blocks through accept_block (PPLNS applies); a
file is removed once the database holds its final status.  While the
database is unavailable the files wait and a pass is retried every
retry_interval: one error line when the outage starts, one info line when
it ends.

File format: line 1 the candidate (JSON object), then one status per line,
[status, reason, unix time]; a torn last line (a crash mid-append) is dropped.
"""
import dataclasses
import glob
import json
import os
import time

from twisted.application.service import Service
from twisted.internet import defer, threads
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from gxcpoold.durable import write_atomically
from gxcpoold.ledger.blocks import (LedgerBlockRecorder, accept_block, insert_candidate,
                                    update_status)
from gxcpoold.ledger.sharewriter import OUTAGE_ERRORS, short_error
from gxcpoold.shares import ACCEPTED, CANDIDATE, REJECTED, BlockCandidate

SUFFIX = ".block"
FINAL_STATUSES = (ACCEPTED, REJECTED)
# A candidate whose outcome stays unknown (node unreachable, process stopped
# mid-submission) is left to the unlocker, which settles it from the chain,
# once the database has held it this long.
SETTLE_AFTER = 600.0


@dataclasses.dataclass
class Entry:
    path: str
    candidate: BlockCandidate
    statuses: list                 # [(status, reason)]
    created: float
    synced: int = -1               # statuses the database has (-1: not even the candidate)
    refused: bool = False          # the database refused it for another reason (logged once)

    @property
    def key(self):
        return (self.candidate.height, self.candidate.hash)

    def pending(self):
        return self.synced < len(self.statuses)

    def finished(self, now):
        if self.pending():
            return False
        last = self.statuses[-1][0] if self.statuses else CANDIDATE
        return last in FINAL_STATUSES or now - self.created >= SETTLE_AFTER


# ------------------------------------------------------------------ the files

def candidate_path(directory, candidate):
    return os.path.join(directory, "%010d-%s%s" % (candidate.height, _safe(candidate.hash), SUFFIX))


def _safe(text):
    return "".join(c for c in str(text)[:128] if c.isalnum()) or "x"


def write_candidate(path, candidate):
    """(thread) Write the candidate's file atomically and durably."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    data = json.dumps(dataclasses.asdict(candidate), separators=(",", ":"), sort_keys=True)
    write_atomically(path, (data + "\n").encode())


def append_status(path, status, reason, when):
    """A plain append (the OS has it: enough for a SIGKILL; the database or
    the chain settles what a power loss takes)."""
    line = json.dumps([status, reason, when], separators=(",", ":")) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def read_candidate(path):
    """(BlockCandidate, [(status, reason)], time of the file) or None if unreadable."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().split("\n")
    except OSError:
        return None
    try:
        candidate = BlockCandidate(**json.loads(lines[0]))
    except (ValueError, TypeError):
        return None
    statuses = []
    for line in lines[1:]:
        if not line:
            continue
        try:
            status, reason, _ = json.loads(line)
        except (ValueError, TypeError):
            continue                       # torn by a crash
        statuses.append((status, reason))
    return candidate, statuses, os.path.getmtime(path)


def write_entry(connection, candidate, statuses, policy, now):
    """(database thread) The candidate and its statuses, in one transaction;
    returns the Split of a block this credited, or None."""
    insert_candidate(connection, candidate, now)
    split = None
    for status, reason in statuses:
        if status == ACCEPTED:
            split = accept_block(connection, candidate.height, candidate.hash, policy, now,
                                 reason) or split
        elif status != CANDIDATE:
            update_status(connection, candidate.height, candidate.hash, status, reason, now)
    return split


# ------------------------------------------------------------------ the recorder

class DurableBlockRecorder(Service):
    """BlockRecorder (gxcpoold.shares): local files first, then the database."""

    name = "block-candidates"
    log = Logger()

    def __init__(self, db, policy, share_writer, directory, *, clock=None, retry_interval=5.0):
        self.db = db
        self.ledger = LedgerBlockRecorder(db, policy, share_writer)
        self.share_writer = share_writer
        self.directory = os.path.abspath(str(directory))
        self.clock = clock or db.reactor
        self.retry_interval = retry_interval
        self.entries = {}              # (height, hash) -> Entry, oldest first
        self._writing = {}             # (height, hash) -> Deferred of the file write
        self.db_ok = True
        self.recovery_observers = []   # called when the database takes writes again
        self.written = 0               # files whose final state reached the database
        self._waiters = []
        self._pass_queued = False
        self._lock = defer.DeferredLock()
        self._loop = None
        self._disk_error = None
        self._load()

    @property
    def policy(self):
        return self.ledger.policy

    @policy.setter
    def policy(self, value):
        self.ledger.policy = value

    def _load(self):
        """Files left by an earlier run (the database may not have them)."""
        pattern = os.path.join(glob.escape(self.directory), "*" + SUFFIX)
        for leftover in glob.glob(pattern + ".tmp-*"):
            os.unlink(leftover)           # never renamed: its record_candidate never fired
        for path in sorted(glob.glob(pattern)):
            loaded = read_candidate(path)
            if loaded is None:
                self.log.error("unreadable block candidate file {path}; left in place",
                               path=path)
                continue
            candidate, statuses, created = loaded
            self.entries[(candidate.height, candidate.hash)] = Entry(path, candidate, statuses,
                                                                     created)
        if self.entries:
            self.log.info("{count} block candidate(s) from an earlier run to write to the "
                          "database", count=len(self.entries))

    # -- BlockRecorder ------------------------------------------------------

    def record_candidate(self, candidate) -> defer.Deferred:
        key = (candidate.height, candidate.hash)
        if key in self.entries or key in self._writing:
            return self._writing.get(key) or defer.succeed(None)
        path = candidate_path(self.directory, candidate)
        d = threads.deferToThreadPool(self.db.reactor, self.db.reactor.getThreadPool(),
                                      write_candidate, path, candidate)
        self._writing[key] = d

        def written(_):
            del self._writing[key]
            self.entries[key] = Entry(path, candidate, [], time.time())
            if self._disk_error is not None:
                self._disk_error = None
                self.log.info("block candidate files can be written to {dir} again",
                              dir=self.directory)
            self._kick()
        d.addCallback(written)
        d.addErrback(self._not_written, key)
        return d

    def _not_written(self, failure, key):
        del self._writing[key]
        if self._disk_error is None:       # once per run of failures (a full disk)
            self._disk_error = failure.getErrorMessage()
            self.log.error("cannot write block candidate {height} {hash} to {dir} ({error}); "
                           "until this is fixed the chain scan is the only record of found "
                           "blocks", height=key[0], hash=key[1], dir=self.directory,
                           error=self._disk_error)
        return failure

    def set_block_status(self, height, hash, status, reason="") -> defer.Deferred:
        key = (height, hash)
        if key in self._writing:
            d = defer.Deferred()
            self._writing[key].addBoth(lambda result: (d.callback(None), result)[1])
            d.addCallback(lambda _: self.set_block_status(height, hash, status, reason))
            return d
        entry = self.entries.get(key)
        if entry is None:
            # record_candidate failed (logged): nothing local to attach it to.
            return defer.succeed(None)
        try:
            append_status(entry.path, status, reason, time.time())
        except OSError as e:
            self.log.error("cannot append status {status} to {path} ({error})",
                           status=status, path=entry.path, error=e)
        entry.statuses.append((status, reason))
        self._kick()
        return defer.succeed(None)

    # -- service ------------------------------------------------------------

    def startService(self):
        super().startService()
        self._loop = LoopingCall(self._retry)
        self._loop.clock = self.clock
        self._loop.start(self.retry_interval, now=True).addErrback(
            lambda f: self.log.failure("block candidate sync loop stopped", f))

    @defer.inlineCallbacks
    def stopService(self):
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        yield self._lock.run(lambda: None)       # let a pass in progress finish

    def _retry(self):
        if any(e.pending() or e.finished(time.time()) for e in self.entries.values()):
            return self.flush()
        return None

    def _kick(self):
        if self.running and self.db_ok:
            self.flush()

    def flush(self) -> defer.Deferred:
        """Fires after a pass that started after this call: every candidate and
        status recorded before it is then in the database, unless it was unavailable."""
        waiter = defer.Deferred()
        self._waiters.append(waiter)
        if not self._pass_queued:
            self._pass_queued = True
            self._lock.run(self._pass_for_waiters)
        return waiter

    @defer.inlineCallbacks
    def _pass_for_waiters(self):
        self._pass_queued = False
        waiters, self._waiters = self._waiters, []
        try:
            yield self._pass()
        except Exception:
            self.log.failure("block candidate sync pass failed")
        finally:
            for waiter in waiters:
                waiter.callback(None)

    @defer.inlineCallbacks
    def _pass(self):
        shares_flushed = False
        for entry in list(self.entries.values()):
            now = time.time()
            if entry.finished(now):
                self._remove(entry)
                continue
            if not entry.pending():
                continue
            statuses = entry.statuses[max(entry.synced, 0):]
            if any(s == ACCEPTED for s, _ in statuses):
                # Crediting needs every share up to the block in the database.
                if not shares_flushed and self.share_writer is not None:
                    yield self.share_writer.flush()
                    shares_flushed = True
                if self.share_writer is not None and not self.share_writer.db_ok:
                    self._outage("the share journal cannot reach it either")
                    return
            done = len(entry.statuses)
            try:
                split = yield self.db.run(write_entry, entry.candidate, statuses,
                                          self.ledger.policy, now)
            except OUTAGE_ERRORS as e:
                self._outage(short_error(e))
                return
            except Exception as e:
                if not entry.refused:
                    entry.refused = True
                    self.log.error("block {height} {hash}: the database refused its record "
                                   "({error}); kept in {path}", height=entry.candidate.height,
                                   hash=entry.candidate.hash, error=short_error(e),
                                   path=entry.path)
                continue
            entry.synced = done
            self._back()
            if split is not None:
                self.log.info("block {height} {hash} credited: {n} accounts, fee {fee}, "
                              "remainder {rem}, window {counted}/{window}",
                              height=entry.candidate.height, hash=entry.candidate.hash,
                              n=len(split.credits), fee=split.fee, rem=split.remainder,
                              counted=split.counted, window=split.window)
            if entry.finished(time.time()):
                self._remove(entry)

    def _remove(self, entry):
        self.entries.pop(entry.key, None)
        self.written += 1
        try:
            os.unlink(entry.path)
        except FileNotFoundError:
            pass

    def _outage(self, reason):
        if self.db_ok:
            self.db_ok = False
            self.log.error("database unavailable ({reason}); block candidates wait in {dir} "
                           "and are written when it is back", reason=reason, dir=self.directory)

    def _back(self):
        if not self.db_ok:
            self.db_ok = True
            waiting = sum(1 for e in self.entries.values() if e.pending())
            self.log.info("database available again; writing {count} waiting block record(s)",
                          count=waiting + 1)
            for observer in list(self.recovery_observers):
                observer()
