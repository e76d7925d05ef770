"""eth-proxy ("stratum1"), the other ethash dialect (spec/ethash.md 3.2).

Plain JSON-RPC 2.0: eth_submitLogin, eth_getWork; the pool pushes new work
as a response with id 0.  Work is [header hash, seed hash, share target,
(block number)], all "0x" hex; the job is its header hash.  The miner picks
the whole 64-bit nonce and submits nonce, header hash and mix hash.
"""
import os

from twisted.internet import defer

from gxcpoold.hashers.targets import hash_difficulty
from gxcpoold.miner.dialects import hex_bytes, hex_number, param
from gxcpoold.miner.ethash_work import EthashWork
from gxcpoold.miner.rpc import StratumRPCError, error_text

JSONRPC = {"jsonrpc": "2.0"}


class EthProxy:
    def __init__(self, miner, hashing):
        self.miner = miner
        self.hashing = hashing
        self.difficulty = 1.0            # 2**256 / the last work's target, for the reports
        self.seed = self.height = None
        self.client_id = os.urandom(32).hex()   # eth_submitHashrate's second parameter
        self._hashrate_unanswered = None         # the connection of an unanswered one

    @defer.inlineCallbacks
    def login(self, protocol):
        ok = yield protocol.request("eth_submitLogin", self.miner.username, self.miner.password,
                                    **JSONRPC)
        if ok is not True:
            raise StratumRPCError({"code": 24, "message": "login refused (answer %r)" % (ok,)})
        try:
            work = yield protocol.request("eth_getWork", **JSONRPC)
        except StratumRPCError as e:
            self.miner.printer("no work yet (%s); waiting for the pool to push some"
                               % error_text(e.error))
            return
        self.miner.pushed(protocol, work)

    def notification(self, protocol, method, params):
        return False

    def pushed(self, protocol, result):
        if not isinstance(result, list):
            raise TypeError("work must be a list, got %r" % (result,))
        header = hex_bytes(param(result, 0, "header hash"), 32, "header hash")
        seed = hex_bytes(param(result, 1, "seed hash"), 32, "seed hash")
        target = hex_number(param(result, 2, "target"), "target")
        if target == 0:
            raise ValueError("target must not be zero")
        # a 4th element is the block number only if it is 0x hex (ethminer's rule)
        height = None
        if len(result) > 3 and isinstance(result[3], str) and result[3][:2] == "0x":
            height = hex_number(result[3], "block number", 16)
        # a new block or epoch: shares for older headers would only be stale
        clean = seed != self.seed or (height is not None and height != self.height)
        self.seed, self.height = seed, height
        difficulty = hash_difficulty(target)
        if difficulty != self.difficulty:
            self.difficulty = difficulty
            self.miner.difficulty_set(difficulty)
        work = EthashWork(job_id="0x" + header.hex(), seed=seed, header=header, target=target,
                          difficulty=difficulty, nonce_prefix=0, miner_bits=64,
                          hashing=self.hashing)
        self.miner.new_job(work, clean=clean)

    def submission(self, work, share):
        return ("eth_submitWork", ["0x%016x" % share.nonce, "0x" + work.header.hex(),
                                   "0x" + share.mix_hash.hex()], dict(JSONRPC))

    def reported(self, protocol, hashrate):
        # one at a time, and not while the pool is not reading: a pool that
        # never answers must not collect our requests
        if self._hashrate_unanswered is protocol or protocol.writes_paused:
            return
        self._hashrate_unanswered = protocol
        d = protocol.request("eth_submitHashrate", "0x%064x" % int(hashrate),
                             "0x" + self.client_id, **JSONRPC)
        d.addBoth(self._hashrate_answered)

    def _hashrate_answered(self, result):
        self._hashrate_unanswered = None     # whatever the answer: it is not used
