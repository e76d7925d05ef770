"""Numbers a hostile peer can send: every one is refused with one clear error,
counts as malformed (so repeated abuse is banned) and never reaches the
"pool bug" path that logs a traceback.  A small fuzz run sends random JSON
to every method."""
import json
import random

import pytest
from twisted.logger import LogLevel, globalLogPublisher

from gxcpoold.stratum.bans import MALFORMED_LIMIT
from gxcpoold.stratum.dialects.v1 import StratumV1
from tests.stratum.helpers import MINER_ADDRESS, Pool, gxc_template

HUGE = "9" * 400                  # json.loads gives an exact 400-digit int


@pytest.fixture
def pool():
    pool = Pool(min_difficulty=1e-9)
    pool.node.push(gxc_template(difficulty=16.0), True)
    return pool


@pytest.fixture
def bad_log_events():
    """Critical events and logged failures (tracebacks) seen during the test."""
    seen = []

    def observer(event):
        if event.get("log_failure") is not None or event.get("log_level") == LogLevel.critical:
            seen.append(event)
    globalLogPublisher.addObserver(observer)
    yield seen
    globalLogPublisher.removeObserver(observer)


def raw_call(peer, request_id, method, params_json):
    """Send params written as raw JSON text (so NaN, 1e400 and 400-digit ints go out as is)."""
    line = '{"id": %d, "method": "%s", "params": %s}\n' % (request_id, method, params_json)
    replies = [m for m in peer.send_line(line.encode()) if m.get("id") == request_id]
    assert len(replies) == 1, replies
    return replies[0]


@pytest.mark.parametrize("params_json", [
    "[%s]" % HUGE, "[-%s]" % HUGE, "[1e400]", "[-1e400]", "[NaN]", "[Infinity]",
    "[-Infinity]", "[true]", "[false]", "[0]", "[[1]]", "[{\"d\": 1}]", "[null]",
])
def test_suggest_difficulty_refuses_every_non_number(pool, bad_log_events, params_json):
    peer = pool.connect()
    peer.login()
    answer = raw_call(peer, 7, "mining.suggest_difficulty", params_json)
    code, message, _ = answer["error"]
    assert code == 20 and message == "Invalid params: difficulty must be a positive number"
    assert peer.protocol.malformed_count == 1
    assert not peer.closed and bad_log_events == []


@pytest.mark.parametrize("value", [HUGE, "-" + HUGE, "1e400", "NaN", "Infinity", "true",
                                   "\"8\"", "-1"])
def test_configure_minimum_difficulty_refuses_every_non_number(pool, bad_log_events, value):
    peer = pool.connect()
    peer.call("mining.subscribe")
    answer = raw_call(peer, 3, "mining.configure",
                      '[["minimum-difficulty", "version-rolling"], '
                      '{"minimum-difficulty.value": %s}]' % value)
    result = answer["result"]
    assert result["minimum-difficulty"] == "minimum-difficulty.value must be a number"
    assert result["version-rolling"] is True          # the other extension still answered
    assert peer.protocol.malformed_count == 1 and bad_log_events == []


@pytest.mark.parametrize("password, words", [
    ("d=" + HUGE, "positive number"), ("x,d=1e400", "positive number"),
    ("d=nan", "positive number"), ("d=-inf", "positive number"), ("d=0", "positive number"),
    ("d=0x10", "not a number"), ("d=", "not a number"),
])
def test_password_difficulty_refuses_every_non_number(pool, bad_log_events, password, words):
    peer = pool.connect()
    peer.call("mining.subscribe")
    answer, _ = peer.call("mining.authorize", MINER_ADDRESS + ".rig1", password)
    code, message, _ = answer["error"]
    assert code == 24 and words in message
    assert peer.protocol.malformed_count == 1 and bad_log_events == []


def test_suggest_target_refuses_zero_and_non_hex(pool, bad_log_events):
    peer = pool.connect()
    peer.login()
    for target in ("0" * 64, "1" * 65, "", "g", HUGE):
        answer, _ = peer.call("mining.suggest_target", target)
        assert answer["error"][0] == 20 and "target" in answer["error"][1]
    answer, _ = peer.call("mining.suggest_target", 12)
    assert answer["error"][0] == 20
    assert bad_log_events == []


def test_huge_numbers_sent_again_and_again_get_the_ip_banned(pool, bad_log_events):
    peer = pool.connect(ip="10.7.7.7")
    peer.login()
    for i in range(MALFORMED_LIMIT + 5):
        if peer.closed:
            break
        raw_call(peer, i, "mining.suggest_difficulty", "[%s]" % HUGE)
    assert peer.closed and pool.service.bans.is_banned("10.7.7.7")
    assert peer.protocol.malformed_count == MALFORMED_LIMIT
    assert bad_log_events == []


