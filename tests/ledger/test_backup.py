"""gxcpool-admin db backup / db restore (docs/backups.md).

The first test is the issue's: a real pool (twistd --devnet, reference
miners) writes shares and credits blocks while the backup runs; the backup
restores elsewhere to a ledger whose books add up (gxcpool-admin balances)
and whose rows are a consistent prefix of the live ledger; restore refuses
the running pool; restored over the stopped pool, the next start's chain
scan records the blocks the node accepted after the backup.
"""
import contextlib
import io
import os
import re
import resource
import sqlite3
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest

from gxcpoold.ledger import backup, migrate
from gxcpoold.ledger.admin import main
from gxcpoold.ledger.db import Database
from gxcpoold.ledger.ledgerlock import InUse, LedgerLock, hold_for_pool
from gxcpoold.ledger.sharestore import ShareStore
from tests.ledger.dbtest import new_url
from tests.ledger.factories import share
from bench.d1_flood import Child
from tests.e2e_pool import BAD_LINES
from tests.test_twistd import ENV, TWISTD, assert_one_line, twistd
from tests.web.livepool import LivePool, Rig

ADMIN = [sys.executable, "-m", "gxcpoold.ledger.admin"]
MINER_A = "tGXC" + "a1" * 17
MINER_B = "tGXC" + "b2" * 17
NO_PAYOUTS = {"minimum": "100000"}      # GXC: no payout muddles the comparison


def cli(url, *argv, **kw):
    """The real command line in its own process, as an operator (or the systemd
    timer) runs it."""
    return subprocess.run(ADMIN + ["--database-url", url, *argv], capture_output=True,
                          text=True, timeout=60, env=ENV, **kw)


def admin(url, *argv):
    """The same in this process (no second start of Python): exit status and output."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--database-url", str(url), *argv])
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def sqlite_url(path):
    return "sqlite:///%s" % path


def rows(path, sql, *args):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def scalar(path, sql, *args):
    return rows(path, sql, *args)[0][0]


def make_ledger(path, shares=0, batch=500):
    """A migrated SQLite ledger at path with `shares` shares from three miners."""
    db = Database(sqlite_url(path))
    try:
        migrate.upgrade(db.engine)
        store = ShareStore()
        for start in range(0, shares, batch):
            records = [share(i, miner=i % 3) for i in range(start, min(start + batch, shares))]
            store.remember(db.run_sync(store.write, records))
    finally:
        db.close()
    return path


def files(directory):
    return sorted(os.listdir(directory))


# ---------------------------------------------------------------- the live pool

def assert_consistent_prefix(copy, live):
    """copy's shares, miners, workers and credited blocks are the live ledger's up to
    the moment of the backup, and hang together."""
    assert rows(copy, "PRAGMA integrity_check") == [("ok",)]
    assert rows(copy, "PRAGMA foreign_key_check") == []
    # every share's miner and worker exist, the worker is that miner's
    assert scalar(copy, "SELECT COUNT(*) FROM shares s LEFT JOIN workers w "
                        "ON w.id = s.worker_id AND w.miner_id = s.miner_id "
                        "WHERE w.id IS NULL") == 0
    # each credited block's credits add up to its reward exactly; the others have none
    for block_id, reward, credited, total in rows(
            copy, "SELECT b.id, b.reward, b.credited, COALESCE(SUM(c.amount), 0) FROM blocks b "
                  "LEFT JOIN credits c ON c.block_id = b.id GROUP BY b.id"):
        assert total == (reward if credited else 0), block_id
    # a prefix: the copy's shares are exactly the live ledger's first ones
    copied = rows(copy, "SELECT id, hash FROM shares ORDER BY id")
    last = copied[-1][0]
    assert copied == rows(live, "SELECT id, hash FROM shares WHERE id <= ? ORDER BY id", last)
    assert rows(copy, "SELECT id, address FROM miners ORDER BY id") == rows(
        live, "SELECT id, address FROM miners WHERE id <= ? ORDER BY id",
        scalar(copy, "SELECT MAX(id) FROM miners"))
    return len(copied)


def credited_hashes(path):
    return {h for (h,) in rows(path, "SELECT hash FROM blocks WHERE credited")}


def restart(pool):
    """LivePool.start's command line again; its chain is past height 1 now."""
    pool.pool = Child(TWISTD + ["--nodaemon", "--pidfile=", "gxcpool", "--devnet",
                                "--config", pool.config_path], pool.state, keep=None,
                      watch=BAD_LINES)
    pool.wait_for_log("dashboard and API on http", pool.start_timeout)


