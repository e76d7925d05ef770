"""Stratum V1 (spec/stratum-v1.md) for sha256d, and what the V1-shaped
dialects (EthereumStratum/1.0.0, gxhash) share with it: subscribe, then
authorize; set_difficulty, applied from the next job; notify; set_extranonce;
submit answered with true or an error."""
from twisted.internet import defer

from gxcpoold.miner.dialects import param, positive_number
from gxcpoold.miner.rpc import StratumRPCError
from gxcpoold.miner.work import Work

AGENT = "gxcpool-miner/1.0"
MAX_EXTRANONCE2_SIZE = 16


class V1Shaped:
    """The common part.  A subclass says how many params notify has before
    its clean_jobs flag (NOTIFY_LENGTH) and defines read_subscription(result)
    (subscribe's answer), read_extranonce(params) (set_extranonce),
    work_from(params) (notify -> work) and submission(work, share)."""

    def __init__(self, miner):
        self.miner = miner
        self.difficulty = 1.0            # from set_difficulty, used from the next job
        self.subscribed = False          # jobs are usable once subscribe answered

    def subscribe_params(self):
        return [AGENT]

    def after_subscribe(self, protocol):
        """Anything to send between subscribe and authorize."""

    @defer.inlineCallbacks
    def login(self, protocol):
        result = yield protocol.request("mining.subscribe", *self.subscribe_params())
        self.read_subscription(result)
        self.subscribed = True
        self.after_subscribe(protocol)
        ok = yield protocol.request("mining.authorize", self.miner.username, self.miner.password)
        if ok is not True:
            raise StratumRPCError([24, "authorization refused", None])

    def notification(self, protocol, method, params):
        if method == "mining.set_difficulty":
            self.difficulty = positive_number(param(params, 0, "difficulty"))
            self.miner.difficulty_set(self.difficulty)
        elif method == "mining.notify":
            self.miner.notifies.append(params)
            if len(params) < self.NOTIFY_LENGTH:
                raise ValueError("%d params, not %d and clean_jobs"
                                 % (len(params), self.NOTIFY_LENGTH))
            if self.subscribed:
                work = self.work_from(params)
                index = self.NOTIFY_LENGTH
                self.miner.new_job(work, clean=len(params) > index and params[index] is True)
        elif method == "mining.set_extranonce":
            self.read_extranonce(params)
        else:
            return False
        return True

    def pushed(self, protocol, result):
        pass

    def reported(self, protocol, hashrate):
        pass


class StratumV1(V1Shaped):
    """sha256d: notify [job, prevhash, coinb1, coinb2, branch, version, nbits,
    ntime, clean]; submit [worker, job, extranonce2, ntime, nonce]."""
    NOTIFY_LENGTH = 8

    def __init__(self, miner):
        super().__init__(miner)
        self.extranonce1 = None
        self.extranonce2_size = 4

    def read_subscription(self, result):
        self.extranonce1, self.extranonce2_size = self._extranonce(result[1], result[2])

    def read_extranonce(self, params):
        self.extranonce1, self.extranonce2_size = self._extranonce(
            param(params, 0, "extranonce1"), param(params, 1, "extranonce2 size"))

    @staticmethod
    def _extranonce(extranonce1, size):
        size = int(size)
        if not 1 <= size <= MAX_EXTRANONCE2_SIZE:
            raise ValueError("extranonce2 size must be 1 to %d bytes, got %d"
                             % (MAX_EXTRANONCE2_SIZE, size))
        return bytes.fromhex(extranonce1), size

    def work_from(self, params):
        return Work.from_notify(params, self.extranonce1, self.extranonce2_size,
                                self.difficulty)

    def submission(self, work, share):
        extranonce2, nonce, _ = share
        return ("mining.submit", [self.miner.username, work.job_id, extranonce2.hex(),
                                  "%08x" % work.ntime, "%08x" % nonce], {})
