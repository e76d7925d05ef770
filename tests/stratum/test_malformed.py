"""Malformed input: every broken request gets a clear error or a disconnect,
never an exception out of the protocol, and other miners are unaffected."""
import json
import os

import pytest

from gxcpoold.stratum.refusals import RefusedConnection
from tests.stratum.helpers import MINER_ADDRESS, Pool, gxc_template


@pytest.fixture
def pool():
    pool = Pool(min_difficulty=1e-9)
    pool.node.push(gxc_template(difficulty=16.0), True)
    return pool


def error_of(messages):
    (message,) = messages
    assert message["result"] is None
    return message["error"]


@pytest.mark.parametrize("line", [
    b"{not json}\n",
    b'{"id": 1, "method": "mining.subscribe", "params": [}\n',
    b"\xff\xfe\x00garbage\x80\n",
    b"[1, 2, 3]\n",
    b"42\n",
    b'"mining.subscribe"\n',
    b"[" * 5000 + b"\n",
])
def test_unparseable_lines_get_a_parse_error_and_the_connection_stays(pool, line):
    peer = pool.connect()
    code, message, _ = error_of(peer.send_line(line))
    assert code == 20 and message
    assert not peer.closed
    assert peer.call("mining.subscribe")[0]["error"] is None


@pytest.mark.parametrize("method,params,words", [
    ("mining.submit", [MINER_ADDRESS, "1", "00000000"], "mining.submit takes"),
    ("mining.submit", [MINER_ADDRESS, 1, "00000000", "00000000", "00000000"], "job_id"),
    ("mining.submit", [MINER_ADDRESS, "1", "zz", "00000000", "00000000"], "extranonce2"),
    ("mining.submit", [MINER_ADDRESS, "1", "00000000", "0000", "00000000"], "ntime"),
    ("mining.submit", [MINER_ADDRESS, "1", "00000000", "00000000", None], "nonce"),
    ("mining.submit", [MINER_ADDRESS, "1", "00", "00000000", "00000000", 7], "version_bits"),
    ("mining.authorize", [], "username"),
    ("mining.authorize", [12345, "x"], "username"),
    ("mining.subscribe", [{"agent": 1}], "user agent"),
    ("mining.suggest_difficulty", ["abc"], "difficulty"),
    ("mining.suggest_difficulty", [], "difficulty"),
    ("mining.suggest_difficulty", [-4], "difficulty"),
    ("mining.suggest_target", ["xyz"], "target"),
    ("mining.configure", ["version-rolling"], "extension"),
    ("mining.configure", [["version-rolling"], "mask"], "options"),
])
def test_wrong_param_types_and_counts(pool, method, params, words):
    peer = pool.connect()
    peer.call("mining.subscribe")
    answer, _ = peer.call(method, *params)
    code, message, _ = answer["error"]
    assert code == 20 and "Invalid params" in message and words in message
    assert not peer.closed


def test_params_that_are_not_a_list(pool):
    peer = pool.connect()
    messages = peer.send_line(b'{"id": 3, "method": "mining.subscribe", "params": {"a": 1}}\n')
    assert messages[0]["id"] == 3 and messages[0]["error"][0] == 20


def test_non_finite_numbers(pool):
    peer = pool.connect()
    messages = peer.send_line(b'{"id": 4, "method": "mining.suggest_difficulty", '
                              b'"params": [NaN]}\n')
    assert messages[0]["error"][0] == 20


def test_unknown_method_is_answered(pool):
    peer = pool.connect()
    answer, _ = peer.call("mining.make_me_rich", 1)
    assert answer["error"][0] == 20 and "Unknown method" in answer["error"][1]
    answer, _ = peer.call("mining.subscribe")
    assert answer["error"] is None


def test_method_must_be_a_string(pool):
    peer = pool.connect()
    messages = peer.send_line(b'{"id": 9, "method": 17, "params": []}\n')
    assert messages[0]["id"] == 9 and "method" in messages[0]["error"][1]


def test_huge_line_closes_the_connection(pool):
    peer = pool.connect()
    other = pool.connect(ip="10.0.0.2")
    messages = peer.send_line(b"x" * 20000)
    assert "longer than" in error_of(messages)[1]
    assert peer.closed
    other.login()
    assert other.notifications("mining.notify")


