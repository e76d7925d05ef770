"""One miner connection: the part every algorithm and dialect shares.

State: subscribed (extranonce1 assigned) -> authorized (one or more workers)
-> working (difficulty and jobs sent).  What the miner says on the wire is
its dialect's (gxcpoold/stratum/dialects/); the session keeps the workers,
vardiff, the difficulty each job went out at, abuse counting, the idle
timer, and checks the connection's own shares: job look-up, duplicate,
the algorithm's verify (a Deferred: inline for sha256d, a thread pool for
slow hashes), the credit, then the pool's one pipeline (ledger sink and
block submitter).  A difficulty change applies with the next job; shares of
a job sent before the change are still accepted at the older difficulty
(credited at the highest difficulty they meet).
"""
import math
from collections import OrderedDict
from time import perf_counter

from gxcpoold.metrics import BUSY, MALFORMED, OTHER, SHARE_METHODS, reject_reason
from gxcpoold.stratum import errors
from gxcpoold.stratum.bans import abuse_reason
from gxcpoold.stratum.errors import Busy, MalformedRequest, StratumError, UnknownMethod
from gxcpoold.stratum.lineproto import JsonLineProtocol, is_deferred
from gxcpoold.stratum.refusals import describe_ban
from gxcpoold.stratum.vardiff import VarDiff
from gxcpoold.stratum.workers import BadCredentials, password_options, split_username

JOBS_REMEMBERED = 32          # per-connection memory of the difficulty each job went out at
MAX_WORKERS = 256             # usernames one connection may authorize (memory is per worker)
BUSY_LIMIT = 50               # "busy" answers a connection may earn before it is banned


def difficulty_json(difficulty):
    """Whole numbers as JSON integers (512, not 512.0), as miners expect."""
    if difficulty == int(difficulty) and difficulty < 2**53:
        return int(difficulty)
    return difficulty


