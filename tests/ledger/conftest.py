from tests.ledger.dbtest import database  # noqa: F401  (pytest fixture)
