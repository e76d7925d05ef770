"""A running web service over a real ledger, for the API and page tests.

WebPool gives a twisted.trial TestCase:
- a SQLite ledger in a temporary directory, migrated, and filled through the
  ledger's own code: ShareWriter for shares, miners, workers and the per-minute
  statistics; LedgerBlockRecorder, the unlocker's mature_block/void_block and
  set_confirmations for blocks, credits and balances; payoutstore for payouts;
- a NodeStandIn: a real NodeHealth and BlockTemplate, and a client whose
  getbalance answers what the test sets (or fails, or never answers);
- PortStandIn Stratum ports: the real algorithm objects (module(name).make)
  behind a socket really listening on loopback; each TCP connection to it is
  a session, so `connections` is what a test opens;
- the real WebService (the whole Klein app) on 127.0.0.1:0, and `get()`, one
  HTTP request over a real socket from a thread (the reactor keeps serving).

    pool = await WebPool.start(self, web={"api_burst": 5})
    miner = pool.address(1)
    pool.add_share(miner, worker="rig1", work=4096, age=120)
    await pool.flush()
    response = await pool.get("/api/miners/" + miner)
    response.status, response.json(), response.headers["content-type"]

Every fill helper forgets the web's read cache, so the next request sees the
new rows.  Times: the read model counts a share in the hashrate once its
minute is complete, so give shares an `age` of a minute or more (they count
in "active" at once).
"""
import http.client
import itertools
import json
import os
import tempfile
import time
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import select
from twisted.internet import defer, reactor
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.threads import deferToThread

from gxcpoold.algorithms import ALGORITHMS, module as algorithm_module
from gxcpoold.algorithms.context import AlgorithmContext
from gxcpoold.amounts import base_units_to_gxc, format_gxc
from gxcpoold.config import load_config
from gxcpoold.events import EventHub
from gxcpoold.ledger import migrate, payoutstore
from gxcpoold.ledger.blocks import LedgerBlockRecorder, RewardPolicy
from gxcpoold.ledger.db import Database, ReadDatabase
from gxcpoold.ledger.schema import blocks
from gxcpoold.ledger.sharewriter import ShareWriter
from gxcpoold.ledger.unlocker import mature_block, set_confirmations, void_block
from gxcpoold.node.errors import NodeRPCError
from gxcpoold.node.health import NodeHealth
from gxcpoold.node.template import BlockTemplate
from gxcpoold.shares import (ACCEPTED, BlockCandidate, CANDIDATE, IMMATURE, MATURE, ORPHANED,
                             REJECTED, ShareRecord, SUBMITTED)
from gxcpoold.web.context import WebContext
from gxcpoold.web.service import WebService

POOL_ADDRESS = "tGXCc036ae3af11be2ef553cb7806fae14c0b8"
_hashes = itertools.count(1)


def address(i: int) -> str:
    """A valid testnet miner address, distinct for each i."""
    return "tGXC%034x" % (0x5eed0000 + i)


def block_hash(zeros=4) -> str:
    return ("0" * zeros + "%060x" % next(_hashes) + os.urandom(4).hex())[:64]


def make_template(height=10, difficulty=4.0, reward=5_000_000_000, curtime=None,
                  previousblockhash=None) -> BlockTemplate:
    """A BlockTemplate as the node's getblocktemplate gives it (parsed by the real code)."""
    return BlockTemplate.from_rpc({
        "height": height, "previousblockhash": previousblockhash or block_hash(),
        "difficulty": difficulty, "coinbasevalue": reward,
        "curtime": int(time.time()) if curtime is None else curtime,
        "transactions": [{"txid": "%064x" % height, "is_coinbase": True,
                          "block_height": height,
                          "outputs": [{"address": POOL_ADDRESS,
                                       "amount": base_units_to_gxc(reward)}]}]})


# ------------------------------------------------------------ node

