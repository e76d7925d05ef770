"""EthereumStratum/1.0.0, NiceHash's ethash dialect (spec/ethash.md 3.1).

The pool gives an extranonce (a few hex digits) that is the top of every
64-bit nonce; the miner picks the remaining digits and submits only those.
Difficulty is in NiceHash's unit: share target = 0x00000000ffff0000...0000 / d,
the Bitcoin difficulty-1 target, hence sha256d_target (exact integers).
"""
from gxcpoold.hashers.targets import sha256d_target
from gxcpoold.miner.dialects import hex_bytes, hex_number, job_id_from, param
from gxcpoold.miner.dialects.stratum_v1 import AGENT, V1Shaped
from gxcpoold.miner.ethash_work import EthashWork

PROTOCOL = "EthereumStratum/1.0.0"
# the spec allows "at most 2" or "at most 3" bytes; more leaves too few for the miner
MAX_EXTRANONCE_DIGITS = 8


def nicehash_target(difficulty):
    return sha256d_target(difficulty)


class NiceHash(V1Shaped):
    NOTIFY_LENGTH = 3

    def __init__(self, miner, hashing):
        super().__init__(miner)
        self.hashing = hashing
        self.extranonce = ""

    def subscribe_params(self):
        return [AGENT, PROTOCOL]

    def read_subscription(self, result):
        self.extranonce = self._extranonce(result[1])

    def after_subscribe(self, protocol):
        # so the pool may send set_extranonce; a pool without it answers with
        # an error, and nothing changes
        protocol.request_ignoring_answer("mining.extranonce.subscribe")

    def read_extranonce(self, params):
        self.extranonce = self._extranonce(param(params, 0, "extranonce"))

    @staticmethod
    def _extranonce(text):
        if text == "":
            return ""
        hex_number(text, "extranonce", MAX_EXTRANONCE_DIGITS)
        if text[:2] in ("0x", "0X"):
            raise ValueError("extranonce must be plain hex digits, got %r" % text)
        return text.lower()

    def work_from(self, params):
        """notify [job id, seed hash, header hash, clean_jobs]."""
        miner_bits = 64 - 4 * len(self.extranonce)
        return EthashWork(job_id=job_id_from(params[0]),
                          seed=hex_bytes(params[1], 32, "seed hash"),
                          header=hex_bytes(params[2], 32, "header hash"),
                          target=nicehash_target(self.difficulty), difficulty=self.difficulty,
                          nonce_prefix=int(self.extranonce or "0", 16) << miner_bits,
                          miner_bits=miner_bits, hashing=self.hashing)

    def submission(self, work, share):
        digits = work.miner_bits // 4
        return ("mining.submit", [self.miner.username, work.job_id,
                                  "%0*x" % (digits, work.miner_part(share.nonce))], {})
