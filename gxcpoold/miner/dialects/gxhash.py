"""The gxhash dialect (docs/protocol-gxhash.md): Stratum V1 in shape.

subscribe answers [subscriptions, extranonce1 (hex, 15 bits), n size (2)];
set_difficulty is in expected hashes (target = floor(2**256 / d)); notify is
[job, height, prevhash, timestamp, merkleroot, clean_jobs]; the miner's n
goes into the GXC nonce N = extranonce1 << 16 | n, which must stay below
2**31 (the GXC node keeps a signed 32-bit nonce); submit [worker, job, n].
"""
from gxcpoold.hashers.targets import hash_target
from gxcpoold.miner.dialects import HEX_DIGITS, hex_number, job_id_from, param
from gxcpoold.miner.dialects.stratum_v1 import V1Shaped
from gxcpoold.miner.gxhash_work import GxhashWork

NONCE_LIMIT = 2**31


def _count(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("%s must be a non-negative integer, got %r" % (what, value))
    return value


def _hex_text(value, what, lengths):
    if not isinstance(value, str) or len(value) not in lengths or not HEX_DIGITS.issuperset(value):
        raise ValueError("%s must be hex text, got %r" % (what, str(value)[:80]))
    return value


class Gxhash(V1Shaped):
    NOTIFY_LENGTH = 5

    def __init__(self, miner):
        super().__init__(miner)
        self.extranonce1 = None
        self.n_bits = 16

    def read_subscription(self, result):
        self.extranonce1, self.n_bits = self._extranonce(result[1], result[2])

    def read_extranonce(self, params):
        self.extranonce1, self.n_bits = self._extranonce(param(params, 0, "extranonce1"),
                                                         param(params, 1, "nonce size"))

    @staticmethod
    def _extranonce(text, size):
        value = hex_number(text, "extranonce1", 8)
        size = _count(size, "nonce size")
        if not 1 <= size <= 3 or (value + 1) << (8 * size) > NONCE_LIMIT:
            raise ValueError("extranonce1 %s with %r nonce bytes gives GXC nonces of 2**31 "
                             "or more" % (text, size))
        return value, 8 * size

    def work_from(self, params):
        return GxhashWork(job_id=job_id_from(params[0]), height=_count(params[1], "height"),
                          prevhash=_hex_text(params[2], "prevhash", (64,)),
                          timestamp=_count(params[3], "timestamp"),
                          merkleroot=_hex_text(params[4], "merkleroot", range(1, 129)),
                          extranonce1=self.extranonce1, n_bits=self.n_bits,
                          difficulty=self.difficulty, target=hash_target(self.difficulty))

    def submission(self, work, share):
        return ("mining.submit", [self.miner.username, work.job_id,
                                  "%0*x" % (work.n_bits // 4, share.n)], {})
