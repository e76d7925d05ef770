"""SIGHUP and [alerts]: every key reloads; webhook URLs and the secret never reach the log;
the configuration refuses what it cannot use, without repeating a URL in its reason."""
import dataclasses

import pytest
from twisted.application.service import MultiService
from twisted.internet import reactor
from twisted.trial import unittest

from gxcpoold.alerts.service import AlertService
from gxcpoold.config import ConfigError, load_config
from gxcpoold.events import EventHub
from gxcpoold.reload import ConfigReloader, needs_restart
from tests.alerts.test_webhook import capture_log


def config_with(**alerts):
    config = load_config(None, environ={})
    return dataclasses.replace(config, alerts=dataclasses.replace(config.alerts, **alerts))


class _Root(MultiService):
    def __init__(self, config):
        super().__init__()
        self.config = config


class ReloadTests(unittest.TestCase):
    async def test_reload_applies_alerts_and_hides_urls_and_secret(self):
        lines = capture_log(self)
        old = config_with(webhooks=("http://127.0.0.1:9/hook/OLD-TOKEN",), secret="old-secret")
        new = config_with(webhooks=("http://127.0.0.1:9/hook/NEW-TOKEN",), secret="new-secret",
                          min_severity="error")
        root = _Root(old)
        alerts = AlertService(old, reactor, events=EventHub(reactor))
        alerts.setServiceParent(root)
        reloader = ConfigReloader(lambda: new, reactor)
        reloader.setServiceParent(root)
        self.assertTrue(await reloader.reload())
        self.assertEqual(alerts.settings.min_severity, "error")
        self.assertEqual(list(alerts.sender.destinations), list(new.alerts.webhooks))
        self.assertEqual(alerts.sender.secret, "new-secret")
        text = "\n".join(t for _, t in lines)
        self.assertIn("alerts.webhooks changed", text)
        self.assertIn("alerts.secret changed", text)
        for secret in ("OLD-TOKEN", "NEW-TOKEN", "old-secret", "new-secret"):
            self.assertNotIn(secret, text)
        await alerts.sender.close(0.1)

    def test_no_alert_key_needs_a_restart(self):
        for key in ("webhooks", "timeout", "retries", "kinds", "secret", "node_down_after",
                    "check_interval", "min_severity", "queue_size", "payout_stuck_after"):
            self.assertFalse(needs_restart("alerts." + key), key)


def test_configuration_checks():
    env = {"GXCPOOL_ALERTS_WEBHOOKS": "http://a.example/x, http://b.example:8080/y"}
    assert load_config(None, environ=env).alerts.webhooks == ("http://a.example/x",
                                                              "http://b.example:8080/y")
    for bad, why in (("ftp://a.example/TOKEN", "webhook 1 is not an http"),
                     ("http:///TOKEN", "webhook 1 is not an http"),
                     ("http://a.example:99999/TOKEN", "webhook 1 is not an http")):
        with pytest.raises(ConfigError, match=why):
            load_config(None, environ={"GXCPOOL_ALERTS_WEBHOOKS": bad})
    with pytest.raises(ConfigError, match="unknown alert kind 'node.gone'"):
        load_config(None, environ={"GXCPOOL_ALERTS_KINDS": "node.down,node.gone"})
    with pytest.raises(ConfigError, match=r"\[alerts\] min_severity"):
        load_config(None, environ={"GXCPOOL_ALERTS_MIN_SEVERITY": "loud"})
    with pytest.raises(ConfigError, match=r"\[alerts\] retries"):
        load_config(None, environ={"GXCPOOL_ALERTS_RETRIES": "99"})
    with pytest.raises(ConfigError, match=r"\[alerts\] timeout"):
        load_config(None, environ={"GXCPOOL_ALERTS_TIMEOUT": "0"})


def test_https_needs_twisted_tls():
    env = {"GXCPOOL_ALERTS_WEBHOOKS": "https://hooks.example/T"}
    import importlib.util
    if importlib.util.find_spec("OpenSSL") is None:
        with pytest.raises(ConfigError, match=r"twisted\[tls\]"):
            load_config(None, environ=env)
    else:
        assert load_config(None, environ=env).alerts.webhooks == ("https://hooks.example/T",)
