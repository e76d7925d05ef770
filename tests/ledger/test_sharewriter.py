"""Share writer: batches, flush on stop, spill while the database refuses, exact replay."""
import os
import sqlite3
import tempfile

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from twisted.internet import defer

from gxcpoold.ledger import spill as spill_module
from gxcpoold.ledger.db import Database
from gxcpoold.ledger.schema import miners, shares, spill_replays, stats, workers
from gxcpoold.ledger.sharewriter import ShareWriter
from tests.ledger.dbtest import each_backend, trial_database
from tests.ledger.factories import share


def count_shares(db):
    return db.run_sync(lambda c: c.execute(select(func.count()).select_from(shares)).scalar())


def share_hashes(db):
    return db.run_sync(lambda c: sorted(r[0] for r in c.execute(select(shares.c.hash))))


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
            self.assertTrue(os.path.exists(self.spill_path))
        finally:
            locker()
        late = [share() for _ in range(20)]
        for r in late:
            w.add_share(r)
        await w.flush()
        self.assertTrue(w.db_ok)
        self.assertFalse(w.spill.has_pending())
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

    async def test_a_replayed_file_is_never_inserted_twice(self):
        w = self.writer()
        spill = spill_module.SpillFile(self.spill_path)
        records = [share() for _ in range(5)]
        spill.append(records)
        file_id, _ = spill_module.read_spill(self.spill_path)
        await w.flush()
        self.assertEqual(count_shares(self.db), 5)
        # A crash after the commit but before the file was deleted: the file is back.
        spill.append(records)
        with open(self.spill_path) as f:
            lines = f.read().splitlines()
        with open(self.spill_path, "w") as f:
            f.write('{"gxcpool-spill": "%s"}\n' % file_id + "\n".join(lines[1:]) + "\n")
        await w.flush()
        self.assertEqual(count_shares(self.db), 5)
        self.assertFalse(w.spill.has_pending())
        self.assertEqual(self.db.run_sync(
            lambda c: c.execute(select(func.count()).select_from(spill_replays)).scalar()), 1)


globals().update(each_backend(ShareWriterMixin))


def test_a_torn_last_line_is_dropped(tmp_path):
    path = tmp_path / "s.spill"
    spill = spill_module.SpillFile(path)
    spill.append([share(), share()])
    with open(path, "a") as f:
        f.write('{"time": 1.0, "algor')
    _, records = spill_module.read_spill(path)
    assert len(records) == 2
