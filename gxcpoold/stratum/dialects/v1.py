"""Stratum V1 (spec/stratum-v1.md sections 2-4), as Bitcoin SHA-256 miners speak it.

With BIP 310 `mining.configure` (version rolling, minimum difficulty,
subscribe-extranonce), `suggest_difficulty` / `suggest_target` and
`extranonce.subscribe`.  Difficulties are Bitcoin's (1 = 2**32 hashes).
"""
import re

from gxcpoold.hashers.targets import sha256d_difficulty
from gxcpoold.stratum.dialects import Dialect
from gxcpoold.stratum import errors
from gxcpoold.stratum.errors import MalformedRequest, StratumError
from gxcpoold.stratum.lineproto import encode
from gxcpoold.stratum.session import difficulty_json, param_number, param_string, peer_number

_HEX8 = re.compile(r"[0-9a-fA-F]{8}\Z")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*\Z")
_TARGET = re.compile(r"[0-9a-fA-F]{1,64}\Z")


def notify_line(job, clean_jobs):
    """The encoded mining.notify for a job, built once and shared by all connections."""
    cache = job.__dict__.setdefault("_notify_lines", {})
    line = cache.get(clean_jobs)
    if line is None:
        line = cache[clean_jobs] = encode({"id": None, "method": "mining.notify",
                                           "params": job.notify_params(clean_jobs)})
    return line


class V1Shaped(Dialect):
    """What Stratum V1 and the dialects shaped like it (gxhash) share: the
    optional requests and the pushes."""
    __slots__ = ("extranonce_subscribed",)

    def suggest_difficulty(self, params):
        self.session.suggest_difficulty(param_number(params, 0, "difficulty"))
        return True

    def extranonce_subscribe(self, params):
        # a connection's extranonce1 never changes: nothing will follow
        self.extranonce_subscribed = True
        return True

    def ping(self, params):
        return "pong"

    def send_difficulty(self, difficulty):
        self.session.send_notification("mining.set_difficulty", [difficulty_json(difficulty)])

    def send_job(self, job, clean_jobs, difficulty):
        self.session.send_raw(notify_line(job, clean_jobs))

    def show_message(self, text):
        self.session.send_notification("client.show_message", [text])

    def reconnect(self):
        self.session.send_notification("client.reconnect", [])


class StratumV1(V1Shaped):
    __slots__ = ("extranonce2_size", "version_mask")
    NAME = "stratum-v1"
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

    def __init__(self, session):
        super().__init__(session)
        self.extranonce2_size = session.service.settings.extranonce2_size
        self.version_mask = 0             # BIP 310 mask once negotiated
        self.extranonce_subscribed = False

    # ------------------------------------------------------------ handlers

    def subscribe(self, params):
        en1 = self.session.subscribe(self.user_agent(params)).hex()
        return [[["mining.set_difficulty", en1], ["mining.notify", en1]], en1,
                self.extranonce2_size]

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
                self.version_mask = int(requested, 16) & self.session.algorithm.VERSION_ROLLING_MASK
                result[extension] = True
                result["version-rolling.mask"] = "%08x" % self.version_mask
            elif extension == "minimum-difficulty":
                value = peer_number(options.get("minimum-difficulty.value"))
                if value is None or value < 0:
                    # BIP 310 answers per extension; a broken value still counts as malformed
                    self.session.malformed("bad minimum-difficulty.value")
                    result[extension] = "minimum-difficulty.value must be a number"
                    continue
                if value > 0:
                    self.session.set_minimum_difficulty(value)
                result[extension] = True
            elif extension == "subscribe-extranonce":
                self.extranonce_subscribed = True
                result[extension] = True
            else:
                result[extension] = False        # unknown: say no, keep the miner
        return result

    def suggest_target(self, params):
        if not params:
            raise MalformedRequest("Invalid params: expected [target hex]")
        target = param_string(params, 0, "target", _TARGET, "up to 64 hex digits")
        if int(target, 16) == 0:
            raise MalformedRequest("Invalid params: target must not be zero")
        self.session.suggest_difficulty(sha256d_difficulty(int(target, 16)))
        return True

    def get_transactions(self, params):
        return []                         # the GXC block's transactions are not Bitcoin's

    def multi_version(self, params):
        return False

    def submit(self, params):
        if len(params) not in (5, 6):
            raise MalformedRequest("Invalid params: mining.submit takes [worker, job_id, "
                                   "extranonce2, ntime, nonce(, version_bits)]")
        username = param_string(params, 0, "worker")
        job_id = param_string(params, 1, "job_id")
        en2 = param_string(params, 2, "extranonce2", _HEX, "hex")
        ntime = int(param_string(params, 3, "ntime", _HEX8, "8 hex digits"), 16)
        nonce = int(param_string(params, 4, "nonce", _HEX8, "8 hex digits"), 16)
        version_bits = int(param_string(params, 5, "version_bits", _HEX8, "8 hex digits"), 16) \
            if len(params) == 6 else 0
        session = self.session
        credentials = session.credentials_for(username)
        if len(en2) != 2 * self.extranonce2_size:
            session.refuse_share(StratumError(errors.OTHER, "Invalid extranonce2 size: expected %d hex "
                                                "digits" % (2 * self.extranonce2_size)))
        job = session.job_for(job_id)
        algorithm = session.algorithm
        if not job.ntime <= ntime <= job.ntime + algorithm.NTIME_FUTURE_WINDOW:
            session.refuse_share(StratumError(errors.OTHER, "Ntime out of range"))
        version = algorithm.rolled_version(job.version, version_bits, self.version_mask)
        if version is None:
            session.refuse_share(StratumError(errors.OTHER, "Invalid version bits: outside the negotiated "
                                                "mask %08x" % self.version_mask))
        submission = algorithm.Submission(extranonce1=session.extranonce1,
                                          extranonce2=bytes.fromhex(en2), ntime=ntime,
                                          nonce=nonce, version=version)
        return session.check_share(credentials, job, submission)


DIALECT = StratumV1
