"""Share writer: batches, flush on stop, spill while the database refuses, exact replay."""
import dataclasses
import json
import os
import shutil
import sqlite3
import tempfile

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from twisted.internet import defer

from gxcpoold.ledger import spill as spill_module
from gxcpoold.ledger.db import Database
from gxcpoold.ledger.schema import miners, shares, spill_replays, stats, workers
from gxcpoold.ledger import sharewriter as sharewriter_module
from gxcpoold.ledger.sharewriter import ShareWriter
from tests.ledger.dbtest import each_backend, trial_database
from tests.ledger.factories import share


def count_shares(db):
    return db.run_sync(lambda c: c.execute(select(func.count()).select_from(shares)).scalar())


def share_hashes(db):
    return db.run_sync(lambda c: sorted(r[0] for r in c.execute(select(shares.c.hash))))


class _Recorder:
    """A Logger stand-in keeping (format, fields) of warnings."""

    def __init__(self, into):
        self.into = into

    def warn(self, fmt, **kw):
        self.into.append((fmt, kw))

    def __getattr__(self, name):
        return lambda *a, **kw: None


class ShareWriterMixin:
    backend = "sqlite"

    def setUp(self):
        self.db = trial_database(self, self.backend)
        self.spill_path = os.path.join(tempfile.mkdtemp(), "shares.spill")

    def writer(self, db=None, **kw):
        kw.setdefault("batch_size", 100)
        kw.setdefault("flush_interval", 3600.0)     # tests flush by hand
        w = ShareWriter(db or self.db, spill_path=self.spill_path, **kw)
        w.startService()
        self.addCleanup(lambda: w.running and w.stopService())
        return w

    async def test_batches_are_written_with_statistics(self):
        w = self.writer()
        records = [share(miner=i % 7, worker="w%d" % (i % 3), work=10 + i) for i in range(250)]
        for r in records:
            w.add_share(r)
        await w.flush()
        self.assertEqual(count_shares(self.db), 250)
        self.assertEqual(w.written, 250)
        total = self.db.run_sync(lambda c: c.execute(select(func.sum(stats.c.work),
                                                            func.sum(stats.c.shares))).one())
        self.assertEqual((int(total[0]), total[1]), (sum(r.work for r in records), 250))
        self.assertEqual(self.db.run_sync(
            lambda c: c.execute(select(func.count()).select_from(miners)).scalar()), 7)
        self.assertEqual(self.db.run_sync(
            lambda c: c.execute(select(func.count()).select_from(workers)).scalar()), 21)

    async def test_a_full_batch_is_written_without_waiting_for_the_timer(self):
        w = self.writer(batch_size=10)
        for _ in range(10):
            w.add_share(share())
        await w._lock.run(lambda: None)        # wait for the batch the 10th share started
        self.assertEqual(count_shares(self.db), 10)

    async def test_clean_stop_flushes_everything(self):
        w = self.writer(batch_size=1000)
        for _ in range(37):
            w.add_share(share())
        await w.stopService()
        self.assertEqual(count_shares(self.db), 37)

    async def test_unavailable_database_spills_and_replay_loses_nothing(self):
        # A second handle on the same database whose writes fail fast while
        # another session holds a lock: the realistic "database locked".
        url = self.db.url
        blocked = Database(url, engine_kw=self._fail_fast_kw())
        self.addCleanup(blocked.close)
        w = self.writer(db=blocked)
        first = [share() for _ in range(150)]
        for r in first[:50]:
            w.add_share(r)
        await w.flush()
        locker = self._hold_lock()
        try:
            for r in first[50:]:
                w.add_share(r)
            await w.flush()
            self.assertEqual(w.spilled, 100)
            self.assertFalse(w.db_ok)
            self.assertTrue(w.journal.pending())
        finally:
            locker()
        late = [share() for _ in range(20)]
        for r in late:
            w.add_share(r)
        await w.flush()
        self.assertTrue(w.db_ok)
        self.assertEqual(w.journal.pending(), [])
        self.assertEqual(share_hashes(self.db), sorted(r.hash for r in first + late))

    def _fail_fast_kw(self):
        if self.backend == "sqlite":
            return {"busy_timeout_ms": 100}
        options = make_url(self.db.url).query["options"]
        return {"connect_args": {"options": options + " -clock_timeout=150"}}

    def _hold_lock(self):
        """Lock the database (SQLite) or the shares table (PostgreSQL); returns release()."""
        if self.backend == "sqlite":
            raw = sqlite3.connect(make_url(self.db.url).database, isolation_level=None)
            raw.execute("BEGIN EXCLUSIVE")
            return lambda: (raw.execute("ROLLBACK"), raw.close())
        connection = self.db.engine.connect()
        connection.exec_driver_sql("LOCK TABLE shares IN ACCESS EXCLUSIVE MODE")
        return lambda: (connection.rollback(), connection.close())

    async def test_journal_growth_during_an_outage_is_reported(self):
        self.patch(sharewriter_module, "REPORT_FIRST_BYTES", 4096)
        logs = []
        self.patch(ShareWriter, "log", _Recorder(logs))
        w = self.writer(db=Database(self.db.url, engine_kw=self._fail_fast_kw()))
        self.addCleanup(w.db.close)
        release = self._hold_lock()
        try:
            for _ in range(3):
                for _ in range(40):             # ~7 kB per round
                    w.add_share(share())
                await w.flush()
        finally:
            release()
        growth = [kw for fmt, kw in logs if fmt.startswith("share journal holds")]
        self.assertTrue(growth)
        self.assertLessEqual(len(growth), 3)   # at 4 kB, 8 kB, 16 kB: not every flush
        await w.flush()
        self.assertEqual(count_shares(self.db), 120)

    async def test_a_replayed_file_is_never_inserted_twice(self):
        w = self.writer()
        records = [share() for _ in range(5)]
        for r in records:
            w.add_share(r)
        sealed_copy = self.spill_path + ".copy"
        shutil.copy(self.spill_path, sealed_copy)
        await w.flush()
        self.assertEqual(count_shares(self.db), 5)
        # A crash after the commit but before the file was removed: the file is back.
        os.replace(sealed_copy, self.spill_path + spill_module.READY_SUFFIX + "0-again")
        w.queue.extend(spill_module.Sealed(p, None, None) for p in w.journal.pending())
        await w.flush()
        self.assertEqual(count_shares(self.db), 5)
        self.assertEqual(w.journal.pending(), [])

    async def test_every_share_is_in_the_journal_when_add_share_returns(self):
        w = self.writer()
        records = [share() for _ in range(3)]
        for r in records:
            w.add_share(r)
        # Not flushed: the live file holds them (a SIGKILL now loses nothing).
        with open(self.spill_path) as f:
            lines = f.read().splitlines()
        self.assertEqual([spill_module.decode_share(line) for line in lines[1:]], records)
        self.assertEqual(count_shares(self.db), 0)

    async def test_a_killed_writers_journal_is_replayed_once_at_start(self):
        dead = ShareWriter(self.db, spill_path=self.spill_path, flush_interval=3600.0)
        self.addCleanup(dead._stop_io)
        records = [share() for _ in range(40)]
        for r in records[:25]:
            dead.add_share(r)
        await dead.flush()                     # 25 written; the file is gone
        for r in records[25:]:
            dead.add_share(r)                  # 15 only in the live file: then killed
        with open(self.spill_path, "a") as f:
            f.write('[1700000000.0,"gxh')      # torn by the kill
        w = self.writer()                      # the next process, same state directory
        await w.flush()
        self.assertEqual(share_hashes(self.db), sorted(r.hash for r in records))
        self.assertEqual(w.journal.pending(), [])
        self.assertFalse(os.path.exists(self.spill_path))
        restarted = self.writer()
        await restarted.flush()
        self.assertEqual(count_shares(self.db), 40)

    async def test_shares_the_database_refuses_do_not_block_the_others(self):
        journal = spill_module.ShareJournal(self.spill_path)
        journal.append(share())
        journal.append(dataclasses.replace(share(), worker=None))   # NOT NULL: refused
        bad, _, fd = journal.seal()
        os.close(fd)
        good = [share() for _ in range(4)]
        for r in good:
            journal.append(r)
        os.close(journal.seal()[2])
        w = self.writer()
        await w.flush()
        self.assertTrue(w.db_ok)
        self.assertEqual(share_hashes(self.db), sorted(r.hash for r in good))
        self.assertEqual(w.journal.pending(), [])
        self.assertTrue(os.path.exists(bad.replace(spill_module.READY_SUFFIX,
                                                   sharewriter_module.REFUSED_SUFFIX)))

    async def test_replay_bookkeeping_does_not_grow(self):
        w = self.writer()
        for _ in range(10):
            w.add_share(share())
            await w.flush()
        self.assertEqual(count_shares(self.db), 10)
        self.assertLessEqual(self.db.run_sync(
            lambda c: c.execute(select(func.count()).select_from(spill_replays)).scalar()), 1)


globals().update(each_backend(ShareWriterMixin))


def test_a_torn_last_line_is_dropped(tmp_path):
    path = tmp_path / "s.spill"
    journal = spill_module.ShareJournal(path)
    records = [share(), share()]
    for r in records:
        journal.append(r)
    with open(path, "a") as f:
        f.write('[1700000000.0,"algor')
    file_id, read, dropped = spill_module.read_spill(path)
    assert (file_id, read, dropped) == (journal.file_id, records, 1)


def test_older_spill_lines_are_still_read(tmp_path):
    path = tmp_path / "old.spill"
    record = share()
    path.write_text('{"gxcpool-spill": "abc"}\n%s\n' % json.dumps(dataclasses.asdict(record)))
    assert spill_module.read_spill(path) == ("abc", [record], 0)
