"""One miner connection speaking Stratum V1 (spec/stratum-v1.md sections 2-4).

State: subscribed (extranonce1 assigned) -> authorized (one or more workers)
-> working (set_difficulty and notify sent).  Submits are checked against
the difficulty each job was sent at: a change applies with the next job,
and shares of a job sent before the change are still accepted at the older
difficulty (credited at the highest difficulty they meet).
"""
import math
import re
from collections import OrderedDict

from gxcpoold.hashers.targets import sha256d_difficulty
from gxcpoold.stratum import errors
from gxcpoold.stratum.bans import abuse_reason
from gxcpoold.stratum.errors import MalformedRequest, StratumError
from gxcpoold.stratum.lineproto import JsonLineProtocol, encode
from gxcpoold.stratum.refusals import describe_ban
from gxcpoold.stratum.vardiff import VarDiff
from gxcpoold.stratum.workers import BadCredentials, password_options, split_username

_HEX8 = re.compile(r"[0-9a-fA-F]{8}\Z")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*\Z")
JOBS_REMEMBERED = 32          # per-connection memory of the difficulty each job went out at
MAX_WORKERS = 256             # usernames one connection may authorize (memory is per worker)


def difficulty_json(difficulty):
    """Whole numbers as JSON integers (512, not 512.0), as miners expect."""
    if difficulty == int(difficulty) and difficulty < 2**53:
        return int(difficulty)
    return difficulty


def notify_line(job, clean_jobs):
    """The encoded mining.notify for a job, built once and shared by all connections."""
    cache = job.__dict__.setdefault("_notify_lines", {})
    line = cache.get(clean_jobs)
    if line is None:
        line = cache[clean_jobs] = encode({"id": None, "method": "mining.notify",
                                           "params": job.notify_params(clean_jobs)})
    return line


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


def _number(params, index, name):
    try:
        value = params[index]
    except IndexError:
        raise MalformedRequest("Invalid params: %s is missing" % name) from None
    number = peer_number(value)
    if number is None or number <= 0:
        raise MalformedRequest("Invalid params: %s must be a positive number" % name)
    return number


def _string(params, index, name, pattern=None, what=""):
    value = params[index]
    if not isinstance(value, str):
        raise MalformedRequest("Invalid params: %s must be a string" % name)
    if pattern is not None and not pattern.match(value):
        raise MalformedRequest("Invalid params: %s must be %s" % (name, what))
    return value