def test_accepted_huge_but_finite_numbers_are_clamped(pool, bad_log_events):
    peer = pool.connect()
    peer.login()
    answer, pushes = peer.call("mining.suggest_difficulty", 1e300)
    assert answer["result"] is True
    (difficulty,) = pushes[0]["params"]
    assert 0 < difficulty <= pool.service.settings.max_difficulty
    answer, _ = peer.call("mining.suggest_difficulty", 5e-324)
    assert answer["result"] is True and bad_log_events == []


# ---------------------------------------------------------------- fuzz

def random_value(rng, depth=0):
    kind = rng.randrange(12 if depth < 2 else 9)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.randint(-2**70, 2**70)
    if kind == 3:
        return int(rng.choice(["9", "1", "7"]) * rng.randrange(300, 500))
    if kind == 4:
        return rng.choice([0.0, -0.0, 1e-320, 1e308, -1.5, 3.25, float("nan"), float("inf"),
                           float("-inf")])
    if kind == 5:
        return rng.choice(["", "x", "00000000", "ffffffff", "1", "0" * 64, "zz" * 4,
                           MINER_ADDRESS, MINER_ADDRESS + ".rig1", "d=" + "9" * 400,
                           "version-rolling", "minimum-difficulty", "subscribe-extranonce"])
    if kind == 6:
        return "%08x" % rng.getrandbits(32)
    if kind == 7:
        return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(20)))
    if kind == 8:
        return rng.randrange(-3, 100)
    if kind in (9, 10):
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["version-rolling.mask", "minimum-difficulty.value", "version-rolling.min-bit-count",
            "x"]
    return {rng.choice(keys): random_value(rng, depth + 1) for _ in range(rng.randrange(3))}


def random_params(rng, method):
    if method == "mining.configure" and rng.random() < 0.5:
        extensions = rng.sample(["version-rolling", "minimum-difficulty", "subscribe-extranonce",
                                 "info"], rng.randrange(1, 4))
        return [extensions, random_value(rng, 1) if rng.random() < 0.3 else {
            "minimum-difficulty.value": random_value(rng, 2),
            "version-rolling.mask": random_value(rng, 2)}]
    return [random_value(rng) for _ in range(rng.randrange(7))]


def test_fuzz_every_method_with_random_json(pool, bad_log_events):
    rng = random.Random(20261201)
    methods = sorted(StratumV1.HANDLERS)
    job = pool.jobs.current_job
    peer, ip_counter, answered = None, 0, 0
    for n in range(3000):
        if peer is None or peer.closed:
            ip_counter += 1
            peer = pool.connect(ip="10.66.%d.%d" % (ip_counter // 250, ip_counter % 250))
            if ip_counter % 2:
                peer.login()        # half the connections are working miners
        method = rng.choice(methods)
        params = random_params(rng, method)
        if method == "mining.submit" and rng.random() < 0.5 and len(params) >= 5:
            params[1] = job.job_id  # reach the share check, not only "job not found"
        line = json.dumps({"id": n, "method": method, "params": params}).encode() + b"\n"
        replies = [m for m in peer.send_line(line) if m.get("id") == n]
        assert len(replies) == 1, (method, params, replies)
        if replies[0]["error"] is not None:
            assert "Internal" not in replies[0]["error"][1], (method, params, replies)
        answered += 1
        pool.clock.advance(0.05)
    assert bad_log_events == []
    assert answered == 3000
    fresh = pool.connect(ip="10.77.0.1")
    fresh.login()
    assert fresh.call("mining.ping")[0]["result"] == "pong"


def test_one_connection_cannot_authorize_workers_without_end(pool):
    from gxcpoold.stratum.session import MAX_WORKERS
    peer = pool.connect()
    peer.call("mining.subscribe")
    for n in range(MAX_WORKERS):
        assert peer.call("mining.authorize", "%s.w%d" % (MINER_ADDRESS, n), "x")[0]["result"]
        pool.clock.advance(0.05)            # within the request rate limit
    answer, _ = peer.call("mining.authorize", MINER_ADDRESS + ".one-too-many", "x")
    assert answer["error"][0] == 24 and "at most %d workers" % MAX_WORKERS in answer["error"][1]
    assert peer.call("mining.authorize", MINER_ADDRESS + ".w0", "x")[0]["result"] is True
    assert len(peer.protocol.workers) == MAX_WORKERS
