"""The gxhash dialect (docs/protocol-gxhash.md): Stratum V1's shape for GXC's gxhash.

No existing miner speaks a protocol for gxhash, so this one stays close to
Stratum V1: the same subscribe/authorize/set_difficulty/notify/submit
cycle, but the job is GXC's own header fields (height, prevhash, timestamp,
merkle root) and the miner rolls only a 16-bit nonce, which the pool joins
with the connection's 15-bit extranonce1 into the GXC nonce (< 2**31).
Difficulties are in expected hashes per share (the algorithm's own unit).
"""
from gxcpoold.stratum.dialects.v1 import V1Shaped
from gxcpoold.stratum.errors import MalformedRequest
from gxcpoold.stratum.session import param_string

SUBMIT_PARAMS = "[worker, job_id, nonce (4 hex digits)]"


class GxhashDialect(V1Shaped):
    __slots__ = ()
    NAME = "gxhash"
    HANDLERS = {
        "mining.subscribe": "subscribe",
        "mining.authorize": "authorize",
        "mining.submit": "submit",
        "mining.suggest_difficulty": "suggest_difficulty",
        "mining.extranonce.subscribe": "extranonce_subscribe",
        "mining.ping": "ping",
    }

    # ------------------------------------------------------------ handlers

    def subscribe(self, params):
        en1 = self.session.subscribe(self.user_agent(params)).hex()
        # the extranonce1 is unique per connection: it doubles as the session id
        nonce_bytes = self.session.algorithm.MINER_NONCE_BITS // 8
        return [[["mining.notify", en1]], en1, nonce_bytes]

    def submit(self, params):
        if len(params) != 3:
            raise MalformedRequest("Invalid params: mining.submit takes " + SUBMIT_PARAMS)
        username = param_string(params, 0, "worker")
        job_id = param_string(params, 1, "job_id")
        text = param_string(params, 2, "nonce")
        session = self.session
        algorithm = session.algorithm
        try:
            miner_nonce = algorithm.parse_miner_nonce(text)
        except ValueError:
            raise MalformedRequest("Invalid params: nonce must be 4 hex digits (0000 to ffff), "
                                   "got %r" % text[:16]) from None
        credentials = session.credentials_for(username)
        job = session.job_for(job_id)
        en1 = session.extranonce1
        submission = algorithm.Submission(extranonce1=en1, miner_nonce=miner_nonce,
                                          nonce=algorithm.gxc_nonce(en1, miner_nonce))
        return session.check_share(credentials, job, submission)


DIALECT = GxhashDialect
