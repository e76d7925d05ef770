"""AlertService: each alert once per event or episode, to a local webhook receiver."""
import dataclasses
import socket
import time

from twisted.internet import reactor
from twisted.internet.task import Clock, deferLater
from twisted.trial import unittest

from gxcpoold.alerts.service import AlertService
from gxcpoold.config import AlertSettings, load_config
from gxcpoold.events import EventHub
from gxcpoold.ledger import meta
from gxcpoold.ledger import payoutstore as store
from gxcpoold.ledger.accounts import add_to_balance
from gxcpoold.ledger.sharewriter import ShareWriter
from gxcpoold.node.health import NodeHealth
from tests.alerts.receiver import Receiver
from tests.alerts.test_webhook import capture_log
from tests.ledger.dbtest import each_backend, trial_database
from tests.ledger.factories import share
from tests.ledger.outage import DatabaseOutage
from tests.stratum.helpers import Pool
from tests.waiting import wait_for

ADDRESS = "tGXC" + "12" * 17


def make_config(urls, **alerts):
    config = load_config(environ={})
    fields = dict(webhooks=tuple(urls), timeout=1.0, retries=1, retry_backoff=0.05,
                  check_interval=3600.0)      # tests call watch.check() themselves
    fields.update(alerts)
    return dataclasses.replace(config, alerts=AlertSettings(**fields))


class _Node:
    def __init__(self, clock):
        self.health = NodeHealth(clock, slow_after=2.0, down_after_failures=3, stale_after=15.0)


class AlertMixin:
    timeout = 30

    def service(self, urls, *, node=None, ledger=None, ports=None, **alerts):
        self.hub = EventHub(reactor)
        service = AlertService(make_config(urls, **alerts), reactor, events=self.hub, node=node,
                               ledger=ledger, ports=ports)
        service.startService()
        self.addCleanup(lambda: service.running and service.stopService())
        return service

    async def settle(self, receiver, count):
        await receiver.wait_for(count)
        await deferLater(reactor, 0.2, lambda: None)      # nothing more comes
        return receiver.kinds()


class EventAlertsTests(AlertMixin, unittest.TestCase):
    async def test_block_events_fire_once_each(self):
        r = await Receiver.start(self)
        self.service([r.url])
        found = dict(height=10, hash="00ab", algorithm="sha256d", address=ADDRESS, worker="rig")
        self.hub.publish("block.found", **found)
        self.hub.publish("block.found", **dict(found, hash="00cd"))     # same height: no
        self.hub.publish("block.submitted", **found, status="accepted", reason="")
        self.hub.publish("block.submitted", **found, status="accepted", reason="")   # again: no
        self.hub.publish("block.submitted", **dict(found, height=11, hash="00ef"),
                         status="rejected", reason="height taken")
        self.hub.publish("block.submitted", **dict(found, height=11, hash="00ff"),
                         status="rejected", reason="height taken")    # same height: no
        self.hub.publish("block.submitted", **dict(found, height=12), status="submitted",
                         reason="node down")                          # outcome unknown: no
        self.hub.publish("block.orphaned", height=10, hash="00ab", reason="the chain has 99")
        self.hub.publish("block.orphaned", height=10, hash="00ab", reason="the chain has 99")
        kinds = await self.settle(r, 4)
        self.assertEqual(kinds, ["block.found", "block.accepted", "block.rejected",
                                 "block.orphaned"])
        accepted = r.requests[1]["json"]
        self.assertEqual(accepted["details"]["height"], 10)
        self.assertIn("accepted by the node", accepted["message"])

    async def test_filters_by_kind_and_severity_but_logs_everything(self):
        lines = capture_log(self)
        r = await Receiver.start(self)
        service = self.service([r.url], min_severity="warning")
        found = dict(height=10, hash="00ab", algorithm="sha256d", address=ADDRESS, worker="rig")
        self.hub.publish("block.found", **found)                         # info: not sent
        self.hub.publish("block.orphaned", height=10, hash="00ab", reason="gone")
        self.assertEqual(await self.settle(r, 1), ["block.orphaned"])
        self.assertEqual(service.raised["block.found"], 1)
        self.assertTrue(any("alert block.found" in text for _, text in lines))
        service.reconfigure(make_config([r.url], kinds=("node.down",)))
        self.hub.publish("block.orphaned", height=11, hash="00cd", reason="gone")
        await deferLater(reactor, 0.2, lambda: None)
        self.assertEqual(len(r.requests), 1)

    async def test_no_webhook_no_subscription(self):
        service = self.service([])
        self.assertFalse(service.active)
        self.assertEqual(self.hub._subscribers, [])
        r = await Receiver.start(self)
        service.reconfigure(make_config([r.url]))        # SIGHUP adds one: on
        self.hub.publish("block.orphaned", height=1, hash="00", reason="gone")
        self.assertEqual(await self.settle(r, 1), ["block.orphaned"])
        service.reconfigure(make_config([]))             # and off again
        self.assertEqual(self.hub._subscribers, [])

    async def test_a_failing_receiver_never_reaches_the_publisher(self):
        r = await Receiver.start(self)
        r.mode, r.status = "status", 500
        service = self.service([r.url])
        for height in range(20):
            self.hub.publish("block.found", height=height, hash="00", algorithm="sha256d",
                             address=ADDRESS, worker="rig")
        await wait_for(lambda: service.sender.failed == 20, "every delivery to give up", 20)


