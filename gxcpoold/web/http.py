"""HTTP plumbing shared by every route: headers, client IP, rate limit, JSON, errors.

Every response carries the security headers (a CSP that allows no inline
script, nosniff, no framing).  /api/ and /metrics are rate limited per client
IP (a token bucket: [web] api_rate per second, api_burst at once); beyond it
429 with Retry-After.  Errors are JSON {"error": {"status", "message"}} on the
API and a short text page elsewhere; a traceback never reaches a client.
"""
import json
import math

from twisted.logger import Logger
from twisted.web import server

JSON_TYPE = b"application/json; charset=utf-8"
SECURITY_HEADERS = {
    b"Content-Security-Policy": (b"default-src 'self'; script-src 'self'; style-src 'self'; "
                                 b"img-src 'self' data:; connect-src 'self'; "
                                 b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    b"X-Content-Type-Options": b"nosniff",
    b"X-Frame-Options": b"DENY",
    b"Referrer-Policy": b"no-referrer",
    b"Cross-Origin-Opener-Policy": b"same-origin",
}
RATE_LIMITED_PREFIXES = (b"/api/", b"/metrics")
# Streams are limited by their own cap ([web] max_event_streams), not per request.
RATE_EXEMPT = (b"/api/events",)
MAX_PARAM_LENGTH = 128


class ApiError(Exception):
    """A refusal with an HTTP status and a message the client may see."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def is_api(request) -> bool:
    return request.path.startswith(b"/api/") or request.path == b"/metrics"


def json_bytes(obj) -> bytes:
    # allow_nan=False: a NaN or infinity is a bug here, never valid JSON out
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("utf-8")


def json_response(request, obj, status=200) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", JSON_TYPE)
    request.setHeader(b"Cache-Control", b"no-store")
    return json_bytes(obj)


def error_body(request, status, message) -> bytes:
    """The error answer in the form the path calls for (JSON on the API)."""
    request.setResponseCode(status)
    request.setHeader(b"Cache-Control", b"no-store")
    if is_api(request):
        request.setHeader(b"Content-Type", JSON_TYPE)
        return json_bytes({"error": {"status": status, "message": message}})
    request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
    return ("%d %s\n" % (status, message)).encode("utf-8")


# ------------------------------------------------------------ parameters

def query_arg(request, name):
    """The text of one query parameter, or None; 400 for a repeated or huge one."""
    values = request.args.get(name.encode("ascii"))
    if not values:
        return None
    if len(values) > 1:
        raise ApiError(400, "parameter %r given more than once" % name)
    value = values[0]
    if len(value) > MAX_PARAM_LENGTH:
        raise ApiError(400, "parameter %r is too long" % name)
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "parameter %r is not UTF-8 text" % name) from None


def int_arg(request, name, *, default, minimum, maximum):
    text = query_arg(request, name)
    if text is None or text == "":
        return default
    if not text.isdigit() and not (text.startswith("-") and text[1:].isdigit()):
        raise ApiError(400, "parameter %r must be a whole number" % name)
    value = int(text)
    if not minimum <= value <= maximum:
        raise ApiError(400, "parameter %r must be between %d and %d" % (name, minimum, maximum))
    return value


def choice_arg(request, name, choices, *, default):
    text = query_arg(request, name)
    if text is None or text == "":
        return default
    if text not in choices:
        raise ApiError(400, "parameter %r must be one of %s" % (name, ", ".join(choices)))
    return text


# ------------------------------------------------------------ client and rate

def client_ip(request, trusted_proxies=()) -> str:
    """The peer's address; behind a trusted proxy, the last address it added."""
    peer = request.getClientAddress()
    ip = getattr(peer, "host", None) or "unknown"
    if ip in trusted_proxies:
        forwarded = request.getHeader(b"x-forwarded-for")
        if forwarded:
            last = forwarded.decode("latin-1").split(",")[-1].strip()
            if last and len(last) <= 64:
                return last
    return ip


class RateLimiter:
    """A token bucket per client IP: rate tokens a second, burst at most."""

    MAX_TRACKED = 100_000           # buckets kept; full ones are forgotten first

    def __init__(self, rate, burst, clock):
        self.rate = float(rate)
        self.burst = float(burst)
        self.clock = clock
        self._buckets = {}          # ip -> (tokens, time)

    def take(self, ip):
        """None if the request may go ahead, else the seconds to wait."""
        now = self.clock.seconds()
        tokens, then = self._buckets.get(ip, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < 1.0:
            self._buckets[ip] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self._buckets[ip] = (tokens - 1.0, now)
        if len(self._buckets) > self.MAX_TRACKED:
            self._forget_full(now)
        return None

    def _forget_full(self, now):
        for ip, (tokens, then) in list(self._buckets.items()):
            if tokens + (now - then) * self.rate >= self.burst:
                del self._buckets[ip]


# ------------------------------------------------------------ site and request

class PoolRequest(server.Request):
    log = Logger()

    def process(self):
        for name, value in SECURITY_HEADERS.items():
            self.setHeader(name, value)
        site = self.channel.site
        if self.path.startswith(RATE_LIMITED_PREFIXES) and self.path not in RATE_EXEMPT:
            wait = site.limiter.take(client_ip(self, site.trusted_proxies))
            if wait is not None:
                self.setHeader(b"Retry-After", b"%d" % max(1, math.ceil(wait)))
                body = error_body(self, 429, "too many requests: at most %g a second "
                                             "(burst %d); retry later"
                                  % (site.limiter.rate, site.limiter.burst))
                self.setHeader(b"Content-Length", b"%d" % len(body))
                self.write(body)
                self.finish()
                return
        super().process()

    def processingFailed(self, reason):
        # Never the traceback to the client; once in the log for the operator.
        self.log.failure("web request {method} {path} failed", reason,
                         method=self.method.decode("ascii", "replace"),
                         path=self.path[:200].decode("ascii", "replace"))
        if self.finished or self._disconnected:
            return None
        body = error_body(self, 500, "internal error")
        self.setHeader(b"Content-Length", b"%d" % len(body))
        self.write(body)
        self.finish()
        return reason


class PoolSite(server.Site):
    requestFactory = PoolRequest
    displayTracebacks = False

    def __init__(self, resource, *, limiter, trusted_proxies=(), **kw):
        super().__init__(resource, **kw)
        self.limiter = limiter
        self.trusted_proxies = tuple(trusted_proxies)

    def log(self, request):
        """No access log line per request (the journal is for the pool's events)."""
