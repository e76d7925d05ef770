"""Operator bans (gxcpool-admin ban) reach the Stratum port: refused, dropped, lifted."""
import tempfile
from types import SimpleNamespace

from twisted.internet import defer, reactor
from twisted.trial import unittest

from gxcpoold.ledger import bans
from gxcpoold.ledger.bansync import OperatorBanSync
from gxcpoold.stratum.session import StratumSession
from tests.ledger.dbtest import open_database
from tests.stratum.helpers import MINER_ADDRESS
from tests.stratum.test_sessions import pool_with_job

OTHER_ADDRESS = "tGXC" + "f" * 34


class OperatorBans(unittest.TestCase):
    def setUp(self):
        cleanups = []
        self.db = open_database("sqlite", tempfile.mkdtemp(), reactor=reactor, cleanups=cleanups)
        for fn in reversed(cleanups):
            self.addCleanup(fn)
        self.pool = pool_with_job()
        ledger = SimpleNamespace(db=self.db, ready=defer.succeed(None))
        self.sync = OperatorBanSync(ledger, [self.pool.service], reactor)

    def login(self, ip, address):
        """(peer, authorize answer); (None, None) when the connection is refused."""
        peer = self.pool.connect(ip=ip)
        if peer is None or not isinstance(peer.protocol, StratumSession):
            return None, None
        peer.call("mining.subscribe")
        answer, _ = peer.call("mining.authorize", address + ".rig", "x")
        return peer, answer

    async def test_banned_ip_and_address_are_dropped_refused_and_lifted(self):
        by_address, _ = self.login("10.0.0.1", MINER_ADDRESS)
        by_ip, _ = self.login("10.0.0.2", OTHER_ADDRESS)
        bystander, _ = self.login("10.0.0.3", OTHER_ADDRESS)
        self.db.run_sync(bans.ban, "ip", "10.0.0.2", "flooding")
        self.db.run_sync(bans.ban, "address", MINER_ADDRESS, "stolen hashrate")
        await self.sync.sync()
        self.assertTrue(by_address.closed)
        self.assertTrue(by_ip.closed)
        self.assertFalse(bystander.closed)
        self.assertEqual(self.login("10.0.0.2", OTHER_ADDRESS), (None, None))
        refused = self.pool.connect(ip="10.0.0.2")
        [message] = refused.read()                # told why, no session
        self.assertEqual(message["method"], "client.show_message")
        self.assertIn("banned by the pool operator", message["params"][0])
        _, answer = self.login("10.0.0.4", MINER_ADDRESS)
        self.assertEqual(answer["error"][0], 24)
        self.assertIn("banned by the pool operator", answer["error"][1])
        _, answer = self.login("10.0.0.4", OTHER_ADDRESS)
        self.assertIs(answer["result"], True)

        self.db.run_sync(bans.unban, "ip", "10.0.0.2")
        self.db.run_sync(bans.unban, "address", MINER_ADDRESS)
        await self.sync.reconfigure(None)        # systemctl reload applies at once
        _, answer = self.login("10.0.0.2", MINER_ADDRESS)
        self.assertIs(answer["result"], True)

    async def test_expired_bans_do_not_count(self):
        self.db.run_sync(bans.ban, "ip", "10.0.0.5", "short", hours=1, now=0)
        await self.sync.sync()
        _, answer = self.login("10.0.0.5", MINER_ADDRESS)
        self.assertIs(answer["result"], True)

    async def test_unreadable_database_keeps_the_last_bans(self):
        self.db.run_sync(bans.ban, "ip", "10.0.0.6", "abuse")
        await self.sync.sync()
        broken = SimpleNamespace(db=SimpleNamespace(run=lambda *a, **k: defer.fail(
            OSError("database is locked"))), ready=defer.succeed(None))
        self.sync.ledger = broken
        await self.sync.sync()                   # logs a warning, raises nothing
        self.assertEqual(self.login("10.0.0.6", MINER_ADDRESS), (None, None))

    async def test_nothing_is_read_before_the_schema_is_ready(self):
        self.sync.ledger = SimpleNamespace(db=None, ready=defer.Deferred())
        await self.sync.sync()
        self.assertEqual(self.sync.current, (frozenset(), frozenset()))
