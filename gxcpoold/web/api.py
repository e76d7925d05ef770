"""The JSON API under /api/: what each endpoint reads and how it answers.

The shape of every answer is the OpenAPI document's (openapi.py): a handler
gathers the figures and `Shaper` builds the JSON object from the schema,
field by field, adding each amount's exact `_gxc` text.  So the document
cannot promise a field the code does not send, nor the code send one the
document does not describe.

Ledger figures come from the read model (ledger/queries.py) through the
few seconds' cache on the read pool; live figures (height, difficulty, node
health, Stratum listeners, DAG) from the running objects on ctx.
"""
import time

from twisted.internet import defer

from gxcpoold.addresses import AddressError, check_address
from gxcpoold.algorithms import ALGORITHMS
from gxcpoold.amounts import format_gxc, gxc_to_base_units
from gxcpoold.ledger import fees, queries
from gxcpoold.ledger.payoutstore import halted as payouts_halted
from gxcpoold.node.health import DOWN
from gxcpoold.web.http import ApiError, choice_arg, int_arg, json_response, query_arg
from gxcpoold.web.openapi import PARAMETERS, document_for

HEALTH_READ_TIMEOUT = 5.0      # a database read slower than this counts as unreadable
BALANCE_TTL = 10.0             # the wallet balance is asked at most this often
BALANCE_TIMEOUT = 5.0          # ... and given up after this long
MAX_LONG_FLOAT = 1.7e308       # beyond a double: shown as null


# ------------------------------------------------------------ answering

def answer(request, obj, status=200) -> bytes:
    """JSON with <, > and & as \\u escapes: a miner's worker name stays inert text
    even where a careless client drops the JSON into HTML."""
    body = json_response(request, obj, status)
    return body.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")


class Shaper:
    """Builds an answer from a component schema of the OpenAPI document: its
    properties, in order, taken from the figures (nested objects and lists
    by their own schemas); `x_gxc` is format_gxc(x)."""

    def __init__(self, document):
        self.schemas = document["components"]["schemas"]

    def __call__(self, name, figures):
        return self._object(self.schemas[name], figures)

    def _object(self, schema, figures):
        properties = schema["properties"]
        shaped = {}
        for key, sub in properties.items():
            if key.endswith("_gxc") and key[:-4] in properties:
                units = figures[key[:-4]]
                shaped[key] = None if units is None else format_gxc(units)
            else:
                shaped[key] = self._value(sub, figures[key])
        return shaped

    def _value(self, schema, value):
        if value is None:
            return None
        if "$ref" in schema:
            return self._object(self.schemas[schema["$ref"].rsplit("/", 1)[1]], value)
        if "anyOf" in schema:
            return self._value(next(s for s in schema["anyOf"] if s.get("type") != "null"),
                               value)
        if schema.get("type") == "object" and "properties" in schema:
            return self._object(schema, value)
        if schema.get("type") == "array":
            return [self._value(schema["items"], item) for item in value]
        return value


# ------------------------------------------------------------ parameters

def parameter(request, name, key):
    """A query parameter read with the bounds the document states (400 outside them)."""
    kind, bounds, default, _ = PARAMETERS[key]
    if query_arg(request, name) == "":
        # the document's types have no empty value: "?limit=" is a mistake, not the default
        raise ApiError(400, "parameter %r is empty; leave it out for the default" % name)
    if kind == "int":
        return int_arg(request, name, default=default, minimum=bounds[0], maximum=bounds[1])
    return choice_arg(request, name, bounds, default=default)


def valid_address(config, address):
    """The address if it is one for the pool's network, else 400 (never echoing it)."""
    lenient = config.pool.miner_address_check == "lenient"
    if len(address) > 100:
        raise ApiError(400, "address: too long to be a %s address" % config.pool.network)
    try:
        return check_address(address, config.pool.network, lenient=lenient)
    except AddressError as e:
        raise ApiError(400, "address: " + str(e).replace(repr(address), "this")) from None


# ------------------------------------------------------------ live objects

