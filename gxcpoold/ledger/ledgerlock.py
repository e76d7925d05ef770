"""Who is using a SQLite ledger: an exclusive flock on `<database>.lock`.

The pool takes it before it starts (tap.makeService) and holds it until the
process ends, however it ends: the kernel drops a flock with the last
descriptor, so a crashed pool never leaves a stale lock.  `gxcpool-admin db
restore` takes the same lock for as long as it replaces the file, so a
restore never happens under a running pool and a pool never starts in the
middle of a restore.  The lock file sits beside the database, not in the
state directory: [database] url may put the file anywhere, a restore given
only --database-url must find the same lock, and SQLite needs that directory
writable for its -wal and -shm files anyway.

PostgreSQL needs none of this: several pools share one database there
(advisory locks, singleton.py), and its backups are pg_dump's.
"""
import fcntl
import os

from sqlalchemy.engine import make_url


class InUse(Exception):
    """Another process holds the lock; the message names it."""


def sqlite_path(url):
    """The absolute file path of a SQLite URL; None for PostgreSQL or :memory:."""
    url = make_url(str(url))
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return os.path.abspath(url.database)


def lock_path(database_path) -> str:
    return database_path + ".lock"


class LedgerLock:
    """LedgerLock(path, holder).acquire() or InUse; holder says who we are ("the pool")."""

    def __init__(self, database_path, holder):
        self.database_path = database_path
        self.path = lock_path(database_path)
        self.holder = holder
        self._fd = None

    def acquire(self):
        # No O_TRUNC: the file names the current holder until we hold the lock.
        # O_CLOEXEC: a program the pool runs must not keep the lock after the pool exits.
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except PermissionError:
            # made by another user (root restoring): reading is enough to lock it
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _read_holder(fd)
            os.close(fd)
            raise InUse("the database %s is in use by %s (lock %s)"
                        % (self.database_path, who, self.path)) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, ("%s, pid %d\n" % (self.holder, os.getpid())).encode(), 0)
        except OSError:
            pass                    # read-only: the lock holds, it just names nobody
        self._fd = fd
        return self

    def release(self):
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)            # drops the lock; the file stays (another may hold it now)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _read_holder(fd) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "another process"


def hold_for_pool(database_url):
    """The running pool's lock on its SQLite ledger (None for PostgreSQL); InUse if
    another pool or a restore has it."""
    path = sqlite_path(database_url)
    if path is None:
        return None
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return LedgerLock(path, "a running gxcpool").acquire()
