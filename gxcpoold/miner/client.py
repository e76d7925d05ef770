"""Stratum V1 client side of the reference miner.

Miner keeps one connection (reconnecting with backoff, or where
client.reconnect points), feeds notify/set_difficulty to the Hasher and
submits what it finds.  A difficulty applies from the next job, as the
protocol says.

Memory stays bounded whatever the pool does: at most `max_inflight`
mining.submit requests are unanswered at a time (shares found beyond that are
counted as skipped, see hasher.py), a clean_jobs notify forgets every older
job so nothing found for them is sent afterwards, only the last few jobs are
kept, and nothing else is written while the pool does not read.
"""
import itertools
import json
from collections import Counter, deque

from twisted.internet import defer
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.protocol import Factory
from twisted.internet.interfaces import IPushProducer
from twisted.logger import Logger
from twisted.protocols.basic import LineReceiver
from zope.interface import implementer

from gxcpoold.miner.hasher import Hasher
from gxcpoold.miner.work import Work


class StratumRPCError(Exception):
    def __init__(self, error):
        super().__init__(error)
        self.error = error
        self.code = error[0] if isinstance(error, list) and error else None


# Submissions unanswered at a time, by default.  Enough that a burst of shares
# at an ordinary share rate is not skipped over a slow link; small because
# when shares come faster than the pool answers, every extra one in flight
# only waits in the pool's queue and goes stale there (at D = 1 through the
# devnet pool: 15 % of shares refused as stale with 1 in flight, 44 % with 4,
# 67 % with 16).
MAX_INFLIGHT = 4
MAX_OPEN_JOBS = 16        # jobs without clean_jobs since the last clean one that stay submittable
MAX_REASONS = 16          # distinct rejection reasons tallied per report, the rest are "other"


@implementer(IPushProducer)
class MinerProtocol(LineReceiver):
    delimiter = b"\n"
    MAX_LENGTH = 1 << 20

    def __init__(self, miner):
        self.miner = miner
        self._ids = itertools.count(1)
        self._pending = {}
        self.writes_paused = False   # the pool is not reading: the send buffer is full
        self.replies_dropped = 0

    def request(self, method, *params):
        request_id = next(self._ids)
        d = defer.Deferred()
        self._pending[request_id] = d
        self.transport.write(json.dumps({"id": request_id, "method": method,
                                         "params": list(params)}).encode() + b"\n")
        return d

    def reply(self, request_id, result):
        """Answer a request from the pool, unless the pool is not reading our
        answers anyway (a pool that keeps asking would grow the send buffer)."""
        if self.writes_paused:
            self.replies_dropped += 1
            return
        self.transport.write(json.dumps({"id": request_id, "result": result,
                                         "error": None}).encode() + b"\n")

    # IPushProducer: the transport says when its send buffer is full or drained
    def pauseProducing(self):
        self.writes_paused = True

    def resumeProducing(self):
        self.writes_paused = False

    def stopProducing(self):
        pass

    def connectionMade(self):
        self.transport.registerProducer(self, True)
        self.miner.connected(self)

    def connectionLost(self, reason):
        pending, self._pending = self._pending, {}
        for d in pending.values():
            d.errback(reason)
        self.miner.disconnected(self, reason)

    def lineReceived(self, line):
        try:
            message = json.loads(line)
        except ValueError:
            self.miner.log.warn("pool sent a line that is not JSON: {line!r}", line=line[:200])
            return
        if not isinstance(message, dict):
            return
        method = message.get("method")
        if method is not None:
            self.miner.notification(self, method, message.get("params") or [],
                                    message.get("id"))
            return
        request_id = message.get("id")
        d = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
        if d is None:
            return
        if message.get("error"):
            d.errback(StratumRPCError(message["error"]))
        else:
            d.callback(message.get("result"))


