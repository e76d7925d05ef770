"""The reference miner's client side, the same for every algorithm.

Miner keeps one connection (reconnecting with backoff, or where
client.reconnect points), lets its dialect (dialects/) log in and turn the
pool's messages into work for the Hasher, and submits what the Hasher finds.

Memory stays bounded whatever the pool does: at most `max_inflight`
submissions are unanswered at a time (shares found beyond that are counted
as skipped, see hasher.py), a clean_jobs notify forgets every older job so
nothing found for them is sent afterwards, only the last few jobs are kept,
nothing else is written while the pool does not read, and malformed pool
messages are logged as one line each, at most a few per report interval.
"""
from collections import Counter, deque

from twisted.internet import defer
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.protocol import Factory
from twisted.logger import Logger

from gxcpoold.miner.algorithms import ALGORITHMS, make_dialect
from gxcpoold.miner.dialects.stratum_v1 import AGENT
from gxcpoold.miner.hasher import Hasher
from gxcpoold.miner.rpc import MinerProtocol, StratumRPCError, error_text

__all__ = ["Miner", "MinerProtocol", "StratumRPCError", "MAX_INFLIGHT", "MAX_OPEN_JOBS"]

# Submissions unanswered at a time, by default.  Enough that a burst of shares
# at an ordinary share rate is not skipped over a slow link; small because
# when shares come faster than the pool answers, every extra one in flight
# only waits in the pool's queue and goes stale there (at D = 1 through the
# devnet pool: 15 % of shares refused as stale with 1 in flight, 44 % with 4,
# 67 % with 16).
MAX_INFLIGHT = 4
MAX_OPEN_JOBS = 16        # jobs without clean_jobs since the last clean one that stay submittable
MAX_REASONS = 16          # distinct rejection reasons tallied per report, the rest are "other"
MAX_IGNORED_LINES = 10    # malformed pool messages logged per report interval, the rest counted
# Seconds stop() waits for the hashing threads: a thread inside one long
# native call (building a high epoch's light cache) is left to end with the
# process rather than holding up the exit.
STOP_WAIT = 5.0
# Pool messages that can be wrong in shape: logged and ignored
BAD_INPUT = (ValueError, TypeError, IndexError, KeyError, ArithmeticError)