def test_backup_of_a_live_pool_restores_consistent_and_the_chain_scan_recovers(tmp_path):
    with LivePool(("sha256d",), miners=[Rig("sha256d", MINER_A, "rig1"),
                                        Rig("sha256d", MINER_B, "box")],
                  payouts=NO_PAYOUTS) as pool:
        live = pool.db_path
        credited = "SELECT COUNT(*) FROM blocks WHERE credited"
        pool.wait(lambda: pool.scalar(credited) >= 1 and pool.scalar(
            "SELECT COUNT(*) FROM shares") >= 20, "a credited block and 20 shares", 90)

        # backup while the pool writes (PATH a directory: a timestamped file)
        before = pool.scalar("SELECT COUNT(*) FROM shares")
        result = cli(sqlite_url(live), "db", "backup", str(tmp_path / "backups") + "/")
        assert result.returncode == 0, result.stderr
        (name,) = files(tmp_path / "backups")
        assert backup.NAME_PATTERN.match(name)
        saved = str(tmp_path / "backups" / name)
        m = re.match(r"backup written to (\S+): (\d+) bytes, schema revision (\w+), (\d+) shares, "
                     r"(\d+) blocks \(", result.stdout)
        assert m and m.group(1) == saved, result.stdout
        assert int(m.group(2)) == os.path.getsize(saved)
        assert m.group(3) == migrate.head_revision()
        in_backup = int(m.group(4))
        assert in_backup >= before
        backed_up_blocks = credited_hashes(saved)

        # the pool goes on: more shares, more credited blocks than the backup holds
        pool.wait(lambda: pool.scalar("SELECT COUNT(*) FROM shares") > in_backup + 10
                  and credited_hashes(live) - backed_up_blocks,
                  "shares and a block after the backup", 90)

        # restored elsewhere: books add up, a prefix of the live ledger
        elsewhere = tmp_path / "elsewhere" / "gxcpool.sqlite3"
        result = admin(sqlite_url(elsewhere), "db", "restore", saved)
        assert result.returncode == 0, result.stderr
        assert "there was no database at" in result.stdout
        check = admin(sqlite_url(elsewhere), "balances")
        assert check.returncode == 0 and "MISMATCH" not in check.stdout, check
        assert assert_consistent_prefix(str(elsewhere), live) == in_backup
        assert scalar(str(elsewhere), "SELECT value FROM meta WHERE key = 'payouts_halted'") \
            .startswith("restored from %s" % name)

        # never over the running pool
        result = admin(sqlite_url(live), "db", "restore", saved)
        assert result.returncode == 1
        assert "in use by a running gxcpool, pid %d" % pool.pool.proc.pid in result.stderr
        assert not [f for f in files(pool.state) if "before-restore" in f or ".partial" in f]

        # stopped: restore over it; the next start's chain scan records the blocks
        # the node accepted after the backup
        pool.stop_miners()
        pool.wait(lambda: pool.scalar("SELECT COUNT(*) FROM blocks WHERE NOT credited "
                                      "AND status IN ('submitted', 'pending')") == 0,
                  "no block in flight", 30)
        after_backup = credited_hashes(live) - backed_up_blocks
        live_shares = pool.scalar("SELECT COUNT(*) FROM shares")
        pool.pool.stop()
        result = admin(sqlite_url(live), "db", "restore", saved)
        assert result.returncode == 0, result.stderr
        (kept,) = [f for f in files(pool.state) if ".before-restore-" in f]
        assert scalar(os.path.join(pool.state, kept), "SELECT COUNT(*) FROM shares") == live_shares
        assert scalar(live, "SELECT COUNT(*) FROM shares") == in_backup

        restart(pool)
        pool.wait(lambda: credited_hashes(live) >= backed_up_blocks | after_backup,
                  "the blocks after the backup recorded again", 60)
        pool.wait_for_log("was in the chain but not in the ledger")
        check = admin(sqlite_url(live), "balances")
        assert check.returncode == 0 and "MISMATCH" not in check.stdout, check
        assert "restored from" in pool.scalar("SELECT value FROM meta "
                                              "WHERE key = 'payouts_halted'")


