"""WebService: the dashboard, API, live events and metrics on [web] endpoint.

It runs in the pool's reactor; every database read goes to the read model's
own threads (ledger/db.py ReadDatabase), so a page never waits for a share
batch, and a page never delays a share.
"""
from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger

from gxcpoold.ledger.db import ReadDatabase
from gxcpoold.listening import ListenWaiters
from gxcpoold.web.app import make_app
from gxcpoold.web.context import WebContext
from gxcpoold.web.http import PoolSite, RateLimiter


class WebService(Service):
    name = "web"
    log = Logger()

    def __init__(self, ctx: WebContext):
        self.ctx = ctx
        settings = ctx.config.web
        self.app = make_app(ctx)
        self.limiter = RateLimiter(settings.api_rate, settings.api_burst, ctx.clock)
        self.site = PoolSite(self.app.resource(), limiter=self.limiter,
                             trusted_proxies=settings.trusted_proxies, reactor=ctx.clock)
        self.port = None
        self._listen = ListenWaiters()

    def reconfigure(self, config):
        """SIGHUP: what the pages show (fee, payouts, ports) and the [web] limits
        follow at once; the endpoint needs a restart (gxcpoold/reload.py)."""
        self.ctx.config = config
        web = config.web
        self.limiter.rate, self.limiter.burst = float(web.api_rate), float(web.api_burst)
        self.site.trusted_proxies = tuple(web.trusted_proxies)

    def startService(self):
        super().startService()
        endpoint = serverFromString(self.ctx.clock, self.ctx.config.web.endpoint)
        d = endpoint.listen(self.site)
        d.addCallbacks(self._listening, self._listen_failed)

    def _listening(self, port):
        self.port = port
        host = port.getHost()
        self.log.info("dashboard and API on http://{host}:{port}/",
                      host=_shown_host(getattr(host, "host", "")),
                      port=getattr(host, "port", "?"))
        self._listen.listened(port)

    def _listen_failed(self, failure):
        # an operator's problem (port in use): one line; mining goes on without the web
        self.log.critical("web: cannot listen on {endpoint}: {error}; the dashboard and API "
                          "are off, mining goes on", endpoint=self.ctx.config.web.endpoint,
                          error=failure.getErrorMessage())
        self._listen.failed(failure)

    def whenListening(self):
        return self._listen.when()

    @defer.inlineCallbacks
    def stopService(self):
        super().stopService()
        if self.port is not None:
            port, self.port = self.port, None
            self._listen.stopped()
            yield port.stopListening()
        for stop in self.ctx.on_stop:       # open event streams, timers
            stop()
        self.ctx.reads.close()


def _shown_host(host):
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def add_web(top, config, *, node, ledger, ports, submitter, events, reactor):
    """Attach the web service (last child: it starts last and stops first)."""
    if not config.web.enabled:
        return None
    ctx = WebContext(config=config, reads=ReadDatabase(config.database_url, reactor=reactor),
                     events=events, clock=reactor, node=node, ledger=ledger, ports=ports,
                     submitter=submitter, started_at=reactor.seconds())
    web = WebService(ctx)
    web.setServiceParent(top)
    return web
