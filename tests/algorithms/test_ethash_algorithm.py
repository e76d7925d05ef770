"""The ethash algorithm module: jobs and their per-connection header hashes,
the published vectors pushed through verify() (light cache and full DAG),
share and block tests at their boundaries, NiceHash difficulty units,
block_for, the bounded check pool (Busy), and the DAG lifecycle as the
algorithm drives it (tiny synthetic epochs: never a real DAG in a test)."""
import json
import os
import threading
from fractions import Fraction
from pathlib import Path

import pytest
from twisted.logger import formatEvent, globalLogPublisher

from gxcpoold.algorithms import ethash as algo
from gxcpoold.algorithms.context import AlgorithmContext
from gxcpoold.algorithms.hashpool import HashPool
from gxcpoold.config import StratumSettings, load_config
from gxcpoold.dag import DAGManager
from gxcpoold.hashers.ethash import (EthashLightCache, EthashLightCacheLRU, ethash_final_hash,
                                     ethash_seedhash)
from gxcpoold.hashers.ethash_dag import EthashDAG
from gxcpoold.hashers.keccak import keccak256
from gxcpoold.hashers.targets import DIFF1_TARGET, hex_to_target
from gxcpoold.node.template import BlockTemplate
from gxcpoold.stratum import errors
from gxcpoold.stratum.errors import Busy, MalformedRequest, StratumError
from tests.test_dag import ImmediateReactor, ManualPool, QueueingReactor, tiny_sizes

V = json.loads((Path(__file__).resolve().parent.parent / "vectors" / "ethash.json").read_text())
HASH_CASES = V["hash_cases"]["cases"]
VERIFY_CASES = {c["name"]: c for c in V["verify_cases"]["cases"]}
CONVENTIONS = V["difficulty_boundary"]["pool_share_conventions"]["cases"]
NICEHASH_CASE = next(c for c in HASH_CASES if c["nonce"] == "a2eea0cfae7df760")
# Epochs whose real light caches these tests build (about a second each);
# tests/test_ethash.py covers the others at the hasher level.
EPOCHS = (0, 1, 50, 166)
POOL = "tGXCc036ae3af11be2ef553cb7806fae14c0b8"
EN1 = bytes.fromhex("0100a2ee")
LIGHT_CACHES = EthashLightCacheLRU(maxsize=len(EPOCHS))


# ---------------------------------------------------------------- helpers

def template(*, height=7, prev="ab" * 32, curtime=1795519634, difficulty=3.0,
             coinbase_txid="c0" * 32, txids=("a1" * 32, "b2" * 32)):
    """A BlockTemplate the way the node's getblocktemplate gives it."""
    txs = [{"txid": coinbase_txid, "is_coinbase": True, "block_height": height,
            "outputs": [{"address": POOL, "amount": 50.0}]}]
    txs += [{"txid": t, "from": "tGXCsender", "amount": 1.0} for t in txids]
    return BlockTemplate.from_rpc({"height": height, "previousblockhash": prev,
                                   "difficulty": difficulty, "transactions": txs,
                                   "coinbasevalue": 5_000_000_000, "curtime": curtime})


class VectorJob(algo.EthashJob):
    """A job whose header hash is forced to a vector's (for any extranonce1)."""
    forced = None

    def header_hash(self, extranonce1):
        return self.forced


def vector_job(case, required_zeros=64):
    epoch = case["epoch"]
    job = VectorJob(job_id="v", height=case.get("block_number", epoch * 30000),
                    previousblockhash="00" * 32, ntime=0, required_zeros=required_zeros,
                    epoch=epoch, seedhash=ethash_seedhash(epoch), commitment=b"")
    job.forced = bytes.fromhex(case["header_hash"])
    return job


def vector_submission(case, mix=True):
    return algo.Submission(extranonce1=EN1, header_hash=bytes.fromhex(case["header_hash"]),
                           nonce=int(case["nonce"], 16),
                           mix_hash=bytes.fromhex(case["mix_hash"]) if mix else None)


