"""SQLite ledger backups and restores (gxcpool-admin db backup / db restore).

Backup: SQLite's online backup API copies a live database while the pool
writes.  The copy reads one snapshot: the source connection opens a read
transaction first and the backup runs in steps inside it.  Under WAL (the
pool always sets it) a reader never blocks the writer, and with the snapshot
held no write can make SQLite restart the copy; without it, a pool writing
shares every second restarts a step-by-step copy over and over.  The copy
goes to a temporary file beside PATH, is checked (integrity, schema
revision), fsynced and renamed into place: PATH is whole or absent.

Restore: the backup is checked the same way on a temporary copy beside the
database, payouts are halted in that copy (payments sent after the backup
are not in it: paying those balances again would pay twice), the current
database is kept as <name>.before-restore-<time>, and the copy is renamed
over the database.  All of it under the pool's lock (ledgerlock.py).

PostgreSQL: pg_dump / pg_restore (pg_dump_command says how).
"""
import os
import re
import shlex
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from urllib.parse import quote

from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url

from gxcpoold.durable import fsync_directory, fsync_path, unlink_if_present
from gxcpoold.ledger import migrate
from gxcpoold.ledger.ledgerlock import LedgerLock
from gxcpoold.ledger.meta import PAYOUTS_HALTED

# Timestamped names a directory backup gets; --keep prunes these and nothing else.
NAME_FORMAT = "gxcpool-backup-%Y%m%dT%H%M%SZ.sqlite3"
NAME_PATTERN = re.compile(r"^gxcpool-backup-\d{8}T\d{6}Z\.sqlite3$")
TEMP_PREFIX = ".gxcpool-backup-"
RESTORE_PREFIX = ".gxcpool-restore-"
TEMP_SUFFIX = ".partial"
STALE_TEMP_SECONDS = 24 * 3600     # a killed backup's temporary file, removed by --keep
STEP_PAGES = 1024                  # pages per backup step (4 MiB at SQLite's default size)
BUSY_TIMEOUT = 15.0
# The ledger's tables since the first revision; later tables may be missing
# from an older backup (the next start's upgrade creates them).
LEDGER_TABLES = ("alembic_version", "meta", "miners", "workers", "shares", "blocks", "credits",
                 "balances", "payouts", "audit")
SQLITE_HEADER = b"SQLite format 3\x00"


class BackupError(Exception):
    """A refusal or a failure, said in one line."""


@dataclass(frozen=True)
class Summary:
    path: str
    size: int
    revision: str
    shares: int
    blocks: int

    def describe(self) -> str:
        return "%s: %d bytes, schema revision %s, %d shares, %d blocks" % (
            self.path, self.size, self.revision, self.shares, self.blocks)


# ------------------------------------------------------------------ backup

def backup(db_path, target, *, keep=None, now=None, step_pages=STEP_PAGES):
    """Copy the live database at db_path to target (a file, or a directory for a
    timestamped name).  Returns (Summary, [pruned paths])."""
    now = time.time() if now is None else now
    if not os.path.isfile(db_path):
        raise BackupError("no SQLite database at %s" % db_path)
    directory_mode = os.path.isdir(target) or target.endswith(os.sep)
    if keep is not None and keep < 1:
        raise BackupError("--keep must be at least 1")
    if keep is not None and not directory_mode:
        raise BackupError("--keep needs PATH to be a directory (backups named %s)"
                          % NAME_FORMAT.replace("%Y%m%dT%H%M%SZ", "<UTC time>"))
    if directory_mode:
        os.makedirs(target, exist_ok=True)
        path = os.path.join(target, time.strftime(NAME_FORMAT, time.gmtime(now)))
        if os.path.lexists(path):
            raise BackupError("%s already exists (a backup in the same second)" % path)
    else:
        path = target
    path = os.path.abspath(path)
    if os.path.abspath(db_path) == path:
        raise BackupError("PATH is the database itself")
    tmp = _temp_file(os.path.dirname(path), TEMP_PREFIX)
    try:
        source = _connect("file:%s?mode=ro" % quote(db_path), uri=True)
        try:
            copy = _connect(tmp)
            try:
                source.execute("BEGIN")
                source.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # the snapshot
                source.backup(copy, pages=step_pages)
                source.execute("COMMIT")
                # One self-contained file: the copied header says WAL.
                copy.execute("PRAGMA journal_mode=DELETE")
                revision, shares, blocks = inspect(copy)
            finally:
                copy.close()
        finally:
            source.close()
        fsync_path(tmp)
        os.replace(tmp, path)
        fsync_directory(os.path.dirname(path) or ".")
    except (sqlite3.Error, OSError) as e:
        _remove_temp(tmp)
        raise BackupError("backup of %s to %s failed: %s" % (db_path, path, e)) from None
    except BaseException:
        _remove_temp(tmp)
        raise
    summary = Summary(path, os.path.getsize(path), revision, shares, blocks)
    pruned = prune(os.path.dirname(path), keep, now) if keep is not None else []
    return summary, pruned


