"""The HTML pages: dashboard, miner, blocks, payouts, leaderboard, network, getting started.

Jinja2 templates (templates/, autoescape on: an address or a worker name is
miner-controlled text and is only ever shown escaped) over the read model
(ledger/queries.py through ctx.cached: a few seconds' cache shared with the
API and the live stream) and the live objects on the context (node health
and template, Stratum ports).  Pages are complete without JavaScript;
static/live.js only refreshes the elements marked data-live.  Static files
are a fixed whitelist read once at start, served with their content types.
"""
import functools
import hashlib
from fractions import Fraction
from importlib import resources

from jinja2 import Environment, PackageLoader, StrictUndefined
from twisted.internet import defer

from gxcpoold.addresses import AddressError, check_address
from gxcpoold.algorithms import ALGORITHMS
from gxcpoold.ledger import queries
from gxcpoold.web import charts, commands, formats
from gxcpoold.web.api import WalletBalance, balance_state, miner_fee
from gxcpoold.web.http import ApiError, choice_arg, int_arg, query_arg

HTML_TYPE = b"text/html; charset=utf-8"
PAGE_SIZE = 25
MAX_PAGE = 100_000
RECENT_BLOCKS = 10
CREDITS_SHOWN = 20
TOP_MINERS = 10
# chart periods: span and bucket seconds (the read model's stats are per minute)
CHART_SPANS = {"1h": (3600, 60), "24h": (86400, 600), "7d": (7 * 86400, 3600)}
CHART_TITLES = {"1h": "last hour", "24h": "last 24 h", "7d": "last 7 days"}
SHARE_BUCKETS = {"1h": "minute", "24h": "10 minutes", "7d": "hour"}
LEADERBOARD_WINDOWS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400}
STATIC_FILES = {
    "style.css": b"text/css; charset=utf-8",
    "live.js": b"text/javascript; charset=utf-8",
    "favicon.svg": b"image/svg+xml",
}
NAV = (("dashboard", "/", "Dashboard"), ("blocks", "/blocks", "Blocks"),
       ("payouts", "/payouts", "Payouts"), ("leaderboard", "/leaderboard", "Leaderboard"),
       ("network", "/network", "Network"), ("start", "/start", "Get started"))