class Harness:
    """An EthashAlgorithm whose DAG manager and check pool run their thread
    work only when the test says so (run_dag / resolve)."""

    def __init__(self, state_dir, *, full=False, max_pending=64, floor=None, **dag_options):
        self.reactor = ImmediateReactor()
        self.dag_pool, self.check_pool = ManualPool(), ManualPool()
        if "sizes" not in dag_options:
            dag_options.setdefault("light_caches", LIGHT_CACHES)   # real epochs, shared
        dag = DAGManager(state_dir, reactor=self.reactor, threadpool=self.dag_pool,
                         full=full, **dag_options)
        pool = HashPool(1, max_pending, reactor=self.reactor, threadpool=self.check_pool)
        self.algorithm = algo.EthashAlgorithm(dag, pool, floor_difficulty=floor,
                                              dag_mode="full" if full else "light")
        for service in self.algorithm.services():
            service.startService()

    def verify(self, job, submission, difficulty):
        """verify(), its check run, -> ShareResult (or the StratumError raised)."""
        d = self.algorithm.verify(job, submission, difficulty)
        self.check_pool.run_all()
        outcome = []
        d.addBoth(outcome.append)
        (result,) = outcome
        if hasattr(result, "raiseException"):
            result.raiseException()
        return result

    def stop(self):
        for service in reversed(self.algorithm.services()):
            service.stopService()
        self.dag_pool.run_all()


@pytest.fixture
def harness(tmp_path):
    h = Harness(str(tmp_path))
    yield h
    h.stop()


@pytest.fixture
def dag_log():
    """Text of the gxcpoold.dag log events emitted during the test."""
    lines = []

    def observe(event):
        if event.get("log_namespace") == "gxcpoold.dag":
            lines.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    yield lines
    globalLogPublisher.removeObserver(observe)


# ---------------------------------------------------------------- module constants

def test_constants_and_stratum_defaults_match_the_configuration():
    assert algo.NAME == "ethash"
    assert algo.DIALECTS == ("ethstratum", "ethproxy")
    assert (algo.EXTRANONCE1_BITS, algo.EXTRANONCE1_SIZE) == (32, 4)
    assert algo.STRATUM_DEFAULTS == {"endpoint": "tcp:3334", "start_difficulty": 4e9,
                                     "min_difficulty": 1e5, "max_difficulty": 1e16,
                                     "shares_per_minute": 10.0}
    ethash = load_config(None, environ={}).stratum["ethash"]
    for key, value in algo.STRATUM_DEFAULTS.items():
        assert getattr(ethash, key) == value, key
    assert ethash.dag_mode == "full"


# ---------------------------------------------------------------- jobs

def test_build_job_from_a_template():
    t = template(height=61234, difficulty=3.7)
    job = algo.build_job(t, "1f", pool_address=POOL, extranonce2_size=4, clean_jobs=True,
                         created=5.0)
    assert (job.job_id, job.height, job.previousblockhash, job.ntime) == (
        "1f", 61234, "ab" * 32, 1795519634)
    assert job.epoch == 2 and job.seedhash == ethash_seedhash(2)
    assert job.seedhash.hex() == next(c["seed_hash"] for c in V["epochs"]["cases"]
                                      if c["epoch"] == 2)
    assert job.required_zeros == 3 and job.network_difficulty == 16.0 ** 3
    assert job.transactions == t.transactions and job.template is t
    assert job.clean_jobs and job.created == 5.0 and job.seen_hashes == set()
    assert job.algorithm == "ethash"
    assert job.header_hash(EN1) == keccak256(job.commitment + EN1)
    # extranonce2_size means nothing to ethash
    same = algo.build_job(t, "1f", pool_address=POOL, extranonce2_size=8)
    assert same.commitment == job.commitment


def test_header_hash_is_unique_per_connection():
    job = algo.build_job(template(), "1", pool_address=POOL, extranonce2_size=4)
    hashes = {job.header_hash(i.to_bytes(4, "big")) for i in (0, 1, 2**24, 2**32 - 1)}
    assert len(hashes) == 4
    assert all(len(h) == 32 for h in hashes)
    with pytest.raises(ValueError):
        job.header_hash(b"\x00\x01")