def prune(directory, keep, now):
    """Keep the newest `keep` timestamped backups in directory; remove the older
    ones and temporary files of backups killed more than a day ago.  Nothing else."""
    names = sorted(n for n in os.listdir(directory) if NAME_PATTERN.match(n))
    doomed = [os.path.join(directory, n) for n in names[:-keep]]
    for name in os.listdir(directory):
        if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX):
            path = os.path.join(directory, name)
            try:
                if now - os.stat(path).st_mtime > STALE_TEMP_SECONDS:
                    doomed.append(path)
            except FileNotFoundError:
                pass                 # another backup just finished with it
    for path in doomed:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    return doomed


# ------------------------------------------------------------------ restore

def restore(backup_path, db_path, *, actor, now=None):
    """Replace the database at db_path by the backup; returns (Summary, kept path or None).
    Refuses while a pool holds the lock (ledgerlock.InUse)."""
    now = time.time() if now is None else now
    _check_backup_file(backup_path)
    directory = os.path.dirname(db_path)
    os.makedirs(directory, exist_ok=True)
    with LedgerLock(db_path, "gxcpool-admin db restore"):
        tmp = _temp_file(directory, RESTORE_PREFIX)
        try:
            with open(backup_path, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            copy = _connect(tmp)
            try:
                copy.execute("PRAGMA journal_mode=DELETE")
                revision, shares, blocks = inspect(copy)
                _halt_payouts(copy, backup_path, actor, now)
            finally:
                copy.close()
            _same_owner_and_mode(tmp, db_path)
            fsync_path(tmp)
            kept = _set_aside(db_path, now) if os.path.lexists(db_path) else None
            os.replace(tmp, db_path)
            fsync_directory(directory or ".")
        except sqlite3.Error as e:
            _remove_temp(tmp)
            raise BackupError("%s is not a usable gxcpool database: %s" % (backup_path, e)) \
                from None
        except OSError as e:
            _remove_temp(tmp)
            raise BackupError("restore of %s failed: %s" % (backup_path, e)) from None
        except BaseException:
            _remove_temp(tmp)
            raise
    return Summary(db_path, os.path.getsize(db_path), revision, shares, blocks), kept


def _check_backup_file(path):
    if not os.path.isfile(path):
        raise BackupError("no backup file at %s" % path)
    with open(path, "rb") as f:
        if f.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError("%s is not a SQLite database" % path)
    wal = path + "-wal"
    if os.path.isfile(wal) and os.path.getsize(wal) > 0:
        # Its newest transactions are in the -wal, which a file copy would leave behind.
        raise BackupError("%s has a write-ahead log beside it (a live database?): make a "
                          "backup of it with `gxcpool-admin db backup` and restore that" % path)


def _halt_payouts(connection, backup_path, actor, now):
    """Halt payouts in the restored ledger and say why in the audit trail."""
    made = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(os.path.getmtime(backup_path)))
    reason = ("restored from %s (written %s): payouts sent after that are not in this "
              "ledger; check the wallet's sends since then, correct balances with "
              "gxcpool-admin adjust, then gxcpool-admin payouts resume"
              % (os.path.basename(backup_path), made))
    connection.execute("BEGIN IMMEDIATE")
    earlier = connection.execute("SELECT value FROM meta WHERE key = ?",
                                 (PAYOUTS_HALTED,)).fetchone()
    halt = reason if earlier is None else "%s; halted before: %s" % (reason, earlier[0])
    connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                       (PAYOUTS_HALTED, halt))
    connection.execute("INSERT INTO audit (time, actor, action, reason) VALUES (?, ?, ?, ?)",
                       (now, actor, "restore", reason))
    connection.execute("COMMIT")


