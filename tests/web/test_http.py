"""The web's HTTP plumbing over real sockets: security headers, the per-IP
rate limit, JSON errors, no traceback ever reaching a client."""
import json

from klein import Klein
from twisted.internet import defer, reactor
from twisted.internet.task import Clock
from twisted.logger import globalLogPublisher
from twisted.internet.threads import deferToThread
from twisted.trial import unittest

from gxcpoold.web.http import (ApiError, PoolSite, RateLimiter, SECURITY_HEADERS, client_ip,
                               error_body, int_arg, json_response)
from tests.web.webpool import fetch


def make_site(limiter):
    app = Klein()

    @app.handle_errors(ApiError)
    def refused(request, failure):
        return error_body(request, failure.value.status, failure.value.message)

    @app.route("/api/thing")
    def thing(request):
        return json_response(request, {"n": int_arg(request, "n", default=1, minimum=1,
                                                    maximum=10)})

    @app.route("/api/broken")
    def broken(request):
        raise RuntimeError("secret internals /etc/passwd")

    @app.route("/page")
    def page(request):
        return b"<p>hello</p>"

    return PoolSite(app.resource(), limiter=limiter, trusted_proxies=("127.0.0.1",))


class HttpPlumbing(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        self.limiter = RateLimiter(rate=1.0, burst=3, clock=self.clock)
        self.port = reactor.listenTCP(0, make_site(self.limiter), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.base = "http://127.0.0.1:%d" % self.port.getHost().port
        self.logged = []
        globalLogPublisher.addObserver(self.logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.logged.append)

    @defer.inlineCallbacks
    def get(self, path, headers=None):
        response = yield deferToThread(fetch, "127.0.0.1", self.port.getHost().port, path,
                                       headers)
        return response, response.body

    @defer.inlineCallbacks
    def test_every_answer_carries_the_security_headers(self):
        for path in ("/page", "/api/thing", "/api/thing?n=x", "/nowhere"):
            response, _ = yield self.get(path)
            for name, value in SECURITY_HEADERS.items():
                self.assertEqual(response.headers[name.decode().lower()], value.decode(), path)
        csp = SECURITY_HEADERS[b"Content-Security-Policy"].decode()
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertIn("frame-ancestors 'none'", csp)

    @defer.inlineCallbacks
    def test_bad_parameter_is_a_json_400_with_a_message(self):
        response, body = yield self.get("/api/thing?n=99")
        self.assertEqual(response.status, 400)
        self.assertEqual(response.headers["content-type"], "application/json; charset=utf-8")
        self.assertEqual(json.loads(body), {"error": {
            "status": 400, "message": "parameter 'n' must be between 1 and 10"}})
        response, body = yield self.get("/api/thing?n=1&n=2")
        self.assertEqual(response.status, 400)
        self.assertIn("more than once", json.loads(body)["error"]["message"])

    @defer.inlineCallbacks
    def test_a_failing_handler_answers_500_without_its_traceback(self):
        response, body = yield self.get("/api/broken")
        self.assertEqual(response.status, 500)
        self.assertEqual(json.loads(body), {"error": {"status": 500,
                                                      "message": "internal error"}})
        self.assertNotIn(b"secret", body)
        self.assertNotIn(b"Traceback", body)
        # the operator learns of it in the log
        self.assertTrue(any("failed" in e.get("log_format", "") for e in self.logged))
        self.flushLoggedErrors(RuntimeError)

    @defer.inlineCallbacks
    def test_rate_limit_answers_429_with_retry_after_then_refills(self):
        codes = []
        for _ in range(4):
            response, body = yield self.get("/api/thing")
            codes.append(response.status)
        self.assertEqual(codes, [200, 200, 200, 429])
        self.assertEqual(response.headers["retry-after"], "1")
        self.assertEqual(json.loads(body)["error"]["status"], 429)
        # pages are not limited
        response, _ = yield self.get("/page")
        self.assertEqual(response.status, 200)
        # another client (named by the trusted proxy) has its own bucket
        response, _ = yield self.get("/api/thing", {"X-Forwarded-For": "10.1.2.3"})
        self.assertEqual(response.status, 200)
        self.clock.advance(1.0)
        response, _ = yield self.get("/api/thing")
        self.assertEqual(response.status, 200)


class Limiter(unittest.SynchronousTestCase):
    def test_bucket_refills_at_the_rate_up_to_the_burst(self):
        clock = Clock()
        limiter = RateLimiter(rate=2.0, burst=2, clock=clock)
        self.assertIsNone(limiter.take("a"))
        self.assertIsNone(limiter.take("a"))
        self.assertAlmostEqual(limiter.take("a"), 0.5)
        clock.advance(0.5)
        self.assertIsNone(limiter.take("a"))
        clock.advance(100)
        self.assertIsNone(limiter.take("a"))
        self.assertIsNone(limiter.take("a"))
        self.assertIsNotNone(limiter.take("a"))

    def test_forgets_full_buckets_when_tracking_too_many(self):
        clock = Clock()
        limiter = RateLimiter(rate=1.0, burst=1, clock=clock)
        limiter.MAX_TRACKED = 10
        for i in range(11):
            limiter.take("10.0.0.%d" % i)
        clock.advance(5)
        limiter.take("10.0.1.1")
        self.assertLessEqual(len(limiter._buckets), 2)


class ClientIp(unittest.SynchronousTestCase):
    class Request:
        def __init__(self, peer, forwarded=None):
            self.peer, self.forwarded = peer, forwarded

        def getClientAddress(self):
            from twisted.internet.address import IPv4Address
            return IPv4Address("TCP", self.peer, 1234)

        def getHeader(self, name):
            return self.forwarded

    def test_forwarded_for_only_from_a_trusted_proxy(self):
        self.assertEqual(client_ip(self.Request("10.0.0.1", b"1.2.3.4"), ()), "10.0.0.1")
        self.assertEqual(client_ip(self.Request("127.0.0.1", b"6.6.6.6, 1.2.3.4"),
                                   ("127.0.0.1",)), "1.2.3.4")
        self.assertEqual(client_ip(self.Request("127.0.0.1", None), ("127.0.0.1",)),
                         "127.0.0.1")
