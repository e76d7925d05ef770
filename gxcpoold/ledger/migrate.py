"""Schema upgrades with Alembic, from the migrations shipped inside the package.

Start-up upgrades automatically only when it is safe: the database is at a
revision this code knows (never a newer one written by a later version), and
on PostgreSQL under an advisory lock so instances sharing one database do
not migrate it twice at once.
"""
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from gxcpoold.ledger.singleton import LOCK_SQL as LOCK_KEY_SQL

SCRIPT_LOCATION = "gxcpoold.ledger:migrations"


class SchemaError(RuntimeError):
    """The database schema cannot be used or upgraded by this version."""


def alembic_config(url=None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", str(url).replace("%", "%%"))
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection):
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine, revision="head"):
    """Bring the schema to `revision`; returns (before, after) revisions."""
    script = ScriptDirectory.from_config(alembic_config())
    known = {s.revision for s in script.walk_revisions()}
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as connection:
        if postgres:
            connection.execute(text("SELECT pg_advisory_lock(%s)" % LOCK_KEY_SQL),
                               {"name": "gxcpool-migrate"})
            connection.commit()
        try:
            before = current_revision(connection)
            connection.rollback()
            if before is not None and before not in known:
                raise SchemaError(
                    "database schema revision %s is newer than this gxcpool knows (head %s): "
                    "run the newer version or restore a backup" % (before, script.get_current_head()))
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
            connection.commit()
            after = current_revision(connection)
            connection.rollback()
        finally:
            if postgres:
                connection.execute(text("SELECT pg_advisory_unlock(%s)" % LOCK_KEY_SQL),
                                   {"name": "gxcpool-migrate"})
                connection.commit()
    return before, after
