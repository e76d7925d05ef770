"""EthereumStratum/1.0.0, NiceHash's Ethash dialect (spec/ethash.md section 3.1).

The miner gets a 4-hex-digit extranonce (the low 16 bits of the
connection's extranonce1) and submits the other 12 hex digits of the 64-bit
nonce; the pool recomputes the mix.  Difficulty on the wire is NiceHash's
unit, d_nh = hashes / 2**32.

Leniency at the boundary: the spec's target for d_nh is
0x00000000ffff0000...0000 / d_nh, 65535/65536 of 2**256 // (d_nh * 2**32),
the target the session checks every share against.  The session's target
is therefore the larger one, so a share meeting either is accepted without
a second comparison here.

ethminer sends eth_submitHashrate on this dialect too; it is recorded.
A connection whose first request is any mining.* method speaks this
dialect (the second subscribe parameter is not required), and a miner that
authorizes before subscribing hears "not subscribed" rather than "unknown
method".  ethminer's plain "STRATUM" subscribes with no parameters at all:
it is told at once which schemes this port speaks.
"""
from twisted.logger import Logger

from gxcpoold.algorithms.ethash import (NICEHASH_MINER_DIGITS, nicehash_extranonce,
                                        nicehash_nonce, to_nicehash)
from gxcpoold.stratum import errors
from gxcpoold.stratum.dialects import Dialect
from gxcpoold.stratum.dialects.ethash_common import reported_hashrate
from gxcpoold.stratum.errors import MalformedRequest, StratumError
from gxcpoold.stratum.lineproto import encode
from gxcpoold.stratum.session import param_string

log = Logger()

PROTOCOL = "EthereumStratum/1.0.0"


class EthereumStratum(Dialect):
    __slots__ = ()
    NAME = "ethstratum"
    HANDLERS = {
        "mining.subscribe": "subscribe",
        "mining.extranonce.subscribe": "extranonce_subscribe",
        "mining.authorize": "authorize",
        "mining.submit": "submit",
        "eth_submitHashrate": "submit_hashrate",
    }

    @classmethod
    def claims(cls, method, params):
        # not eth_submitHashrate: a first request of eth-proxy's is eth-proxy
        return method.startswith("mining.") and method in cls.HANDLERS

    # ------------------------------------------------------------ replies

    def error_line(self, request_id, error):
        # the spec's refusal: "result": false beside the [code, message, null] error
        return encode({"id": request_id, "result": False, "error": error.as_json()})

    # ------------------------------------------------------------ handlers

    def subscribe(self, params):
        if not params:
            # ethminer's plain "STRATUM" (stratum+tcp://): another notify and
            # submit format, which this pool does not speak; say so at once
            raise StratumError(errors.OTHER, "Unsupported protocol: this port speaks "
                                             "EthereumStratum/1.0.0 (ethminer: stratum2+tcp://) "
                                             "and eth-proxy (stratum1+tcp://)")
        extranonce1 = self.session.subscribe(self.user_agent(params))
        return [["mining.notify", extranonce1.hex(), PROTOCOL],
                nicehash_extranonce(extranonce1)]

    def extranonce_subscribe(self, params):
        # the extranonce never changes during a connection: nothing will be sent
        return True

    def submit(self, params):
        if len(params) != 3:
            raise MalformedRequest("Invalid params: mining.submit takes [worker, job_id, nonce]")
        username = param_string(params, 0, "worker")
        job_id = param_string(params, 1, "job_id")
        nonce_hex = param_string(params, 2, "nonce")
        session = self.session
        credentials = session.credentials_for(username)
        try:
            nonce = nicehash_nonce(session.extranonce1, nonce_hex)
        except ValueError:
            session.refuse_share(StratumError(
                errors.OTHER, "Invalid nonce: send the %d hex digits that follow your "
                              "extranonce %s (got %d characters)"
                % (NICEHASH_MINER_DIGITS, nicehash_extranonce(session.extranonce1),
                   len(nonce_hex))))
        job = session.job_for(job_id)
        submission = session.algorithm.Submission(
            extranonce1=session.extranonce1, header_hash=job.header_hash(session.extranonce1),
            nonce=nonce)
        return session.check_share(credentials, job, submission)

    def submit_hashrate(self, params):
        self.session.reported_hashrate = reported_hashrate(params)
        return True

    def shown_difficulty(self, difficulty):
        return to_nicehash(difficulty)

    # ------------------------------------------------------------ pushes

    def send_difficulty(self, difficulty):
        self.session.send_notification("mining.set_difficulty", [to_nicehash(difficulty)])

    def send_job(self, job, clean_jobs, difficulty):
        header = job.header_hash(self.session.extranonce1)
        self.session.send_notification("mining.notify", [job.job_id, job.seedhash.hex(),
                                                         header.hex(), bool(clean_jobs)])

    def show_message(self, text):
        # the dialect has no message to the miner's screen
        log.info("ethash miner {ip}: {text}", ip=self.session.ip, text=text)


DIALECT = EthereumStratum