@pytest.mark.parametrize("change", [
    {"height": 8}, {"prev": "AB" * 31 + "ac"}, {"coinbase_txid": "c1" * 32},
    {"txids": ("a1" * 32,)}, {"txids": ("b2" * 32, "a1" * 32)}, {"curtime": 1795519635},
], ids=lambda c: next(iter(c)))
def test_header_hash_commits_to_the_template(change):
    base = algo.build_job(template(), "1", pool_address=POOL, extranonce2_size=4)
    other = algo.build_job(template(**change), "1", pool_address=POOL, extranonce2_size=4)
    assert other.header_hash(EN1) != base.header_hash(EN1)


def test_header_hash_commits_to_the_pool_address_the_transactions_and_ntime():
    t = template()
    base = algo.build_job(t, "1", pool_address=POOL, extranonce2_size=4)
    variants = [algo.build_job(t, "1", pool_address=POOL + "x", extranonce2_size=4),
                algo.build_job(t, "1", pool_address=POOL, extranonce2_size=4, transactions=()),
                algo.build_job(t, "1", pool_address=POOL, extranonce2_size=4, ntime=t.curtime + 30)]
    assert len({base.header_hash(EN1)} | {v.header_hash(EN1) for v in variants}) == 4
    # the job id and the refresh time are not part of the block: same header
    again = algo.build_job(t, "2", pool_address=POOL, extranonce2_size=4, created=9.0)
    assert again.header_hash(EN1) == base.header_hash(EN1)


# ---------------------------------------------------------------- the vectors through verify()

@pytest.mark.parametrize("case", [c for c in HASH_CASES if c["epoch"] in EPOCHS],
                         ids=lambda c: "%d-%s" % (c["epoch"], c["nonce"]))
@pytest.mark.parametrize("with_mix", [True, False], ids=["eth-proxy", "nicehash"])
def test_hash_vectors(harness, case, with_mix):
    result = harness.verify(vector_job(case), vector_submission(case, with_mix), 1)
    assert result.hash_hex == case["final_hash"]
    assert result.mix_hash.hex() == case["mix_hash"]
    assert result.hash_int == int(case["final_hash"], 16)
    assert result.share_ok and result.verified and result.work == 1
    assert int(algo.hash_difficulty(result.hash_int)) == case["max_difficulty_met"]


@pytest.mark.parametrize("case", [c for c in VERIFY_CASES.values() if c["epoch"] in EPOCHS],
                         ids=lambda c: c["name"])
def test_verify_vectors(harness, case):
    """chfast's outcomes: SUCCESS = a share, INVALID_FINAL_HASH = not one,
    INVALID_MIX_HASH = refused as "Invalid mix hash"."""
    boundary = int(case["boundary"], 16)
    difficulty = case.get("difficulty", Fraction(2**256, boundary))
    assert algo.share_target(difficulty) == boundary
    hashed = []
    real_hash = harness.algorithm.dag.hash
    harness.algorithm.dag.hash = lambda *a: hashed.append(a) or real_hash(*a)
    if case["expected"] == "ETHASH_INVALID_MIX_HASH":
        with pytest.raises(StratumError) as refused:
            harness.verify(vector_job(case), vector_submission(case), difficulty)
        assert (refused.value.code, refused.value.message) == (errors.OTHER, "Invalid mix hash")
        return
    result = harness.verify(vector_job(case), vector_submission(case), difficulty)
    assert result.share_ok is (case["expected"] == "ETHASH_SUCCESS")
    assert result.meets_target(boundary) is result.share_ok
    if case["expected"] == "ETHASH_INVALID_FINAL_HASH":
        assert result.work == 0 and not result.block_ok
        if not result.verified:
            # the claimed mix's final hash already failed: no expensive hash
            assert hashed == []
            assert not result.meets(1)