class StratumSession(JsonLineProtocol):

    def __init__(self, service, ip):
        self.service = service
        self.ip = ip
        settings = service.settings
        self._apply_limits(settings)
        self.extranonce1 = None
        self.extranonce2_size = settings.extranonce2_size
        self.user_agent = ""
        self.workers = {}                 # username -> (address, worker)
        self.version_mask = 0             # BIP 310 mask once negotiated
        self.extranonce_subscribed = False
        self.vardiff = VarDiff(start=settings.start_difficulty,
                               minimum=settings.min_difficulty,
                               maximum=settings.max_difficulty,
                               shares_per_minute=settings.shares_per_minute,
                               retarget_interval=settings.retarget_interval,
                               now=service.clock.seconds())
        self.announced_difficulty = None  # last set_difficulty sent
        self.job_difficulties = OrderedDict()   # job_id -> [lowest, highest] sent at
        self.working = False
        self.malformed_count = 0
        self.valid_shares = 0
        self.invalid_shares = 0
        self.stale_shares = 0
        self._after_reply = []
        self._idle_call = None

    def _apply_limits(self, settings):
        self.MAX_LENGTH = settings.max_line_bytes
        self.line_timeout = settings.line_timeout
        self.requests_per_second = settings.requests_per_second
        self.burst = max(2 * settings.requests_per_second, 20.0)

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
            self._announce_difficulty()

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

    # ------------------------------------------------------------ abuse

    def malformed(self, reason):
        self.malformed_count += 1
        self._judge()

    def _judge(self):
        reason = abuse_reason(self.malformed_count, self.valid_shares, self.invalid_shares)
        if reason is not None and self.connected:
            self.service.ban(self.ip, reason)
            # say why, or the miner reconnects at once and only reads the refusal line
            self.send_notification("client.show_message", ["gxcpool: disconnected: " + describe_ban(
                self.ip, reason, self.service.settings.ban_seconds)])
            self.transport.loseConnection()

    # ------------------------------------------------------------ dispatch

    HANDLERS = {
        "mining.subscribe": "subscribe",
        "mining.authorize": "authorize",
        "mining.configure": "configure",
        "mining.suggest_difficulty": "suggest_difficulty",
        "mining.suggest_target": "suggest_target",
        "mining.extranonce.subscribe": "extranonce_subscribe",
        "mining.submit": "submit",
        "mining.get_transactions": "get_transactions",
        "mining.ping": "ping",
        "mining.multi_version": "multi_version",
    }

    def dispatch(self, request_id, method, params):
        name = self.HANDLERS.get(method)
        if name is None:
            raise StratumError(errors.OTHER, "Unknown method %r" % method[:64])
        return getattr(self, name)(params)

    def reply_sent(self):
        pending, self._after_reply = self._after_reply, []
        for action in pending:
            action()

    # ------------------------------------------------------------ handlers

    def subscribe(self, params):
        if params and params[0] is not None:
            self.user_agent = _string(params, 0, "user agent")[:128]
        if self.extranonce1 is None:
            self.extranonce1 = self.service.extranonces.allocate()
        en1 = self.extranonce1.hex()
        self._after_reply.append(self._start_work_if_ready)
        return [[["mining.set_difficulty", en1], ["mining.notify", en1]], en1,
                self.extranonce2_size]

    def authorize(self, params):
        if not params:
            raise MalformedRequest("Invalid params: expected [username, password]")
        username = _string(params, 0, "username")
        password = params[1] if len(params) > 1 else None
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
        self._after_reply.append(self._start_work_if_ready)
        return True

    def configure(self, params):
        if len(params) < 1 or not isinstance(params[0], list) \
                or not all(isinstance(x, str) for x in params[0]):
            raise MalformedRequest("Invalid params: expected [[extension, ...], {options}]")
        options = params[1] if len(params) > 1 else {}
        if not isinstance(options, dict):
            raise MalformedRequest("Invalid params: extension options must be an object")
        result = {}
        for extension in params[0]:
            if extension == "version-rolling":
                requested = options.get("version-rolling.mask", "ffffffff")
                if not isinstance(requested, str) or not _HEX8.match(requested):
                    result[extension] = "version-rolling.mask must be 8 hex digits"
                    continue
                self.version_mask = int(requested, 16) & self.service.version_mask
                result[extension] = True
                result["version-rolling.mask"] = "%08x" % self.version_mask
            elif extension == "minimum-difficulty":
                value = peer_number(options.get("minimum-difficulty.value"))
                if value is None or value < 0:
                    # BIP 310 answers per extension; a broken value still counts as malformed
                    self.malformed("bad minimum-difficulty.value")
                    result[extension] = "minimum-difficulty.value must be a number"
                    continue
                if value > 0:
                    self._change_difficulty(self.vardiff.set_minimum(value, self.clock().seconds()))
                result[extension] = True
            elif extension == "subscribe-extranonce":
                self.extranonce_subscribed = True
                result[extension] = True
            else:
                result[extension] = False        # unknown: say no, keep the miner
        return result

    def suggest_difficulty(self, params):
        difficulty = _number(params, 0, "difficulty")
        self._change_difficulty(self.vardiff.suggest(difficulty, self.clock().seconds()),
                                announce_always=True)
        return True

    def suggest_target(self, params):
        if not params:
            raise MalformedRequest("Invalid params: expected [target hex]")
        target = _string(params, 0, "target", re.compile(r"[0-9a-fA-F]{1,64}\Z"),
                         "up to 64 hex digits")
        if int(target, 16) == 0:
            raise MalformedRequest("Invalid params: target must not be zero")
        difficulty = sha256d_difficulty(int(target, 16))
        self._change_difficulty(self.vardiff.suggest(difficulty, self.clock().seconds()),
                                announce_always=True)
        return True

    def extranonce_subscribe(self, params):
        self.extranonce_subscribed = True
        return True

    def get_transactions(self, params):
        return []                         # the GXC block's transactions are not Bitcoin's

    def ping(self, params):
        return "pong"

    def multi_version(self, params):
        return False

    def handle_response(self, message):
        pass                              # e.g. the answer to client.get_version

    # ------------------------------------------------------------ difficulty and jobs

    def _change_difficulty(self, new, announce_always=False):
        """After the reply: tell the miner, then resend the current job so the
        new difficulty applies at once (the old one stays valid for it)."""
        if new is None and not announce_always:
            return
        if not self.working:
            return                        # announced when work starts
        self._after_reply.append(self._announce_difficulty)

    def _announce_difficulty(self):
        if not self.connected or not self.working:
            return
        self._send_difficulty()
        job = self.service.jobs.current_job
        if job is not None:
            self.send_job(job, False)

    def _send_difficulty(self):
        self.announced_difficulty = self.vardiff.difficulty
        self.send_notification("mining.set_difficulty",
                               [difficulty_json(self.vardiff.difficulty)])

    def _start_work_if_ready(self):
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
        self.send_raw(notify_line(job, clean_jobs))

    def tick(self, now):
        """Periodic vardiff check for miners that went quiet."""
        if self.working and self.vardiff.on_tick(now) is not None:
            self._announce_difficulty()

    # ------------------------------------------------------------ submit

    def submit(self, params):
        if len(params) not in (5, 6):
            raise MalformedRequest("Invalid params: mining.submit takes [worker, job_id, "
                                   "extranonce2, ntime, nonce(, version_bits)]")
        username = _string(params, 0, "worker")
        job_id = _string(params, 1, "job_id")
        en2 = _string(params, 2, "extranonce2", _HEX, "hex")
        ntime = _string(params, 3, "ntime", _HEX8, "8 hex digits")
        nonce = _string(params, 4, "nonce", _HEX8, "8 hex digits")
        version_bits = _string(params, 5, "version_bits", _HEX8, "8 hex digits") \
            if len(params) == 6 else None
        if self.extranonce1 is None:
            self._invalid_share()
            raise StratumError(errors.NOT_SUBSCRIBED, "Not subscribed")
        credentials = self.workers.get(username)
        if credentials is None:
            self._invalid_share()
            raise StratumError(errors.UNAUTHORIZED, "Unauthorized worker %r" % username[:80])
        if len(en2) != 2 * self.extranonce2_size:
            self._invalid_share()
            raise StratumError(errors.OTHER, "Invalid extranonce2 size: expected %d hex digits"
                               % (2 * self.extranonce2_size))
        return self.service.check_share(self, credentials, job_id, bytes.fromhex(en2),
                                        int(ntime, 16), int(nonce, 16),
                                        None if version_bits is None else int(version_bits, 16))

    def _invalid_share(self):
        self.invalid_shares += 1
        self._judge()

    def share_rejected(self, error):
        """Bookkeeping for a rejected share (stale ones do not count against the miner)."""
        if error.code == errors.JOB_NOT_FOUND:
            self.stale_shares += 1
        else:
            self._invalid_share()

    def share_accepted(self, now):
        self.valid_shares += 1
        if self.vardiff.on_share(now) is not None:
            self._after_reply.append(self._announce_difficulty)