class NodeAlertTests(AlertMixin, unittest.TestCase):
    async def test_down_longer_than_the_threshold_fires_once_and_recovery_once(self):
        lines = capture_log(self)
        r = await Receiver.start(self)
        clock = Clock()
        clock.advance(1000)
        node = _Node(clock)
        service = self.service([r.url], node=node, node_down_after=60.0)
        service.watch.clock = clock
        node.health.succeeded(0.1)
        node.health.template_received(5)                 # connected
        service.watch.check()
        for _ in range(3):
            node.health.failed(ConnectionRefusedError("refused"))      # down at the third
        for _ in range(5):
            clock.advance(20)
            service.watch.check()                        # 20, 40, 60 (fires), 80, 100 s
        node.health.succeeded(0.1)
        node.health.template_received(6)
        for _ in range(3):
            service.watch.check()
        kinds = await self.settle(r, 2)
        self.assertEqual(kinds, ["node.down", "node.recovered"])
        down = r.requests[0]["json"]
        self.assertEqual((down["severity"], down["details"]["state"]), ("critical", "down"))
        self.assertIn("node down for 60 s", down["message"])
        # nobody else logs "down for longer than the threshold": the alert is the line
        self.assertTrue(any(level == "critical" and "alert node.down" in text
                            for level, text in lines))

    async def test_lagging_then_down_is_one_trouble_with_one_recovery(self):
        r = await Receiver.start(self)
        clock = Clock()
        node = _Node(clock)
        service = self.service([r.url], node=node, node_down_after=30.0,
                               node_lagging_after=30.0)
        service.watch.clock = clock
        node.health.succeeded(5.0)                       # slow: lagging
        clock.advance(31)
        service.watch.check()
        service.watch.check()
        for _ in range(3):
            node.health.failed(TimeoutError("timeout"))
        clock.advance(31)
        service.watch.check()
        node.health.succeeded(0.1)
        node.health.template_received(6)
        service.watch.check()
        self.assertEqual(await self.settle(r, 3), ["node.lagging", "node.down", "node.recovered"])

    async def test_a_short_outage_fires_nothing(self):
        r = await Receiver.start(self)
        clock = Clock()
        node = _Node(clock)
        service = self.service([r.url], node=node, node_down_after=60.0)
        service.watch.clock = clock
        clock.advance(30)
        service.watch.check()                            # down 30 s: below the threshold
        node.health.succeeded(0.1)
        node.health.template_received(6)
        service.watch.check()
        await deferLater(reactor, 0.3, lambda: None)
        self.assertEqual(r.requests, [])