# ---------------------------------------------------------------- backup

def test_backup_copies_one_snapshot_while_a_thread_writes_shares(tmp_path):
    """Steps of one page each, a writer committing batches of 100 shares all along:
    the copy holds whole batches only, and the writer never waited on it."""
    path = make_ledger(str(tmp_path / "live.sqlite3"), shares=20_000)
    db = Database(sqlite_url(path))
    store = ShareStore()
    commits, stop = [], threading.Event()

    def write():
        n = 20_000
        while not stop.is_set():
            began = time.monotonic()
            store.remember(db.run_sync(store.write, [share(i, miner=i % 3)
                                                     for i in range(n, n + 100)]))
            commits.append((time.monotonic(), time.monotonic() - began))
            n += 100
    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(commits) < 3:
            time.sleep(0.01)
        started = time.monotonic()
        summary, _ = backup.backup(path, str(tmp_path / "copy.sqlite3"), step_pages=1)
        ended = time.monotonic()
        time.sleep(0.1)
    finally:
        stop.set()
        writer.join(30)
        db.close()
    assert summary.shares % 100 == 0 and summary.shares >= 20_300
    copy = str(tmp_path / "copy.sqlite3")
    assert scalar(copy, "SELECT MAX(id) FROM shares") == summary.shares   # no gap, no tear
    assert rows(copy, "PRAGMA journal_mode") == [("delete",)]             # one file
    assert not [f for f in files(tmp_path) if f.startswith("copy.sqlite3-")]
    during = [took for at, took in commits if started < at < ended]
    assert during, "no commit while the backup ran (%.3f s)" % (ended - started)
    assert max(took for _, took in commits) < 1.0
    assert scalar(path, "SELECT COUNT(*) FROM shares") > summary.shares


def test_path_a_directory_or_a_file(tmp_path):
    live = make_ledger(str(tmp_path / "live.sqlite3"), shares=30)
    url = sqlite_url(live)
    out = tmp_path / "out"
    out.mkdir()
    result = admin(url, "db", "backup", str(out))            # existing directory
    assert result.returncode == 0, result.stderr
    (name,) = files(out)
    assert backup.NAME_PATTERN.match(name)
    assert "%s: " % (out / name) in result.stdout and "30 shares, 0 blocks" in result.stdout
    # a file name; an existing file is replaced whole
    (out / "latest.sqlite3").write_text("an older backup")
    result = admin(url, "db", "backup", str(out / "latest.sqlite3"))
    assert result.returncode == 0, result.stderr
    assert scalar(str(out / "latest.sqlite3"), "SELECT COUNT(*) FROM shares") == 30
    assert oct(os.stat(out / "latest.sqlite3").st_mode & 0o777) == "0o600"
    # refusals, one line each
    for argv, message in (
            (("db", "backup", str(out / "x.sqlite3"), "--keep", "3"), "--keep needs PATH to be "
                                                                     "a directory"),
            (("db", "backup", str(tmp_path / "missing" / "x.sqlite3")), "cannot write in "),
            (("db", "backup", live), "PATH is the database itself")):
        result = admin(url, *argv)
        assert result.returncode == 1 and result.stderr.count("\n") == 1, result
        assert message in result.stderr, result.stderr
    result = admin(sqlite_url(tmp_path / "nothing.sqlite3"), "db", "backup", str(out))
    assert result.returncode == 1 and "no SQLite database at" in result.stderr
    assert not (tmp_path / "nothing.sqlite3").exists()
    assert len(files(out)) == 2


