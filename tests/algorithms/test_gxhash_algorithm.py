"""The gxhash algorithm module: jobs, nonce combination, share and block tests,
verification through the real HashPool threads on a real reactor."""
import json
import re
from fractions import Fraction
from pathlib import Path

from twisted.internet import defer, reactor
from twisted.trial import unittest

from gxcpoold._native import lib
from gxcpoold.algorithms import gxhash as algo
from gxcpoold.algorithms.context import AlgorithmContext
from gxcpoold.config import StratumSettings, load_config
from gxcpoold.hashers.gxhash import gxhash, set_matrix_pool_limit
from gxcpoold.hashers.legacy import gxc_merkle_root
from gxcpoold.node.template import BlockTemplate
from gxcpoold.stratum.errors import Busy, StratumError

VECTORS_DIR = Path(__file__).resolve().parent.parent / "vectors"
GXHASH_VECTORS = {v["name"]: v for v in
                  json.loads((VECTORS_DIR / "gxhash.json").read_text())["gxhash"]}
MERKLE_VECTORS = {v["name"]: v for v in
                  json.loads((VECTORS_DIR / "gxc-legacy-hashes.json").read_text())["merkle"]}
TXID_A, TXID_B, TXID_C = MERKLE_VECTORS["[a,b,c]"]["txids"]
POOL = "tGXCc036ae3af11be2ef553cb7806fae14c0b8"

# The A3-S* vectors are GXC block headers: height, prevhash, timestamp,
# merkle root and nonce, concatenated as text (checked against data_text below).
HEADERS = {
    "A3-S1": (0, "0" * 64, 1640995200, "", 0),
    "A3-S2": (1, "0" * 64, 1700000000, "", 12345),
    "A3-S3": (5, "00ab34cd" + "0" * 55 + "1", 1735689600,
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 2**32),
    "A3-S4": (42, "0f1e2d3c4b5a69788796a5b4c3d2e1f0" * 2, 1767225600,
              "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456", 2**64 - 1),
}


def template(*, height=7, prev="ab" * 32, curtime=1795519634, difficulty=1.0,
             coinbase_txid=TXID_A, txids=(TXID_B, TXID_C)):
    """A BlockTemplate the way the node's getblocktemplate gives it."""
    txs = [{"txid": coinbase_txid, "is_coinbase": True, "block_height": height,
            "outputs": [{"address": POOL, "amount": 50.0}]}]
    txs += [{"txid": t, "from": "tGXCsender", "amount": 1.0} for t in txids]
    return BlockTemplate.from_rpc({"height": height, "previousblockhash": prev,
                                   "difficulty": difficulty, "transactions": txs,
                                   "coinbasevalue": 5_000_000_000, "curtime": curtime})


def vector_job(name):
    """A job whose header text for the vector's nonce is the vector's data."""
    height, prev, timestamp, merkle, _ = HEADERS[name]
    if merkle:
        # One transaction: GXC's merkle root is that txid unchanged.
        return algo.build_job(template(height=height, prev=prev, curtime=timestamp,
                                       coinbase_txid=merkle, txids=()),
                              "j" + name, pool_address=POOL, extranonce2_size=4)
    # An empty merkle root (no transactions at all) only a hand-built job has.
    return algo.GxhashJob(job_id="j" + name, height=height, previousblockhash=prev,
                          ntime=timestamp, merkleroot="", required_zeros=1)


def vector_submission(name):
    nonce = HEADERS[name][4]
    if nonce < 2**31:
        return algo.submission((nonce >> 16).to_bytes(2, "big"), nonce & 0xFFFF)
    # The pool never makes such a nonce (it would not fit the node), but
    # verify hashes whatever N a submission carries.
    return algo.Submission(extranonce1=b"\x00\x00", miner_nonce=nonce & 0xFFFF, nonce=nonce)


class Runtime:
    """make() on a real reactor, its services started; stop() in cleanup."""

    def __init__(self, case, **settings):
        self.algorithm = algo.make(AlgorithmContext(
            settings=StratumSettings(**settings), state_dir=case.mktemp(), reactor=reactor,
            cores=2))
        for service in self.algorithm.services():
            service.startService()
            case.addCleanup(service.stopService)