def template_of(ctx):
    return ctx.node.current_template if ctx.node is not None else None


def node_health(ctx):
    if ctx.node is None:
        return None
    return ctx.node.health.as_dict()


def node_state(ctx):
    health = node_health(ctx)
    return DOWN if health is None else health["state"]


def long_float(value):
    """A float, or None beyond a double's range (16^floor(D) for a huge D)."""
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if value < MAX_LONG_FLOAT else None


class WalletBalance:
    """The pool wallet's spendable balance, asked of the node at most every
    BALANCE_TTL seconds whatever the traffic (callers meanwhile share the
    answer, or the question in flight).  Answers (units or None, reason)."""

    def __init__(self, ctx, ttl=None, timeout=None):
        self.ctx = ctx
        self.ttl = BALANCE_TTL if ttl is None else ttl
        self.timeout = BALANCE_TIMEOUT if timeout is None else timeout
        self._answer = None          # (time, address, (units, reason))
        self._waiting = None

    def get(self):
        node = self.ctx.node
        if node is None:
            return defer.succeed((None, "the pool has no node link"))
        address = node.pool_address
        if not address:
            return defer.succeed((None, "the pool address is not known yet"))
        if node.health.state == DOWN:
            return defer.succeed((None, "the node is down: %s" % node.health.reason))
        now = self.ctx.clock.seconds()
        if self._answer is not None:
            asked, asked_address, found = self._answer
            if asked_address == address and now - asked < self.ttl:
                return defer.succeed(found)
        d = defer.Deferred()
        if self._waiting is not None:
            self._waiting.append(d)
            return d
        self._waiting = [d]
        # maybeDeferred: a client that raises at once is a failed answer, not a 500
        asking = defer.maybeDeferred(node.client.getbalance, address)
        asking.addTimeout(self.timeout, self.ctx.clock)
        asking.addCallbacks(self._spendable, self._failed)
        asking.addCallback(self._answered, now, address)
        return d

    @staticmethod
    def _spendable(value):
        try:
            return gxc_to_base_units(value, exact=False), ""
        except ValueError:
            return None, "the node answered getbalance with something that is not an amount"

    @staticmethod
    def _failed(failure):
        return None, "the node did not answer getbalance (%s)" % failure.type.__name__

    def _answered(self, found, asked, address):
        self._answer = (asked, address, found)
        waiting, self._waiting = self._waiting, None
        for d in waiting:
            d.callback(found)


def balance_state(wallet, owed):
    """(state, solvent, shortfall, reason) of a wallet balance against the ledger."""
    if wallet is None:
        return "unknown", None, None, None
    shortfall = max(0, owed["mature"] - wallet)
    if shortfall:
        return ("warning", False, shortfall, "the wallet holds %s GXC, less than the %s GXC "
                "of mature balances" % (format_gxc(wallet), format_gxc(owed["mature"])))
    return "ok", True, 0, ""


def listener(service):
    """A Stratum port's figures: listening, connections, DAG and check pool."""
    port = service.port
    host = port.getHost() if port is not None else None
    algorithm = service.algorithm
    status = getattr(algorithm, "status", None)
    dag = status() if callable(status) else None
    pool = getattr(algorithm, "pool", None)
    verify = pool.status() if pool is not None and callable(getattr(pool, "status", None)) \
        else (dag or {}).get("verify")
    return {"algorithm": algorithm.NAME, "listening": port is not None,
            "port": getattr(host, "port", None), "connections": len(service.sessions),
            "start_difficulty": float(service.settings.start_difficulty),
            "dag": dag, "verify": verify}


def share_writer(ctx):
    writer = getattr(ctx.ledger, "shares", None) if ctx.ledger is not None else None
    if writer is None:
        return None
    return {"database_ok": bool(writer.db_ok), "waiting_files": len(writer.queue),
            "written": writer.written, "spilled": writer.spilled,
            "last_write_seconds": writer.last_write_seconds}


