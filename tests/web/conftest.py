"""Fixtures of the web tests that run the real daemon."""
import sys

import pytest

from tests.web.filled_pool import fill


@pytest.fixture(scope="session")
def filled_pool():
    """A running pool whose SQLite ledger an end-to-end run filled (blocks
    mature, a payout mined; tests/web/filled_pool.py), miners stopped."""
    filled = fill()
    sys.stderr.write("\nfilled pool: %.1f s (%s)\n" % (
        filled.fill_seconds, ", ".join("%s %.1f s" % kv for kv in filled.timings.items())))
    try:
        yield filled
    finally:
        filled.pool.close()
