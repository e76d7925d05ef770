"""ConfigReloader: what a reload installs, what it refuses, and that SIGHUP triggers it."""
import dataclasses
import os
import signal
from fractions import Fraction

from twisted.application.service import MultiService, Service
from twisted.internet import defer, reactor
from twisted.trial import unittest

from gxcpoold.config import ConfigError, load_config
from gxcpoold.reload import ConfigReloader, changes, flatten, needs_restart, reconfigurable


def base_config():
    return load_config(None, environ={})


def with_(config, section, **values):
    return dataclasses.replace(config, **{section: dataclasses.replace(getattr(config, section),
                                                                       **values)})


class Recorder(Service):
    """A service that applies new configurations; optionally slow or failing."""

    def __init__(self, name, fail=False):
        self.setName(name)
        self.seen = []
        self.fail = fail
        self.gate = None           # a Deferred reconfigure waits on, when set

    def reconfigure(self, config):
        if self.fail:
            raise RuntimeError("cannot apply")
        self.seen.append(config)
        return self.gate


class Root(MultiService):
    def __init__(self, config):
        super().__init__()
        self.config = config


class Tree:
    """root ── a (reconfigure) ── group ── b (reconfigure) ── plain; plus the reloader."""

    def __init__(self, loader, fail_a=False):
        self.config = base_config()
        self.root = Root(self.config)
        # As under twistd: the application's own service sits above the pool's.
        self.root.setServiceParent(MultiService())
        self.a = Recorder("a", fail=fail_a)
        self.a.setServiceParent(self.root)
        group = MultiService()
        group.setName("group")
        group.setServiceParent(self.root)
        self.b = Recorder("b")
        self.b.setServiceParent(group)
        Service().setServiceParent(group)
        self.events = []
        self.reloader = ConfigReloader(loader, reactor)
        self.reloader.log = type(self.reloader.log)(namespace="test",
                                                    observer=self.events.append)
        self.reloader.setServiceParent(self.root)

    def messages(self):
        from twisted.logger import formatEvent
        return [(e["log_level"].name, formatEvent(e)) for e in self.events]


class DiffTests(unittest.TestCase):
    def test_flatten_names_every_setting_by_section_and_key(self):
        flat = flatten(base_config())
        self.assertEqual(flat["pool.fee"], Fraction(1, 100))
        self.assertEqual(flat["stratum.gxhash.endpoint"], "tcp:3335")
        self.assertIn("devnet.node.difficulty", flat)
        self.assertNotIn("source", flat)

    def test_changes_lists_only_differences(self):
        old = base_config()
        new = with_(with_(old, "pool", fee=Fraction(2, 100)), "payouts", minimum=20_000_000)
        self.assertEqual(changes(old, new), [
            ("payouts.minimum", 10_000_000, 20_000_000),
            ("pool.fee", Fraction(1, 100), Fraction(2, 100)),
        ])
        self.assertEqual(changes(old, dataclasses.replace(old, source="elsewhere")), [])

    def test_restart_required_keys(self):
        for key in ("stratum.sha256d.endpoint", "web.endpoint", "database_url", "database.url",
                    "pool.network", "node.url", "devnet.enabled"):
            self.assertTrue(needs_restart(key), key)
        for key in ("pool.fee", "payouts.minimum", "stratum.sha256d.max_difficulty",
                    "stratum.ethash.shares_per_minute"):
            self.assertFalse(needs_restart(key), key)

    def test_reconfigurable_stops_at_services_that_handle_their_children(self):
        outer = Recorder("outer")
        root = MultiService()
        outer.setServiceParent(root)
        self.assertEqual([s.name for s in reconfigurable(root)], ["outer"])