async def database_check(ctx):
    """A trivial read (is payout processing halted?) with a deadline."""
    started = time.monotonic()
    reading = ctx.read(payouts_halted)
    reading.addTimeout(HEALTH_READ_TIMEOUT, ctx.clock)
    try:
        halted = await reading
    except defer.TimeoutError:
        return {"ok": False, "latency": None,
                "error": "no answer within %g s" % HEALTH_READ_TIMEOUT}, None
    except Exception as e:      # any failure means unreadable; the class name says which
        return {"ok": False, "latency": None, "error": "read failed (%s)" % type(e).__name__}, None
    return {"ok": True, "latency": time.monotonic() - started, "error": None}, halted


async def miner_fee(ctx, address, minute):
    """What the address's part of a block found now would pay, public fields only
    (an operator's reason for an address fee stays in the audit)."""
    policy = fees.FeePolicy.from_config(ctx.config)
    found = await ctx.cached(fees.effective_fee, address, minute, policy)
    return {"fee": fees.fee_text(found["fee"]), "source": found["source"],
            "tier": found["tier"], "min_hashrate": found.get("min_hashrate"),
            "hashrate_24h": found["hashrate_24h"], "default": fees.fee_text(policy.default)}


def chain_size(ctx):
    """The node's getblockcount (the next height) as the pool knows it, or None."""
    template = template_of(ctx)
    return template.height if template is not None else None


# ------------------------------------------------------------ routes

