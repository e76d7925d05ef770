"""One instance at a time for singleton tasks (unlocker, payouts) on a shared database.

PostgreSQL: a session advisory lock, keyed by the task name and the schema
(so pools or test runs in different schemas never block each other), held on
its own connection for the duration of the task and released after.  SQLite
serves one process; its writes serialise on BEGIN IMMEDIATE anyway.
"""
from sqlalchemy import text

LOCK_SQL = "hashtext(:name || ':' || current_schema())"


class SingletonLock:
    def __init__(self, db, name):
        self.db = db
        self.name = "gxcpool-" + name

    def acquire(self):
        """On the database thread: a handle, or None when another instance holds it."""
        if self.db.dialect != "postgresql":
            return True
        connection = self.db.engine.connect()
        try:
            got = connection.execute(text("SELECT pg_try_advisory_lock(%s)" % LOCK_SQL),
                                     {"name": self.name}).scalar()
            connection.commit()
        except Exception:
            connection.close()
            raise
        if not got:
            connection.close()
            return None
        return connection

    def release(self, handle):
        if handle is True or handle is None:
            return
        try:
            handle.execute(text("SELECT pg_advisory_unlock(%s)" % LOCK_SQL), {"name": self.name})
            handle.commit()
        finally:
            handle.close()