class ReloadTests(unittest.TestCase):
    async def test_fee_change_reaches_every_reconfigurable_service(self):
        holder = {}
        tree = Tree(lambda: holder["new"])
        holder["new"] = with_(tree.config, "pool", fee=Fraction(3, 100))
        installed = await tree.reloader.reload()
        self.assertTrue(installed)
        self.assertIs(tree.root.config, holder["new"])
        self.assertEqual(tree.a.seen, [holder["new"]])
        self.assertEqual(tree.b.seen, [holder["new"]])
        level, text = tree.messages()[-1]
        self.assertEqual(level, "info")
        self.assertIn(": pool.fee 0.01 -> 0.03", text)

    async def test_amounts_are_shown_in_gxc(self):
        holder = {}
        tree = Tree(lambda: holder["new"])
        holder["new"] = with_(tree.config, "payouts", minimum=50_000_000)
        await tree.reloader.reload()
        self.assertTrue(tree.messages()[-1][1].endswith(
            ": payouts.minimum 0.10000000 GXC -> 0.50000000 GXC"), tree.messages())

    async def test_invalid_configuration_is_refused_with_one_line(self):
        def loader():
            raise ConfigError("[pool] fee = 0.9: must be at least 0 and below 0.5")
        tree = Tree(loader)
        installed = await tree.reloader.reload()
        self.assertFalse(installed)
        self.assertIs(tree.root.config, tree.config)
        self.assertEqual(tree.a.seen, [])
        self.assertEqual(tree.messages(), [(
            "error", "configuration reload refused, keeping the running configuration: "
                     "[pool] fee = 0.9: must be at least 0 and below 0.5")])

    async def test_restart_only_change_is_refused_and_nothing_applied(self):
        holder = {}
        tree = Tree(lambda: holder["new"])
        new = with_(tree.config, "pool", fee=Fraction(2, 100))
        holder["new"] = with_(new, "web", endpoint="tcp:5001")
        installed = await tree.reloader.reload()
        self.assertFalse(installed)
        self.assertIs(tree.root.config, tree.config)
        self.assertEqual(tree.b.seen, [])
        (level, text), = tree.messages()
        self.assertEqual(level, "error")
        self.assertIn("web.endpoint changed, which needs a restart", text)
        self.assertNotIn("pool.fee", text)

    async def test_database_password_never_logged(self):
        holder = {}
        tree = Tree(lambda: holder["new"])
        holder["new"] = dataclasses.replace(
            tree.config, database_url="postgresql+psycopg://pool:hunter2@db/gxcpool")
        await tree.reloader.reload()
        self.assertNotIn("hunter2", repr(tree.messages()))

    async def test_a_failing_service_does_not_stop_the_others(self):
        holder = {}
        tree = Tree(lambda: holder["new"], fail_a=True)
        holder["new"] = with_(tree.config, "payouts", minimum=50_000_000)
        self.assertTrue(await tree.reloader.reload())
        self.assertEqual(tree.b.seen, [holder["new"]])
        self.assertTrue(any(level == "critical" and "service a failed" in text
                            for level, text in tree.messages()), tree.messages())
        self.flushLoggedErrors(RuntimeError)

    async def test_a_reload_during_a_reload_runs_after_it(self):
        fees = iter([Fraction(2, 100), Fraction(4, 100)])
        tree = Tree(lambda: with_(tree.config, "pool", fee=next(fees)))
        tree.reloader.startService()
        self.addCleanup(tree.reloader.stopService)
        tree.a.gate = defer.Deferred()
        first = tree.reloader.reload()
        tree.reloader.reload()
        self.assertEqual(len(tree.a.seen), 1)      # the second waits for the first
        tree.a.gate, gate = None, tree.a.gate
        gate.callback(None)
        await first
        self.assertIsNone(tree.reloader._busy)
        self.assertEqual([c.pool.fee for c in tree.a.seen], [Fraction(2, 100), Fraction(4, 100)])


class SignalTests(unittest.TestCase):
    async def test_sighup_reloads_and_stopping_restores_the_handler(self):
        applied = defer.Deferred()
        holder = {}
        tree = Tree(lambda: holder["new"])
        holder["new"] = with_(tree.config, "pool", fee=Fraction(5, 100))
        tree.b.reconfigure = lambda config: applied.callback(config)
        before = signal.getsignal(signal.SIGHUP)
        tree.reloader.startService()
        try:
            os.kill(os.getpid(), signal.SIGHUP)
            config = await applied
        finally:
            tree.reloader.stopService()
        self.assertEqual(config.pool.fee, Fraction(5, 100))
        self.assertEqual(signal.getsignal(signal.SIGHUP), before)