class WalletClient:
    """The node client's getbalance, as the test decides: `balance` in base units
    (answered as the node's double), `error` (a NodeRPCError), or `hang`."""

    def __init__(self):
        self.balance = 0
        self.error = None
        self.hang = False
        self.calls = []

    def getbalance(self, address):
        self.calls.append(address)
        if self.hang:
            return defer.Deferred()
        if self.error is not None:
            return defer.fail(NodeRPCError("getbalance", -4, self.error))
        return defer.succeed(base_units_to_gxc(self.balance))


class NodeStandIn:
    """What the web reads of NodeService: health, current_template, pool_address, client."""

    def __init__(self, clock, pool_address=POOL_ADDRESS):
        self.health = NodeHealth(clock, slow_after=2.0, down_after_failures=3, stale_after=60.0)
        self.pool_address = pool_address
        self.client = WalletClient()
        self.current_template = None

    def connect(self, template=None, latency=0.01):
        """Polls succeed and a template arrived: the node is `connected`."""
        self.current_template = template or make_template()
        self.health.succeeded(latency)
        self.health.template_received(self.current_template.height)
        return self.current_template

    def go_down(self, error="connection refused"):
        self.current_template = None
        for _ in range(self.health.down_after_failures):
            self.health.failed(error)


# ------------------------------------------------------------ Stratum ports

class _Session(Protocol):
    def connectionMade(self):
        self.factory.service.sessions.add(self)

    def connectionLost(self, reason):
        self.factory.service.sessions.discard(self)


class PortStandIn:
    """What the web reads of a StratumService: settings, algorithm, sessions, port."""

    def __init__(self, name, settings, state_dir):
        self.settings = settings
        self.algorithm = algorithm_module(name).make(AlgorithmContext(
            settings=settings, state_dir=state_dir, reactor=reactor, cores=2))
        self.sessions = set()
        self.port = None
        self.factory = Factory.forProtocol(_Session)
        self.factory.service = self

    def listen(self):
        self.port = reactor.listenTCP(0, self.factory, interface="127.0.0.1")
        return self.port.getHost().port

    def stop(self):
        port, self.port = self.port, None
        for session in list(self.sessions):
            session.transport.abortConnection()
        return port.stopListening() if port is not None else defer.succeed(None)


# ------------------------------------------------------------ HTTP

@dataclass
class Response:
    status: int
    headers: dict          # lower-case name -> value
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8")