def test_keep_prunes_only_its_own_backups(tmp_path):
    live = make_ledger(str(tmp_path / "live.sqlite3"), shares=5)
    out = tmp_path / "backups"
    out.mkdir()
    old = ["gxcpool-backup-2020010%dT000000Z.sqlite3" % day for day in (1, 2, 3)]
    others = ["notes.txt", "gxcpool-backup-manual.sqlite3", "gxcpool-backup-20200104T000000Z"
              ".sqlite3.gz", ".gxcpool-backup-inflight.partial"]
    for name in old + others + [".gxcpool-backup-killed.partial"]:
        (out / name).write_text(name)
    two_days_ago = time.time() - 2 * 86400
    os.utime(out / ".gxcpool-backup-killed.partial", (two_days_ago, two_days_ago))
    result = admin(sqlite_url(live), "db", "backup", str(out), "--keep", "2")
    assert result.returncode == 0, result.stderr
    new = [f for f in files(out) if backup.NAME_PATTERN.match(f) and f not in old]
    assert len(new) == 1
    assert files(out) == sorted(others + [old[-1]] + new)
    assert sorted(re.findall(r"^removed \S+/(\S+)$", result.stdout, re.M)) == sorted(
        old[:2] + [".gxcpool-backup-killed.partial"])
    result = admin(sqlite_url(live), "db", "backup", str(out), "--keep", "0")
    assert result.returncode == 1 and "--keep must be at least 1" in result.stderr


def _limited_file_size(limit):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))   # SIGXFSZ: Python ignores it
    return apply


def test_a_failing_write_leaves_no_partial_file(tmp_path):
    """A full disk, simulated by a file size limit smaller than the copy: the command
    fails in one line, PATH keeps its previous content and no temporary file is left."""
    live = make_ledger(str(tmp_path / "live.sqlite3"), shares=8000)
    assert os.path.getsize(live) > 1 << 20
    out = tmp_path / "out"
    out.mkdir()
    (out / "latest.sqlite3").write_text("the previous backup")
    result = cli(sqlite_url(live), "db", "backup", str(out / "latest.sqlite3"),
                 preexec_fn=_limited_file_size(256 * 1024))
    assert result.returncode == 1, result
    assert result.stderr.count("\n") == 1 and "failed" in result.stderr, result.stderr
    assert files(out) == ["latest.sqlite3"]
    assert (out / "latest.sqlite3").read_text() == "the previous backup"
    result = cli(sqlite_url(live), "db", "backup", str(out),
                 preexec_fn=_limited_file_size(256 * 1024))
    assert result.returncode == 1 and files(out) == ["latest.sqlite3"], result