def _same_owner_and_mode(tmp, db_path):
    """The restored file gets the replaced one's owner and mode (the pool's user must
    open it, whoever restores); with none to replace, the mode the umask allows."""
    if not os.path.lexists(db_path):
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        return
    old = os.stat(db_path)
    os.chmod(tmp, old.st_mode & 0o7777)
    if (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.chown(tmp, old.st_uid, old.st_gid)
        except PermissionError:
            raise BackupError("%s belongs to uid %d: restore as that user (sudo -u ...)"
                              % (db_path, old.st_uid)) from None


def _set_aside(db_path, now):
    """Keep the current database as <name>.before-restore-<time>, WAL folded in."""
    kept = "%s.before-restore-%s" % (db_path, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now)))
    if os.path.lexists(kept):
        raise BackupError("%s already exists" % kept)
    try:
        old = _connect(db_path)
        try:
            busy, _, _ = old.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            old.close()
    except sqlite3.DatabaseError:
        busy = 0                  # unreadable (why one restores): kept as it is, with its -wal
    if busy:
        raise BackupError("%s is open in another program (its log could not be written back): "
                          "close it first" % db_path)
    try:
        os.link(db_path, kept)
    except OSError:               # no hard links here: a copy, fsynced
        shutil.copyfile(db_path, kept)
        fsync_path(kept)
    # The -wal and -shm belong to the old file; beside the new one they would be
    # read as its own.  After the checkpoint the -wal is empty; one that is not
    # (an unreadable database) stays with the kept copy.
    wal, shm = db_path + "-wal", db_path + "-shm"
    if os.path.exists(wal) and os.path.getsize(wal) > 0:
        os.replace(wal, kept + "-wal")
    for path in (wal, shm):
        unlink_if_present(path)
    return kept


# ------------------------------------------------------------------ checks

def known_revisions() -> set:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    return {s.revision for s in script.walk_revisions()}


def inspect(connection):
    """(revision, shares, blocks) of a gxcpool database, or BackupError saying why not."""
    problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise BackupError("integrity check failed: %s" % "; ".join(problems[:3]))
    tables = {row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [t for t in LEDGER_TABLES if t not in tables]
    if missing:
        raise BackupError("not a gxcpool ledger (no table %s)" % ", ".join(missing))
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    if row is None:
        raise BackupError("not a gxcpool ledger (no schema revision)")
    revision = row[0]
    if revision not in known_revisions():
        raise BackupError("schema revision %s is newer than this gxcpool knows (head %s)"
                          % (revision, migrate.head_revision()))
    shares = connection.execute("SELECT COUNT(*) FROM shares").fetchone()[0]
    blocks = connection.execute("SELECT COUNT(*) FROM blocks").fetchone()[0]
    return revision, shares, blocks


# ------------------------------------------------------------------ PostgreSQL

def pg_dump_command(url) -> str:
    """The pg_dump command line for a PostgreSQL URL, without its password."""
    url = make_url(str(url))
    # libpq's own URI form: no driver name, no password (in the URL or its query)
    plain = URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                       database=url.database,
                       query={k: v for k, v in url.query.items() if k != "password"})
    name = "gxcpool-$(date +%Y%m%dT%H%M%S).dump"
    return "pg_dump --format=custom --file=%s %s" % (
        name, shlex.quote(plain.render_as_string(hide_password=False)))


# ------------------------------------------------------------------ files

def _connect(target, uri=False):
    # isolation_level None: the transactions here are the explicit BEGINs
    return sqlite3.connect(target, uri=uri, timeout=BUSY_TIMEOUT, isolation_level=None)


def _temp_file(directory, prefix) -> str:
    try:
        fd, path = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=directory)
    except OSError as e:
        raise BackupError("cannot write in %s: %s" % (directory, e.strerror or e)) from None
    os.close(fd)
    return path


def _remove_temp(path):
    for suffix in ("", "-journal", "-wal", "-shm"):
        unlink_if_present(path + suffix)
