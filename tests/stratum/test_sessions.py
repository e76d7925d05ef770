"""Stratum sessions: the state machine, share outcomes, difficulty handling."""
import pytest

from gxcpoold.algorithms import sha256d
from tests.stratum.helpers import MINER_ADDRESS, Pool, gxc_template


def pool_with_job(difficulty=16.0, **kw):
    kw.setdefault("min_difficulty", 1e-9)
    pool = Pool(**kw)
    pool.node.push(gxc_template(difficulty=difficulty), True)
    return pool


def find_share(peer, job, difficulty, want_block=None, start=0):
    """Hash nonces like a miner until one meets `difficulty` (and, if asked,
    is or is not a block); returns the submit params."""
    en1 = bytes.fromhex(peer.protocol.extranonce1.hex())
    for nonce in range(start, start + 1_000_000):
        sub = sha256d.Submission(en1, bytes(4), job.ntime, nonce, job.version)
        result = sha256d.verify(job, sub, difficulty)
        if result.share_ok and (want_block is None or result.block_ok == want_block):
            return [MINER_ADDRESS + ".rig1", job.job_id, "00000000", "%08x" % job.ntime,
                    "%08x" % nonce]
    raise AssertionError("no share found")


def test_login_sends_difficulty_then_notify():
    pool = pool_with_job()
    peer = pool.connect()
    (sub_result, pushes) = peer.login()
    en1 = sub_result[1]
    assert len(en1) == 8 and en1[:2] == "00"               # instance id 0 in the top byte
    assert sub_result[2] == 4
    assert [m["method"] for m in pushes] == ["mining.set_difficulty", "mining.notify"]
    assert pushes[1]["params"][0] == pool.jobs.current_job.job_id


def test_extranonce1_is_unique_and_carries_the_instance_id():
    pool = Pool()
    pool.service.extranonces.__init__(instance_id=7)
    seen = set()
    for i in range(50):
        peer = pool.connect(port=1000 + i)
        result, _ = peer.call("mining.subscribe")
        seen.add(result["result"][1])
    assert len(seen) == 50 and all(e.startswith("07") for e in seen)


def test_extranonce2_size_is_configurable():
    pool = pool_with_job(extranonce2_size=8)
    peer = pool.connect()
    result, _ = peer.login()
    assert result[2] == 8
    params = [MINER_ADDRESS + ".rig1", pool.jobs.current_job.job_id, "00000000",
              "%08x" % pool.jobs.current_job.ntime, "00000000"]
    answer, _ = peer.call("mining.submit", *params)
    assert answer["error"][0] == 20 and "extranonce2" in answer["error"][1]


def test_submit_before_subscribe_and_before_authorize():
    pool = pool_with_job()
    peer = pool.connect()
    params = [MINER_ADDRESS + ".rig1", "1", "00000000", "00000000", "00000000"]
    answer, _ = peer.call("mining.submit", *params)
    assert answer["error"][0] == 25 and answer["result"] is None
    peer.call("mining.subscribe")
    answer, _ = peer.call("mining.submit", *params)
    assert answer["error"][0] == 24
    assert not peer.closed


def test_bad_address_is_unauthorized_with_the_reason():
    pool = pool_with_job()
    peer = pool.connect()
    peer.call("mining.subscribe")
    answer, pushes = peer.call("mining.authorize", "GXC" + "ab" * 17 + ".w", "x")
    assert answer["error"][0] == 24 and "mainnet" in answer["error"][1]
    answer, _ = peer.call("mining.authorize", "tb1qumezefzdeqqwn5zfvgdrhxjzc5ylr39uhuxcz4", "x")
    assert answer["error"][0] == 24
    assert pushes == [] and not peer.protocol.working


def test_accepted_share_is_recorded_with_its_work():
    pool = pool_with_job()
    peer = pool.connect()
    peer.login(password="d=1e-06")
    params = find_share(peer, pool.jobs.current_job, 1e-06, want_block=False)
    answer, _ = peer.call("mining.submit", *params)
    assert answer == {"id": answer["id"], "result": True, "error": None}
    (share,) = pool.sink.shares
    assert share.difficulty == 1e-06 and share.work == round(1e-06 * 2**32) == 4295
    assert share.address == MINER_ADDRESS and share.worker == "rig1"
    assert share.algorithm == "sha256d" and share.height == 5 and not share.is_block


def test_duplicate_low_difficulty_stale_and_unknown_job():
    pool = pool_with_job()
    peer = pool.connect()
    peer.login(password="d=1e-06")
    job = pool.jobs.current_job
    job_id = job.job_id
    params = find_share(peer, job, 1e-06, want_block=False)
    assert peer.call("mining.submit", *params)[0]["result"] is True
    assert peer.call("mining.submit", *params)[0]["error"][0] == 22
    low = params[:4] + ["%08x" % (int(params[4], 16) + 1)]
    answer, _ = peer.call("mining.submit", *low)
    assert answer["error"][0] == 23 and "Low difficulty" in answer["error"][1]
    answer, _ = peer.call("mining.submit", *(params[:1] + ["ffff"] + params[2:]))
    assert answer["error"][0] == 21 and "not found" in answer["error"][1]
    pool.node.push(gxc_template(height=6, prev="cd" * 32), True)
    other = find_share(peer, job, 1e-06, start=int(params[4], 16) + 1)
    answer, _ = peer.call("mining.submit", *other)
    assert answer["error"][0] == 21 and "Stale" in answer["error"][1]
    assert len(pool.sink.shares) == 1


