"""Migrations build exactly the schema the code uses, on both engines."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select, text

from gxcpoold.ledger import migrate, schema
from tests.ledger.dbtest import open_database


def test_migrations_match_the_schema(database):
    with database.engine.connect() as c:
        context = MigrationContext.configure(c, opts={"compare_type": True})
        assert compare_metadata(context, schema.metadata) == []
        assert migrate.current_revision(c) == migrate.head_revision()


def test_upgrade_twice_is_a_no_op(database):
    head = migrate.head_revision()
    assert migrate.upgrade(database.engine) == (head, head)


def test_a_newer_schema_is_refused(database):
    database.run_sync(lambda c: c.execute(text("UPDATE alembic_version SET version_num = '9999'")))
    with pytest.raises(migrate.SchemaError, match="newer"):
        migrate.upgrade(database.engine)


def test_work_beyond_64_bits_is_stored_exactly(database):
    work = 2 ** 70 + 12345          # sha256d at difficulty 2**38
    database.run_sync(lambda c: c.execute(insert(schema.shares).values(
        time=1.0, algorithm="sha256d", miner_id=1, worker_id=1, difficulty=2.0 ** 38,
        work=work, height=1, hash="00", is_block=False, instance_id=0)))
    assert database.run_sync(lambda c: c.execute(select(schema.shares.c.work)).scalar()) == work


def test_sqlite_runs_in_wal_mode(tmp_path):
    db = open_database("sqlite", tmp_path)
    try:
        mode = db.run_sync(lambda c: c.exec_driver_sql("PRAGMA journal_mode").scalar(),
                           write=False)
        assert mode == "wal"
    finally:
        db.close()
