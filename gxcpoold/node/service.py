"""NodeService: the pool's link to the GXC node (spec/gxc-node.md section 3.13).

Before any template is used it checks, and re-checks whenever the node comes
back after being down:
- the node's chain is the configured network (mainnet is unminable: floor 1000);
- the pool address (configured, or the node wallet's from getnewaddress) is
  valid for that network, since a wrong prefix makes every block fail;
- the genesis hash, remembered so a wiped node (new random genesis) is noticed.
Then it polls templates through TemplateWatcher and reports health.
"""
from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from gxcpoold.addresses import CHAIN_NAMES, AddressError, check_address
from gxcpoold.node.client import NodeClient
from gxcpoold.node.errors import NodeError, NodeProtocolError
from gxcpoold.node.health import DOWN, NodeHealth
from gxcpoold.node.watcher import TemplateWatcher


class WrongNode(NodeError):
    """The node is reachable but must not be mined on (wrong chain, bad wallet address)."""


class NodeService(Service):
    name = "node"
    log = Logger()

    def __init__(self, reactor, node_settings, *, network, pool_address="", url=None):
        """url: None takes node_settings.url; pass False to wait for set_url()
        (the embedded devnet node learns its port only once listening)."""
        self.reactor = reactor
        self.settings = node_settings
        self.network = network
        self.configured_address = pool_address
        self.pool_address = pool_address or None
        self.genesis_hash = None
        self.chain_observers = []      # observer(old_genesis, new_genesis) on a wiped node
        self.ready = False
        self._last_handshake = None
        self.client = NodeClient(reactor, node_settings.url if url is None else (url or None),
                                 timeout=node_settings.timeout, retries=node_settings.retries,
                                 retry_backoff=node_settings.retry_backoff,
                                 max_request_bytes=node_settings.max_request_bytes,
                                 max_in_flight=node_settings.max_in_flight,
                                 queue_limit=node_settings.queue_limit)
        self.health = NodeHealth(reactor, slow_after=node_settings.slow_after,
                                 down_after_failures=node_settings.down_after_failures,
                                 stale_after=3 * node_settings.template_refresh)
        self.watcher = TemplateWatcher(reactor, self.client, self.health,
                                       tip_poll_interval=node_settings.tip_poll_interval,
                                       template_refresh=node_settings.template_refresh)
        self._loop = None
        self._ticking = None

    @property
    def current_template(self):
        return self.watcher.current if self.ready else None

    def add_template_observer(self, observer):
        self.watcher.add_observer(observer)

    def reconfigure(self, config):
        """SIGHUP: timeouts, retries, request limit, call limits, poll intervals
        and health thresholds apply at once; the URL needs a restart (gxcpoold/reload.py)."""
        settings = config.node
        self.settings = settings
        client = self.client
        client.timeout, client.retries = settings.timeout, settings.retries
        client.retry_backoff = settings.retry_backoff
        client.max_request_bytes = settings.max_request_bytes
        client.queue.max_in_flight = settings.max_in_flight
        client.queue.queue_limit = settings.queue_limit
        client.queue.wake()
        health = self.health
        health.slow_after = settings.slow_after
        health.down_after_failures = settings.down_after_failures
        health.stale_after = 3 * settings.template_refresh
        self.watcher.tip_poll_interval = settings.tip_poll_interval
        self.watcher.template_refresh = settings.template_refresh
        if self._loop is not None and self._loop.running:
            self._loop.interval = settings.tip_poll_interval

    def set_url(self, url):
        self.client.set_url(url)
        if self.running and self._loop is None:
            self._start_loop()

    def startService(self):
        super().startService()
        if self.client.url is not None:
            self._start_loop()

    def stopService(self):
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
        if self._ticking is not None:
            self._ticking.cancel()     # abandon the RPC in flight
        self.client.cancel_all()       # and any other (a template refresh after a block)
        return super().stopService()

    def _start_loop(self):
        self.log.info("node RPC at {url}", url=self.client.url)
        self._loop = LoopingCall(self._tick_cancellably)
        self._loop.clock = self.reactor
        self._loop.start(self.settings.tip_poll_interval, now=True)

    def _tick_cancellably(self):
        self._ticking = self.tick()
        self._ticking.addErrback(lambda failure: failure.trap(defer.CancelledError))
        self._ticking.addBoth(self._tick_done)
        return self._ticking

    def _tick_done(self, result):
        self._ticking = None
        return result

    @defer.inlineCallbacks
    def tick(self):
        if not self.ready:
            now = self.reactor.seconds()
            if (self.health.blocker and self._last_handshake is not None
                    and now - self._last_handshake < self.settings.template_refresh):
                return
            self._last_handshake = now
            yield self.handshake()
            if not self.ready:
                return
        yield self.watcher.poll()
        if self.health.state == DOWN:
            self.ready = False         # check chain and genesis again once it answers

    @defer.inlineCallbacks
    def handshake(self):
        """Check chain, pool address and genesis; never raises."""
        try:
            info = yield self.client.getblockchaininfo()
            if not isinstance(info, dict) or not isinstance(info.get("chain"), str):
                raise NodeProtocolError("getblockchaininfo answered %r" % (info,))
            chain = info["chain"]
            if chain != CHAIN_NAMES[self.network]:
                if chain == "main":
                    raise WrongNode("the node is on mainnet, which is unminable (difficulty "
                                    "floor 1000); refusing to mine")
                raise WrongNode("the node's chain is %r but the pool is configured for %s"
                                % (chain, self.network))
            address = self.configured_address
            wallet = yield self.client.getnewaddress()
            if not address:
                address = wallet
            elif address != wallet:
                self.log.warn("pool address {address} is not the node wallet's ({wallet}): "
                              "block rewards will not be spendable for payouts",
                              address=address, wallet=wallet)
            try:
                check_address(address, self.network)
            except AddressError as e:
                raise WrongNode("pool address unusable: %s" % e) from None
            genesis = yield self.client.getblockhash(0)
            if not isinstance(genesis, str):
                raise NodeProtocolError("getblockhash [0] answered %r" % (genesis,))
        except WrongNode as e:
            self.health.block(str(e))
            self.log.critical("{reason}", reason=str(e))
            return
        except NodeError as e:
            self.health.failed(e)
            return
        if self.health.blocker:
            self.health.unblock()
        if self.pool_address != address:
            self.log.info("pool address {address}", address=address)
        self.pool_address = address
        self.watcher.miner_address = address
        if self.genesis_hash is not None and genesis != self.genesis_hash:
            self.log.critical("the node's genesis changed from {old} to {new}: it is a new chain "
                              "(wiped data directory); unconfirmed blocks are lost",
                              old=self.genesis_hash, new=genesis)
            for observer in list(self.chain_observers):
                observer(self.genesis_hash, genesis)
        self.genesis_hash = genesis
        self.ready = True
