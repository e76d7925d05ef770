"""WebhookSender against a local receiver: delivery, signature, retries, timeouts, queue, stop."""
import hashlib
import hmac
import json
import time

from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.logger import globalLogPublisher
from twisted.trial import unittest

from gxcpoold.alerts.payload import Alert
from gxcpoold.alerts.webhook import WebhookSender, shown_url
from tests.alerts.receiver import Receiver, refused_url
from tests.waiting import wait_for


def capture_log(test):
    """Formatted log lines of this test, from every logger."""
    from twisted.logger import formatEvent
    lines = []

    def observer(event):
        lines.append((event.get("log_level").name, formatEvent(event)))
    globalLogPublisher.addObserver(observer)
    test.addCleanup(globalLogPublisher.removeObserver, observer)
    return lines


class WebhookSenderTests(unittest.TestCase):
    timeout = 30

    def sender(self, urls, **kw):
        kw.setdefault("timeout", 1.0)
        kw.setdefault("retries", 2)
        kw.setdefault("retry_backoff", 0.05)
        s = WebhookSender(reactor, urls, **kw)
        self.addCleanup(lambda: s.close(grace=0.5))
        return s

    def body(self, kind="block.found", message="a block"):
        alert = Alert(kind, message, time.time(), {"height": 7})
        return "%s %s" % (kind, alert.id), alert.body("testpool", "testnet")

    async def test_posts_json_to_every_url_with_signature(self):
        lines = capture_log(self)
        a, b = await Receiver.start(self), await Receiver.start(self)
        s = self.sender([a.url, b.url], secret="s3cret")
        label, body = self.body()
        s.send(label, body)
        await a.wait_for(1)
        await b.wait_for(1)
        for r in (a, b):
            got = r.requests[0]
            self.assertEqual(got["headers"]["content-type"], "application/json")
            self.assertEqual(got["body"], body)
            want = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
            self.assertEqual(got["headers"]["x-gxcpool-signature"], want)
            payload = got["json"]
            self.assertEqual(payload["version"], 1)
            self.assertEqual((payload["kind"], payload["severity"], payload["pool"],
                              payload["network"]), ("block.found", "info", "testpool", "testnet"))
            self.assertTrue(payload["time"].endswith("Z"))
            self.assertEqual(payload["details"], {"height": 7})
        self.assertEqual(s.sent, 2)
        # a delivery adds no info line of Twisted's own ("Starting factory ...")
        self.assertEqual([t for level, t in lines if "_HTTP11ClientFactory" in t], [])

    async def test_no_signature_without_secret(self):
        a = await Receiver.start(self)
        s = self.sender([a.url])
        s.send(*self.body())
        await a.wait_for(1)
        self.assertNotIn("x-gxcpool-signature", a.requests[0]["headers"])

    async def test_500_is_retried_then_given_up_with_a_log_line(self):
        lines = capture_log(self)
        bad, good = await Receiver.start(self), await Receiver.start(self)
        bad.mode, bad.status = "status", 500
        s = self.sender([bad.url, good.url], retries=2)
        s.send(*self.body())
        await wait_for(lambda: s.failed == 1, "the delivery to give up", 10)
        self.assertEqual(len(bad.requests), 3)          # one attempt + two retries
        self.assertEqual(len(good.requests), 1)
        self.assertEqual(len({r["json"]["id"] for r in bad.requests}), 1)   # same alert
        failed = [text for level, text in lines if "not delivered" in text]
        self.assertEqual(len(failed), 1)
        self.assertIn("after 3 attempt(s): HTTP 500", failed[0])
        self.assertNotIn("secret-token", failed[0])     # the URL's path is never logged

    async def test_4xx_is_not_retried(self):
        bad = await Receiver.start(self)
        bad.mode, bad.status = "status", 400
        s = self.sender([bad.url], retries=3)
        s.send(*self.body())
        await wait_for(lambda: s.failed == 1, "the delivery to give up", 10)
        self.assertEqual(len(bad.requests), 1)

    async def test_refused_connection_is_retried_then_given_up(self):
        lines = capture_log(self)
        s = self.sender([refused_url()], retries=2)
        s.send(*self.body())
        await wait_for(lambda: s.failed == 1, "the delivery to give up", 10)
        failed = [text for level, text in lines if "not delivered" in text]
        self.assertIn("after 3 attempt(s)", failed[0])
        self.assertIn("refused", failed[0].lower())

    async def test_slow_receiver_times_out_and_does_not_delay_another(self):
        slow, fast = await Receiver.start(self), await Receiver.start(self)
        slow.mode, slow.delay = "slow", 3.0                # answers after the timeout
        s = self.sender([slow.url, fast.url], timeout=0.3, retries=1)
        started = time.monotonic()
        for _ in range(3):
            s.send(*self.body())
        await fast.wait_for(3)
        self.assertLess(time.monotonic() - started, 1.0)   # not behind the slow one
        await wait_for(lambda: s.failed == 3, "three give-ups", 10)
        self.assertEqual(len(slow.requests), 6)            # two attempts each, one at a time

    async def test_full_queue_drops_the_oldest_with_a_log_line(self):
        lines = capture_log(self)
        hung = await Receiver.start(self)
        hung.mode = "hang"
        s = self.sender([hung.url], timeout=5.0, queue_size=3)
        labels = []
        for i in range(6):
            label, body = self.body(message="alert %d" % i)
            labels.append(label)
            s.send(label, body)
        # one in flight, three queued: the two oldest queued were dropped
        self.assertEqual(s.dropped, 2)
        queued = [label for label, _ in s.destinations[hung.url].queue]
        self.assertEqual(queued, labels[3:])
        self.assertEqual(len([t for _, t in lines if "dropping the oldest" in t]), 1)
        hung.mode = "ok"                   # answers from now on; the held one times out
        s.timeout = 0.3
        for request in hung.held:
            request.channel.transport.abortConnection()
        await wait_for(lambda: not s._pending(), "the queue to drain", 10)
        drained = [t for _, t in lines if "were dropped while" in t]
        self.assertEqual(len(drained), 1)
        self.assertIn("2 alert(s)", drained[0])

    async def test_close_waits_at_most_the_grace_period(self):
        hung = await Receiver.start(self)
        hung.mode = "hang"
        s = WebhookSender(reactor, [hung.url], timeout=30.0, retries=5, retry_backoff=0.05)
        for _ in range(5):
            s.send(*self.body())
        await hung.wait_for(1)
        started = time.monotonic()
        await s.close(grace=0.5)
        self.assertLess(time.monotonic() - started, 1.5)
        s.send(*self.body())                               # after close: ignored, no raise
        await deferLater(reactor, 0.1, lambda: None)
        self.assertEqual(len(hung.requests), 1)

    async def test_close_delivers_what_is_queued_when_quick(self):
        a = await Receiver.start(self)
        s = WebhookSender(reactor, [a.url], timeout=2.0, retries=0, retry_backoff=0.05)
        for _ in range(3):
            s.send(*self.body())
        await s.close(grace=3.0)
        self.assertEqual(len(a.requests), 3)

    async def test_reconfigure_keeps_a_kept_url_and_drops_a_removed_one(self):
        a, b = await Receiver.start(self), await Receiver.start(self)
        s = self.sender([a.url])
        s.configure([b.url], timeout=1.0, retries=0, retry_backoff=0.05, queue_size=10,
                    secret="")
        s.send(*self.body())
        await b.wait_for(1)
        self.assertEqual(a.requests, [])

    def test_shown_url_hides_path_query_and_credentials(self):
        self.assertEqual(shown_url("https://u:p@hooks.example.com/services/T0/B0/XYZ?x=1"),
                         "https://hooks.example.com")
        self.assertEqual(shown_url("http://[::1]:8080/a"), "http://[::1]:8080")

    def test_body_is_one_json_object_with_the_schema(self):
        alert = Alert("node.down", "node down for 3 min: refused", 1_700_000_000.5, {"a": 1})
        payload = json.loads(alert.body("p", "testnet"))
        self.assertEqual(payload["time"], "2023-11-14T22:13:20.500Z")
        self.assertEqual(payload["unix_time"], 1_700_000_000.5)
        self.assertEqual(sorted(payload), ["details", "id", "kind", "message", "network",
                                           "pool", "severity", "time", "unix_time", "version"])
        self.assertEqual(payload["severity"], "critical")