def test_the_cheap_check_never_skips_what_the_pool_would_credit(harness):
    """A wrong mix whose claimed final hash misses the share target still
    gets the real hash when it could be a block or meet the pool's floor."""
    case = VERIFY_CASES["wrong_mix_tight_boundary_block_5000000"]
    tight = Fraction(2**256, int(case["boundary"], 16))
    claimed = ethash_final_hash(bytes.fromhex(case["header_hash"]), int(case["nonce"], 16),
                                bytes.fromhex(case["mix_hash"]))
    assert int.from_bytes(claimed, "big") > algo.share_target(tight)
    # as a possible block (no leading zeros needed) it is hashed and refused
    with pytest.raises(StratumError, match="Invalid mix hash"):
        harness.verify(vector_job(case, required_zeros=0), vector_submission(case), tight)
    # with the pool's floor at difficulty 1, likewise
    harness.algorithm.floor_difficulty = 1
    with pytest.raises(StratumError, match="Invalid mix hash"):
        harness.verify(vector_job(case), vector_submission(case), tight)


# ---------------------------------------------------------------- share and block tests

def test_share_and_block_boundaries(harness):
    case = next(c for c in HASH_CASES if c["block_number"] == 5000000)
    best = case["max_difficulty_met"]            # floor(2**256 / final)
    zeros = len(case["final_hash"]) - len(case["final_hash"].lstrip("0"))
    assert zeros == 12
    at = harness.verify(vector_job(case, required_zeros=zeros), vector_submission(case), best)
    assert at.share_ok and at.block_ok and at.work == best
    assert at.meets(best) and not at.meets(best + 1)
    above = harness.verify(vector_job(case, required_zeros=zeros + 1),
                           vector_submission(case, mix=False), best + 1)
    assert not above.share_ok and not above.block_ok and above.work == 0
    assert above.meets(best)                     # credited at an older, lower difficulty
    # a block is a block whatever the share difficulty
    block_only = harness.verify(vector_job(case, required_zeros=zeros),
                                vector_submission(case, mix=False), 2 * best)
    assert block_only.block_ok and not block_only.share_ok


def test_network_difficulty_is_the_block_test_in_hashes():
    case = next(c for c in HASH_CASES if c["block_number"] == 5000000)
    job = vector_job(case, required_zeros=12)
    assert job.network_difficulty == 16.0 ** 12
    assert algo.share_target(job.network_difficulty) == 2**256 // 16**12 == 16**52


def test_work_and_hash_difficulty():
    assert algo.share_work(4e9) == 4_000_000_000
    assert algo.share_work(1.5) == 2 and algo.share_work(100000.4) == 100000
    assert algo.hash_difficulty(2**255) == 2.0
    assert algo.hash_difficulty(0) == float("inf")


# ---------------------------------------------------------------- difficulty units

@pytest.mark.parametrize("case", CONVENTIONS, ids=lambda c: c["convention"][:12] + "-" + str(
    c.get("D", c.get("d"))))
def test_pool_share_conventions(case):
    target = hex_to_target(case["target_hex"])
    convention = case["convention"]
    if convention.startswith("raw_hashes"):
        assert algo.share_target(case["D"]) == target                    # eth-proxy
        assert algo.share_target(float(case["D"])) == target
    elif convention.startswith("nicehash_bitcoin_style"):
        assert algo.nicehash_target(float(case["d"])) == target          # NiceHash spec
    else:
        assert convention.startswith("pow2_32")
        assert algo.share_target(algo.difficulty_from_nicehash(float(case["d"]))) == target


def test_nicehash_difficulty_conversions():
    assert algo.to_nicehash(4e9) == 4e9 / 2**32
    assert algo.difficulty_from_nicehash(algo.to_nicehash(4e9)) == 4e9
    assert algo.difficulty_from_nicehash(0.5) == 2**31
    assert algo.to_nicehash(2**32) == 1.0
    for d in (1e5, 4e9, 123456789.0, 1e16):
        assert algo.difficulty_from_nicehash(algo.to_nicehash(d)) == d
    # the spec's target is 65535/65536 of the raw one: stricter, never looser
    for d_nh in (0.5, 1.0, 1.863, 1000.0):
        spec = algo.nicehash_target(d_nh)
        raw = algo.share_target(algo.difficulty_from_nicehash(d_nh))
        assert spec < raw and abs(spec * 65536 - raw * 65535) < 65536
    for bad in (0, -1.0, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError):
            algo.to_nicehash(bad)
        with pytest.raises(ValueError):
            algo.difficulty_from_nicehash(bad)


