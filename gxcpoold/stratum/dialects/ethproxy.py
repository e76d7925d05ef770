"""eth-proxy ("stratum1"): Claymore, PhoenixMiner, T-Rex, ethminer stratum1+tcp
(spec/ethash.md section 3.2).

JSON-RPC 2.0 shaped: answers carry "jsonrpc": "2.0" and errors are
{"code", "message"} objects.  Work is [header hash, seed hash, target,
height]; the target is 2**256 // difficulty, so a difficulty change is a
new push of the current work.  A submission names its job by header hash:
the connection remembers the header hashes of the jobs it was sent.

Logins: "ADDRESS.WORKER", or "ADDRESS" with the worker in a "worker"
member beside params (T-Rex).  Payouts go to GXC addresses, so an
Ethereum 0x address is refused with a clear message.
"""
import re
from collections import OrderedDict

from twisted.logger import Logger

from gxcpoold.algorithms.ethash import share_target
from gxcpoold.stratum import errors
from gxcpoold.stratum.dialects import Dialect
from gxcpoold.stratum.dialects.ethash_common import reported_hashrate
from gxcpoold.stratum.errors import MalformedRequest, StratumError, UnknownMethod
from gxcpoold.stratum.lineproto import encode
from gxcpoold.stratum.session import JOBS_REMEMBERED, param_string

log = Logger()

METHOD_NOT_FOUND = -3             # open-ethereum-pool's code, which eth-proxy miners know
WORK_NOT_READY = 0
_NONCE = re.compile(r"0x[0-9a-fA-F]{16}\Z")
_HASH = re.compile(r"0x[0-9a-fA-F]{64}\Z")
_ETHEREUM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}\Z")


def login_username(login, worker_member):
    """ADDRESS[.WORKER] from a login and the optional "worker" member: the
    login's own worker wins (PhoenixMiner sends "worker": "eth1.0" beside
    "ADDRESS.rig"); the member names the worker of a bare address (T-Rex)."""
    address, _, worker = login.partition(".")
    if not worker and worker_member:
        worker = worker_member
    return "%s.%s" % (address, worker) if worker else address


class EthProxy(Dialect):
    __slots__ = ("username", "work", "headers")
    NAME = "ethproxy"
    HANDLERS = {
        "eth_submitLogin": "submit_login",
        "eth_getWork": "get_work",
        "eth_submitWork": "submit_work",
        "eth_submitHashrate": "submit_hashrate",
    }

    def __init__(self, session):
        super().__init__(session)
        self.username = None          # the last successful login: submissions count for it
        self.work = None              # the last work sent (eth_getWork answers it)
        self.headers = OrderedDict()  # header hash -> job id, of the recent jobs sent

    # ------------------------------------------------------------ replies

    def result_line(self, request_id, result):
        return encode({"id": request_id, "jsonrpc": "2.0", "result": result})

    def error_line(self, request_id, error):
        code = METHOD_NOT_FOUND if isinstance(error, UnknownMethod) else error.code
        return encode({"id": request_id, "jsonrpc": "2.0", "result": None,
                       "error": {"code": code, "message": error.message}})

    # ------------------------------------------------------------ handlers

    def submit_login(self, params):
        login = param_string(params, 0, "login")
        worker_member = self.session.request.get("worker")
        if worker_member is not None and not isinstance(worker_member, str):
            raise MalformedRequest("Invalid request: 'worker' must be a string")
        address = login.partition(".")[0]
        if _ETHEREUM_ADDRESS.match(address):
            self.session.malformed("Ethereum address as login")
            raise StratumError(errors.UNAUTHORIZED,
                               "Invalid login: %s is an Ethereum address; this pool pays GXC "
                               "addresses: log in with GXC_ADDRESS.WORKER" % address)
        username = login_username(login, worker_member)
        session = self.session
        session.subscribe()
        try:
            session.authorize(username, params[1] if len(params) > 1 else None)
        except StratumError as e:
            raise StratumError(e.code, "Invalid login: %s" % e.message) from None
        self.username = username
        return True

    def get_work(self, params):
        if self.username is None:
            raise StratumError(errors.NOT_SUBSCRIBED, "Not logged in: send eth_submitLogin first")
        if self.work is None:
            raise StratumError(WORK_NOT_READY, "Work not ready")
        return self.work

    def submit_work(self, params):
        if len(params) != 3:
            raise MalformedRequest("Invalid params: eth_submitWork takes [nonce, header hash, "
                                   "mix hash]")
        nonce = param_string(params, 0, "nonce", _NONCE, "0x and 16 hex digits")
        header_hex = param_string(params, 1, "header hash", _HASH, "0x and 64 hex digits")
        mix_hex = param_string(params, 2, "mix hash", _HASH, "0x and 64 hex digits")
        session = self.session
        if self.username is None:
            session.refuse_share(StratumError(errors.NOT_SUBSCRIBED,
                                              "Not logged in: send eth_submitLogin first"))
        credentials = session.credentials_for(self.username)
        header = bytes.fromhex(header_hex[2:])
        job_id = self.headers.get(header)
        if job_id is None:
            session.refuse_share(StratumError(errors.JOB_NOT_FOUND,
                                              "Stale share: not the header hash of a recent job"))
        job = session.job_for(job_id)
        submission = session.algorithm.Submission(
            extranonce1=session.extranonce1, header_hash=header, nonce=int(nonce[2:], 16),
            mix_hash=bytes.fromhex(mix_hex[2:]))
        return session.check_share(credentials, job, submission)

    def submit_hashrate(self, params):
        self.session.reported_hashrate = reported_hashrate(params)
        return True

    # ------------------------------------------------------------ pushes

    def send_difficulty(self, difficulty):
        # the target travels in the work, which the core sends next
        pass

    def send_job(self, job, clean_jobs, difficulty):
        header = job.header_hash(self.session.extranonce1)
        self.headers[header] = job.job_id
        self.headers.move_to_end(header)
        while len(self.headers) > JOBS_REMEMBERED:
            self.headers.popitem(last=False)
        self.work = ["0x" + header.hex(), "0x" + job.seedhash.hex(),
                     "0x%064x" % share_target(difficulty), "0x%x" % job.height]
        self.session.send_raw(encode({"id": 0, "jsonrpc": "2.0", "result": self.work}))

    def show_message(self, text):
        # eth-proxy has no message to the miner's screen
        log.info("ethash miner {ip}: {text}", ip=self.session.ip, text=text)


DIALECT = EthProxy