def test_a_failing_rename_leaves_no_partial_file(tmp_path, monkeypatch, capsys):
    live = make_ledger(str(tmp_path / "live.sqlite3"), shares=10)
    out = tmp_path / "out"
    out.mkdir()

    def no_space(*_):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(backup.os, "replace", no_space)
    assert main(["--database-url", sqlite_url(live), "db", "backup", str(out)]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert files(out) == []


def test_postgresql_backup_is_refused_with_the_pg_dump_command(tmp_path, capsys):
    url = "postgresql+psycopg://pool:s3cret@db.example:5433/gxcpool?sslmode=require"
    assert main(["--database-url", url, "db", "backup", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "s3cret" not in out + err
    assert err.count("\n") == 1
    assert ("the ledger is on PostgreSQL: back it up with pg_dump" in err
            and "pg_dump --format=custom --file=gxcpool-$(date +%Y%m%dT%H%M%S).dump "
                "'postgresql://pool@db.example:5433/gxcpool?sslmode=require'" in err), err
    assert main(["--database-url", url, "db", "restore", str(tmp_path / "x")]) == 1
    out, err = capsys.readouterr()
    assert "restore a pg_dump archive with pg_restore" in err and "s3cret" not in out + err
    assert files(tmp_path) == []


def test_the_pg_dump_command_dumps_the_pool_database(tmp_path, capsys):
    """The printed command, run as printed, against the test PostgreSQL."""
    url, drop = new_url("postgresql", tmp_path)
    try:
        db = Database(url)
        try:
            migrate.upgrade(db.engine)
        finally:
            db.close()
        assert main(["--database-url", url, "db", "backup", str(tmp_path)]) == 1
        command = capsys.readouterr().err.split("docs/backups.md): ", 1)[1].strip()
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)
        if done.returncode and "version mismatch" in done.stderr:
            pytest.skip("pg_dump here is older than the server: %s" % done.stderr.strip())
        assert done.returncode == 0, done.stderr
        (dump,) = [f for f in files(tmp_path) if f.endswith(".dump")]
        listing = subprocess.run(["pg_restore", "--list", str(tmp_path / dump)],
                                 capture_output=True, text=True, timeout=60)
        assert listing.returncode == 0, listing.stderr
        for table in ("shares", "balances", "payouts", "alembic_version"):
            assert re.search(r"TABLE DATA \S+ %s " % table, listing.stdout), table
    finally:
        drop()


# ---------------------------------------------------------------- restore

def test_restore_refused_while_another_process_holds_the_lock(tmp_path):
    live = make_ledger(str(tmp_path / "live.sqlite3"), shares=3)
    saved = make_ledger(str(tmp_path / "saved.sqlite3"), shares=7)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from gxcpoold.ledger.ledgerlock import hold_for_pool\n"
         "lock = hold_for_pool(sys.argv[1]); print('held', flush=True); time.sleep(60)",
         sqlite_url(live)], stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert holder.stdout.readline() == "held\n"
        result = admin(sqlite_url(live), "db", "restore", saved)
        assert result.returncode == 1
        assert result.stderr == ("gxcpool-admin: refusing to restore: the database %s is in use "
                                 "by a running gxcpool, pid %d (lock %s.lock); stop the pool "
                                 "first\n" % (live, holder.pid, live))
        assert scalar(live, "SELECT COUNT(*) FROM shares") == 3
        assert [f for f in files(tmp_path) if not f.endswith(("-wal", "-shm"))] == [
            "live.sqlite3", "live.sqlite3.lock", "saved.sqlite3"]
        with pytest.raises(InUse):
            hold_for_pool(sqlite_url(live))
    finally:
        holder.kill()
        holder.wait()
    result = admin(sqlite_url(live), "db", "restore", saved)      # the holder is gone
    assert result.returncode == 0, result.stderr
    assert scalar(live, "SELECT COUNT(*) FROM shares") == 7


def test_a_pool_does_not_start_during_a_restore(tmp_path):
    """The lock both ways: the real twistd refuses in one line while it is held."""
    state = tmp_path / "state"
    state.mkdir()
    with LedgerLock(str(state / "gxcpool.sqlite3"), "gxcpool-admin db restore"):
        result = twistd("-n", "--pidfile=", "gxcpool", "--state-dir", str(state), cwd=tmp_path)
    assert_one_line(result, "gxcpool: the database %s/gxcpool.sqlite3 is in use by "
                            "gxcpool-admin db restore, pid %d (lock " % (state, os.getpid()))


def _with_alembic_revision(path, revision):
    db = sqlite3.connect(path)
    db.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    db.commit()
    db.close()
    return path


def _half_of(source, path):
    data = open(source, "rb").read()
    open(path, "wb").write(data[:len(data) // 2])
    return path


def _other_app(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    db.commit()
    db.close()
    return path


@pytest.mark.parametrize("make, message", [
    (lambda d: (d / "text.sqlite3").write_text("hello") and str(d / "text.sqlite3"),
     "is not a SQLite database"),
    (lambda d: _other_app(str(d / "notes.sqlite3")), "not a gxcpool ledger (no table "),
    (lambda d: _with_alembic_revision(make_ledger(str(d / "newer.sqlite3")), "9999_future"),
     "schema revision 9999_future is newer than this gxcpool knows (head %s)"
     % migrate.head_revision()),
    (lambda d: _half_of(make_ledger(str(d / "full.sqlite3"), shares=3000),
                        str(d / "half.sqlite3")), "is not a usable gxcpool database"),
    (lambda d: str(d / "missing.sqlite3"), "no backup file at"),
])
def test_restore_refuses_what_is_not_a_usable_backup(tmp_path, make, message):
    live_dir = tmp_path / "live"
    live_dir.mkdir()
    live = make_ledger(str(live_dir / "gxcpool.sqlite3"), shares=4)
    content = open(live, "rb").read()
    source = tmp_path / "sources"
    source.mkdir()
    result = admin(sqlite_url(live), "db", "restore", make(source))
    assert result.returncode == 1
    assert result.stderr.startswith("gxcpool-admin: refusing to restore: "), result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert open(live, "rb").read() == content
    assert [f for f in files(live_dir) if f != "gxcpool.sqlite3.lock"] == ["gxcpool.sqlite3"]


def test_restore_keeps_the_old_database_with_what_its_log_held(tmp_path):
    """The pool died with transactions only in the -wal: the kept copy has them,
    no stale -wal or -shm stays beside the restored file."""
    saved = make_ledger(str(tmp_path / "saved.sqlite3"), shares=10)
    live = make_ledger(str(tmp_path / "work.sqlite3"), shares=20)
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    writer = sqlite3.connect(live)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("DELETE FROM shares WHERE id > 15")
    writer.commit()
    for suffix in ("", "-wal", "-shm"):          # the files as a killed process leaves them
        with open(live + suffix, "rb") as f:
            (crashed / ("gxcpool.sqlite3" + suffix)).write_bytes(f.read())
    writer.close()
    target = str(crashed / "gxcpool.sqlite3")
    assert os.path.getsize(target + "-wal") > 0
    result = admin(sqlite_url(target), "--actor", "bob", "db", "restore", saved)
    assert result.returncode == 0, result.stderr
    (kept,) = [f for f in files(crashed) if ".before-restore-" in f]
    assert "the previous database is kept as %s" % (crashed / kept) in result.stdout
    assert files(crashed) == sorted(["gxcpool.sqlite3", "gxcpool.sqlite3.lock", kept])
    assert scalar(str(crashed / kept), "SELECT COUNT(*) FROM shares") == 15
    assert scalar(target, "SELECT COUNT(*) FROM shares") == 10
    assert rows(target, "SELECT actor, action FROM audit") == [("bob", "restore")]
    assert admin(sqlite_url(target), "balances").returncode == 0
    # the restored ledger is the pool's: migrations and writes work on it
    assert admin(sqlite_url(target), "db", "upgrade").returncode == 0
    resumed = admin(sqlite_url(target), "payouts", "resume", "--reason", "checked the wallet")
    assert resumed.returncode == 0, resumed.stderr
    assert rows(target, "SELECT value FROM meta WHERE key = 'payouts_halted'") == []


def test_restored_file_keeps_the_replaced_ones_mode(tmp_path):
    saved = make_ledger(str(tmp_path / "saved.sqlite3"), shares=2)
    live = make_ledger(str(tmp_path / "live.sqlite3"), shares=1)
    os.chmod(saved, 0o600)
    os.chmod(live, 0o640)
    assert admin(sqlite_url(live), "db", "restore", saved).returncode == 0
    assert oct(os.stat(live).st_mode & 0o777) == "0o640"


def test_a_failing_restore_leaves_the_database_alone(tmp_path):
    saved = make_ledger(str(tmp_path / "saved.sqlite3"), shares=8000)
    live_dir = tmp_path / "live"
    live_dir.mkdir()
    live = make_ledger(str(live_dir / "gxcpool.sqlite3"), shares=4)
    content = open(live, "rb").read()
    result = cli(sqlite_url(live), "db", "restore", saved,
                 preexec_fn=_limited_file_size(256 * 1024))
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result
    assert open(live, "rb").read() == content
    assert [f for f in files(live_dir) if f != "gxcpool.sqlite3.lock"] == ["gxcpool.sqlite3"]
