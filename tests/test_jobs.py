"""JobManager and the sha256d job builder on GXC templates."""
import struct

from twisted.internet.task import Clock

from gxcpoold.algorithms import sha256d
from gxcpoold.hashers.sha256d import sha256d as sha256d_hash, sha256d_merkle_root
from gxcpoold.jobs import JobManager
from tests.stratum.helpers import POOL_ADDRESS, FakeNode, gxc_template


def manager(**kw):
    node = FakeNode()
    clock = Clock()
    jobs = JobManager(node, algorithm=sha256d, clock=clock, **kw)
    seen = []
    jobs.add_listener(lambda job, clean: seen.append((job, clean)))
    return node, clock, jobs, seen


def test_coinbase_commits_to_height_prevhash_coinbase_txid_and_pool_address():
    template = gxc_template(height=300, prev="1f" * 32, coinbase_txid="2e" * 32)
    job = sha256d.build_job(template, "1", pool_address=POOL_ADDRESS, extranonce2_size=4)
    coinbase = job.coinb1 + b"\x00" * 8 + job.coinb2
    script_len = job.coinb1[41]
    assert script_len == len(job.coinb1) - 42 + 8          # counts both extranonces
    assert job.coinb1[42:45] == b"\x02\x2c\x01"             # BIP34: push 300 little-endian
    assert bytes.fromhex("1f" * 32)[::-1] in coinbase
    assert bytes.fromhex("2e" * 32)[::-1] in coinbase
    assert POOL_ADDRESS.encode() in job.coinb2
    other = sha256d.build_job(gxc_template(height=300, prev="1f" * 32, coinbase_txid="2f" * 32),
                              "2", pool_address=POOL_ADDRESS, extranonce2_size=4)
    assert other.coinb2 != job.coinb2


def test_extranonce2_size_is_counted_in_the_script_length():
    template = gxc_template()
    four = sha256d.build_job(template, "1", pool_address=POOL_ADDRESS, extranonce2_size=4)
    eight = sha256d.build_job(template, "1", pool_address=POOL_ADDRESS, extranonce2_size=8)
    assert eight.coinb1[41] == four.coinb1[41] + 4


def test_merkle_branch_covers_the_other_txids():
    txids = ["%064x" % (i + 1) for i in range(5)]
    template = gxc_template(txids=txids)
    job = sha256d.build_job(template, "1", pool_address=POOL_ADDRESS, extranonce2_size=4)
    coinbase = job.coinb1 + bytes(8) + job.coinb2
    # the full tree with the coinbase as leaf 0, computed the plain way
    level = [sha256d_hash(coinbase)] + [bytes.fromhex(t)[::-1] for t in txids]
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d_hash(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    assert sha256d_merkle_root(sha256d_hash(coinbase), job.merkle_branch) == level[0]


def test_notify_fields():
    template = gxc_template(prev="00000000000000022246451e9af7ac4f8bff2527d223f6e623740e92171592f2",
                            curtime=0x64b3f3ec)
    job = sha256d.build_job(template, "a", pool_address=POOL_ADDRESS, extranonce2_size=4,
                            clean_jobs=True)
    params = job.notify_params()
    assert params[0] == "a"
    assert params[1] == "171592f223740e92d223f6e68bff25279af7ac4f2246451e0000000200000000"
    assert params[5:] == ["20000000", "1d00ffff", "64b3f3ec", True]


def test_block_object_follows_the_node_contract():
    template = gxc_template(height=9, difficulty=1.0)
    job = sha256d.build_job(template, "1", pool_address=POOL_ADDRESS, extranonce2_size=4)
    # search a nonce whose display hash has floor(D) = 1 leading zero (1 in 16)
    for nonce in range(0xFFFFFF00, 2**32):
        sub = sha256d.Submission(bytes(4), bytes(4), job.ntime, nonce, job.version)
        result = sha256d.verify(job, sub, 1e-12)
        if result.block_ok:
            break
    assert result.block_ok and result.hash_hex.startswith("0")
    block, solution = sha256d.block_for(job, result, sub, pool_address=POOL_ADDRESS)
    assert block["nonce"] == nonce & 0x7FFFFFFF and 0 <= block["nonce"] < 2**31
    assert solution["nonce"] == nonce
    assert block["hash"] == result.hash_hex == result.hash_hex.lower()
    assert block["timestamp"] == job.ntime and block["difficulty"] == 1.0
    assert block["transactions"][0] is template.coinbase
    assert "consensus_type" not in block and "block_type" not in block
    assert block["miner"] == POOL_ADDRESS and block["height"] == 9
    assert bytes.fromhex(solution["header"])[76:] == struct.pack("<I", nonce)


def test_clean_jobs_only_on_a_new_tip_and_old_tip_jobs_become_stale():
    node, clock, jobs, seen = manager()
    node.push(gxc_template(prev="aa" * 32, coinbase_txid="01" * 32), True)
    node.push(gxc_template(prev="aa" * 32, coinbase_txid="02" * 32), False)
    assert [clean for _, clean in seen] == [True, False]
    first, second = seen[0][0], seen[1][0]
    assert jobs.get(first.job_id) is first and jobs.get(second.job_id) is second
    node.push(gxc_template(height=6, prev="bb" * 32), True)
    assert seen[-1][1] is True
    assert jobs.get(first.job_id) is None and jobs.is_stale(first.job_id)
    assert jobs.current_job is seen[-1][0]


def test_keeps_only_the_last_few_jobs_of_a_tip():
    node, clock, jobs, seen = manager(keep=3)
    for i in range(5):
        node.push(gxc_template(coinbase_txid="%064x" % (i + 1)), i == 0)
    ids = [job.job_id for job, _ in seen]
    assert [jobs.get(i) is not None for i in ids] == [False, False, True, True, True]
    assert len(set(ids)) == 5


def test_periodic_refresh_reissues_the_job_with_a_later_ntime():
    node, clock, jobs, seen = manager(job_refresh=30.0)
    jobs.startService()
    node.push(gxc_template(curtime=1000), True)
    clock.advance(30)
    assert len(seen) == 2
    old, new = seen[0][0], seen[1][0]
    assert new.ntime == 1030 and new.job_id != old.job_id and seen[1][1] is False
    assert new.coinb2 == old.coinb2
    node.push(gxc_template(curtime=1031, coinbase_txid="77" * 32), False)
    clock.advance(10)
    assert len(seen) == 3                  # a fresh template came: no re-issue
    jobs.stopService()


def test_mined_and_oversized_transactions_are_left_out():
    excluded = {"%064x" % 1}
    node, clock, jobs, seen = manager(excluded_txids=excluded)
    node.push(gxc_template(txids=["%064x" % i for i in range(1, 4)]), True)
    job = seen[-1][0]
    assert [tx["txid"] for tx in job.transactions] == ["%064x" % 2, "%064x" % 3]
    big = {"txid": "ff" * 32, "is_coinbase": False, "pad": "x" * 9000}
    template = gxc_template()
    template = template.__class__(**{**template.__dict__, "transactions": (big,)})
    node.push(template, False)
    assert seen[-1][0].transactions == ()


def test_no_job_without_a_pool_address():
    node, clock, jobs, seen = manager()
    node.pool_address = None
    node.push(gxc_template(), True)
    assert seen == [] and jobs.current_job is None
