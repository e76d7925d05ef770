"""StratumService: one listening endpoint ("tcp:3333", "ssl:...") for one algorithm.

Owns the connections: refuses banned and over-cap peers, broadcasts every
new job, checks shares and hands accepted ones to the ledger sink, hands
block candidates to the block submitter, and asks miners to reconnect when
the pool shuts down.
"""
import re

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.endpoints import serverFromString
from twisted.internet.protocol import ServerFactory
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from gxcpoold.algorithms import sha256d
from gxcpoold.shares import BlockCandidate, ShareRecord
from gxcpoold.stratum import errors
from gxcpoold.stratum.bans import BanList, ConnectionCounter
from gxcpoold.stratum.errors import StratumError
from gxcpoold.stratum.extranonce import ExtranonceAllocator
from gxcpoold.stratum.refusals import Refusals, describe_ban
from gxcpoold.stratum.session import StratumSession
from gxcpoold.stratum.sharecheck import check_share


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

    def __init__(self, settings, *, jobs, network, share_sink, reactor, lenient=False,
                 submit_block=None, instance_id=0, algorithm=sha256d, pool_address=None):
        """jobs: JobManager (current_job, get, is_stale, add_listener).
        submit_block(candidate) -> Deferred: the block path (node/submitter.py).
        pool_address: callable giving the address blocks pay to (default
        jobs.node.pool_address)."""
        self.settings = settings
        self.jobs = jobs
        self.network = network
        self.lenient = lenient
        self.share_sink = share_sink
        self.submit_block = submit_block
        self.instance_id = instance_id
        self.algorithm = algorithm
        self.clock = reactor
        self.reactor = reactor
        self.version_mask = algorithm.VERSION_ROLLING_MASK
        self._pool_address = pool_address or (lambda: jobs.node.pool_address)
        self.extranonces = ExtranonceAllocator(instance_id)
        self.bans = BanList(reactor, settings.ban_seconds)
        self.connections = ConnectionCounter(settings.max_connections_per_ip)
        self.refusals = Refusals(reactor, algorithm.NAME)
        self.sessions = set()
        self.port = None
        self.blocks_found = 0
        self._candidate_height = None   # (height, parent) of the last block candidate
        self._waiting = []
        self._tick = None
        self.factory = StratumFactory(self)

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
        self.bans.ban_seconds = settings.ban_seconds
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
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(port)

    def _listen_failed(self, failure):
        # an operator's problem (port in use, no permission): one line, no traceback
        self.log.critical("{algorithm} stratum cannot listen on {endpoint}: {error}",
                          algorithm=self.algorithm.NAME, endpoint=self.settings.endpoint,
                          error=failure.getErrorMessage())
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.errback(failure)

    def whenListening(self):
        """Deferred firing with the listening port (its getHost().port in tests)."""
        if self.port is not None:
            return defer.succeed(self.port)
        d = defer.Deferred()
        self._waiting.append(d)
        return d

    @defer.inlineCallbacks
    def stopService(self):
        super().stopService()
        self.jobs.remove_listener(self.broadcast)
        if self._tick is not None and self._tick.running:
            self._tick.stop()
        if self.port is not None:
            yield self.port.stopListening()
            self.port = None
        self.refusals.stop()
        # ask miners to come back (to us after a restart, or to a peer instance)
        for session in list(self.sessions):
            session.send_notification("client.reconnect", [])
            session.transport.loseConnection()

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
        self.bans.ban(ip, reason)

    def apply_operator_bans(self, ips, addresses):
        """The operator's current bans (gxcpool-admin ban): refuse them from now
        on and drop the connections they already have."""
        self.bans.set_operator_bans(ips, addresses)
        for session in list(self.sessions):
            banned = session.ip in self.bans.operator_ips or any(
                self.bans.is_address_banned(address) for address, _ in session.workers.values())
            if banned:
                self.log.warn("dropping {ip}: banned by the pool operator", ip=session.ip)
                session.send_notification("client.show_message", [
                    "gxcpool: disconnected: banned by the pool operator"])
                session.transport.loseConnection()

    def broadcast(self, job, clean_jobs):
        for session in list(self.sessions):
            if session.working:
                session.send_job(job, clean_jobs)

    def _vardiff_tick(self):
        now = self.clock.seconds()
        for session in list(self.sessions):
            session.tick(now)

    # ------------------------------------------------------------ shares

    def check_share(self, session, credentials, job_id, extranonce2, ntime, nonce,
                    version_bits):
        """mining.submit after parsing: True or StratumError."""
        try:
            checked = check_share(session, self.jobs, self.algorithm, job_id, extranonce2,
                                  ntime, nonce, version_bits)
        except StratumError as e:
            session.share_rejected(e)
            raise
        address, worker = credentials
        result = checked.result
        if result.block_ok:
            self.found_block(checked, address, worker)
        if not checked.difficulty:
            error = StratumError(errors.LOW_DIFFICULTY, "Low difficulty share (%.6g < %.6g)"
                                 % (self.algorithm.hash_difficulty(result.hash_int),
                                    session.job_difficulties[job_id][0]))
            session.share_rejected(error)
            raise error
        now = self.clock.seconds()
        self.share_sink.add_share(ShareRecord(
            time=now, algorithm=self.algorithm.NAME, address=address, worker=worker,
            difficulty=checked.difficulty, work=checked.work, height=checked.job.height,
            hash=result.hash_hex, is_block=result.block_ok, instance_id=self.instance_id))
        session.share_accepted(now)
        return True

    def found_block(self, checked, address, worker):
        job, result = checked.job, checked.result
        if job.template is None:
            return                        # a replayed foreign job: nothing to submit to
        pool_address = self._pool_address()
        block, solution = self.algorithm.block_for(job, result, checked.submission,
                                                   pool_address=pool_address)
        solution["worker"] = worker
        candidate = BlockCandidate(
            time=self.clock.seconds(), algorithm=self.algorithm.NAME, height=job.height,
            hash=result.hash_hex, previousblockhash=job.previousblockhash, address=address,
            worker=worker, work=checked.work, block=block, solution=solution)
        self.blocks_found += 1
        # At D = 1 every share is a candidate: one line per height is enough (the
        # submitter sends one block per height and logs what became of it), and
        # a line per share would cost more than checking the share.
        if self._candidate_height != (job.height, job.previousblockhash):
            self._candidate_height = (job.height, job.previousblockhash)
            self.log.info("block candidate {hash} at height {height} by {address}.{worker}",
                          hash=result.hash_hex, height=job.height, address=address,
                          worker=worker)
        if self.submit_block is None:
            self.log.error("no block submitter configured; candidate {hash} dropped",
                           hash=result.hash_hex)
            return
        d = defer.maybeDeferred(self.submit_block, candidate)
        d.addErrback(lambda f: self.log.error("block submission of {hash} failed: {error}",
                                              hash=result.hash_hex, error=f.getErrorMessage()))