class ListenerAlertTests(AlertMixin, unittest.TestCase):
    def stratum(self, endpoint):
        pool = Pool(clock=reactor, endpoint=endpoint)
        pool.service.startService()
        self.addCleanup(lambda: pool.service.running and pool.service.stopService())
        return pool.service

    async def test_a_port_that_cannot_listen_and_one_that_stops(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        self.addCleanup(busy.close)
        taken = self.stratum("tcp:%d:interface=127.0.0.1" % busy.getsockname()[1])
        fine = self.stratum("tcp:0:interface=127.0.0.1")
        await fine.whenListening()
        r = await Receiver.start(self)
        service = self.service([r.url], ports={"sha256d": taken, "gxhash": fine})
        service.watch.check()
        service.watch.check()
        await fine.port.stopListening()                 # gone while the pool runs
        service.watch.check()
        service.watch.check()
        await self.settle(r, 2)
        messages = {r["json"]["details"]["algorithm"]: r["json"] for r in r.requests}
        self.assertEqual(len(r.requests), 2)
        self.assertIn("cannot listen", messages["sha256d"]["message"])
        self.assertIn("stopped listening", messages["gxhash"]["message"])
        self.assertEqual(messages["gxhash"]["severity"], "critical")
        # a stopped service (the pool stopping) is no alert
        await taken.stopService()
        service.watch.check()
        await deferLater(reactor, 0.2, lambda: None)
        self.assertEqual(len(r.requests), 2)


class LedgerAlertsMixin(AlertMixin):
    """Payout halt, stuck payouts and the share writer's outage on a real database."""

    class _Ledger:
        def __init__(self, db, shares=None):
            self.db, self.shares = db, shares

    async def check_and_wait(self, service):
        service.watch.check()
        await wait_for(lambda: service.watch._reading is None, "the ledger read")

    async def test_payouts_halted_fires_once_per_halt(self):
        db = trial_database(self, self.backend)
        r = await Receiver.start(self)
        service = self.service([r.url], ledger=self._Ledger(db))
        await self.check_and_wait(service)
        db.run_sync(meta.put, meta.PAYOUTS_HALTED, "node refused payout x#1: bad address")
        for _ in range(3):
            await self.check_and_wait(service)
        db.run_sync(store.resume, "operator", "fixed")
        await self.check_and_wait(service)
        db.run_sync(meta.put, meta.PAYOUTS_HALTED, "node refused payout x#2: no funds")
        await self.check_and_wait(service)
        self.assertEqual(await self.settle(r, 2), ["payouts.halted", "payouts.halted"])
        self.assertIn("bad address", r.requests[0]["json"]["message"])
        self.assertEqual(r.requests[1]["json"]["details"]["reason"],
                         "node refused payout x#2: no funds")

    async def test_a_payout_sent_but_unmined_too_long_fires_once(self):
        db = trial_database(self, self.backend)
        r = await Receiver.start(self)
        service = self.service([r.url], ledger=self._Ledger(db), payout_stuck_after=600.0)
        db.run_sync(add_to_balance, ADDRESS, 50_000_000)
        payout = db.run_sync(store.create_intent, ADDRESS, 10_000_000, 5, 1_800_000_000)
        db.run_sync(store.mark_sent, payout.id, "ab" * 32)
        now = time.time()
        service.watch.wall = lambda: now + 300           # 5 min: not yet
        await self.check_and_wait(service)
        service.watch.wall = lambda: now + 700
        for _ in range(3):
            await self.check_and_wait(service)
        self.assertEqual(await self.settle(r, 1), ["payout.stuck"])
        stuck = r.requests[0]["json"]
        self.assertEqual(stuck["severity"], "error")
        self.assertEqual((stuck["details"]["key"], stuck["details"]["amount"],
                          stuck["details"]["status"]), (ADDRESS + "#1", 50_000_000, "sent"))
        self.assertIn("0.50000000 GXC to " + ADDRESS, stuck["message"])

    async def test_database_unavailable_and_recovered(self):
        import os
        import tempfile
        outage = DatabaseOutage(self, self.backend)
        writer = ShareWriter(outage.db, spill_path=os.path.join(tempfile.mkdtemp(),
                                                                "shares.spill"),
                             batch_size=100, flush_interval=3600.0)
        writer.startService()
        self.addCleanup(lambda: writer.running and writer.stopService())
        r = await Receiver.start(self)
        service = self.service([r.url], ledger=self._Ledger(None, writer))
        writer.add_share(share())
        await writer.flush()
        service.watch.check()
        await outage.start()
        writer.add_share(share())
        await writer.flush()
        self.assertFalse(writer.db_ok)
        for _ in range(3):
            service.watch.check()
        await outage.end()
        await writer.flush()
        self.assertTrue(writer.db_ok)
        service.watch.check()
        service.watch.check()
        self.assertEqual(await self.settle(r, 2), ["database.unavailable", "database.recovered"])


globals().update(each_backend(LedgerAlertsMixin))