def peer_number(value):
    """A JSON number from a miner as a float, or None when it is not one.

    Bools, NaN, infinities and integers beyond float range (json.loads gives
    a 400-digit number as an exact int) are refused here, so no arithmetic on
    what a peer sent can overflow."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def param_number(params, index, name):
    try:
        value = params[index]
    except IndexError:
        raise MalformedRequest("Invalid params: %s is missing" % name) from None
    number = peer_number(value)
    if number is None or number <= 0:
        raise MalformedRequest("Invalid params: %s must be a positive number" % name)
    return number


def param_string(params, index, name, pattern=None, what=""):
    try:
        value = params[index]
    except IndexError:
        raise MalformedRequest("Invalid params: %s is missing" % name) from None
    if not isinstance(value, str):
        raise MalformedRequest("Invalid params: %s must be a string" % name)
    if pattern is not None and not pattern.match(value):
        raise MalformedRequest("Invalid params: %s must be %s" % (name, what))
    return value


class StratumSession(JsonLineProtocol):

    def __init__(self, service, ip):
        self.service = service
        self.algorithm = service.algorithm
        self.ip = ip
        settings = service.settings
        self._apply_limits(settings)
        self.extranonce1 = None
        self.user_agent = ""
        self.reported_hashrate = None     # hashes/s the miner says it does (eth_submitHashrate)
        self.workers = {}                 # username -> (address, worker)
        self.vardiff = VarDiff(start=settings.start_difficulty,
                               minimum=settings.min_difficulty,
                               maximum=settings.max_difficulty,
                               shares_per_minute=settings.shares_per_minute,
                               retarget_interval=settings.retarget_interval,
                               now=service.clock.seconds())
        self.announced_difficulty = None  # last difficulty told to the miner
        self.job_difficulties = OrderedDict()   # job_id -> [lowest, highest] sent at
        self.working = False
        self.malformed_count = 0
        self.valid_shares = 0
        self.invalid_shares = 0
        self.stale_shares = 0
        self.busy_count = 0
        self.checks_started = 0           # metrics: one check in (mask + 1) is timed
        self._time_mask = service.check_time_mask
        self.checks_in_flight = 0
        self._checks_paused = False
        self._after_reply = []
        self._idle_call = None
        dialects = service.dialects
        self.dialect = dialects[0](self) if len(dialects) == 1 else None

    def _apply_limits(self, settings):
        self.MAX_LENGTH = settings.max_line_bytes
        self.line_timeout = settings.line_timeout
        self.requests_per_second = settings.requests_per_second
        self.burst = max(2 * settings.requests_per_second, 20.0)
        self.max_checks = max(1, getattr(settings, "max_checks_per_connection", 4))

    def reconfigure(self, settings):
        """New operator settings (SIGHUP): line and rate limits at once;
        difficulty limits clamp the current difficulty, announced to the miner."""
        self._apply_limits(settings)
        new = self.vardiff.set_limits(minimum=settings.min_difficulty,
                                      maximum=settings.max_difficulty,
                                      shares_per_minute=settings.shares_per_minute,
                                      retarget_interval=settings.retarget_interval,
                                      now=self.clock().seconds())
        if new is not None:
            self.announce_difficulty()

    # ------------------------------------------------------------ connection

    def clock(self):
        return self.service.clock

    def connectionMade(self):
        self._idle_call = self.clock().callLater(self.service.settings.idle_timeout,
                                                 self._idle_timeout)
        self.service.session_opened(self)

    def connectionLost(self, reason):
        self.cancel_timers()
        if self._idle_call is not None and self._idle_call.active():
            self._idle_call.cancel()
        self.working = False
        self.service.session_closed(self)

    def _idle_timeout(self):
        self._idle_call = None
        if not self.working:
            self.send_error(None, StratumError(errors.OTHER, "Subscribe and authorize within "
                                               "%g seconds; closing"
                                               % self.service.settings.idle_timeout))
            self.transport.loseConnection()

    def show_message(self, text):
        if self.dialect is not None:
            self.dialect.show_message(text)

    def reconnect(self):
        """The pool is stopping: ask the miner to come back, then close."""
        if self.dialect is not None:
            self.dialect.reconnect()
        self.transport.loseConnection()

    # ------------------------------------------------------------ abuse

    def malformed(self, reason):
        self.malformed_count += 1
        method = self.request.get("method") if self.request is not None else None
        # a method that is not a string (a list: unhashable) is itself the malformation
        if isinstance(method, str) and method in SHARE_METHODS:
            self.service.shares_rejected[MALFORMED] += 1      # metrics: a share too broken
        self._judge()

    def _judge(self):
        reason = abuse_reason(self.malformed_count, self.valid_shares, self.invalid_shares)
        if reason is None and self.busy_count >= BUSY_LIMIT:
            reason = "kept submitting while told the pool was busy (%d times)" % self.busy_count
        if reason is not None and self.connected and not self.transport.disconnecting:
            self.service.ban(self.ip, reason)
            # say why, or the miner reconnects at once and only reads the refusal line
            self.show_message("gxcpool: disconnected: " + describe_ban(
                self.ip, reason, self.service.settings.ban_seconds))
            self.transport.loseConnection()

    # ------------------------------------------------------------ dispatch

    def dispatch(self, request_id, method, params):
        dialect = self.dialect
        if dialect is None:
            # A port with several dialects: the first request chooses, for good.
            for candidate in self.service.dialects:
                if candidate.claims(method, params):
                    dialect = self.dialect = candidate(self)
                    break
            else:
                raise UnknownMethod(method)
        name = dialect.HANDLERS.get(method)
        if name is None:
            raise UnknownMethod(method)
        return getattr(dialect, name)(params)

    def send_result(self, request_id, result):
        if self.dialect is None:
            super().send_result(request_id, result)
        else:
            self.send_raw(self.dialect.result_line(request_id, result))

    def send_error(self, request_id, error):
        if self.dialect is None:
            super().send_error(request_id, error)
        else:
            self.send_raw(self.dialect.error_line(request_id, error))

    def handle_response(self, message):
        if self.dialect is not None:
            self.dialect.handle_response(message)

    def after_reply(self, action):
        """Run action once the answer to the current request is sent."""
        self._after_reply.append(action)

    def reply_sent(self):
        pending, self._after_reply = self._after_reply, []
        for action in pending:
            action()

    # ------------------------------------------------------------ what dialects call

    def subscribe(self, user_agent=None):
        """Give the connection its extranonce1 (once); work starts after the reply
        when a worker is authorized too."""
        if user_agent is not None:
            self.user_agent = user_agent[:128]
        if self.extranonce1 is None:
            self.extranonce1 = self.service.extranonces.allocate()
            if self.extranonce1 is None:
                raise StratumError(errors.OTHER, "The pool is full: no %s work left for "
                                                 "another connection; try later"
                                   % self.algorithm.NAME)
        self.after_reply(self.start_work_if_ready)
        return self.extranonce1

    def authorize(self, username, password):
        """Add a worker ADDRESS[.WORKER]; StratumError (24) when refused."""
        try:
            address, worker = split_username(username, self.service.network,
                                             lenient=self.service.lenient)
            options = password_options(password)
        except BadCredentials as e:
            self.malformed_count += 1
            self._judge()
            raise StratumError(errors.UNAUTHORIZED, "Unauthorized worker: %s" % e) from None
        if self.service.bans.is_address_banned(address):
            raise StratumError(errors.UNAUTHORIZED, "Unauthorized worker: %s is banned by the "
                                                    "pool operator" % address)
        if username not in self.workers and len(self.workers) >= MAX_WORKERS:
            raise StratumError(errors.UNAUTHORIZED, "Unauthorized worker: at most %d workers "
                                                    "per connection" % MAX_WORKERS)
        self.workers[username] = (address, worker)
        if "d" in options:
            self.vardiff.fix(options["d"], self.clock().seconds())
        self.after_reply(self.start_work_if_ready)
        return address, worker

    def suggest_difficulty(self, difficulty):
        self.change_difficulty(self.vardiff.suggest(difficulty, self.clock().seconds()),
                               announce_always=True)

    def set_minimum_difficulty(self, difficulty):
        self.change_difficulty(self.vardiff.set_minimum(difficulty, self.clock().seconds()))

    # ------------------------------------------------------------ difficulty and jobs

    def change_difficulty(self, new, announce_always=False):
        """After the reply: tell the miner, then resend the current job so the
        new difficulty applies at once (the old one stays valid for it)."""
        if new is None and not announce_always:
            return
        if not self.working:
            return                        # announced when work starts
        self.after_reply(self.announce_difficulty)

    def announce_difficulty(self):
        if not self.connected or not self.working:
            return
        job = self.service.jobs.current_job
        if job is None:
            self._send_difficulty()
        else:
            self._send_difficulty()
            self.send_job(job, False)

    def _send_difficulty(self):
        self.announced_difficulty = self.vardiff.difficulty
        self.dialect.send_difficulty(self.vardiff.difficulty)

    def start_work_if_ready(self):
        if self.working or self.extranonce1 is None or not self.workers or not self.connected:
            return
        job = self.service.jobs.current_job
        self.working = True
        if self._idle_call is not None and self._idle_call.active():
            self._idle_call.cancel()
        self._idle_call = None
        if job is None:
            self._send_difficulty()       # the first job follows when the node gives one
            return
        self.send_job(job, job.clean_jobs)

    def send_job(self, job, clean_jobs):
        """Send a job (the service calls this for every new one)."""
        now = self.clock().seconds()
        self.vardiff.set_ceiling(job.network_difficulty, now)
        difficulty = self.vardiff.difficulty
        if self.announced_difficulty != difficulty:
            self._send_difficulty()
        sent = self.job_difficulties.get(job.job_id)
        if sent is None:
            self.job_difficulties[job.job_id] = [difficulty, difficulty]
            while len(self.job_difficulties) > JOBS_REMEMBERED:
                self.job_difficulties.popitem(last=False)
        else:
            sent[0], sent[1] = min(sent[0], difficulty), max(sent[1], difficulty)
        self.dialect.send_job(job, clean_jobs, difficulty)

    def tick(self, now):
        """Periodic vardiff check for miners that went quiet."""
        if self.working and self.vardiff.on_tick(now) is not None:
            self.announce_difficulty()

    # ------------------------------------------------------------ shares

    def credentials_for(self, username):
        """(address, worker) of an authorized worker of a subscribed
        connection; refuses the share otherwise."""
        if self.extranonce1 is None:
            self.refuse_share(StratumError(errors.NOT_SUBSCRIBED, "Not subscribed"))
        credentials = self.workers.get(username)
        if credentials is None:
            self.refuse_share(StratumError(errors.UNAUTHORIZED,
                                           "Unauthorized worker %r" % username[:80]))
        return credentials

    def job_for(self, job_id):
        """The job a share is for, if this connection was sent it and it is current."""
        job = self.service.jobs.get(job_id)
        if job is None or job_id not in self.job_difficulties:
            if self.service.jobs.is_stale(job_id):
                self.refuse_share(StratumError(errors.JOB_NOT_FOUND,
                                               "Stale job: work on the latest job"))
            self.refuse_share(StratumError(errors.JOB_NOT_FOUND, "Job not found"))
        return job

    def refuse_share(self, error):
        """Bookkeeping for a refused share, then raise its error (stale ones
        do not count against the miner; a busy pool is not the miner's fault
        until the miner ignores it)."""
        if not isinstance(error, MalformedRequest):      # metrics (those: malformed())
            self.service.shares_rejected[reject_reason(error)] += 1
        if error.code == errors.JOB_NOT_FOUND:
            self.stale_shares += 1
        elif not isinstance(error, Busy):
            self.invalid_shares += 1
            self._judge()
        raise error

    def check_share(self, credentials, job, submission):
        """Check a parsed submission for a job this connection was sent.

        Answers True, or a Deferred firing True once a thread pool has
        hashed it; a refusal raises (or fails the Deferred with) the
        StratumError to answer.  An inline verify (sha256d, microseconds)
        is answered without a Deferred: one would cost a sixth of the CPU
        such a share takes (bench/stratum_load.py)."""
        algorithm = self.algorithm
        key = algorithm.dedup_key(submission)
        if key in job.seen_hashes:
            self.refuse_share(StratumError(errors.DUPLICATE, "Duplicate share"))
        if self.checks_in_flight and self.checks_in_flight >= self._check_limit():
            raise self._busy(Busy("Busy: %d of your shares are still being checked; slow down"
                                  % self.checks_in_flight))
        lowest, highest = self.job_difficulties[job.job_id]
        # metrics: the check's time, for one inline check in 64 and every pooled one
        self.checks_started += 1
        started = None if self.checks_started & self._time_mask else perf_counter()
        try:
            verified = algorithm.verify(job, submission, highest)
        except Busy as e:
            raise self._busy(e) from None
        except StratumError as e:
            self.refuse_share(e)
        job.seen_hashes.add(key)
        if not is_deferred(verified):
            if started is not None:
                self.service.check_times.observe(perf_counter() - started)
            return self._verified(verified, credentials, job, submission, lowest, highest)
        self.checks_in_flight += 1
        if self.checks_in_flight >= self.max_checks:
            self._pause_for_checks()
        verified.addBoth(self._check_finished)
        if started is not None:
            verified.addBoth(self._check_timed, started)
        verified.addCallbacks(self._verified, self._verify_failed,
                              callbackArgs=(credentials, job, submission, lowest, highest),
                              errbackArgs=(job, key))
        return verified

    def _check_timed(self, result, started):
        # queue wait and hash: what a pooled check costs the miner waiting for it
        self.service.check_times.observe(perf_counter() - started)
        return result

    def _check_limit(self):
        """Checks this connection may have in flight: its own bound, and no
        more than its equal part of the verifier's queue among the port's
        connections, so a few floods cannot fill it and starve the others."""
        capacity = getattr(self.algorithm, "check_capacity", None)
        if capacity is None:
            return self.max_checks
        return min(self.max_checks, max(1, capacity // max(1, len(self.service.sessions))))

    def _check_finished(self, result):
        self.checks_in_flight -= 1
        if self._checks_paused and self.checks_in_flight < self.max_checks:
            # read on once this share is answered, so replies keep request order
            self.after_reply(self._resume_after_checks)
        return result

    def _resume_after_checks(self):
        if self._checks_paused and self.checks_in_flight < self.max_checks:
            self._checks_paused = False
            if self.connected:
                self.resumeProducing()

    def _pause_for_checks(self):
        """Stop reading this connection until one of its checks is done:
        its later submissions wait in its own socket, not in the pool."""
        if not self._checks_paused and self.connected:
            self._checks_paused = True
            self.pauseProducing()

    def _refused(self, error):
        try:
            self.refuse_share(error)
        except StratumError:
            pass
        return error

    def _busy(self, error):
        self.busy_count += 1
        self.service.shares_rejected[BUSY] += 1           # metrics
        if self.checks_in_flight:
            # one of its own checks resumes it; with none in flight nothing
            # would, and the error alone tells it to slow down
            self._pause_for_checks()
        self._judge()
        return error

    def _verify_failed(self, failure, job, key):
        error = failure.value
        if isinstance(error, Busy):
            job.seen_hashes.discard(key)      # not checked: the miner may send it again
            raise self._busy(error)
        if isinstance(error, StratumError):
            raise self._refused(error)
        # a bug or a hashing failure must cost this share only
        self.log.failure("checking a {algorithm} share failed", failure,
                         algorithm=self.algorithm.NAME)
        self.service.shares_rejected[OTHER] += 1          # metrics
        raise StratumError(errors.OTHER, "Internal error checking the share")

    def _verified(self, result, credentials, job, submission, lowest, highest):
        algorithm = self.algorithm
        if result.share_ok:
            credited = highest
        elif lowest < highest and result.meets(lowest):
            credited = lowest             # work from before the last difficulty change
        else:
            credited = 0.0
        address, worker = credentials
        work = algorithm.share_work(credited) if credited else 0
        pipeline = self.service.pipeline
        # One time for the block and its share: the block's PPLNS window takes
        # the shares up to the block's time, its own share included.
        now = self.clock().seconds()
        if result.block_ok:
            pipeline.block_found(now, algorithm, job, result, submission, address, worker, work)
        if not credited:
            self.refuse_share(StratumError(
                errors.LOW_DIFFICULTY, "Low difficulty share (%.6g < %.6g)"
                % (self.dialect.shown_difficulty(algorithm.hash_difficulty(result.hash_int)),
                   self.dialect.shown_difficulty(lowest))))
        pipeline.share_accepted(now, algorithm.NAME, address, worker, credited, work,
                                job.height, result.hash_hex, result.block_ok)
        self.valid_shares += 1
        self.service.shares_accepted += 1                 # metrics
        if self.vardiff.on_share(now) is not None:
            self.after_reply(self.announce_difficulty)
        return True
