"""Alembic environment for the ledger.

gxcpoold.ledger.migrate hands over an open connection in
config.attributes["connection"]; the URL path is kept for running the
alembic command line by hand against alembic.ini-less setups.
"""
from alembic import context
from sqlalchemy import create_engine

from gxcpoold.ledger.schema import metadata

config = context.config


def run(connection):
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        run(connection)