class Miner:
    log = Logger()

    def __init__(self, reactor, host, port, username, password="x", threads=1,
                 report_interval=10.0, printer=None, max_inflight=MAX_INFLIGHT):
        self.reactor = reactor
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.report_interval = report_interval
        self.printer = printer or (lambda text: self.log.info("{text}", text=text))
        self.max_inflight = max_inflight
        self.hasher = Hasher(reactor, threads, self._found, slots=max_inflight)
        self.protocol = None
        self.extranonce1 = None
        self.extranonce2_size = 4
        self.difficulty = 1.0            # from set_difficulty, used from the next job
        self.work = None                 # the newest job, what the threads hash
        self._jobs = {}                  # job id -> Work still worth submitting
        self.accepted = 0
        self.rejected = 0
        self.stale = 0                   # found for a job replaced by clean_jobs, not sent
        self.inflight = 0                # mining.submit requests not answered yet
        self.peak_inflight = 0
        self.rejections = deque(maxlen=100)      # (params, error) of rejected shares
        self.submitted = deque(maxlen=1000)      # params of every share sent
        self.difficulties = deque(maxlen=100)    # (time, difficulty) as set by the pool
        self.notifies = deque(maxlen=10)         # last notify params received (a line can be 1 MiB)
        self._reasons = Counter()                # rejection reasons since the last report
        self._reported = (0, 0)                  # skipped, stale at the last report
        self._stopping = False
        self._stopped = None
        self._connecting = None
        self._backoff = 1.0
        self._reconnect_call = None
        self._report_call = None
        self._last_report = (None, 0)
        self.authorized = defer.Deferred()       # fires once the first login succeeded

    # ------------------------------------------------------------ lifecycle

    def start(self):
        self._last_report = (self.reactor.seconds(), 0)
        self.hasher.start()
        self._connect()
        if self.report_interval:
            self._report_call = self.reactor.callLater(self.report_interval, self._report)

    def stop(self):
        """Stop hashing and disconnect; fires once the threads have exited.
        Safe to call more than once."""
        if self._stopped is None:
            self._stopped = self._stop()
        d = defer.Deferred()
        self._stopped.addBoth(lambda r: (d.callback(None), r)[1])
        return d

    @defer.inlineCallbacks
    def _stop(self):
        self._stopping = True
        self.hasher.stop()
        for call in (self._reconnect_call, self._report_call):
            if call is not None and call.active():
                call.cancel()
        if self._connecting is not None:
            self._connecting.cancel()
        if self.protocol is not None:
            # abort: a pool that does not read must not hold the exit up
            self.protocol.transport.abortConnection()
        while self.hasher.alive():           # threads finish their current chunk
            d = defer.Deferred()
            self.reactor.callLater(0.02, d.callback, None)
            yield d

    def _connect(self):
        self._reconnect_call = None
        if self._stopping:
            return
        endpoint = HostnameEndpoint(self.reactor, self.host, self.port, timeout=10)
        d = self._connecting = endpoint.connect(Factory.forProtocol(lambda: MinerProtocol(self)))
        d.addBoth(self._connect_done)
        d.addErrback(self._connect_failed)

    def _connect_done(self, result):
        self._connecting = None
        return result

    def _connect_failed(self, failure):
        if self._stopping:
            return
        self.printer("cannot connect to %s:%d: %s" % (self.host, self.port,
                                                     failure.getErrorMessage()))
        self._schedule_reconnect(self._backoff)
        self._backoff = min(self._backoff * 2, 60.0)

    def _schedule_reconnect(self, delay):
        if self._stopping or self._reconnect_call is not None:
            return
        self._reconnect_call = self.reactor.callLater(delay, self._connect)

    def connected(self, protocol):
        self.protocol = protocol
        self._login(protocol)

    def disconnected(self, protocol, reason):
        if protocol is not self.protocol:
            return
        self.protocol = None
        self._forget_jobs()
        if not self._stopping:
            self.printer("disconnected from the pool; reconnecting")
            self._schedule_reconnect(self._backoff)
            self._backoff = min(self._backoff * 2, 60.0)

    @defer.inlineCallbacks
    def _login(self, protocol):
        try:
            result = yield protocol.request("mining.subscribe", "gxcpool-miner/1.0")
            self.extranonce1 = bytes.fromhex(result[1])
            self.extranonce2_size = int(result[2])
            ok = yield protocol.request("mining.authorize", self.username, self.password)
            if ok is not True:
                raise StratumRPCError([24, "authorization refused", None])
        except Exception as e:
            self.printer("login failed: %s" % (e,))
            protocol.transport.loseConnection()
            return
        self._backoff = 1.0
        self.printer("connected to %s:%d as %s" % (self.host, self.port, self.username))
        if not self.authorized.called:
            self.authorized.callback(None)

    # ------------------------------------------------------------ pool messages

    def notification(self, protocol, method, params, request_id):
        if method == "mining.set_difficulty":
            if params and isinstance(params[0], (int, float)) and params[0] > 0:
                self.difficulty = float(params[0])
                self.difficulties.append((self.reactor.seconds(), self.difficulty))
        elif method == "mining.notify":
            self.notifies.append(params)
            self._new_job(params)
        elif method == "mining.set_extranonce":
            try:
                self.extranonce1 = bytes.fromhex(params[0])
                self.extranonce2_size = int(params[1])
            except (ValueError, IndexError, TypeError):
                self.printer("ignoring malformed mining.set_extranonce %r" % (params,))
        elif method == "client.reconnect":
            self._reconnect_to(params)
        elif method == "client.show_message":
            self.printer("pool says: %s" % (params[0] if params else ""))
        elif method == "client.get_version" and request_id is not None:
            protocol.reply(request_id, "gxcpool-miner/1.0")

    def _new_job(self, params):
        if self.extranonce1 is None:
            return
        try:
            work = Work.from_notify(params, self.extranonce1, self.extranonce2_size,
                                    self.difficulty)
        except (ValueError, TypeError, IndexError) as e:
            self.printer("ignoring malformed mining.notify: %s" % e)
            return
        if len(params) > 8 and params[8] is True:
            # clean_jobs: what was found for older jobs would only be refused
            self._jobs.clear()
        self._jobs.pop(work.job_id, None)
        self._jobs[work.job_id] = work
        if len(self._jobs) > MAX_OPEN_JOBS:
            del self._jobs[next(iter(self._jobs))]
        # clean_jobs or not, the newest job is the one to work on
        self.work = work
        self.hasher.set_work(work)

    def _forget_jobs(self):
        self.work = None
        self._jobs.clear()
        self.hasher.set_work(None)

    def _reconnect_to(self, params):
        host, port, wait = self.host, self.port, 0
        if len(params) >= 2 and isinstance(params[0], str) and params[0]:
            host = params[0]
            try:
                port = int(params[1])
            except (TypeError, ValueError):
                port = self.port
        if len(params) >= 3 and isinstance(params[2], (int, float)):
            wait = max(0.0, min(float(params[2]), 3600.0))
        self.printer("pool asks to reconnect to %s:%d in %gs" % (host, port, wait))
        self.host, self.port = host, port
        if self.protocol is not None:
            old, self.protocol = self.protocol, None
            self._forget_jobs()
            # abort: its unanswered submissions give their slots back now, even
            # if that pool has stopped reading
            old.transport.abortConnection()
        self._schedule_reconnect(max(wait, 0.1))

    # ------------------------------------------------------------ shares

    def _found(self, work, extranonce2, nonce, digest):
        """A share from the hasher; it holds one of the hasher's slots, given
        back when its submission is answered, fails, or is not made."""
        # slots = max_inflight and a submission keeps its slot until answered,
        # so inflight never exceeds the bound here
        if self.protocol is None or self._stopping or self._jobs.get(work.job_id) is not work:
            if self.protocol is not None and not self._stopping:
                self.stale += 1
            self.hasher.release()
            return
        params = [self.username, work.job_id, extranonce2.hex(), "%08x" % work.ntime,
                  "%08x" % nonce]
        self.submitted.append(params)
        self.inflight += 1
        self.peak_inflight = max(self.peak_inflight, self.inflight)
        d = self.protocol.request("mining.submit", *params)
        d.addBoth(self._answered)
        d.addCallbacks(self._accepted, self._rejected, errbackArgs=(params,))

    def _answered(self, result):
        self.inflight -= 1
        self.hasher.release()
        return result

    def _accepted(self, result):
        if result is True:
            self.accepted += 1
        else:
            self.rejected += 1
            self._tally("answer %r" % (result,))

    def _rejected(self, failure, params):
        if failure.check(StratumRPCError):
            self.rejected += 1
            self.rejections.append((params, failure.value.error))
            self._tally(_reason(failure.value.error))

    def _tally(self, reason):
        if reason not in self._reasons and len(self._reasons) >= MAX_REASONS:
            reason = "other"
        self._reasons[reason] += 1

    @property
    def open_jobs(self):
        """How many jobs the miner would still submit shares for."""
        return len(self._jobs)

    # ------------------------------------------------------------ reporting

    def hashrate(self):
        """Hashes per second since the previous call."""
        now, total = self.reactor.seconds(), self.hasher.total_hashes
        then, before = self._last_report
        self._last_report = (now, total)
        if then is None or now <= then:
            return 0.0
        return (total - before) / (now - then)

    def _report(self):
        """One line per interval, whatever happened in it: never one per share."""
        rate = self.hashrate()
        line = ("%.2f MH/s  accepted %d  rejected %d  difficulty %g"
                % (rate / 1e6, self.accepted, self.rejected, self.difficulty))
        if self._reasons:
            line += "  (rejected since last report: %s)" % ", ".join(
                "%s x%d" % item for item in self._reasons.most_common(3))
            self._reasons.clear()
        skipped, stale = self.hasher.skipped, self.stale
        skipped_before, stale_before = self._reported
        if skipped > skipped_before:
            line += ("  skipped %d shares (%d submissions unanswered, the limit)"
                     % (skipped - skipped_before, self.max_inflight))
        if stale > stale_before:
            line += "  %d found for replaced jobs not sent" % (stale - stale_before)
        self._reported = (skipped, stale)
        self.printer(line)
        self._report_call = self.reactor.callLater(self.report_interval, self._report)


def _reason(error):
    """A short, bounded text for a Stratum error, for the report's tally."""
    if isinstance(error, list) and len(error) >= 2:
        return ("%s %s" % (error[0], error[1]))[:80]
    return repr(error)[:80]