def test_ntime_window():
    pool = pool_with_job()
    peer = pool.connect()
    peer.login()
    job = pool.jobs.current_job
    for ntime in (job.ntime - 1, job.ntime + 7001):
        answer, _ = peer.call("mining.submit", MINER_ADDRESS + ".rig1", job.job_id, "00000000",
                              "%08x" % ntime, "00000000")
        assert answer["error"][0] == 20 and "Ntime" in answer["error"][1]


def test_a_block_is_handed_to_the_submitter():
    pool = pool_with_job(difficulty=2.0)
    peer = pool.connect()
    peer.login(password="d=1e-06")
    params = find_share(peer, pool.jobs.current_job, 1e-06, want_block=True)
    assert peer.call("mining.submit", *params)[0]["result"] is True
    (candidate,) = pool.blocks
    assert candidate.hash.startswith("00") and candidate.height == 5
    assert candidate.block["hash"] == candidate.hash
    assert candidate.block["miner"] == pool.node.pool_address
    assert candidate.solution["extranonce1"] == peer.protocol.extranonce1.hex()
    assert pool.sink.shares[0].is_block


def test_difficulty_change_applies_with_the_next_job_and_old_shares_still_count():
    pool = pool_with_job()
    peer = pool.connect()
    peer.login(password="d=1e-06")
    # find a share worth 1e-06 but not 1.0, then raise the difficulty
    params = find_share(peer, pool.jobs.current_job, 1e-06)
    peer.call("mining.suggest_difficulty", 1.0)
    assert peer.notifications("mining.set_difficulty")[-1] == [1]
    answer, _ = peer.call("mining.submit", *params)
    assert answer["result"] is True
    assert pool.sink.shares[-1].difficulty == 1e-06      # credited at what it meets
    pool.node.push(gxc_template(coinbase_txid="99" * 32), False)
    params = find_share(peer, pool.jobs.current_job, 1e-06)
    answer, _ = peer.call("mining.submit", *params)
    assert answer["error"][0] == 23


def test_configure_unknown_extension_and_minimum_difficulty():
    pool = pool_with_job()
    peer = pool.connect()
    answer, _ = peer.call("mining.configure", ["version-rolling", "minimum-difficulty", "x-foo"],
                          {"version-rolling.mask": "00ffe000",
                           "minimum-difficulty.value": 2048})
    assert answer["result"] == {"version-rolling": True, "version-rolling.mask": "00ffe000",
                                "minimum-difficulty": True, "x-foo": False}
    peer.login()
    assert peer.notifications("mining.set_difficulty")[-1] == [2048]


def test_extranonce_subscribe_and_small_methods():
    pool = pool_with_job()
    peer = pool.connect()
    assert peer.call("mining.extranonce.subscribe")[0]["result"] is True
    assert peer.call("mining.ping")[0]["result"] == "pong"
    assert peer.call("mining.get_transactions", "1")[0]["result"] == []


def test_suggest_difficulty_is_clamped_to_the_network():
    # vardiff.py: a miner's own floor never lifts the ceiling (it would hide blocks)
    pool = pool_with_job(difficulty=6.0)
    peer = pool.connect()
    peer.login()
    peer.call("mining.suggest_difficulty", 1e9)
    ceiling = pool.jobs.current_job.network_difficulty
    assert peer.notifications("mining.set_difficulty")[-1] == [ceiling]
    assert ceiling == pytest.approx(0xFFFF * 2.0 ** (24 - 48))


def test_shutdown_sends_client_reconnect():
    pool = pool_with_job()
    peer = pool.connect()
    peer.login()
    pool.service.port = None
    pool.service.running = True
    pool.service.stopService()
    peer.read()
    assert peer.notifications("client.reconnect") == [[]]
    assert peer.closed


def test_idle_connection_is_closed():
    pool = pool_with_job(idle_timeout=10.0)
    idle, working = pool.connect(port=1), pool.connect(port=2)
    working.login()
    pool.clock.advance(11)
    assert idle.closed and not working.closed


def test_reload_applies_difficulty_and_abuse_limits_to_connected_miners():
    """SIGHUP's reconfigure: connected miners keep their connection and get the new limits."""
    import dataclasses
    from gxcpoold.config import load_config
    pool = pool_with_job(start_difficulty=1.0, min_difficulty=0.5, max_difficulty=1000.0)
    peer = pool.connect()
    peer.login()
    assert peer.notifications("mining.set_difficulty")[-1] == [1]
    config = load_config(None, environ={})
    new = dataclasses.replace(pool.service.settings, min_difficulty=8.0, max_difficulty=64.0,
                              max_line_bytes=1024, ban_seconds=7.0, max_connections_per_ip=3)
    config = dataclasses.replace(
        config, stratum=dict(config.stratum, sha256d=new),
        pool=dataclasses.replace(config.pool, miner_address_check="lenient"))
    pool.service.reconfigure(config)
    peer.read()
    # The current difficulty is below the new minimum: raised and announced with a job.
    assert peer.notifications("mining.set_difficulty")[-1] == [8]
    assert peer.received[-1]["method"] == "mining.notify"
    assert not peer.closed
    pool.service.ban("10.7.7.7", "a test")
    assert pool.service.bans.ban_of("10.7.7.7") == ("a test", 7.0)
    assert pool.service.connections.limit == 3
    assert pool.service.lenient is True
    # The new line limit holds for the connection that was already open.
    peer.send_line(b'{"id":1,"method":"mining.subscribe","params":["' + b"x" * 2000 + b'"]}\n')
    assert peer.closed
    # New connections start inside the new bounds.
    newcomer = pool.connect(port=40001)
    newcomer.login()
    assert newcomer.notifications("mining.set_difficulty")[-1] == [8]