def test_nicehash_example_share(harness):
    """NiceHash's own example: extranonce a2ee.. + miner nonce, epoch 50,
    share difficulty 1.863 in NiceHash units."""
    case = NICEHASH_CASE
    assert algo.nicehash_extranonce(EN1) == "a2ee"
    nonce = algo.nicehash_nonce(EN1, "a0cfae7df760")
    assert "%016x" % nonce == case["nonce"]
    submission = algo.Submission(extranonce1=EN1, header_hash=bytes.fromhex(case["header_hash"]),
                                 nonce=nonce)
    result = harness.verify(vector_job(case), submission, algo.difficulty_from_nicehash(1.8))
    assert result.share_ok and result.hash_hex == case["final_hash"]
    # 1.863086 in the spec's unit (diff-1 target 0xffff * 2**208); 65536/65535
    # of that in hashes / 2**32
    assert round(DIFF1_TARGET / result.hash_int, 6) == case["nicehash_share_difficulty"]
    assert algo.to_nicehash(algo.hash_difficulty(result.hash_int)) == pytest.approx(
        case["nicehash_share_difficulty"] * 65536 / 65535, rel=1e-6)
    assert result.meets_target(algo.nicehash_target(1.0))
    assert result.meets_target(int(VERIFY_CASES["nicehash_share_valid_at_nicehash_diff_1"]
                                   ["boundary"], 16))
    assert not result.meets_target(algo.nicehash_target(2.0))
    assert not result.meets(algo.difficulty_from_nicehash(1.864))


@pytest.mark.parametrize("bad", ["a0cfae7df76", "a0cfae7df7600", "0xcfae7df760", "g0cfae7df760",
                                 " 0cfae7df760", "+0cfae7df760", "a0_fae7df760", 12, None])
def test_nicehash_nonce_wants_exactly_12_hex_digits(bad):
    with pytest.raises(ValueError):
        algo.nicehash_nonce(EN1, bad)


def test_nicehash_nonce_uses_the_low_16_bits_of_extranonce1():
    assert algo.nicehash_extranonce(bytes.fromhex("ff000001")) == "0001"
    assert algo.nicehash_nonce(bytes.fromhex("ff00ffff"), "000000000000") == 0xFFFF << 48
    assert algo.nicehash_nonce(bytes.fromhex("00000000"), "FFFFFFFFFFFF") == 2**48 - 1


# ---------------------------------------------------------------- submissions

def test_dedup_key_is_extranonce1_and_nonce():
    def sub(en1, nonce, mix=None):
        return algo.Submission(extranonce1=en1, header_hash=bytes(32), nonce=nonce, mix_hash=mix)

    a = algo.dedup_key(sub(EN1, 5))
    assert a == algo.dedup_key(sub(EN1, 5, bytes(32)))       # the mix is not work
    keys = {a, algo.dedup_key(sub(EN1, 6)), algo.dedup_key(sub(b"\x00\x00\xa2\xee", 5)),
            algo.dedup_key(sub(b"\x00\x00\x00\x00", 2**64 - 1)),
            algo.dedup_key(sub(b"\x00\x00\x00\x01", 0))}
    assert len(keys) == 5


@pytest.mark.parametrize("fields", [
    {"extranonce1": b"\x00\x01"}, {"extranonce1": "0100a2ee"}, {"header_hash": bytes(31)},
    {"nonce": -1}, {"nonce": 2**64}, {"nonce": "5"}, {"nonce": True},
    {"mix_hash": bytes(33)}, {"mix_hash": "00" * 32},
], ids=lambda f: "%s=%r" % next(iter(f.items())))
def test_badly_formed_submissions_are_refused_at_once(harness, fields):
    good = dict(extranonce1=EN1, header_hash=bytes(32), nonce=1, mix_hash=None)
    job = vector_job(HASH_CASES[0])
    with pytest.raises(MalformedRequest):
        harness.algorithm.verify(job, algo.Submission(**{**good, **fields}), 1)
    assert harness.check_pool.jobs == [] and harness.algorithm.pool.pending == 0