def test_huge_line_with_newline_closes_too(pool):
    peer = pool.connect()
    line = json.dumps({"id": 1, "method": "mining.subscribe", "params": ["a" * 17000]})
    peer.send_line(line.encode() + b"\n")
    assert peer.closed


def test_response_objects_from_the_miner_are_ignored(pool):
    peer = pool.connect()
    assert peer.send_line(b'{"id": 1, "result": "cgminer/4.12", "error": null}\n') == []
    assert not peer.closed


def test_random_binary_does_not_break_the_server(pool):
    rng = __import__("random").Random(5)
    peers = [pool.connect(ip="10.1.0.%d" % i) for i in range(20)]
    for peer in peers:
        peer.protocol.dataReceived(bytes(rng.randrange(256) for _ in range(3000)))
    good = pool.connect(ip="10.2.0.1")
    good.login()
    assert good.notifications("mining.notify")


def test_flood_of_malformed_messages_bans_the_ip(pool):
    peer = pool.connect(ip="10.9.9.9")
    for _ in range(25):
        peer.send_line(b"nonsense\n")
    assert peer.closed
    assert peer.notifications("client.show_message") == [[
        "gxcpool: disconnected: 10.9.9.9 is banned for 10 more minutes (20 malformed messages)"]]
    assert refused(pool.connect(ip="10.9.9.9", port=2))       # refused while banned
    assert not refused(pool.connect(ip="10.9.9.8"))
    pool.clock.advance(pool.service.settings.ban_seconds + 1)
    assert not refused(pool.connect(ip="10.9.9.9", port=3))


def refused(peer):
    """A refused connection reads one client.show_message line and no session is made."""
    return isinstance(peer.protocol, RefusedConnection)


def test_mostly_invalid_shares_ban_the_ip(pool):
    peer = pool.connect(ip="10.9.9.7")
    peer.login(password="d=1")
    job = pool.jobs.current_job
    for nonce in range(60):
        if peer.closed:
            break
        peer.call("mining.submit", MINER_ADDRESS + ".rig1", job.job_id, "00000000",
                  "%08x" % job.ntime, "%08x" % nonce)
    assert peer.closed and pool.service.bans.is_banned("10.9.9.7")


def test_stale_shares_do_not_ban(pool):
    peer = pool.connect(ip="10.9.9.6")
    peer.login()
    for nonce in range(80):
        answer, _ = peer.call("mining.submit", MINER_ADDRESS + ".rig1", "dead", "00000000",
                              "00000000", "%08x" % nonce)
        assert answer["error"][0] == 21
    assert not peer.closed


def test_connections_per_ip_are_capped(pool):
    pool = Pool(max_connections_per_ip=3)
    peers = [pool.connect(ip="10.3.3.3", port=p) for p in range(4)]
    assert [refused(p) for p in peers] == [False, False, False, True]
    (message,) = peers[3].read()
    assert message["method"] == "client.show_message"
    assert "10.3.3.3 already has 3 connections" in message["params"][0]
    peers[0].protocol.connectionLost(None)
    assert not refused(pool.connect(ip="10.3.3.3", port=9))


def test_fast_clients_are_slowed_down_not_dropped(pool):
    pool = Pool(requests_per_second=10.0)
    peer = pool.connect()
    burst = b"".join(json.dumps({"id": i, "method": "mining.ping", "params": []}).encode()
                     + b"\n" for i in range(100))
    answered = len(peer.send_line(burst))
    assert answered < 100 and peer.transport.producerState == "paused"
    for _ in range(20):
        pool.clock.advance(1.0)
        answered += len(peer.read())
    assert answered == 100 and not peer.closed


def test_internal_errors_cost_only_the_request(pool, monkeypatch):
    peer = pool.connect()
    monkeypatch.setattr(type(peer.protocol.dialect), "ping", lambda self, params: 1 / 0)
    answer, _ = peer.call("mining.ping")
    assert answer["error"][0] == 20 and "Internal" in answer["error"][1]
    assert peer.call("mining.subscribe")[0]["error"] is None
