"""WebhookSender: POST alert bodies to every configured URL, off the critical path.

Each URL has its own bounded queue and at most one request in flight, so a
slow or dead receiver delays only its own alerts, never another receiver's
and never the reactor.  An attempt (connect, request, response body) has
`timeout` seconds; a refused connection, a timeout, a 5xx, 408 or 429 is
tried again after `retry_backoff` seconds, doubling, `retries` times; any
other 4xx means the receiver will not take it and is not retried.  A full
queue drops its oldest alert with a log line.  send() never raises.

URLs are logged as scheme://host:port only: many webhook URLs (Slack,
Discord, ...) carry their token in the path.
"""
import collections
import io
from urllib.parse import urlsplit

from twisted.internet import defer
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.internet.protocol import Protocol
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool
from twisted.web.client import _HTTP11ClientFactory
from twisted.web.http_headers import Headers

import gxcpoold
from gxcpoold.alerts.payload import SIGNATURE_HEADER, signature

MAX_BACKOFF = 300.0          # seconds: the longest pause between two attempts


def shown_url(url: str) -> str:
    """scheme://host[:port] of a webhook URL, safe for the log."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = "[%s]" % host
    return "%s://%s%s" % (parts.scheme, host, ":%d" % parts.port if parts.port else "")


class Undelivered(Exception):
    """An attempt that did not end in a 2xx answer."""

    def __init__(self, reason, retry=True):
        super().__init__(reason)
        self.retry = retry


class _Destination:
    def __init__(self, url):
        self.url = url
        self.shown = shown_url(url)
        self.queue = collections.deque()     # (label, body)
        self.busy = None                     # the delivery in flight
        self.abandoned = False               # removed by a reload, or the sender closed
        self.dropping = 0                    # alerts dropped since the queue was last empty


class WebhookSender:
    log = Logger()

    def __init__(self, reactor, urls=(), *, timeout=10.0, retries=3, retry_backoff=2.0,
                 queue_size=100, secret=""):
        self.reactor = reactor
        # not persistent: alerts are rare, a kept-alive socket would mostly go stale
        self.http_pool = HTTPConnectionPool(reactor, persistent=False)
        self.http_pool._factory = _QuietClientFactory
        self.destinations = {}
        self.agent = None
        self.timeout = None
        self.closing = False
        self.sent = self.failed = self.dropped = 0      # deliveries, for tests and the log
        self._idle_waiters = []
        self.configure(urls, timeout=timeout, retries=retries, retry_backoff=retry_backoff,
                       queue_size=queue_size, secret=secret)

    def configure(self, urls, *, timeout, retries, retry_backoff, queue_size, secret):
        """Take new settings (SIGHUP): a URL kept keeps its queue; a URL removed
        loses what was waiting for it."""
        if timeout != self.timeout:
            self.timeout = timeout
            self.agent = Agent(self.reactor, connectTimeout=timeout, pool=self.http_pool)
        self.retries, self.retry_backoff = retries, retry_backoff
        self.queue_size, self.secret = queue_size, secret
        kept = {}
        for url in urls:
            kept[url] = self.destinations.pop(url, None) or _Destination(url)
        for gone in self.destinations.values():
            self._abandon(gone)
        self.destinations = kept
        for destination in kept.values():
            while len(destination.queue) > queue_size:
                self._drop_oldest(destination)

    # -- sending ------------------------------------------------------------------

    def send(self, label, body: bytes):
        """Queue body for every URL; returns at once."""
        if self.closing:
            return
        try:
            for destination in self.destinations.values():
                if len(destination.queue) >= self.queue_size:
                    self._drop_oldest(destination)
                destination.queue.append((label, body))
                self._next(destination)
        except Exception:          # a bug here must not reach the event's publisher
            self.log.failure("alerts: queueing {label} failed", label=label)

    def _drop_oldest(self, destination):
        # one line when a queue overflows and one when it has drained, not one per alert
        label, _ = destination.queue.popleft()
        self.dropped += 1
        if not destination.dropping:
            self.log.warn("alerts: queue for {url} full ({size}); dropping the oldest alerts "
                          "(first {label}) until it drains", url=destination.shown,
                          size=self.queue_size, label=label)
        destination.dropping += 1

    def _next(self, destination):
        if not destination.queue and destination.dropping:
            self.log.warn("alerts: {count} alert(s) for {url} were dropped while its queue "
                          "was full", count=destination.dropping, url=destination.shown)
            destination.dropping = 0
        if destination.busy is not None or not destination.queue:
            if destination.busy is None:
                self._check_idle()
            return
        label, body = destination.queue.popleft()
        d = defer.ensureDeferred(self._deliver(destination, label, body))
        destination.busy = d

        def done(_):
            destination.busy = None
            if self.destinations.get(destination.url) is destination:
                self._next(destination)
            else:
                self._check_idle()
        d.addBoth(done)

    async def _deliver(self, destination, label, body):
        attempts, pause = 0, self.retry_backoff
        while True:
            attempts += 1
            try:
                await self._attempt(destination.url, body)
            except Undelivered as e:
                reason, retry = str(e), e.retry
            except Exception as e:           # anything the transport says: try again
                reason, retry = _short(e), True
            else:
                self.sent += 1
                self.log.debug("alerts: {label} sent to {url}", label=label,
                               url=destination.shown)
                return
            if destination.abandoned:        # stopping, or the URL was removed: quietly
                return
            if not retry or attempts > self.retries:
                self.failed += 1
                self.log.warn("alerts: {label} not delivered to {url} after {attempts} "
                              "attempt(s): {reason}", label=label, url=destination.shown,
                              attempts=attempts, reason=reason)
                return
            self.log.debug("alerts: {label} to {url} failed ({reason}); again in {pause}s",
                           label=label, url=destination.shown, reason=reason, pause=pause)
            try:
                await deferLater(self.reactor, pause, lambda: None)
            except defer.CancelledError:
                return
            if destination.abandoned:
                return
            pause = min(pause * 2, MAX_BACKOFF)

    def _attempt(self, url, body):
        """One POST; fails with Undelivered unless the answer is 2xx.  Bounded by
        timeout as a whole (the body too: a receiver that answers and then stalls)."""
        async def exchange():
            headers = Headers({b"Content-Type": [b"application/json"],
                               b"User-Agent": [b"gxcpool/" + gxcpoold.__version__.encode()]})
            if self.secret:
                headers.addRawHeader(SIGNATURE_HEADER, signature(self.secret, body))
            response = await self.agent.request(b"POST", url.encode(), headers,
                                                FileBodyProducer(io.BytesIO(body)))
            await _discard_body(response)
            code = response.code
            if 200 <= code < 300:
                return
            retry = code >= 500 or code in (408, 429)
            raise Undelivered("HTTP %d" % code, retry=retry)
        d = defer.ensureDeferred(exchange())
        timed_out = []

        def on_timeout(result, timeout):
            timed_out.append(True)
            return result
        d.addTimeout(self.timeout, self.reactor, onTimeoutCancel=on_timeout)

        def translate(failure):
            if timed_out:                    # whatever the cancelled exchange said
                raise Undelivered("no answer within %gs" % self.timeout)
            return failure
        return d.addErrback(translate)

    # -- stopping -----------------------------------------------------------------

    def _abandon(self, destination):
        destination.abandoned = True
        destination.queue.clear()
        if destination.busy is not None:
            destination.busy.cancel()

    def _pending(self):
        return sum(len(d.queue) + (d.busy is not None) for d in self.destinations.values())

    def _check_idle(self):
        if self._idle_waiters and not self._pending():
            waiters, self._idle_waiters = self._idle_waiters, []
            for d in waiters:
                d.callback(None)

    def close(self, grace=3.0):
        """Stop taking alerts; deliver what is queued for up to `grace` seconds,
        then abandon the rest (counted in one log line).  Fires when done."""
        self.closing = True
        waiting = self._pending()
        done = defer.Deferred()
        if waiting:
            idle = defer.Deferred()
            self._idle_waiters.append(idle)
            timer = self.reactor.callLater(grace, idle.cancel)

            def finished(result):
                if timer.active():
                    timer.cancel()
                left = self._pending()
                if left:
                    self.log.warn("alerts: stopping with {count} alert delivery(ies) "
                                  "unfinished", count=left)
                for destination in self.destinations.values():
                    self._abandon(destination)
                return None
            idle.addBoth(finished).addBoth(lambda _: done.callback(None))
        else:
            done.callback(None)
        return done.addCallback(lambda _: self.http_pool.closeCachedConnections())


class _QuietClientFactory(_HTTP11ClientFactory):
    noisy = False            # no "Starting factory" info line per delivery


class _Discard(Protocol):
    """Reads a response body to its end and keeps none of it."""

    def __init__(self, done):
        self.done = done

    def connectionLost(self, reason):
        if not self.done.called:         # not when cancelled (timeout, stop)
            self.done.callback(None)


def _discard_body(response):
    done = defer.Deferred(lambda _: protocol.transport and protocol.transport.stopProducing())
    protocol = _Discard(done)
    response.deliverBody(protocol)
    return done


def _short(error) -> str:
    reasons = getattr(error, "reasons", None)      # the Agent's ResponseNeverReceived & co.
    if reasons:
        return _short(reasons[0].value)
    text = (str(error).splitlines() or [""])[0][:200]
    name = type(error).__name__
    return "%s: %s" % (name, text) if text else name
