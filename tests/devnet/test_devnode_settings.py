"""DevNodeSettings validation, the twistd plugin and its options (spec §5 configurable knobs)."""
import dataclasses
import os
import subprocess
import sys
import types

from twisted.application.service import IServiceMaker
from twisted.python import usage
from twisted.trial import unittest

from gxcpoold.devnet import DevNodeService, DevNodeSettings
from gxcpoold.devnet import tap

SIMPLE_TYPES = {str, int, float, bool, int | None, str | None, float | None}
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Settings(unittest.TestCase):
    def test_defaults_are_the_real_node(self):
        settings = DevNodeSettings()
        self.assertEqual(settings.network, "testnet")
        self.assertEqual((settings.floor, settings.coinbase_maturity, settings.prefix,
                          settings.chain_name), (1.0, 6, "tGXC", "test"))
        self.assertEqual((settings.retarget_interval, settings.retarget_factor), (2016, 1.75))
        self.assertEqual((settings.block_reward, settings.halving_interval), (50.0, 1_051_200))
        self.assertEqual((settings.request_limit, settings.single_read), (8191, True))
        self.assertEqual(settings.mempool_expiry, 3600.0)
        self.assertEqual((settings.other_miner_interval, settings.clock_offset), (0.0, 0.0))
        for quirk in ("txid_rewrite", "stale_mempool", "double_spend", "fabricated_getblock",
                      "listunspent_crash", "nonce_truncation"):
            self.assertIs(getattr(settings, quirk), True, quirk)
        self.assertIs(settings.restart_emulation, False)
        self.assertIsNone(settings.genesis_seed)
        self.assertIsNone(settings.state_file)

    def test_mainnet(self):
        settings = DevNodeSettings(network="mainnet")
        self.assertEqual((settings.floor, settings.coinbase_maturity, settings.prefix,
                          settings.chain_name), (1000.0, 100, "GXC", "main"))
        self.assertEqual(DevNodeSettings(network="mainnet", maturity=3).coinbase_maturity, 3)
        self.assertEqual(DevNodeSettings(difficulty=2).floor, 2.0)

    def test_annotations_are_simple_for_the_config_loader(self):
        for field in dataclasses.fields(DevNodeSettings):
            self.assertIn(field.type, SIMPLE_TYPES, field.name)

    def test_frozen(self):
        with self.assertRaises(dataclasses.FrozenInstanceError):
            DevNodeSettings().network = "mainnet"

    def test_invalid_values_name_the_field(self):
        cases = {"network": "regtest", "difficulty": 0, "retarget_interval": 0,
                 "retarget_factor": -1.0, "maturity": -1, "block_reward": 0.0,
                 "halving_interval": 0, "other_miner_interval": -1.0, "request_limit": 10,
                 "mempool_expiry": 0.0, "state_file": "", "single_read": "yes",
                 "txid_rewrite": 1, "clock_offset": "5", "genesis_seed": 5}
        for field, value in cases.items():
            with self.assertRaises(ValueError) as caught:
                DevNodeSettings(**{field: value})
            self.assertIn(repr(field), str(caught.exception))
        with self.assertRaises(ValueError):
            DevNodeSettings(difficulty=float("inf"))
        with self.assertRaises(ValueError):
            DevNodeSettings(maturity=True)


class Plugin(unittest.TestCase):
    def test_options_build_settings(self):
        options = tap.Options()
        options.parseOptions(["--endpoint", "tcp:0:interface=127.0.0.1", "--network", "mainnet",
                              "--difficulty", "1001", "--maturity", "3",
                              "--other-miner-interval", "2.5", "--state-file", "/tmp/x.json",
                              "--genesis-seed", "abc", "--no-txid-rewrite",
                              "--restart-emulation"])
        settings = options["settings"]
        self.assertEqual((settings.network, settings.difficulty, settings.maturity),
                         ("mainnet", 1001.0, 3))
        self.assertEqual((settings.other_miner_interval, settings.state_file,
                          settings.genesis_seed), (2.5, "/tmp/x.json", "abc"))
        self.assertEqual((settings.txid_rewrite, settings.restart_emulation), (False, True))
        service = tap.makeService(options)
        self.assertIsInstance(service, DevNodeService)
        self.assertEqual(service.endpoint, "tcp:0:interface=127.0.0.1")

    def test_every_knob_has_an_option(self):
        fields = {f.name for f in dataclasses.fields(DevNodeSettings)}
        covered = {v[0] for v in tap._VALUES.values()} | {v[0] for v in tap._FLAGS.values()}
        self.assertEqual(fields, covered)

    def test_bad_values_are_usage_errors(self):
        for argv in (["--network", "regtest"], ["--maturity", "x"], ["--difficulty", "-1"]):
            with self.assertRaises(usage.UsageError):
                tap.Options().parseOptions(argv)

    def test_plugin_is_a_service_maker(self):
        from twisted.plugins import gxcdevnode_plugin
        maker = gxcdevnode_plugin.gxcdevnode
        self.assertTrue(IServiceMaker.providedBy(maker))
        self.assertEqual(maker.tapname, "gxcdevnode")
        self.assertIsInstance(maker.options, type)
        self.assertTrue(isinstance(tap.main, types.FunctionType))

    def test_twistd_help_lists_every_option(self):
        env = dict(os.environ, PYTHONPATH=REPO)
        twistd = subprocess.run(
            [sys.executable, "-c", "import sys; from twisted.scripts.twistd import run; "
             "sys.argv=['twistd','-n','gxcdevnode','--help']; run()"],
            capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
        for name in list(tap._VALUES) + list(tap._FLAGS) + ["endpoint"]:
            self.assertIn(f"--{name}", twistd.stdout, twistd.stderr)