class Miner:
    log = Logger()

    def __init__(self, reactor, host, port, username, password="x", threads=1,
                 report_interval=10.0, printer=None, max_inflight=MAX_INFLIGHT,
                 algorithm="sha256d", dialect=None, dag=None):
        """algorithm: sha256d, ethash or gxhash; dialect: one of the
        algorithm's (algorithms.py; ethash: nicehash, the default, or
        ethproxy); dag: an EthashDAG to hash its epoch's jobs with."""
        self.reactor = reactor
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.report_interval = report_interval
        self.printer = printer or (lambda text: self.log.info("{text}", text=text))
        self.max_inflight = max_inflight
        self.algorithm = ALGORITHMS[algorithm]
        self.dialect = make_dialect(self, algorithm, dialect, dag)
        self.hasher = Hasher(reactor, threads, self._found, slots=max_inflight,
                             on_error=self._unhashable)
        self.protocol = None
        self.work = None                 # the newest job, what the threads hash
        self._unhashable_work = None     # the last job the threads could not hash
        self._jobs = {}                  # job id -> Work still worth submitting
        self.accepted = 0
        self.rejected = 0
        self.stale = 0                   # found for a job replaced by clean_jobs, not sent
        self.inflight = 0                # submissions not answered yet
        self.peak_inflight = 0
        self.rejections = deque(maxlen=100)      # (params, error) of rejected shares
        self.submitted = deque(maxlen=1000)      # params of every share sent
        self.difficulties = deque(maxlen=100)    # (time, difficulty) as set by the pool
        self.notifies = deque(maxlen=10)         # last notify params received (a line can be 1 MiB)
        self._reasons = Counter()                # rejection reasons since the last report
        self.ignored_count = 0                   # malformed pool messages, ever
        self._ignored_logged = 0                 # ... logged since the last report
        self._ignored_reported = 0
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
        waited = 0.0
        while self.hasher.alive() and waited < STOP_WAIT:   # threads finish their chunk
            d = defer.Deferred()
            self.reactor.callLater(0.02, d.callback, None)
            yield d
            waited += 0.02
        if self.hasher.alive():
            self.printer("hashing threads still busy after %gs; leaving them" % STOP_WAIT)

    def _connect(self):
        self._reconnect_call = None
        if self._stopping:
            return
        endpoint = HostnameEndpoint(self.reactor, self.host, self.port, timeout=10)
        factory = Factory.forProtocol(lambda: MinerProtocol(self))
        factory.noisy = False                # no "Starting factory" line per connection
        d = self._connecting = endpoint.connect(factory)
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

    @property
    def difficulty(self):
        """The share difficulty the pool set, in its dialect's unit."""
        return self.dialect.difficulty

    @defer.inlineCallbacks
    def _login(self, protocol):
        try:
            yield self.dialect.login(protocol)
        except Exception as e:
            # whatever the pool answered, one line: the connection is dropped
            # and tried again later
            self.printer("login failed: %s" % (error_text(e.error)
                                               if isinstance(e, StratumRPCError) else e,))
            protocol.transport.loseConnection()
            return
        self._backoff = 1.0
        self.printer("connected to %s:%d as %s" % (self.host, self.port, self.username))
        if not self.authorized.called:
            self.authorized.callback(None)

    # ------------------------------------------------------------ pool messages

    def notification(self, protocol, method, params, request_id):
        if protocol is not self.protocol:
            return                        # a connection being dropped
        try:
            if not isinstance(params, list):
                raise TypeError("params must be a list, got %r" % (params,))
            if method == "client.reconnect":
                self._reconnect_to(params)
            elif method == "client.show_message":
                self.printer("pool says: %s" % (params[0] if params else "",))
            elif method == "client.get_version":
                if request_id is not None:
                    protocol.reply(request_id, AGENT)
            else:
                self.dialect.notification(protocol, method, params)
        except BAD_INPUT as e:
            self.ignored("%s" % (method,), e)

    def pushed(self, protocol, result):
        """A response-shaped message nobody asked for (eth-proxy's work)."""
        if protocol is not self.protocol:
            return
        try:
            self.dialect.pushed(protocol, result)
        except BAD_INPUT as e:
            self.ignored("pushed work", e)

    def ignored(self, what, error):
        """One line for a pool message the miner cannot use; at most
        MAX_IGNORED_LINES per report interval, the rest only counted."""
        self.ignored_count += 1
        if self._ignored_logged < MAX_IGNORED_LINES:
            self._ignored_logged += 1
            self.printer(("ignoring malformed %s: %s" % (what, error))[:300])

    def difficulty_set(self, difficulty):
        """The dialect's record of a new share difficulty."""
        self.difficulties.append((self.reactor.seconds(), difficulty))

    def new_job(self, work, clean):
        """Hash this job from now on; clean: forget the older ones."""
        if clean:
            # what was found for older jobs would only be refused
            self._jobs.clear()
        self._jobs.pop(work.job_id, None)
        self._jobs[work.job_id] = work
        if len(self._jobs) > MAX_OPEN_JOBS:
            del self._jobs[next(iter(self._jobs))]
        # clean_jobs or not, the newest job is the one to work on
        self.work = work
        self.hasher.set_work(work)

    def _unhashable(self, work, reason):
        # every thread finds out: say it once per job
        if work is not self._unhashable_work:
            self._unhashable_work = work
            self.printer("cannot hash job %s: %s" % (work.job_id, reason))

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

    def _found(self, work, share):
        """A share from the hasher; it holds one of the hasher's slots, given
        back when its submission is answered, fails, or is not made."""
        # slots = max_inflight and a submission keeps its slot until answered,
        # so inflight never exceeds the bound here
        if self.protocol is None or self._stopping or self._jobs.get(work.job_id) is not work:
            if self.protocol is not None and not self._stopping:
                self.stale += 1
            self.hasher.release()
            return
        method, params, members = self.dialect.submission(work, share)
        self.submitted.append(params)
        self.inflight += 1
        self.peak_inflight = max(self.peak_inflight, self.inflight)
        d = self.protocol.request(method, *params, **members)
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
            self._tally(error_text(failure.value.error))

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
        unit = self.algorithm
        line = ("%.2f %s  accepted %d  rejected %d  difficulty %g"
                % (rate / unit.scale, unit.unit, self.accepted, self.rejected, self.difficulty))
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
        if self.ignored_count > self._ignored_reported:
            line += "  ignored %d malformed pool messages" % (
                self.ignored_count - self._ignored_reported)
            self._ignored_reported = self.ignored_count
        self._ignored_logged = 0
        self.printer(line)
        if self.protocol is not None:
            self.dialect.reported(self.protocol, rate)
        self._report_call = self.reactor.callLater(self.report_interval, self._report)