def add_routes(app, ctx):
    # handlers read ctx.config on every request: SIGHUP replaces it (fee, minimum...)
    config = ctx.config
    shape = Shaper(document_for(config))
    wallet = WalletBalance(ctx)
    enabled = [name for name in ALGORITHMS if config.stratum[name].enabled]

    def now_key():
        # the read model's figures change by the minute: one cache entry per minute
        return queries.minute(ctx.clock.seconds())

    @app.route("/api/stats", methods=["GET"])
    async def stats(request):
        summary = await ctx.cached(queries.pool_summary, now_key(),
                                   ctx.config.payouts.fee_account)
        template = template_of(ctx)
        last = summary["last_block"]
        if last is not None:
            last = queries.live_confirmations([last], chain_size(ctx))[0]
        return answer(request, shape("Stats", dict(
            summary, last_block=last,
            pool_name=ctx.config.pool.name, network=ctx.config.pool.network,
            algorithms=enabled,
            total_hash_rate=summary["hashrate"]["10m"]["total"],
            blocks_found=summary["blocks"]["found"],
            pool_fee=fees.fee_text(ctx.config.pool.fee), payout_scheme=ctx.config.payouts.scheme,
            minimum_payout=ctx.config.payouts.minimum,
            height=template.height if template is not None else None,
            network_difficulty=float(template.difficulty) if template is not None else None,
            node_state=node_state(ctx), time=ctx.clock.seconds())))

    @app.route("/api/miners", methods=["GET"])
    async def miners(request):
        limit = parameter(request, "limit", "miners_limit")
        offset = parameter(request, "offset", "offset")
        page = await ctx.cached(queries.active_miners, now_key(), limit, offset)
        return answer(request, shape("MinersPage", dict(page, limit=limit, offset=offset)))

    @app.route("/api/miners/<address>", methods=["GET"])
    async def miner(request, address):
        address = valid_address(ctx.config, address)
        found = await ctx.cached(queries.miner, address, now_key())
        if found is None:
            raise ApiError(404, "no miner with this address has sent a share to this pool")
        fee = await miner_fee(ctx, address, now_key())
        return answer(request, shape("Miner", dict(found, fee=fee)))

    @app.route("/api/fees", methods=["GET"])
    def fee_rules(request):
        return answer(request, shape("FeeRules",
                                     fees.fee_schedule(fees.FeePolicy.from_config(ctx.config))))

    @app.route("/api/blocks", methods=["GET"])
    async def blocks(request):
        limit = parameter(request, "limit", "blocks_limit")
        offset = parameter(request, "offset", "offset")
        status = parameter(request, "status", "block_status")
        page = await ctx.cached(queries.blocks_page, limit, offset, status)
        page = dict(page, blocks=queries.live_confirmations(page["blocks"], chain_size(ctx)))
        return answer(request, shape("BlocksPage", dict(page, limit=limit, offset=offset)))

    @app.route("/api/payouts", methods=["GET"])
    async def payouts(request):
        limit = parameter(request, "limit", "payouts_limit")
        offset = parameter(request, "offset", "offset")
        text = query_arg(request, "address")
        address = None if text is None else valid_address(ctx.config, text)
        page = await ctx.cached(queries.payouts_page, limit, offset, address)
        return answer(request, shape("PayoutsPage", dict(page, limit=limit, offset=offset)))

    @app.route("/api/pool-balance", methods=["GET"])
    async def pool_balance(request):
        owed = await ctx.cached(queries.owed)
        units, why = await wallet.get()
        state, solvent, shortfall, reason = balance_state(units, owed)
        return answer(request, shape("PoolBalance", {
            "pool_address": ctx.node.pool_address if ctx.node is not None else None,
            "wallet": units,
            "owed": dict(owed, total=owed["immature"] + owed["mature"]),
            "pool_accounts": owed["pool_accounts"],
            "shortfall": shortfall, "solvent": solvent, "state": state,
            "reason": why if reason is None else reason, "time": ctx.clock.seconds()}))

    @app.route("/api/leaderboard", methods=["GET"])
    async def leaderboard(request):
        by = parameter(request, "by", "leaderboard_by")
        window = parameter(request, "window", "window")
        limit = parameter(request, "limit", "leaderboard_limit")
        entries = await ctx.cached(queries.leaderboard, now_key(), by,
                                   queries.WINDOWS[window], limit)
        return answer(request, shape("Leaderboard",
                                     {"by": by, "window": window, "entries": entries}))

    @app.route("/api/network", methods=["GET"])
    def network(request):
        template = template_of(ctx)
        health = node_health(ctx) or _no_node(ctx)
        figures = dict.fromkeys(("height", "tip_height", "previous_block_hash", "difficulty",
                                 "required_zeros", "network_work", "reward", "template_time"))
        if template is not None:
            figures.update(
                height=template.height, tip_height=template.height - 1,
                previous_block_hash=template.previousblockhash,
                difficulty=float(template.difficulty), required_zeros=template.required_zeros,
                network_work=long_float(template.network_work),
                reward=template.coinbasevalue, template_time=template.curtime)
        figures.update(network=ctx.config.pool.network, node=health,
                       pool_address=ctx.node.pool_address if ctx.node is not None else None)
        return answer(request, shape("Network", figures))

    @app.route("/api/health", methods=["GET"])
    async def health(request):
        problems, warnings = [], []
        node = node_health(ctx)
        if node is None:
            problems.append("the pool has no node link")
        elif node["state"] == DOWN:
            problems.append("the node is down: %s" % node["reason"])
        database, halted = await database_check(ctx)
        if not database["ok"]:
            problems.append("the database cannot be read: %s" % database["error"])
        ports = [listener(ctx.ports[name]) for name in sorted(ctx.ports, key=_port_order)]
        if not any(p["listening"] for p in ports):
            problems.append("no Stratum port is listening")
        if halted:
            warnings.append("payouts are halted: %s" % halted)
        writer = share_writer(ctx)
        if writer is not None and not writer["database_ok"]:
            warnings.append("shares wait in the journal: the database refuses writes")
        return answer(request, shape("Health", {
            "status": "unavailable" if problems else "ok", "problems": problems + warnings,
            "node": node, "database": database, "shares": writer, "stratum": ports,
            "payouts": {"halted": bool(halted), "reason": halted or None},
            "uptime": max(0.0, ctx.clock.seconds() - ctx.started_at),
            "time": ctx.clock.seconds()}), status=503 if problems else 200)


def _port_order(name):
    return ALGORITHMS.index(name) if name in ALGORITHMS else len(ALGORITHMS)


def _no_node(ctx):
    return {"state": DOWN, "reason": "the pool has no node link", "since": ctx.started_at,
            "height": None, "latency": None, "consecutive_failures": 0}

