"""DevNodeService: the devnet node as a Twisted service (listener, other miner, state file).

Used by ``twistd gxcpool --devnet`` (inside the pool's MultiService), by
``twistd gxcdevnode`` and by test suites (endpoint "tcp:0:interface=127.0.0.1",
then ``whenListening()`` / ``url``).
"""
from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.endpoints import serverFromString
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from . import state
from .http import NodeHttpFactory
from .errors import RpcError
from .model import as_dict
from .node import DevNode
from .rpc import Dispatcher
from .settings import DevNodeSettings

log = Logger(namespace="gxcpoold.devnode")

DEFAULT_ENDPOINT = "tcp:18332:interface=127.0.0.1"
# Seconds between durable state-file checkpoints (also one at stop); accepted
# blocks reach the block log at once (state.py).  A checkpoint writes only what
# changed since the last one, so it costs the same at any chain length.
SAVE_INTERVAL = 1.0


class DevNodeService(Service):
    name = "devnode"

    def __init__(self, settings: DevNodeSettings, endpoint: str = DEFAULT_ENDPOINT,
                 reactor=None, clock=None):
        if reactor is None:
            from twisted.internet import reactor
        self.settings = settings
        self.endpoint = endpoint
        self.reactor = reactor
        saved = state.load(settings.state_file) if settings.state_file else None
        self.node = DevNode(settings, clock=clock, state=saved)
        self._writer = state.StateWriter(settings.state_file) if settings.state_file else None
        if self._writer is not None and saved is not None:
            self._writer.resume(saved)
        self.dispatcher = Dispatcher(self.node, after_call=self._write_through)
        self._write_failed = False
        self.port = None
        self.url = None
        self._waiting: list[defer.Deferred] = []
        self._failure = None
        self._loops: list[LoopingCall] = []
        self._saved_fingerprint = None

    # -- listening -------------------------------------------------------------

    def startService(self):
        super().startService()
        self._failure = None
        factory = NodeHttpFactory(self.dispatcher, self.settings, self.reactor)
        listening = serverFromString(self.reactor, self.endpoint).listen(factory)
        listening.addCallbacks(self._listened, self._listen_failed)
        if self.settings.other_miner_interval > 0:
            self._start_loop(self._other_miner_block, self.settings.other_miner_interval)
        if self.settings.state_file:
            self.save()     # the block log exists before the first request writes through
            self._start_loop(self.save, SAVE_INTERVAL)

    def _listened(self, port):
        self.port = port
        address = port.getHost()
        host = address.host if address.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        self.url = f"http://{host}:{address.port}"
        log.info("devnode: {network} node listening on {url} (N={n}, wallet {wallet})",
                 network=self.settings.network, url=self.url, n=self.node.chain.n,
                 wallet=self.node.wallet.address)
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(port)

    def _listen_failed(self, failure):
        # one line an operator can act on (port in use, bad interface), no traceback
        log.error("devnode: cannot listen on {endpoint}: {why}", endpoint=self.endpoint,
                  why=failure.getErrorMessage())
        self._failure = failure
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.errback(failure)

    def whenListening(self) -> defer.Deferred:
        """Fires with the IListeningPort once the node accepts connections."""
        if self.port is not None:
            return defer.succeed(self.port)
        if self._failure is not None:
            return defer.fail(self._failure)
        d = defer.Deferred()
        self._waiting.append(d)
        return d

    def stopService(self):
        super().stopService()
        for loop in self._loops:
            if loop.running:
                loop.stop()
        self._loops = []
        if self.settings.state_file:
            self.save()
        port, self.port = self.port, None
        if port is None:
            return defer.succeed(None)    # always awaitable
        return defer.maybeDeferred(port.stopListening)

    # -- periodic work -----------------------------------------------------------

    def _start_loop(self, work, interval: float):
        loop = LoopingCall(work)
        loop.clock = self.reactor
        loop.start(interval, now=False).addErrback(
            lambda failure: log.failure("devnode: periodic task failed", failure))
        self._loops.append(loop)

    def _other_miner_block(self):
        """§5 item 17: another miner extends the chain now and then."""
        try:
            self.node.housekeeping()
            self.node.mine_other()
            self._write_through()
        except RpcError as exc:      # e.g. mainnet: no hash has 1000 leading zeros
            log.warn("devnode: other miner could not append a block: {why}", why=exc.message)

    def _write_through(self):
        """After each request: new blocks to the log before the answer goes out."""
        if self._writer is None:
            return
        try:
            self._writer.append(self.node.chain.blocks, self.node.history, as_dict)
            self._write_failed = False
        except OSError as exc:
            if not self._write_failed:     # once per failure spell, not once per request
                log.error("devnode: cannot append to the state file's block log: {why}",
                          why=exc)
            self._write_failed = True

    def save(self):
        """Checkpoint the state file when something changed since the last one."""
        node = self.node
        fingerprint = (node.history, node.chain.n, node.chain.tip.hash, tuple(node.mempool.txs),
                       node.chain.difficulty, node.time_shift, len(node.chain.funds),
                       node.last_tx_hash)
        if fingerprint == self._saved_fingerprint:
            return
        self._writer.save(node.to_state(), node.chain.blocks, node.history, as_dict)
        self._saved_fingerprint = fingerprint