class VectorTests(unittest.TestCase):

    def test_vector_headers_are_the_job_header_texts(self):
        for name, (_, _, _, _, nonce) in HEADERS.items():
            job = vector_job(name)
            self.assertEqual(job.header_text(nonce),
                             bytes.fromhex(GXHASH_VECTORS[name]["data_hex"]), name)
            self.assertEqual(str(nonce), GXHASH_VECTORS[name]["nonce"])

    @defer.inlineCallbacks
    def test_verify_gives_the_vector_hashes(self):
        algorithm = Runtime(self, verify_threads=2).algorithm
        names = sorted(HEADERS)
        results = yield defer.gatherResults(
            [algorithm.verify(vector_job(n), vector_submission(n), 1.0) for n in names],
            consumeErrors=True)
        for name, result in zip(names, results):
            expected = GXHASH_VECTORS[name]["gxhash"]
            self.assertEqual(result.hash_hex, expected, name)
            self.assertEqual(result.hash_int, int(expected, 16))
            self.assertTrue(result.share_ok)      # difficulty 1: every hash is a share
            self.assertEqual(result.work, 1)
            # required_zeros 1: a block only with a leading '0'.
            self.assertEqual(result.block_ok, expected.startswith("0"), name)
        self.assertEqual(algorithm.pool.pending, 0)

    @defer.inlineCallbacks
    def test_share_boundary_on_a_real_hash(self):
        """share iff hash <= floor(2**256 / d): d = 2**256 / hash is exactly met."""
        algorithm = Runtime(self, verify_threads=1).algorithm
        h = int(GXHASH_VECTORS["A3-S2"]["gxhash"], 16)
        exact = Fraction(2**256, h)
        just_above = Fraction(2**256, h - 1)
        result = yield algorithm.verify(vector_job("A3-S2"), vector_submission("A3-S2"), exact)
        self.assertTrue(result.share_ok)
        self.assertEqual(result.work, round(exact))
        self.assertTrue(result.meets(exact))
        self.assertFalse(result.meets(just_above))
        refused = yield algorithm.verify(vector_job("A3-S2"), vector_submission("A3-S2"),
                                         just_above)
        self.assertFalse(refused.share_ok)
        self.assertEqual(refused.work, 0)
        self.assertEqual(refused.hash_hex, result.hash_hex)


class ProtocolDocumentTests(unittest.TestCase):
    """docs/protocol-gxhash.md's worked example is what the pool computes."""

    @defer.inlineCallbacks
    def test_worked_example(self):
        text = (Path(__file__).resolve().parents[2] / "docs" / "protocol-gxhash.md").read_text()
        notify = json.loads(re.search(r'<- (\{"id": null, "method": "mining.notify".*\})',
                                      text).group(1))["params"]
        submit = json.loads(re.search(r'-> (\{"id": 4, "method": "mining.submit".*\})',
                                      text).group(1))["params"]
        en1 = re.search(r'"result": \[\[\["mining.notify", "\w+"\]\], "(\w{4})", 2\]',
                        text).group(1)
        header = re.search(r"^header   = (\S+)$", text, re.M).group(1)
        hash_hex = re.search(r"^hash_hex = ([0-9a-f]{64})$", text, re.M).group(1)
        job_id, height, prev, timestamp, merkle, clean = notify
        self.assertEqual(merkle, gxc_merkle_root([TXID_A, TXID_B, TXID_C]))
        job = algo.GxhashJob(job_id=job_id, height=height, previousblockhash=prev,
                             ntime=timestamp, merkleroot=merkle, required_zeros=1,
                             clean_jobs=clean)
        self.assertEqual(job.notify_params(), notify)
        self.assertEqual(submit[1], job_id)
        sub = algo.submission(bytes.fromhex(en1), algo.parse_miner_nonce(submit[2]))
        self.assertEqual(job.header_text(sub.nonce), header.encode("ascii"))
        algorithm = Runtime(self, verify_threads=1).algorithm
        result = yield algorithm.verify(job, sub, 64.0)
        self.assertEqual(result.hash_hex, hash_hex)
        self.assertTrue(result.share_ok)


