"""The database handle: one engine, one dedicated thread pool.

Nothing touches the database on the reactor thread: every unit of work is a
plain function fn(connection, ...) run in one transaction on the pool
(deferToThreadPool).  The same function can run synchronously (admin
command, tests) with run_sync.

SQLite: WAL journal, a busy timeout, and explicit BEGIN IMMEDIATE for writes
so two writers queue instead of failing half-way with "database is locked".
One thread in-process keeps our own writes serialised.

ReadDatabase is the dashboard's: its own engine and threads, read-only
transactions (BEGIN DEFERRED on SQLite: WAL readers never wait for the
writer), so a page never queues behind a share batch or a payout round.
"""
import os

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

SQLITE_BUSY_TIMEOUT_MS = 15_000


def is_sqlite(url) -> bool:
    return make_url(str(url)).get_backend_name() == "sqlite"


def make_engine(url, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS, **kw):
    url = make_url(str(url))
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, future=True, **kw)
    if url.database and url.database != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(url.database)), exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000},
                           future=True, **kw)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own
        # implicit transactions start too late and never IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=%d" % busy_timeout_ms)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql("BEGIN " + mode)

    return engine


class Database:
    """Engine + thread pool.  Call close() when done (stops the threads)."""

    readonly = False
    thread_name = "gxcpool-db"

    def __init__(self, url, *, reactor=None, threads=None, engine_kw=None):
        if reactor is None:
            from twisted.internet import reactor
        self.url = str(url)
        self.reactor = reactor
        self.sqlite = is_sqlite(self.url)
        self.engine = make_engine(self.url, **(engine_kw or {}))
        if threads is None:
            threads = 1 if self.sqlite else 4
        self._pool = ThreadPool(minthreads=1, maxthreads=threads, name=self.thread_name)
        self._pool.start()
        self._shutdown_trigger = reactor.addSystemEventTrigger(
            "during", "shutdown", self._stop_pool)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def run(self, fn, *args, write=True, **kw) -> defer.Deferred:
        """fn(connection, *args, **kw) in one transaction on the database thread pool."""
        return deferToThreadPool(self.reactor, self._pool, self.run_sync, fn, *args,
                                 write=write, **kw)

    def run_sync(self, fn, *args, write=True, **kw):
        """The same, on the calling thread (admin command, tests)."""
        write = write and not self.readonly
        with self.engine.connect() as connection:
            if self.sqlite:
                connection.execution_options(sqlite_begin="IMMEDIATE" if write else "DEFERRED")
            with connection.begin():
                return fn(connection, *args, **kw)

    def in_thread(self, fn, *args, **kw) -> defer.Deferred:
        """fn(*args) on the database thread pool without a transaction (locks, upgrades)."""
        return deferToThreadPool(self.reactor, self._pool, fn, *args, **kw)

    def _stop_pool(self):
        if self._pool.started:
            self._pool.stop()

    def close(self):
        self._stop_pool()
        if self._shutdown_trigger is not None:
            try:
                self.reactor.removeSystemEventTrigger(self._shutdown_trigger)
            except (ValueError, KeyError):
                pass
            self._shutdown_trigger = None
        self.engine.dispose()



class ReadDatabase(Database):
    """Read-only transactions on threads of their own (the web's read model)."""

    readonly = True
    thread_name = "gxcpool-db-read"

    def __init__(self, url, *, reactor=None, threads=2, engine_kw=None):
        super().__init__(url, reactor=reactor, threads=threads, engine_kw=engine_kw)

    def read(self, fn, *args, **kw) -> defer.Deferred:
        """fn(connection, *args, **kw) in one read-only transaction."""
        return self.run(fn, *args, write=False, **kw)
