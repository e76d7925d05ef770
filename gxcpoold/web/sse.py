"""/api/events: the pool's events as Server-Sent Events, for live pages.

Each stream gets the hub's events as they happen (`event:` is the kind,
`data:` its JSON) and, every [web] live_interval seconds, a `stats` event
with the pool's hashrate, miners and the chain tip.  The figures are read
once per interval for all streams together (through the read cache), never
once per stream.  At most [web] max_event_streams are open; beyond that the
answer is 503, and a page without its stream still works (it is plain HTML).
"""
from twisted.internet import defer
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from gxcpoold.ledger import queries
from gxcpoold.web.http import error_body, json_bytes

# What a page shows live; shares.written (several a second) is summed up by `stats`.
FORWARDED = ("height.new", "block.found", "block.submitted", "block.confirmed",
             "block.matured", "block.orphaned", "payout.sent", "payout.mined")
RETRY_MS = 5000           # how soon a browser reconnects after the stream drops
MAX_BUFFERED = 256 << 10  # a reader this far behind is dropped (it reconnects and catches up)


def sse_frame(kind, data) -> bytes:
    # json_bytes never emits a raw newline, so one data: line holds the event
    return b"event: %s\ndata: %s\n\n" % (kind.encode("ascii"), json_bytes(data))


class EventStreams:
    """The open streams, the hub subscription and the stats timer they share."""

    log = Logger()

    def __init__(self, ctx):
        self.ctx = ctx
        self.streams = {}       # request -> the Deferred that ends its response
        self._unsubscribe = None
        self._timer = None
        self._last_stats = None

    # ---------------------------------------------------------------- streams

    def open(self, request):
        limit = self.ctx.config.web.max_event_streams
        if len(self.streams) >= limit:
            request.setHeader(b"Retry-After", b"30")
            return error_body(request, 503, "too many event streams open (%d); retry later"
                              % limit)
        request.setHeader(b"Content-Type", b"text/event-stream; charset=utf-8")
        request.setHeader(b"Cache-Control", b"no-store")
        request.setHeader(b"X-Accel-Buffering", b"no")     # nginx: pass events at once
        request.write(b"retry: %d\n\n" % RETRY_MS)
        if self._last_stats is not None:
            request.write(sse_frame("stats", self._last_stats))
        # Klein finishes the response when the handler's answer arrives: the
        # answer is this Deferred, fired (with nothing more to write) when the
        # stream ends on our side; a reader who leaves cancels it.
        done = defer.Deferred(lambda _: self._closed(request))
        self.streams[request] = done
        request.notifyFinish().addBoth(lambda _: self._closed(request))
        if len(self.streams) == 1:
            self._start()
        return done

    def _closed(self, request):
        if self.streams.pop(request, None) is not None and not self.streams:
            self._stop()

    def _end(self, request):
        done = self.streams.pop(request, None)
        if done is not None and not done.called:
            channel = request.channel
            done.callback(b"")
            if channel is not None:
                channel.loseConnection()  # not kept alive: the pool is going away

    def _send(self, frame):
        for request in list(self.streams):
            transport = request.channel.transport if request.channel else None
            if transport is None:
                self._closed(request)
                continue
            buffered = len(getattr(transport, "dataBuffer", b"")) + sum(
                map(len, getattr(transport, "_tempDataBuffer", ())))
            if buffered > MAX_BUFFERED:
                self.log.info("dropping a slow event stream reader ({kb} KiB behind)",
                              kb=buffered >> 10)
                self._closed(request)
                transport.abortConnection()
                continue
            request.write(frame)

    # ---------------------------------------------------------------- sources

    def _start(self):
        self._unsubscribe = self.ctx.events.subscribe(self._on_event, FORWARDED)
        self._timer = LoopingCall(self._stats)
        self._timer.clock = self.ctx.clock
        self._timer.start(self.ctx.config.web.live_interval, now=True)

    def _stop(self):
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._timer = None

    def stop(self):
        """The web is stopping: end every stream (browsers reconnect later)."""
        self._stop()
        for request in list(self.streams):
            self._end(request)

    def _on_event(self, event):
        self._send(sse_frame(event.kind, event.as_json()))

    def _stats(self):
        # the same read (and cache entry) as /api/stats and the dashboard
        d = self.ctx.cached(queries.pool_summary, queries.minute(self.ctx.clock.seconds()),
                            self.ctx.config.payouts.fee_account)
        d.addCallback(self._send_stats)
        d.addErrback(lambda f: self.log.warn("live figures unavailable: {error}",
                                             error=f.getErrorMessage()))
        return None       # the timer never waits for (or stops on) a slow read

    def _send_stats(self, summary):
        node = self.ctx.node
        template = node.current_template if node is not None else None
        hashrate = summary["hashrate"]
        self._last_stats = {
            "time": self.ctx.clock.seconds(),
            "total_hash_rate": hashrate["10m"]["total"],
            "hashrate": {"10m": hashrate["10m"]},
            "active_miners": summary["active_miners"],
            "active_workers": summary["active_workers"],
            "blocks_found": summary["blocks"]["found"],
            "height": template.height if template is not None else None,
            "network_difficulty": template.difficulty if template is not None else None,
            "node_state": node.health.state if node is not None else None,
        }
        self._send(sse_frame("stats", self._last_stats))


def add_routes(app, ctx):
    streams = EventStreams(ctx)
    ctx.on_stop.append(streams.stop)
    ctx.event_streams = streams

    @app.route("/api/events", methods=["GET"])
    def events(request):
        return streams.open(request)