class JobTests(unittest.TestCase):

    def test_merkle_root_covers_the_coinbase_then_the_job_transactions(self):
        t = template()
        job = algo.build_job(t, "1", pool_address=POOL, extranonce2_size=4)
        self.assertEqual(job.merkleroot, MERKLE_VECTORS["[a,b,c]"]["gxc_merkle_root"])
        self.assertEqual(job.merkleroot, gxc_merkle_root(t.txids))
        self.assertEqual(job.transactions, t.transactions)
        # A job carrying fewer transactions commits to exactly those.
        only_b = algo.build_job(t, "2", pool_address=POOL, extranonce2_size=4,
                                transactions=t.transactions[:1])
        self.assertEqual(only_b.merkleroot, MERKLE_VECTORS["[a,b]"]["gxc_merkle_root"])
        coinbase_only = algo.build_job(t, "3", pool_address=POOL, extranonce2_size=4,
                                       transactions=())
        self.assertEqual(coinbase_only.merkleroot, TXID_A)

    def test_job_fields_and_header_text(self):
        t = template(height=1234, prev="00" + "1f" * 31, curtime=1795519634, difficulty=2.7)
        job = algo.build_job(t, "a7", pool_address=POOL, extranonce2_size=8, clean_jobs=True,
                             created=1000.5)
        self.assertEqual((job.job_id, job.height, job.previousblockhash, job.ntime),
                         ("a7", 1234, "00" + "1f" * 31, 1795519634))
        self.assertEqual((job.clean_jobs, job.created, job.template), (True, 1000.5, t))
        self.assertEqual(job.required_zeros, 2)
        self.assertEqual(job.network_difficulty, 256.0)
        self.assertEqual(job.seen_hashes, set())
        merkle = MERKLE_VECTORS["[a,b,c]"]["gxc_merkle_root"]
        self.assertEqual(job.header_text(0x12345678),
                         b"1234" + b"00" + b"1f" * 31 + b"1795519634" + merkle.encode()
                         + b"305419896")
        self.assertEqual(job.notify_params(),
                         ["a7", 1234, "00" + "1f" * 31, 1795519634, merkle, True])
        self.assertEqual(job.notify_params(False)[-1], False)
        later = algo.build_job(t, "a8", pool_address=POOL, extranonce2_size=4, ntime=1795519700)
        self.assertEqual(later.ntime, 1795519700)
        self.assertIn(b"1795519700", later.header_text(0))
        for bad in (-1, "1", 1.0, True):
            self.assertRaises(ValueError, job.header_text, bad)

    def test_the_previous_hash_is_hashed_verbatim(self):
        upper = algo.build_job(template(prev="AB" * 32), "1", pool_address=POOL,
                               extranonce2_size=4)
        self.assertEqual(upper.notify_params()[2], "AB" * 32)
        self.assertIn(b"AB" * 32, upper.header_text(0))

    def test_network_difficulty_is_the_block_test(self):
        for difficulty, zeros in ((0.5, 0), (1.0, 1), (1.75, 1), (6.0, 6)):
            job = algo.build_job(template(difficulty=difficulty), "1", pool_address=POOL,
                                 extranonce2_size=4)
            self.assertEqual(job.network_difficulty, float(16 ** zeros))


