"""StratumService: one listening endpoint ("tcp:3333", "ssl:...") for one algorithm.

Owns the connections: refuses banned and over-cap peers, gives each a
session speaking the algorithm's dialect, broadcasts every new job, runs
vardiff's clock, and asks miners to reconnect when the pool shuts down.
Sessions check their own shares and hand them to the pool's one pipeline
(gxcpoold/stratum/pipeline.py).
"""
import collections
import re

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.endpoints import serverFromString
from twisted.internet.protocol import ServerFactory
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from gxcpoold import metrics
from gxcpoold.listening import ListenWaiters
from gxcpoold.stratum import dialects as dialect_modules
from gxcpoold.stratum.bans import BanList, ConnectionCounter
from gxcpoold.stratum.extranonce import ExtranonceAllocator
from gxcpoold.stratum.pipeline import SharePipeline
from gxcpoold.stratum.refusals import Refusals, describe_ban
from gxcpoold.stratum.session import StratumSession


# Endpoint types whose string takes backlog= (Twisted's default is 50: a burst of
# reconnecting miners then waits for SYN retries, about a second each).
_BACKLOG_ENDPOINTS = ("tcp", "tcp6", "ssl", "unix")


def with_backlog(description, backlog):
    """The endpoint string with backlog=N added, unless the operator wrote one
    (theirs wins) or the endpoint type takes none."""
    kind = description.split(":", 1)[0].strip().lower()
    if kind not in _BACKLOG_ENDPOINTS or re.search(r"(?:^|:)backlog=", description):
        return description
    return "%s:backlog=%d" % (description, backlog)


class StratumFactory(ServerFactory):
    def __init__(self, service):
        self.service = service

    def buildProtocol(self, addr):
        ip = getattr(addr, "host", str(addr))
        service = self.service
        # refused peers get one line saying why and no session (gxcpoold/stratum/refusals.py)
        ban = service.bans.ban_of(ip)
        if ban is not None:
            reason, seconds_left = ban
            return service.refusals.refuse(
                ip, "gxcpool: connection refused: " + describe_ban(ip, reason, seconds_left),
                "banned (%s)" % reason)
        if not service.connections.try_open(ip):
            limit = service.connections.limit
            return service.refusals.refuse(
                ip, "gxcpool: connection refused: %s already has %d connections" % (ip, limit),
                "%d connections already" % limit)
        session = StratumSession(service, ip)
        session.factory = self
        return session