class PageError(Exception):
    """A page refused with a status and a message the visitor sees."""

    def __init__(self, status, title, message):
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def make_environment():
    env = Environment(loader=PackageLoader("gxcpoold.web", "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined,
                      extensions=["jinja2.ext.do"])
    env.filters.update(hashrate=formats.hashrate, gxc=formats.gxc, count=formats.count,
                       utc=formats.utc, iso=formats.iso, ago=formats.ago,
                       duration=formats.duration, short=formats.short_hash,
                       number=formats.number, percent=formats.percent, si=formats.si)
    return env


def load_static():
    """{name: (bytes, content type, version)} of the whitelisted static files."""
    folder = resources.files("gxcpoold.web").joinpath("static")
    files = {}
    for name, content_type in STATIC_FILES.items():
        body = folder.joinpath(name).read_bytes()
        files[name] = (body, content_type, hashlib.sha256(body).hexdigest()[:12])
    return files


def solvency(wallet, why, owed):
    """What the dashboard shows: the wallet next to what the ledger owes miners,
    judged as /api/pool-balance judges it (api.balance_state)."""
    state, solvent, shortfall, reason = balance_state(wallet, owed)
    return {"wallet": wallet, "owed": owed["immature"] + owed["mature"],
            "immature": owed["immature"], "mature": owed["mature"], "pending": owed["pending"],
            "pool_accounts": owed["pool_accounts"], "state": state, "solvent": solvent,
            "shortfall": shortfall, "reason": why if reason is None else reason}


def pager(page, total, size=PAGE_SIZE):
    pages = max(1, -(-total // size))
    return {"page": page, "pages": pages, "total": total,
            "prev": page - 1 if page > 1 else None,
            "next": page + 1 if page < pages else None}


class Pages:
    def __init__(self, ctx):
        self.ctx = ctx
        self.env = make_environment()
        self.static = load_static()
        # the API's asker: at most one getbalance in flight, answers kept seconds
        self.wallet = WalletBalance(ctx)

    # ---------------------------------------------------------------- plumbing

    def now(self):
        # the read model's figures move once a minute: the same minute as the
        # API and the live stream, so the read cache answers them all with one query
        return queries.minute(self.ctx.clock.seconds())

    def read(self, fn, *args):
        return self.ctx.cached(fn, *args)

    def render(self, request, template, status=200, **values):
        request.setResponseCode(status)
        request.setHeader(b"Content-Type", HTML_TYPE)
        request.setHeader(b"Cache-Control", b"no-cache")
        page = self.env.get_template(template).render(**self.common(), status_code=status,
                                                      **values)
        return page.encode("utf-8")

    def common(self):
        config = self.ctx.config
        node = self.ctx.node
        template = node.current_template if node is not None else None
        return {
            "pool_name": config.pool.name, "network_name": config.pool.network,
            "nav": NAV, "now": self.ctx.clock.seconds(),
            "algorithms": [name for name in ALGORITHMS if name in self.ctx.ports],
            "node_state": node.health.state if node is not None else "unknown",
            "height": template.height if template is not None else None,
            "static": {name: "/static/%s?v=%s" % (name, version)
                       for name, (_, _, version) in self.static.items()},
        }

    def address(self, text):
        """The address of a URL or form, checked; PageError 400 when malformed."""
        pool = self.ctx.config.pool
        if not text:
            raise PageError(400, "No address", "Enter a GXC address to look up a miner.")
        try:
            return check_address(text, pool.network,
                                 lenient=pool.miner_address_check == "lenient")
        except AddressError as e:
            raise PageError(400, "Not an address", str(e)) from None

    def host(self, request):
        """The host name miners should connect to: [web] public_host, else the
        host the visitor's browser named (checked), else this server's address."""
        configured = commands.clean_host(self.ctx.config.web.public_host)
        if configured:
            return configured
        header = request.getHeader(b"host")
        if header:
            named = commands.clean_host(header.decode("latin-1").strip())
            if named:
                return named
        local = getattr(request.getHost(), "host", "") or "127.0.0.1"
        return "[%s]" % local if ":" in local else local

    # ---------------------------------------------------------------- pages

    def chart_span(self, request):
        return choice_arg(request, "chart", tuple(CHART_SPANS), default="24h")

    def chart_values(self, series, span, whose):
        return {
            "span": span, "spans": list(CHART_SPANS),
            "hashrate_chart": charts.hashrate_chart(
                series, title="%s hashrate, %s" % (whose, CHART_TITLES[span]),
                algorithms=self.ported()),
            "shares_chart": charts.shares_chart(
                series, title="Accepted shares per %s" % SHARE_BUCKETS[span]),
        }

    async def dashboard(self, request):
        span = self.chart_span(request)
        now = self.now()
        fee_account = self.ctx.config.payouts.fee_account
        summary, series, recent, top, owed, (wallet, why) = await defer.gatherResults([
            self.read(queries.pool_summary, now, fee_account),
            self.read(queries.hashrate_series, now, *CHART_SPANS[span]),
            self.read(queries.blocks_page, RECENT_BLOCKS, 0, None),
            self.read(queries.active_miners, now, TOP_MINERS, 0),
            self.read(queries.owed),
            self.wallet.get(),
        ], consumeErrors=True)
        network = self.network_facts()
        pool_rate = summary["hashrate"]["24h"]["total"]
        expected = (network["network_work"] / pool_rate
                    if network["network_work"] and pool_rate > 0 else None)
        return self.render(
            request, "dashboard.html", active="dashboard", summary=summary,
            windows=list(queries.WINDOWS), top=top,
            recent=queries.live_confirmations(recent["blocks"], self.chain_size()),
            solvency=solvency(wallet, why, owed), network=network, expected_block=expected,
            payouts=self.payout_terms(), **self.chart_values(series, span, "Pool"))

    async def miner(self, request, address):
        address = self.address(address)
        span = self.chart_span(request)
        now = self.now()
        found = await self.read(queries.miner, address, now)
        if found is None:
            raise PageError(404, "Unknown miner",
                            "No shares from %s yet. A miner appears here after its first "
                            "accepted share." % address)
        series = await self.read(queries.hashrate_series, now, *CHART_SPANS[span], address)
        fee = await miner_fee(self.ctx, address, now)
        return self.render(
            request, "miner.html", active=None, miner=found, windows=list(queries.WINDOWS),
            fee=fee, fee_text=formats.percent(float(Fraction(fee["fee"])), digits=2),
            credits_shown=CREDITS_SHOWN,
            payouts=self.payout_terms(), **self.chart_values(series, span, "Miner"))

    def lookup(self, request):
        address = self.address((query_arg(request, "address") or "").strip())
        request.redirect(b"/miners/" + address.encode("ascii"))
        request.setHeader(b"Cache-Control", b"no-store")
        return b""

    async def blocks(self, request):
        page = int_arg(request, "page", default=1, minimum=1, maximum=MAX_PAGE)
        found = await self.read(queries.blocks_page, PAGE_SIZE, (page - 1) * PAGE_SIZE, None)
        blocks = queries.live_confirmations(found["blocks"], self.chain_size())
        return self.render(request, "blocks.html", active="blocks", blocks=blocks,
                           pager=pager(page, found["total"]))

    async def payouts(self, request):
        page = int_arg(request, "page", default=1, minimum=1, maximum=MAX_PAGE)
        found = await self.read(queries.payouts_page, PAGE_SIZE, (page - 1) * PAGE_SIZE, None)
        return self.render(request, "payouts.html", active="payouts",
                           payouts=found["payouts"], pager=pager(page, found["total"]),
                           terms=self.payout_terms())

    async def leaderboard(self, request):
        by = choice_arg(request, "by", queries.LEADERBOARD_ORDERS, default="work")
        window = choice_arg(request, "window", tuple(LEADERBOARD_WINDOWS), default="24h")
        rows = await self.read(queries.leaderboard, self.now(), by, LEADERBOARD_WINDOWS[window],
                               50)
        return self.render(request, "leaderboard.html", active="leaderboard", rows=rows, by=by,
                           window=window, orders=queries.LEADERBOARD_ORDERS,
                           windows=list(LEADERBOARD_WINDOWS))

    async def network(self, request):
        summary = await self.read(queries.pool_summary, self.now(),
                                  self.ctx.config.payouts.fee_account)
        return self.render(request, "network.html", active="network",
                           network=self.network_facts(), ports=self.port_facts(),
                           summary=summary)

    def start(self, request):
        user = query_arg(request, "address")
        if user:
            user = "%s.%s" % (self.address(user.strip()), commands.WORKER)
        listening = {name: service.port.getHost().port
                     for name, service in self.ctx.ports.items()
                     if getattr(service, "port", None) is not None}
        guides = commands.port_guides(self.ctx.config, self.host(request),
                                      listening=listening, user=user)
        return self.render(request, "start.html", active="start", guides=guides,
                           terms=self.payout_terms(), given_user=user)

    def static_file(self, request, name):
        found = self.static.get(name)
        if found is None:
            raise PageError(404, "Not found", "There is no such file.")
        body, content_type, _ = found
        request.setHeader(b"Content-Type", content_type)
        # the pages link each file with ?v=<its hash>, so a changed file is a new URL
        request.setHeader(b"Cache-Control", b"public, max-age=86400")
        return body

    # ---------------------------------------------------------------- live facts

    def ported(self):
        return [name for name in ALGORITHMS if name in self.ctx.ports]

    def payout_terms(self):
        config = self.ctx.config
        tiers = [{"min_hashrate": tier.min_hashrate,
                  "fee_text": formats.percent(float(tier.fee), digits=2)}
                 for tier in sorted(config.pool.fee_tiers, key=lambda t: t.min_hashrate)]
        return {"fee": float(config.pool.fee), "fee_text": formats.percent(float(config.pool.fee),
                                                                           digits=2),
                "tiers": tiers,
                "scheme": config.payouts.scheme.upper(), "minimum": config.payouts.minimum,
                "interval": config.payouts.interval, "network": config.pool.network}

    def chain_size(self):
        node = self.ctx.node
        template = node.current_template if node is not None else None
        return template.height if template is not None else None

    def network_facts(self):
        node = self.ctx.node
        template = node.current_template if node is not None else None
        health = node.health.as_dict() if node is not None else {
            "state": "unknown", "reason": "no node", "since": None, "height": None,
            "latency": None, "consecutive_failures": 0}
        facts = {"health": health, "height": None, "difficulty": None, "network_work": None,
                 "reward": None, "curtime": None, "previous": None,
                 "pool_address": node.pool_address if node is not None else None}
        if template is not None:
            facts.update(height=template.height, difficulty=template.difficulty,
                         network_work=float(template.network_work),
                         reward=template.coinbasevalue, curtime=template.curtime,
                         previous=template.previousblockhash)
        return facts

    def port_facts(self):
        ports = []
        for name in ALGORITHMS:
            service = self.ctx.ports.get(name)
            settings = self.ctx.config.stratum.get(name)
            if service is None:
                ports.append({"algorithm": name, "enabled": False, "listening": False,
                              "port": None, "connections": 0, "status": None})
                continue
            listening = getattr(service, "port", None)
            status = None
            algorithm = getattr(service, "algorithm", None)
            if hasattr(algorithm, "status"):                  # ethash: DAG and checks
                status = algorithm.status()
            elif hasattr(getattr(algorithm, "pool", None), "status"):   # gxhash: checks
                status = {"verify": algorithm.pool.status()}
            ports.append({
                "algorithm": name, "enabled": True, "listening": listening is not None,
                "port": (listening.getHost().port if listening is not None
                         else commands.endpoint_port(settings.endpoint)),
                "connections": len(getattr(service, "sessions", ())),
                "start_difficulty": settings.start_difficulty,
                "status": status})
        return ports


def add_routes(app, ctx):
    pages = Pages(ctx)

    def page(handler):
        """A page handler whose refusals are pages too (an HTML 400/404, not JSON)."""
        @functools.wraps(handler)
        async def route(request, **kw):
            try:
                result = handler(request, **kw)
                if hasattr(result, "__await__"):
                    result = await result
                return result
            except PageError as e:
                return pages.render(request, "error.html", status=e.status, active=None,
                                    title=e.title, message=e.message)
            except ApiError as e:
                return pages.render(request, "error.html", status=e.status, active=None,
                                    title="Bad request", message=e.message)
        return route

    # explicit endpoint names: Klein keys routes by name, and the API has its
    # own "blocks", "payouts"...
    for path, handler in (("/", pages.dashboard), ("/miners/<address>", pages.miner),
                          ("/miner", pages.lookup), ("/blocks", pages.blocks),
                          ("/payouts", pages.payouts), ("/leaderboard", pages.leaderboard),
                          ("/network", pages.network), ("/start", pages.start),
                          ("/static/<name>", pages.static_file)):
        app.route(path, methods=["GET"], endpoint="page_" + handler.__name__)(page(handler))
    return pages