class NonceTests(unittest.TestCase):

    def test_combination(self):
        self.assertEqual(algo.gxc_nonce(b"\x00\x00", 0), 0)
        self.assertEqual(algo.gxc_nonce(b"\x00\x01", 0), 0x10000)
        self.assertEqual(algo.gxc_nonce(b"\x12\x34", 0xABCD), 0x1234ABCD)
        self.assertEqual(algo.gxc_nonce(b"\x7f\xff", 0xFFFF), 2**31 - 1)

    def test_every_extranonce1_stays_below_2_31_and_nonces_never_collide(self):
        # Each connection owns the 65536 nonces en1 * 65536 .. en1 * 65536 + 65535
        # (compared as booleans: a diff of 32768-element lists would take minutes).
        ranges = [(algo.gxc_nonce(en1.to_bytes(2, "big"), 0),
                   algo.gxc_nonce(en1.to_bytes(2, "big"), 0xFFFF)) for en1 in range(2**15)]
        self.assertTrue(all(low == en1 * 65536 and high == low + 0xFFFF
                            for en1, (low, high) in enumerate(ranges)))
        self.assertEqual(ranges[-1][1], 2**31 - 1)

    def test_out_of_range_parts_are_refused(self):
        for en1, n in ((b"\x80\x00", 0), (b"\xff\xff", 0xFFFF), (b"\x00\x00", 0x10000),
                       (b"\x00\x00", -1), (b"\x00", 0), (b"\x00\x00\x00", 0), ("0000", 0),
                       (b"\x00\x00", True), (b"\x00\x00", 1.0)):
            self.assertRaises(ValueError, algo.gxc_nonce, en1, n)

    def test_submission_and_dedup_key(self):
        s = algo.submission(b"\x00\x05", 0x0102)
        self.assertEqual(s, algo.Submission(extranonce1=b"\x00\x05", miner_nonce=0x0102,
                                            nonce=0x50102))
        self.assertEqual(algo.dedup_key(s), 0x50102)
        self.assertEqual(algo.dedup_key(algo.submission(b"\x00\x05", 0x0102)), algo.dedup_key(s))
        # The same miner nonce from another connection is other work.
        self.assertNotEqual(algo.dedup_key(algo.submission(b"\x00\x06", 0x0102)),
                            algo.dedup_key(s))
        self.assertRaises(ValueError, algo.submission, b"\x80\x00", 0)

    def test_parse_miner_nonce(self):
        self.assertEqual(algo.parse_miner_nonce("0000"), 0)
        self.assertEqual(algo.parse_miner_nonce("ffff"), 0xFFFF)
        self.assertEqual(algo.parse_miner_nonce("0A1b"), 0x0A1B)
        for bad in ("", "fff", "10000", "0x12", "zzzz", " 123", "-001", 12, None):
            self.assertRaises(ValueError, algo.parse_miner_nonce, bad)


def digest_with(value):
    return value.to_bytes(32, "big")


class ResultTests(unittest.TestCase):
    """Share and block tests at their boundaries, on chosen digests."""

    def job(self, zeros):
        return algo.GxhashJob(job_id="1", height=1, previousblockhash="0" * 64, ntime=0,
                              merkleroot="", required_zeros=zeros)

    def test_share_target_is_inclusive(self):
        for difficulty in (2, 64.0, 1000.5, 3e9):
            target = 2**256 * Fraction(difficulty).denominator // Fraction(difficulty).numerator
            met = algo.result_for(self.job(1), digest_with(target), difficulty)
            self.assertTrue(met.share_ok, difficulty)
            self.assertEqual(met.work, round(difficulty))
            missed = algo.result_for(self.job(1), digest_with(target + 1), difficulty)
            self.assertFalse(missed.share_ok, difficulty)
            self.assertEqual(missed.work, 0)
            self.assertTrue(missed.meets(difficulty / 2))

    def test_difficulty_one_accepts_every_hash(self):
        result = algo.result_for(self.job(0), b"\xff" * 32, 1.0)
        self.assertTrue(result.share_ok)
        self.assertTrue(result.block_ok)
        self.assertEqual(result.hash_hex, "ff" * 32)
        self.assertEqual(result.hash_int, 2**256 - 1)

    def test_block_needs_floor_d_leading_zero_digits(self):
        for zeros in (1, 2, 6, 9):
            exactly = digest_with(16 ** (64 - zeros) - 1)        # 'f' right after the zeros
            one_short = digest_with(16 ** (64 - zeros + 1) - 1)
            self.assertTrue(algo.result_for(self.job(zeros), exactly, 1.0).block_ok, zeros)
            self.assertFalse(algo.result_for(self.job(zeros), one_short, 1.0).block_ok, zeros)

    def test_a_block_is_also_a_share_at_the_network_difficulty(self):
        job = self.job(6)
        block = algo.result_for(job, digest_with(16 ** 58 - 1), job.network_difficulty)
        self.assertTrue(block.block_ok)
        self.assertTrue(block.share_ok)
        self.assertEqual(block.work, 16 ** 6)

    def test_work_and_hash_difficulty(self):
        self.assertEqual(algo.share_work(64.0), 64)
        self.assertEqual(algo.share_work(2.5), 2)      # round half to even, like sha256d
        self.assertEqual(algo.share_work(1e12), 10**12)
        self.assertEqual(algo.hash_difficulty(2**255), 2.0)
        self.assertEqual(algo.hash_difficulty(2**256 - 1), 1.0)
        self.assertEqual(algo.hash_difficulty(0), float("inf"))


