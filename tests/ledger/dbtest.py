"""Test databases: a fresh SQLite file, or a uniquely named PostgreSQL schema.

PostgreSQL runs at $GXCPOOL_TEST_POSTGRES (default 127.0.0.1:5432, database
test, user postgres); when it is not reachable those tests are skipped with
the reason.  Every run creates its own schema and drops it afterwards, so
runs never see each other's tables (nor each other's advisory locks, whose
keys include the schema name).
"""
import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gxcpoold.ledger import migrate
from gxcpoold.ledger.db import Database

PG_URL = os.environ.get("GXCPOOL_TEST_POSTGRES",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")
_pg_problem = "not checked"


def postgres_problem():
    """None when PostgreSQL can be used, else why not."""
    global _pg_problem
    if _pg_problem == "not checked":
        try:
            import psycopg  # noqa: F401
            engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as c:
                c.execute(text("SELECT 1"))
            engine.dispose()
            _pg_problem = None
        except Exception as e:      # any reason at all means: skip, and say why
            _pg_problem = "PostgreSQL at %s not usable: %s" % (
                make_url(PG_URL).render_as_string(hide_password=True), str(e).splitlines()[0])
    return _pg_problem


def new_url(backend, tmp_dir):
    """(url, cleanup) for a fresh, empty database of that backend."""
    if backend == "sqlite":
        return "sqlite:///%s" % os.path.join(str(tmp_dir), "ledger-%s.sqlite3" % uuid.uuid4().hex[:8]), None
    problem = postgres_problem()
    if problem:
        pytest.skip(problem)
    schema = "gxctest_%s" % uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text("CREATE SCHEMA %s" % schema))
    url = make_url(PG_URL).update_query_dict({"options": "-csearch_path=%s" % schema})

    def drop():
        with admin.connect() as c:
            c.execute(text("DROP SCHEMA IF EXISTS %s CASCADE" % schema))
        admin.dispose()
    return url.render_as_string(hide_password=False), drop


def open_database(backend, tmp_dir, reactor=None, cleanups=None, upgrade=True):
    url, drop = new_url(backend, tmp_dir)
    db = Database(url, reactor=reactor)
    if upgrade:
        migrate.upgrade(db.engine)
    if cleanups is not None:
        if drop is not None:
            cleanups.append(drop)
        cleanups.append(db.close)
    return db


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path):
    cleanups = []
    db = open_database(request.param, tmp_path, cleanups=cleanups)
    yield db
    for fn in reversed(cleanups):
        fn()


def trial_database(test, backend):
    """A database for a twisted.trial TestCase, cleaned up with it."""
    import tempfile
    from twisted.internet import reactor
    tmp = tempfile.mkdtemp(prefix="gxcledger-")
    cleanups = []
    db = open_database(backend, tmp, reactor=reactor, cleanups=cleanups)
    for fn in cleanups:
        test.addCleanup(fn)
    return db


def each_backend(mixin):
    """Two trial TestCases from one mixin: <Name>SQLite and <Name>PostgreSQL."""
    from twisted.trial.unittest import TestCase
    made = {}
    for backend, suffix in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        name = mixin.__name__.replace("Mixin", "") + suffix
        attrs = {"backend": backend, "__module__": mixin.__module__}
        if backend == "postgresql" and postgres_problem():
            attrs["skip"] = postgres_problem()
        made[name] = type(name, (mixin, TestCase), attrs)
    return made