def test_a_header_hash_of_another_job_or_connection_is_refused(harness):
    job = algo.build_job(template(), "1", pool_address=POOL, extranonce2_size=4)
    other = algo.Submission(extranonce1=b"\x00\x00\x00\x07", header_hash=job.header_hash(EN1),
                            nonce=1)
    with pytest.raises(StratumError) as refused:
        harness.verify(job, other, 1)
    assert refused.value.code == errors.JOB_NOT_FOUND
    own = algo.Submission(extranonce1=EN1, header_hash=job.header_hash(EN1), nonce=1)
    assert harness.verify(job, own, 1).share_ok


# ---------------------------------------------------------------- block_for

def test_block_for_shape(tmp_path):
    harness = Harness(str(tmp_path), sizes=tiny_sizes)
    t = template(height=61234, difficulty=1.0)
    job = algo.build_job(t, "2a", pool_address=POOL, extranonce2_size=4, ntime=t.curtime + 60)
    nonce = 0xFEDCBA9876543210
    submission = algo.Submission(extranonce1=EN1, header_hash=job.header_hash(EN1), nonce=nonce)
    result = harness.verify(job, submission, 1)
    harness.stop()
    block, solution = algo.block_for(job, result, submission, pool_address=POOL)
    assert block == {
        "height": 61234, "hash": result.hash_hex, "previousblockhash": "ab" * 32,
        "nonce": 0x76543210, "miner": POOL, "timestamp": t.curtime + 60, "difficulty": 1.0,
        "transactions": [t.coinbase] + list(t.transactions)}
    assert 0 <= block["nonce"] < 2**31
    assert json.loads(json.dumps(block)) == block
    assert solution == {
        "algorithm": "ethash", "job_id": "2a", "header_hash": job.header_hash(EN1).hex(),
        "nonce": "fedcba9876543210", "mix_hash": result.mix_hash.hex(),
        "seedhash": ethash_seedhash(2).hex(), "epoch": 2, "extranonce1": "0100a2ee",
        "commitment": job.commitment.hex()}
    # the solution alone lets anyone recompute the block hash
    mix, final = EthashLightCache(2, *tiny_sizes(2)).hash(
        keccak256(bytes.fromhex(solution["commitment"]) + EN1), int(solution["nonce"], 16))
    assert (mix.hex(), final.hex()) == (solution["mix_hash"], block["hash"])
    assert algo.block_for(job, result, submission, pool_address=POOL) == (
        block, solution)


def test_block_for_refuses_an_unverified_result():
    unverified = algo.ShareResult(share_ok=False, block_ok=False, hash_hex="00" * 32, hash_int=0,
                                  mix_hash=None, work=0)
    job = vector_job(HASH_CASES[0])
    with pytest.raises(ValueError):
        algo.block_for(job, unverified, vector_submission(HASH_CASES[0]), pool_address=POOL)
    assert not unverified.meets(1) and not unverified.meets_target(2**256 - 1)


# ---------------------------------------------------------------- the bounded check pool

def test_busy_when_the_check_pool_is_full(tmp_path):
    h = Harness(str(tmp_path), max_pending=2, sizes=tiny_sizes)
    try:
        job = algo.build_job(template(), "1", pool_address=POOL, extranonce2_size=4)
        sub = algo.Submission(extranonce1=EN1, header_hash=job.header_hash(EN1), nonce=3)
        first = h.algorithm.verify(job, sub, 1)
        second = h.algorithm.verify(job, sub, 1)
        with pytest.raises(Busy) as busy:
            h.algorithm.verify(job, sub, 1)
        assert busy.value.code == errors.OTHER and "busy" in busy.value.message.lower()
        assert h.algorithm.status()["verify"] == {"threads": 1, "pending": 2, "max_pending": 2}
        h.check_pool.run_all()
        assert first.called and second.called and h.algorithm.pool.pending == 0
        results = []
        h.algorithm.verify(job, sub, 1).addCallback(results.append)
        h.check_pool.run_all()
        assert results and results[0].share_ok
    finally:
        h.stop()