class BlockTests(unittest.TestCase):

    @defer.inlineCallbacks
    def test_block_for_submits_what_gxc_calculate_hash_gives(self):
        algorithm = Runtime(self, verify_threads=1).algorithm
        t = template(height=3001, difficulty=0.5)      # every hash is a block
        job = algo.build_job(t, "b1", pool_address=POOL, extranonce2_size=4)
        sub = algo.submission(b"\x7f\xff", 0xFFFF)
        result = yield algorithm.verify(job, sub, 1.0)
        self.assertTrue(result.block_ok)
        block, solution = algorithm.block_for(job, result, sub, pool_address=POOL)
        nonce = 2**31 - 1
        # GXC's Block::calculateHash for the block the node will store.
        header = "%d%s%d%s%d" % (3001, t.previousblockhash, t.curtime,
                                 gxc_merkle_root(t.txids), nonce)
        self.assertEqual(block["hash"], gxhash(header.encode("ascii"), nonce).hex())
        self.assertEqual(block, {
            "height": 3001, "hash": result.hash_hex, "previousblockhash": t.previousblockhash,
            "nonce": nonce, "miner": POOL, "timestamp": t.curtime, "difficulty": 0.5,
            "transactions": [t.coinbase] + list(t.transactions)})
        self.assertEqual(solution, {
            "algorithm": "gxhash", "job_id": "b1", "header_text": header,
            "merkleroot": job.merkleroot, "nonce": nonce, "extranonce1": "7fff",
            "miner_nonce": 0xFFFF})
        json.dumps([block, solution])      # what the node client and the database get

    def test_block_for_refuses_a_nonce_the_node_would_truncate(self):
        job = vector_job("A3-S3")
        result = algo.result_for(job, bytes.fromhex(GXHASH_VECTORS["A3-S3"]["gxhash"]), 1.0)
        self.assertRaises(ValueError, algo.block_for, job, result, vector_submission("A3-S3"),
                          pool_address=POOL)