def fetch(host, port, path, headers=None, method="GET", timeout=10.0) -> Response:
    """One blocking HTTP request (run it in a thread)."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request(method, path, headers=headers or {})
        answer = connection.getresponse()
        body = answer.read()
        return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, body)
    finally:
        connection.close()


# ------------------------------------------------------------ the pool

class WebPool:
    """See the module docstring.  Build with `await WebPool.start(test, ...)`."""

    def __init__(self, test, *, ports=("sha256d", "ethash", "gxhash"), web=None, pool=None,
                 payouts=None, overrides=None):
        self.test = test
        self.tmp = tempfile.mkdtemp(prefix="gxcweb-")
        test.addCleanup(_remove_tree, self.tmp)
        config_file = os.path.join(self.tmp, "gxcpool.toml")
        with open(config_file, "w") as f:
            f.write("# WebPool: everything from the overrides\n")
        self.database_url = "sqlite:///%s" % os.path.join(self.tmp, "ledger.sqlite3")
        settings = {
            ("pool", "state_dir"): self.tmp, ("pool", "address"): POOL_ADDRESS,
            ("database", "url"): self.database_url,
            ("web", "endpoint"): "tcp:0:interface=127.0.0.1",
            # tests make many requests from one address: no 429 unless asked for
            ("web", "api_rate"): 10_000.0, ("web", "api_burst"): 10_000,
            ("payouts", "pplns_min_shares"): 1, ("payouts", "minimum"): "0.1",
        }
        for algorithm in ALGORITHMS:
            settings[("stratum." + algorithm, "enabled")] = algorithm in ports
            settings[("stratum." + algorithm, "dag_mode")] = "light"
            settings[("stratum." + algorithm, "verify_threads")] = 1
        for section, values in (("web", web), ("pool", pool), ("payouts", payouts)):
            for key, value in (values or {}).items():
                settings[(section, key)] = value
        settings.update(overrides or {})
        self.config = load_config(config_file, environ={}, overrides=settings)
        self.events = EventHub(reactor)
        self.node = NodeStandIn(reactor)
        self.ports = {name: PortStandIn(name, self.config.stratum[name],
                                        os.path.join(self.tmp, "state"))
                      for name in ALGORITHMS if name in ports}
        self.db = None
        self.writer = None
        self.recorder = None
        self.ctx = None
        self.web = None
        self.host, self.port = "127.0.0.1", None

    @classmethod
    async def start(cls, test, *, connect_node=True, listen=True, **kw):
        pool = cls(test, **kw)
        await pool._start(connect_node, listen)
        return pool

    async def _start(self, connect_node, listen):
        self.db = Database(self.database_url, reactor=reactor)
        self.test.addCleanup(self.db.close)
        await self.db.in_thread(migrate.upgrade, self.db.engine)
        self.writer = ShareWriter(self.db, spill_path=os.path.join(self.tmp, "shares.spill"),
                                  flush_interval=3600.0, events=self.events)
        self.writer.startService()
        self.test.addCleanup(self.writer.stopService)
        self.recorder = LedgerBlockRecorder(self.db, RewardPolicy.from_config(self.config),
                                            self.writer)
        if connect_node:
            self.node.connect()
        if listen:
            for port in self.ports.values():
                port.listen()
                self.test.addCleanup(port.stop)
        ledger = SimpleNamespace(db=self.db, shares=self.writer)
        self.ctx = WebContext(config=self.config,
                              reads=ReadDatabase(self.database_url, reactor=reactor),
                              events=self.events, clock=reactor, node=self.node, ledger=ledger,
                              ports=self.ports, submitter=None, started_at=reactor.seconds())
        self.web = WebService(self.ctx)
        self.web.startService()
        self.test.addCleanup(self.web.stopService)
        listening = await self.web.whenListening()
        self.port = listening.getHost().port

    # -- HTTP --------------------------------------------------------------

    def url(self, path="/"):
        return "http://%s:%d%s" % (self.host, self.port, path)

    def get(self, path, headers=None, method="GET") -> defer.Deferred:
        """A Deferred of the Response to one request (sent from a thread)."""
        return deferToThread(fetch, self.host, self.port, path, headers, method)

    async def get_json(self, path, status=200):
        response = await self.get(path)
        self.test.assertEqual(response.status, status, "%s: %s" % (path, response.body[:300]))
        return response.json()

    def forget_cache(self):
        """The next request reads the database again (the web caches for seconds)."""
        self.ctx.cache._entries.clear()

    # -- filling the ledger --------------------------------------------------

    @staticmethod
    def address(i):
        return address(i)

    def add_share(self, miner, *, worker="rig", algorithm="sha256d", work=1000, age=120.0,
                  at=None, difficulty=None, height=None, is_block=False):
        """One accepted share, `age` seconds ago (or at time `at`), through the share writer."""
        when = time.time() - age if at is None else at
        self.writer.add_share(ShareRecord(
            time=when, algorithm=algorithm, address=miner, worker=worker,
            difficulty=float(work if difficulty is None else difficulty), work=int(work),
            height=self._height() if height is None else height,
            hash="%064x" % next(_hashes), is_block=is_block, instance_id=0))
        self.forget_cache()

    async def flush(self):
        """Write every share added so far to the database."""
        await self.writer.flush()
        self.forget_cache()

    async def add_block(self, finder, *, status=MATURE, height=None, worker="rig",
                        algorithm="sha256d", reward=5_000_000_000, difficulty=6.0, age=30.0,
                        at=None, confirmations=None, reason=""):
        """A block the pool found, moved to `status` the way the pool moves it:
        accepted blocks are credited (immature), mature ones moved to balances,
        orphaned ones voided.  Shares added before it count in its reward.
        Returns (height, hash)."""
        await self.flush()
        height = self._next_block_height() if height is None else height
        found = block_hash(int(difficulty))
        when = time.time() - age if at is None else at
        block = {"height": height, "hash": found, "previousblockhash": block_hash(),
                 "nonce": 1, "miner": POOL_ADDRESS, "timestamp": int(when),
                 "difficulty": difficulty,
                 "transactions": [{"txid": "%064x" % next(_hashes), "is_coinbase": True,
                                   "outputs": [{"address": POOL_ADDRESS,
                                                "amount": format_gxc(reward)}]}]}
        await self.recorder.record_candidate(BlockCandidate(
            time=when, algorithm=algorithm, height=height, hash=found,
            previousblockhash=block["previousblockhash"], address=finder, worker=worker,
            work=int(16 ** int(difficulty)), block=block))
        if status in (SUBMITTED, REJECTED):
            await self.recorder.set_block_status(height, found, status, reason)
        elif status != CANDIDATE:
            await self.recorder.set_block_status(height, found, ACCEPTED)
            block_id = await self.db.run(_block_id, height, found)
            now = time.time()
            if status == MATURE:
                await self.db.run(mature_block, block_id,
                                  10 if confirmations is None else confirmations, now)
            elif status == ORPHANED:
                await self.db.run(void_block, block_id, ORPHANED, reason or "left the chain",
                                  now)
            elif status == IMMATURE and confirmations:
                await self.db.run(set_confirmations, block_id, confirmations, now)
        self.forget_cache()
        return height, found

    async def pay(self, recipient, amount=None, *, status=payoutstore.CONFIRMED,
                  network_fee=10_000, block_height=None):
        """A payout of `amount` (default: the whole balance) recorded, debited and
        moved to `status` (pending, sent or confirmed) as PayoutService does.
        Only one payout may be unfinished at a time.  Returns its id."""
        txid = "%064x" % next(_hashes)
        height = block_height or self._height()

        def record(connection):
            row = payoutstore.create_intent(connection, recipient, 1, height, int(time.time()),
                                            amount)
            if row is None:
                raise AssertionError("no payout possible to %s (balance, or one unfinished)"
                                     % recipient)
            if status in (payoutstore.SENT, payoutstore.CONFIRMED):
                payoutstore.mark_sent(connection, row.id, txid)
            if status == payoutstore.CONFIRMED:
                seen = SimpleNamespace(height=height, block_hash=block_hash(),
                                       txid="%064x" % next(_hashes), fee=network_fee)
                payoutstore.confirm(connection, row.id, seen, self.config.payouts.fee_account)
            return row.id
        payout_id = await self.db.run(record)
        self.forget_cache()
        return payout_id

    async def halt_payouts(self, reason):
        from gxcpoold.ledger import meta
        await self.db.run(meta.put, meta.PAYOUTS_HALTED, reason)
        self.forget_cache()

    def query(self, fn, *args):
        """fn(connection, *args) on the calling thread (a test's own look at the rows)."""
        return self.db.run_sync(fn, *args, write=False)

    # -- helpers -----------------------------------------------------------

    def _height(self):
        template = self.node.current_template
        return template.height if template is not None else 1

    def _next_block_height(self):
        self._block_heights = getattr(self, "_block_heights", 0) + 1
        return self._block_heights


def _block_id(connection, height, found):
    return connection.execute(select(blocks.c.id).where(blocks.c.height == height,
                                                        blocks.c.hash == found)).scalar_one()


def _remove_tree(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)