class StratumService(Service):
    log = Logger()

    def __init__(self, settings, *, jobs, network, reactor, algorithm, share_sink=None,
                 lenient=False, submit_block=None, instance_id=0, pool_address=None,
                 pipeline=None, bans=None):
        """jobs: JobManager (current_job, get, is_stale, add_listener).
        algorithm: what gxcpoold.algorithms.<name>.make() gave.
        pipeline: the pool's SharePipeline; without one, a pipeline of its own
        is made from share_sink, submit_block(candidate) -> Deferred and
        pool_address (a callable; default jobs.node.pool_address).
        bans: the pool's BanList (an IP banned on one port is refused on all);
        without one, a list of its own."""
        self.settings = settings
        self.jobs = jobs
        self.network = network
        self.lenient = lenient
        self.instance_id = instance_id
        self.algorithm = algorithm
        self.dialects = [dialect_modules.load(name) for name in algorithm.DIALECTS]
        self.clock = reactor
        self.reactor = reactor
        if pipeline is None:
            pipeline = SharePipeline(share_sink, submit_block, clock=reactor,
                                     pool_address=pool_address or (lambda: jobs.node.pool_address),
                                     instance_id=instance_id)
        self.pipeline = pipeline
        self.extranonces = ExtranonceAllocator(instance_id, bits=algorithm.EXTRANONCE1_BITS,
                                               size=algorithm.EXTRANONCE1_SIZE)
        self.bans = bans if bans is not None else BanList(reactor, settings.ban_seconds)
        self.connections = ConnectionCounter(settings.max_connections_per_ip)
        self.refusals = Refusals(reactor, algorithm.NAME)
        self.sessions = set()
        # metrics: plain counts the sessions keep, read by /metrics (gxcpoold/metrics.py)
        self.shares_accepted = 0
        self.shares_rejected = collections.Counter()      # reason -> shares
        self.check_times = metrics.Timings(metrics.CHECK_BUCKETS)
        # which checks a session times: one in 64 inline, every pooled one
        self.check_time_mask = (metrics.INLINE_SAMPLE_EVERY - 1
                                if getattr(algorithm, "check_capacity", None) is None else 0)
        self.port = None
        self._listen = ListenWaiters()
        self._tick = None
        self.factory = StratumFactory(self)

    @property
    def blocks_found(self):
        return self.pipeline.blocks_found

    # ------------------------------------------------------------ service

    def startService(self):
        super().startService()
        self.jobs.add_listener(self.broadcast)
        endpoint = serverFromString(self.reactor, with_backlog(self.settings.endpoint,
                                                               self.settings.listen_backlog))
        d = endpoint.listen(self.factory)
        d.addCallback(self._listening_on)
        d.addErrback(self._listen_failed)
        self._start_vardiff_tick()

    def _start_vardiff_tick(self):
        if self._tick is not None and self._tick.running:
            self._tick.stop()
        self._tick = LoopingCall(self._vardiff_tick)
        self._tick.clock = self.reactor
        self._tick.start(max(1.0, min(5.0, self.settings.retarget_interval / 2)), now=False)

    def reconfigure(self, config):
        """Apply reloadable settings (SIGHUP): difficulty limits, vardiff aim,
        line and rate limits, the line timeout, bans, the per-IP cap and address
        leniency.  The endpoint, `enabled`, extranonce2_size and listen_backlog
        need a restart (gxcpoold/reload.py)."""
        settings = config.stratum[self.algorithm.NAME]
        self.settings = settings
        self.lenient = config.pool.miner_address_check == "lenient"
        self.connections.limit = settings.max_connections_per_ip
        for session in list(self.sessions):
            session.reconfigure(settings)
        if self.running:
            self._start_vardiff_tick()
        self.log.info("{algorithm} stratum: new settings applied to {count} connection(s)",
                      algorithm=self.algorithm.NAME, count=len(self.sessions))

    def _listening_on(self, port):
        self.port = port
        self.log.info("{algorithm} stratum listening on {endpoint}",
                      algorithm=self.algorithm.NAME, endpoint=self.settings.endpoint)
        self._listen.listened(port)

    def _listen_failed(self, failure):
        # an operator's problem (port in use, no permission): one line, no traceback
        self.log.critical("{algorithm} stratum cannot listen on {endpoint}: {error}",
                          algorithm=self.algorithm.NAME, endpoint=self.settings.endpoint,
                          error=failure.getErrorMessage())
        self._listen.failed(failure)

    def whenListening(self):
        """Deferred firing with the listening port (its getHost().port in tests)."""
        return self._listen.when()

    @defer.inlineCallbacks
    def stopService(self):
        super().stopService()
        self.jobs.remove_listener(self.broadcast)
        if self._tick is not None and self._tick.running:
            self._tick.stop()
        if self.port is not None:
            yield self.port.stopListening()
            self.port = None
            self._listen.stopped()
        self.refusals.stop()
        # ask miners to come back (to us after a restart, or to a peer instance)
        for session in list(self.sessions):
            session.reconnect()

    # ------------------------------------------------------------ connections

    def session_opened(self, session):
        self.sessions.add(session)

    def session_closed(self, session):
        if session in self.sessions:
            self.sessions.discard(session)
            self.connections.close(session.ip)
        if session.extranonce1 is not None:
            self.extranonces.release(session.extranonce1)

    def ban(self, ip, reason):
        self.bans.ban(ip, reason, self.settings.ban_seconds, port=self.algorithm.NAME)

    def apply_operator_bans(self, ips, addresses):
        """The operator's current bans (gxcpool-admin ban): refuse them from now
        on and drop the connections they already have."""
        self.bans.set_operator_bans(ips, addresses)
        for session in list(self.sessions):
            banned = session.ip in self.bans.operator_ips or any(
                self.bans.is_address_banned(address) for address, _ in session.workers.values())
            if banned:
                self.log.warn("dropping {ip}: banned by the pool operator", ip=session.ip)
                session.show_message("gxcpool: disconnected: banned by the pool operator")
                session.transport.loseConnection()

    def broadcast(self, job, clean_jobs):
        for session in list(self.sessions):
            if session.working:
                session.send_job(job, clean_jobs)

    def _vardiff_tick(self):
        now = self.clock.seconds()
        for session in list(self.sessions):
            session.tick(now)