def test_busy_when_stopped_and_queued_checks_are_skipped(tmp_path):
    h = Harness(str(tmp_path), sizes=tiny_sizes)
    job = algo.build_job(template(), "1", pool_address=POOL, extranonce2_size=4)
    sub = algo.Submission(extranonce1=EN1, header_hash=job.header_hash(EN1), nonce=3)
    queued = h.algorithm.verify(job, sub, 1)
    h.stop()
    failures = []
    queued.addErrback(failures.append)
    h.check_pool.run_all()
    assert len(failures) == 1 and failures[0].check(Busy)
    assert "shutting down" in failures[0].value.message
    with pytest.raises(Busy):
        h.algorithm.verify(job, sub, 1)


def test_hash_pool_arguments():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            HashPool(bad)
    with pytest.raises(ValueError):
        HashPool(2, 0)
    assert HashPool(3).max_pending == 12


# ---------------------------------------------------------------- make() and the DAG lifecycle

def context(tmp_path, reactor, **settings):
    return AlgorithmContext(settings=StratumSettings(**settings), state_dir=str(tmp_path),
                            reactor=reactor, cores=2)


def test_make_reads_the_settings(tmp_path):
    reactor = ImmediateReactor()
    a = algo.make(context(tmp_path, reactor))
    assert (a.pool.threads, a.pool.max_pending) == (2, 8)          # cores, 4 x threads
    assert a.dag.full and a.dag_mode == "full" and a.dag.generate_threads == 1
    assert a.dag.state_dir == os.path.join(str(tmp_path), "ethash")
    assert a.services() == [a.dag, a.pool]
    assert a.floor_difficulty == StratumSettings().min_difficulty
    b = algo.make(context(tmp_path, reactor, dag_mode="light", verify_threads=3, verify_queue=5,
                          min_difficulty=1e5))
    assert (b.pool.threads, b.pool.max_pending) == (3, 5)
    assert not b.dag.full and b.dag_mode == "light" and b.floor_difficulty == 1e5
    for name in ("NAME", "DIALECTS", "EXTRANONCE1_BITS", "EXTRANONCE1_SIZE", "STRATUM_DEFAULTS",
                 "Submission"):
        assert getattr(b, name) is getattr(algo, name)


def test_full_mode_lifecycle(tmp_path, dag_log):
    """Light until the DAG is ready, then full with the same answers; the next
    epoch prepared ahead; the old one dropped; progress logged."""
    reactor, dag_pool, check_pool = ImmediateReactor(), ManualPool(), ManualPool()
    a = algo.make(context(tmp_path, reactor, dag_mode="full"), check_threadpool=check_pool,
                  threadpool=dag_pool, sizes=tiny_sizes, prepare_ahead=100, generate_threads=1,
                  chunk_pages=200)
    for service in a.services():
        service.startService()
    dag_dir = os.path.join(str(tmp_path), "ethash")

    def verify(job, nonce):
        sub = algo.Submission(extranonce1=EN1, header_hash=job.header_hash(EN1), nonce=nonce)
        d = a.verify(job, sub, 1)
        check_pool.run_all()
        return d.result

    job = a.build_job(template(height=10), "1", pool_address=POOL, extranonce2_size=4)
    status = a.status()
    assert (status["epoch"], status["mode"], status["building"]) == (0, "light", 0)
    light = verify(job, 5)
    expected = EthashLightCache(0, *tiny_sizes(0)).hash(job.header_hash(EN1), 5)
    assert (light.mix_hash, bytes.fromhex(light.hash_hex)) == expected
    assert any("epoch 0: preparing the DAG" in line for line in dag_log)

    dag_pool.run_all()                             # the DAG is generated
    assert a.status()["mode"] == "full" and a.status()["epochs_ready"] == [0]
    assert isinstance(a.dag.hasher(0), EthashDAG)
    assert verify(job, 5) == light
    percents = [line for line in dag_log if "% generated" in line]
    assert percents == ["ethash DAG for epoch 0: %d%% generated" % p for p in range(10, 100, 10)]
    assert any("generating" in line for line in dag_log)
    assert any("DAG for epoch 0 ready (generated" in line for line in dag_log)
    assert os.listdir(dag_dir) == [EthashDAG.filename(0, tiny_sizes(0)[1])]

    a.build_job(template(height=29950), "2", pool_address=POOL, extranonce2_size=4)
    assert a.dag.status()["epochs_wanted"] == [0, 1]
    dag_pool.run_all()
    assert a.status()["epochs_ready"] == [0, 1]

    next_job = a.build_job(template(height=30000), "3", pool_address=POOL, extranonce2_size=4)
    assert next_job.epoch == 1 and next_job.seedhash == ethash_seedhash(1)
    assert a.status()["epochs_ready"] == [1] and a.status()["mode"] == "full"
    assert any("DAG for epoch 0 dropped" in line for line in dag_log)
    dag_pool.run_all()                             # closes and deletes the old file
    assert os.listdir(dag_dir) == [EthashDAG.filename(1, tiny_sizes(1)[1])]
    assert verify(job, 5) == light                 # an epoch-0 share still checks (light)
    assert verify(next_job, 5).hash_hex == EthashLightCache(1, *tiny_sizes(1)).hash(
        next_job.header_hash(EN1), 5)[1].hex()

    for service in reversed(a.services()):
        service.stopService()
    dag_pool.run_all()