class RuntimeTests(unittest.TestCase):

    def test_module_constants(self):
        self.assertEqual((algo.NAME, algo.DIALECTS), ("gxhash", ("gxhash",)))
        self.assertEqual((algo.EXTRANONCE1_BITS, algo.EXTRANONCE1_SIZE, algo.MINER_NONCE_BITS),
                         (15, 2, 16))
        defaults = load_config(None, environ={}).stratum["gxhash"]
        for key, value in algo.STRATUM_DEFAULTS.items():
            self.assertEqual(getattr(defaults, key), value, key)

    def test_pool_size_follows_the_settings(self):
        def sized(cores, **settings):
            a = algo.make(AlgorithmContext(settings=StratumSettings(**settings),
                                           state_dir=self.mktemp(), reactor=reactor, cores=cores))
            self.assertEqual(a.services(), [a.pool])
            return a.pool.threads, a.pool.max_pending
        self.assertEqual(sized(6), (6, 24))
        self.assertEqual(sized(6, verify_threads=3), (3, 12))
        self.assertEqual(sized(6, verify_threads=3, verify_queue=5), (3, 5))
        self.assertEqual(sized(1, verify_queue=2), (1, 2))

    def test_pool_niceness_follows_the_settings(self):
        def niceness(**settings):
            return algo.make(AlgorithmContext(settings=StratumSettings(**settings),
                                              state_dir=self.mktemp(), reactor=reactor,
                                              cores=1)).pool.niceness
        self.assertEqual(niceness(), 10)
        self.assertEqual(niceness(verify_niceness=0), 0)
        self.assertEqual(niceness(verify_niceness=19), 19)

    def test_runtime_exposes_the_contract(self):
        a = algo.make(AlgorithmContext(settings=StratumSettings(), state_dir=self.mktemp(),
                                       reactor=reactor, cores=1))
        for name in ("NAME", "DIALECTS", "EXTRANONCE1_BITS", "EXTRANONCE1_SIZE", "build_job",
                     "dedup_key", "verify", "block_for", "share_work", "hash_difficulty"):
            self.assertTrue(hasattr(a, name), name)
        job = a.build_job(template(), "1", pool_address=POOL, extranonce2_size=4)
        self.assertIsInstance(job, algo.GxhashJob)
        self.assertEqual(a.dedup_key(a.submission(b"\x00\x01", 2)), 0x10002)
        self.assertEqual(a.share_work(64.0), 64)

    @defer.inlineCallbacks
    def test_a_hashing_thread_keeps_its_matrix_for_the_next_hash(self):
        set_matrix_pool_limit(0)                    # no idle matrix left from other tests
        self.addCleanup(set_matrix_pool_limit, 2)   # the library's default
        self.assertEqual(lib.gxhash_pool_idle(), 0)
        algorithm = Runtime(self, verify_threads=1).algorithm
        result = yield algorithm.verify(vector_job("A3-S1"), vector_submission("A3-S1"), 1.0)
        self.assertEqual(result.hash_hex, GXHASH_VECTORS["A3-S1"]["gxhash"])
        self.assertEqual(lib.gxhash_pool_idle(), 1)

    @defer.inlineCallbacks
    def test_busy_when_the_pool_is_full(self):
        algorithm = Runtime(self, verify_threads=1, verify_queue=1).algorithm
        job = vector_job("A3-S1")
        running = algorithm.verify(job, vector_submission("A3-S1"), 1.0)
        # Refused at once, before any hashing, with the Stratum error the session sends.
        with self.assertRaises(Busy) as caught:
            algorithm.verify(job, algo.submission(b"\x00\x00", 1), 1.0)
        self.assertIsInstance(caught.exception, StratumError)
        self.assertEqual(caught.exception.code, 20)
        self.assertIn("busy", caught.exception.message.lower())
        result = yield running
        self.assertEqual(result.hash_hex, GXHASH_VECTORS["A3-S1"]["gxhash"])
        # Room again once the hash is done.
        again = yield algorithm.verify(job, vector_submission("A3-S1"), 1.0)
        self.assertEqual(again.hash_hex, result.hash_hex)

    @defer.inlineCallbacks
    def test_shutting_down_is_busy(self):
        algorithm = algo.make(AlgorithmContext(
            settings=StratumSettings(verify_threads=1, verify_queue=4), state_dir=self.mktemp(),
            reactor=reactor, cores=1))
        job = vector_job("A3-S1")
        with self.assertRaises(Busy) as never_started:
            algorithm.verify(job, vector_submission("A3-S1"), 1.0)
        self.assertIn("shutting down", never_started.exception.message)
        pool = algorithm.services()[0]
        pool.startService()
        calls = [algorithm.verify(job, algo.submission(b"\x00\x00", n), 1.0) for n in range(3)]
        yield pool.stopService()    # the first hash may be running; the last is queued
        with self.assertRaises(Busy):
            algorithm.verify(job, vector_submission("A3-S1"), 1.0)
        outcomes = yield defer.DeferredList(calls, consumeErrors=True)
        self.assertFalse(outcomes[-1][0])
        for ok, value in outcomes:
            if not ok:
                value.trap(Busy)
                self.assertIn("shutting down", value.value.message)