def test_light_mode_builds_no_dag(tmp_path, dag_log):
    reactor, dag_pool = ImmediateReactor(), ManualPool()
    a = algo.make(context(tmp_path, reactor, dag_mode="light"), check_threadpool=ManualPool(),
                  threadpool=dag_pool, sizes=tiny_sizes)
    for service in a.services():
        service.startService()
    a.build_job(template(height=10), "1", pool_address=POOL, extranonce2_size=4)
    dag_pool.run_all()
    status = a.status()
    assert (status["dag_mode"], status["mode"], status["epochs_ready"]) == ("light", "light", [])
    assert status["building"] is None and status["progress"] is None
    assert os.listdir(os.path.join(str(tmp_path), "ethash")) == []
    assert any("light cache for epoch 0 ready" in line for line in dag_log)
    assert not any("% generated" in line for line in dag_log)
    for service in reversed(a.services()):
        service.stopService()
    dag_pool.run_all()


def test_status_reports_build_progress(tmp_path):
    reactor = ImmediateReactor()
    a = algo.make(context(tmp_path, reactor), check_threadpool=ManualPool(),
                  threadpool=ManualPool(), sizes=tiny_sizes)
    assert a.status()["epoch"] is None
    a.dag.height = 5
    a.dag.progress = (0, 500, 2000)
    status = a.status()
    assert status["progress"] == {"epoch": 0, "percent": 25.0}
    assert (status["epoch"], status["mode"]) == (0, "light")


def test_checks_run_in_worker_threads(tmp_path):
    """make() with its own thread pools: the hash runs off the reactor thread."""
    reactor = QueueingReactor()
    a = algo.make(context(tmp_path, reactor, dag_mode="light", verify_threads=2),
                  sizes=tiny_sizes)
    threads = set()
    real_hash = a.dag.hash
    a.dag.hash = lambda *args: threads.add(threading.get_ident()) or real_hash(*args)
    for service in a.services():
        service.startService()
    try:
        job = a.build_job(template(height=3), "1", pool_address=POOL, extranonce2_size=4)
        subs = [algo.Submission(extranonce1=EN1, header_hash=job.header_hash(EN1), nonce=n)
                for n in range(6)]
        deferreds = [a.verify(job, s, 1) for s in subs]
        reactor.run_until(lambda: all(d.called for d in deferreds))
        cache = EthashLightCache(0, *tiny_sizes(0))
        for s, d in zip(subs, deferreds):
            assert d.result.hash_hex == cache.hash(s.header_hash, s.nonce)[1].hex()
        assert threads and threading.get_ident() not in threads
    finally:
        a.pool.stopService()
        stopped = a.dag.stopService()
        reactor.run_until(lambda: stopped.called)
