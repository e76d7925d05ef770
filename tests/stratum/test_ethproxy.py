"""eth-proxy on the ethash port, driven line by line the way spec/ethash.md
section 3.2 shows the messages: the login shapes of T-Rex, PhoenixMiner,
Claymore and ethminer, work with the target for the connection's
difficulty (checked against the published conventions), pushes with id 0,
submissions found by header hash and checked by the real ethash verify
(light cache of epoch 0), JSON-RPC 2.0 errors for everything broken or out
of order on a connection that stays open, with nothing logged as an error.
(The real-socket run of both ethash dialects is in test_ethstratum.py.)"""
import json
from pathlib import Path

import pytest

from gxcpoold.hashers.ethash import ethash_seedhash
from tests.stratum.ethash_pool import USERNAME, EthashPool, LogWatch, find_nonce
from tests.stratum.helpers import MINER_ADDRESS, settings

VECTORS = json.loads((Path(__file__).resolve().parent.parent / "vectors" / "ethash.json")
                     .read_text())
RAW_TARGETS = [c for c in VECTORS["difficulty_boundary"]["pool_share_conventions"]["cases"]
               if c["convention"].startswith("raw_hashes")]
SEED = "0x" + ethash_seedhash(0).hex()
ETH_ADDRESS = "0x" + "9f3a" * 10


@pytest.fixture
def pool():
    pool = EthashPool()
    pool.push()
    yield pool
    pool.stop()


@pytest.fixture(autouse=True)
def no_errors_logged():
    with LogWatch() as watch:
        yield
    assert watch.events == []


def login(peer, password="x"):
    """eth_submitLogin as T-Rex sends it; the work pushed after the answer."""
    reply, push = peer.send({"id": 1, "jsonrpc": "2.0", "method": "eth_submitLogin",
                             "params": [MINER_ADDRESS, password], "worker": "rig1"})
    assert reply == {"id": 1, "jsonrpc": "2.0", "result": True}
    assert push["id"] == 0 and "method" not in push
    return push["result"]


def login_ok(peer):
    """A login that works, with its work for epoch 0."""
    return login(peer)[1] == SEED


def submit(peer, nonce, header, mix, request_id=40):
    return peer.send({"id": request_id, "jsonrpc": "2.0", "method": "eth_submitWork",
                      "params": ["0x%016x" % nonce, header, "0x" + mix.hex()],
                      "worker": "rig1"})


def solve(work, difficulty, share=True, first=0):
    """(nonce, mix, final) for a work item, meeting (or missing) difficulty."""
    return find_nonce(bytes.fromhex(work[0][2:]), difficulty, share=share, first=first)


def answer(pool, peer):
    pool.run_checks()
    (reply,) = peer.read()
    return reply


def error(reply, request_id=40):
    """The {"code", "message"} of a JSON-RPC 2.0 error reply."""
    assert reply["id"] == request_id and reply["jsonrpc"] == "2.0"
    assert reply["result"] is None and set(reply["error"]) == {"code", "message"}
    return reply["error"]["code"], reply["error"]["message"]


# ---------------------------------------------------------------- handshake

def test_handshake_line_by_line(pool):
    peer = pool.connect()
    got = peer.exchange(('{"id":1,"jsonrpc":"2.0","method":"eth_submitLogin","params":["%s"],'
                         '"worker":"rig1"}\n' % MINER_ADDRESS).encode())
    job = pool.jobs.current_job
    header = "0x" + job.header_hash(peer.session.extranonce1).hex()
    target = "0x0000000100000000000000000000000000000000000000000000000000000000"
    work = '["%s","%s","%s","0x5"]' % (header, SEED, target)      # 2**32 hashes, height 5
    assert got == ('{"id":1,"jsonrpc":"2.0","result":true}\n'
                   '{"id":0,"jsonrpc":"2.0","result":%s}\n' % work).encode()
    assert peer.session.workers == {USERNAME: (MINER_ADDRESS, "rig1")}

    assert peer.exchange(b'{"id":5,"jsonrpc":"2.0","method":"eth_getWork","params":[]}\n') \
        == ('{"id":5,"jsonrpc":"2.0","result":%s}\n' % work).encode()

    assert peer.exchange(('{"id":9,"jsonrpc":"2.0","method":"eth_submitHashrate","params":'
                          '["0x%064x","0x%s"]}\n' % (987_654_321, "cd" * 32)).encode()) \
        == b'{"id":9,"jsonrpc":"2.0","result":true}\n'
    assert peer.session.reported_hashrate == 987_654_321

    # a real hash, far from 2**32 hashes' worth: a JSON-RPC 2.0 refusal
    nonce, mix, _ = solve(json.loads(work), 2**32, share=False)
    line = ('{"id":40,"jsonrpc":"2.0","method":"eth_submitWork","params":["0x%016x","%s","0x%s"],'
            '"worker":"rig1"}\n' % (nonce, header, mix.hex())).encode()
    assert peer.exchange(line) == b""
    code, message = error(answer(pool, peer))
    assert code == 23 and message.startswith("Low difficulty share")
    assert not peer.closed


def test_ethminer_requests_without_jsonrpc(pool):
    peer = pool.connect()
    reply, push = peer.send({"id": 1, "method": "eth_submitLogin",
                             "params": [USERNAME, "x"]})
    assert reply == {"id": 1, "jsonrpc": "2.0", "result": True}
    (reply,) = peer.send({"id": 5, "method": "eth_getWork", "params": []})
    assert reply == {"id": 5, "jsonrpc": "2.0", "result": push["result"]}


@pytest.mark.parametrize("params,worker_member,username", [
    ([MINER_ADDRESS], "bar", MINER_ADDRESS + ".bar"),                   # T-Rex
    ([MINER_ADDRESS + ".bar", "passwd"], "eth1.0", MINER_ADDRESS + ".bar"),  # PhoenixMiner
    ([MINER_ADDRESS + ".bar"], None, MINER_ADDRESS + ".bar"),           # ethminer
    ([MINER_ADDRESS, "x"], None, MINER_ADDRESS),
], ids=["t-rex", "phoenixminer", "ethminer", "bare-address"])
def test_login_forms_become_address_dot_worker(pool, params, worker_member, username):
    peer = pool.connect()
    request = {"id": 1, "jsonrpc": "2.0", "method": "eth_submitLogin", "params": params}
    if worker_member is not None:
        request["worker"] = worker_member
    reply, push = peer.send(request)
    assert reply["result"] is True and push["id"] == 0
    address, _, worker = username.partition(".")
    assert peer.session.workers == {username: (address, worker)}


@pytest.mark.parametrize("login,words", [
    (ETH_ADDRESS + ".rig", ETH_ADDRESS + " is an Ethereum address"),     # Claymore
    (ETH_ADDRESS, "Ethereum address"),
    ("foo.rig", "not a testnet address"),
    ("GXC" + "0" * 34 + ".rig", "mainnet address"),
])
def test_a_login_that_is_not_a_gxc_address_is_refused(pool, login, words):
    peer = pool.connect()
    (reply,) = peer.send({"id": 1, "jsonrpc": "2.0", "method": "eth_submitLogin",
                          "params": [login, "x"], "worker": "eth1.0"})
    code, message = error(reply, 1)
    assert code == 24 and message.startswith("Invalid login: ") and words in message
    assert not peer.closed
    (reply,) = peer.send({"id": 5, "jsonrpc": "2.0", "method": "eth_getWork", "params": []})
    assert error(reply, 5)[0] == 25
    assert login_ok(peer)


def test_get_work_before_login_and_before_any_job():
    pool = EthashPool()
    try:
        peer = pool.connect()
        (reply,) = peer.send({"id": 5, "jsonrpc": "2.0", "method": "eth_getWork", "params": []})
        assert reply == {"id": 5, "jsonrpc": "2.0", "result": None,
                         "error": {"code": 25, "message": "Not logged in: send eth_submitLogin "
                                                          "first"}}
        (reply,) = peer.send({"id": 1, "jsonrpc": "2.0", "method": "eth_submitLogin",
                              "params": [USERNAME]})
        assert reply["result"] is True                     # no job yet: nothing pushed
        (reply,) = peer.send({"id": 5, "jsonrpc": "2.0", "method": "eth_getWork", "params": []})
        assert error(reply, 5) == (0, "Work not ready")
        job = pool.push()
        (push,) = peer.read()
        assert push["id"] == 0
        assert push["result"][0] == "0x" + job.header_hash(peer.session.extranonce1).hex()
    finally:
        pool.stop()


@pytest.mark.parametrize("case", RAW_TARGETS, ids=lambda c: str(c["D"]))
def test_the_target_on_the_wire_for_a_known_difficulty(pool, case):
    peer = pool.connect()
    work = login(peer, "d=%d" % case["D"])
    assert work[2] == "0x" + case["target_hex"]
    assert len(work[2]) == 66


# ---------------------------------------------------------------- shares

def test_a_share_is_accepted_and_credited_in_hashes(pool):
    peer = pool.connect()
    work = login(peer, "d=16")
    nonce, mix, final = solve(work, 16)
    assert submit(peer, nonce, work[0], mix) == []          # being checked off the reactor
    assert answer(pool, peer) == {"id": 40, "jsonrpc": "2.0", "result": True}
    (record,) = pool.sink.shares
    assert (record.algorithm, record.address, record.worker) == ("ethash", MINER_ADDRESS, "rig1")
    assert (record.difficulty, record.work, record.height) == (16, 16, 5)
    assert record.hash == final.hex() and not record.is_block


def test_a_wrong_mix_is_refused(pool):
    peer = pool.connect()
    work = login(peer, "d=16")
    nonce, mix, _ = solve(work, 16)
    submit(peer, nonce, work[0], bytes([mix[0] ^ 1]) + mix[1:])
    assert error(answer(pool, peer)) == (20, "Invalid mix hash")
    assert len(pool.sink.shares) == 0


def test_a_duplicate_is_refused(pool):
    peer = pool.connect()
    work = login(peer, "d=16")
    nonce, mix, _ = solve(work, 16)
    submit(peer, nonce, work[0], mix)
    assert answer(pool, peer)["result"] is True
    (reply,) = submit(peer, nonce, work[0].upper().replace("0X", "0x"), mix, 41)
    assert error(reply, 41) == (22, "Duplicate share")
    assert len(pool.sink.shares) == 1


def test_a_share_below_the_difficulty_is_refused(pool):
    peer = pool.connect()
    work = login(peer, "d=16")
    nonce, mix, _ = solve(work, 16, share=False)
    submit(peer, nonce, work[0], mix)
    code, message = error(answer(pool, peer))
    assert code == 23 and "Low difficulty share" in message
    assert len(pool.sink.shares) == 0


def test_jobs_are_found_by_header_and_go_stale_with_a_new_tip(pool):
    peer = pool.connect()
    old = login(peer, "d=16")
    # a refreshed template on the same tip: new work, the old header still counts
    pool.push(new_tip=False, curtime=1_800_000_030)
    (push,) = peer.read()
    assert push["id"] == 0 and push["result"][0] != old[0]
    nonce, mix, _ = solve(old, 16)
    submit(peer, nonce, old[0], mix)
    assert answer(pool, peer)["result"] is True
    nonce, mix, _ = solve(push["result"], 16)
    submit(peer, nonce, push["result"][0], mix, 41)
    assert answer(pool, peer)["result"] is True
    # a new tip: both are stale now
    pool.push(prev="cd" * 32)
    (fresh,) = peer.read()
    nonce, mix, _ = solve(old, 16, first=nonce + 1)
    (reply,) = submit(peer, nonce, old[0], mix, 42)
    code, message = error(reply, 42)
    assert code == 21 and "Stale" in message
    (reply,) = submit(peer, nonce, "0x" + "5a" * 32, mix, 43)
    assert error(reply, 43) == (21, "Stale share: not the header hash of a recent job")
    assert fresh["result"][0] not in (old[0], push["result"][0])
    assert not peer.closed


def test_work_is_pushed_again_when_the_difficulty_changes(pool):
    peer = pool.connect()
    work = login(peer)
    peer.session.reconfigure(settings(min_difficulty=2.0**34, start_difficulty=2.0**34,
                                      max_difficulty=1e16))
    (push,) = peer.read()
    assert push == {"id": 0, "jsonrpc": "2.0",
                    "result": [work[0], SEED, "0x%064x" % (2**256 // 2**34), "0x5"]}


def test_later_logins_take_the_shares(pool):
    peer = pool.connect()
    work = login(peer, "d=16")
    (reply,) = peer.send({"id": 2, "jsonrpc": "2.0", "method": "eth_submitLogin",
                          "params": [MINER_ADDRESS + ".rig2", "x"]})
    assert reply["result"] is True
    nonce, mix, _ = solve(work, 16)
    submit(peer, nonce, work[0], mix)
    assert answer(pool, peer)["result"] is True
    assert pool.sink.shares[-1].worker == "rig2"


def test_a_share_that_is_a_block_goes_to_the_submitter():
    pool = EthashPool()
    pool.push(difficulty=1.0)        # one leading zero: every share of 16 hashes is a block
    try:
        peer = pool.connect()
        work = login(peer, "d=16")
        nonce, mix, final = solve(work, 16, first=2**40)
        submit(peer, nonce, work[0], mix)
        assert answer(pool, peer)["result"] is True
        (candidate,) = pool.blocks
        assert candidate.hash == candidate.block["hash"] == final.hex()
        assert candidate.block["nonce"] == nonce & 0x7FFFFFFF
        assert candidate.solution["nonce"] == "%016x" % nonce
        assert candidate.solution["mix_hash"] == mix.hex()
        assert candidate.solution["header_hash"] == work[0][2:]
        assert (candidate.address, candidate.worker, candidate.work) == (MINER_ADDRESS, "rig1", 16)
    finally:
        pool.stop()


# ---------------------------------------------------------------- order and manners

def test_submit_work_before_login(pool):
    peer = pool.connect()
    (reply,) = peer.send({"id": 40, "jsonrpc": "2.0", "method": "eth_submitWork",
                          "params": ["0x" + "00" * 8, "0x" + "11" * 32, "0x" + "22" * 32]})
    assert error(reply) == (25, "Not logged in: send eth_submitLogin first")
    assert not peer.closed and login_ok(peer)


def test_hashrate_first_chooses_this_dialect(pool):
    peer = pool.connect()
    (reply,) = peer.send({"id": 9, "jsonrpc": "2.0", "method": "eth_submitHashrate",
                          "params": ["0x" + "00" * 31 + "ff", "0x" + "ab" * 32]})
    assert reply == {"id": 9, "jsonrpc": "2.0", "result": True}
    assert peer.session.reported_hashrate == 255


@pytest.mark.parametrize("method", ["eth_foo", "mining.subscribe", "mining.submit",
                                    "mining.authorize"])
def test_unknown_methods_and_the_other_dialect_get_method_not_found(pool, method):
    peer = pool.connect()
    work = login(peer)
    (reply,) = peer.send({"id": 7, "jsonrpc": "2.0", "method": method,
                          "params": ["a", "EthereumStratum/1.0.0"]})
    assert error(reply, 7) == (-3, "Unknown method %r" % method)
    assert not peer.closed
    (reply,) = peer.send({"id": 5, "jsonrpc": "2.0", "method": "eth_getWork", "params": []})
    assert reply["result"] == work


@pytest.mark.parametrize("line", [b"{not json}\n", b"\xff\xfe\x00garbage\x80\n", b"[1, 2]\n",
                                  b"42\n", b"[" * 5000 + b"\n"])
def test_unparseable_lines_get_json_rpc_errors(pool, line):
    peer = pool.connect()
    work = login(peer)
    (reply,) = peer.send_line(line)
    code, message = error(reply, None)
    assert code == 20 and message
    (reply,) = peer.send({"id": 5, "jsonrpc": "2.0", "method": "eth_getWork", "params": []})
    assert reply["result"] == work and not peer.closed


NONCE, HEADER, MIX = '"0x%s"' % ("00" * 8), '"0x%s"' % ("11" * 32), '"0x%s"' % ("22" * 32)


@pytest.mark.parametrize("line,words", [
    ('{"id":5,"method":"eth_submitWork","params":[%s,%s]}' % (NONCE, HEADER),
     "eth_submitWork takes"),
    ('{"id":5,"method":"eth_submitWork","params":["%s",%s,%s]}' % ("00" * 8, HEADER, MIX),
     "nonce"),
    ('{"id":5,"method":"eth_submitWork","params":["0x%s",%s,%s]}' % ("0" * 15, HEADER, MIX),
     "nonce"),
    ('{"id":5,"method":"eth_submitWork","params":[12345,%s,%s]}' % (HEADER, MIX), "nonce"),
    ('{"id":5,"method":"eth_submitWork","params":[1e400,%s,%s]}' % (HEADER, MIX), "nonce"),
    ('{"id":5,"method":"eth_submitWork","params":[%s,"0x%s",%s]}' % (NONCE, "1" * 63, MIX),
     "header hash"),
    ('{"id":5,"method":"eth_submitWork","params":[%s,%s,"0x%s"]}' % (NONCE, HEADER, "zz" * 32),
     "mix hash"),
    ('{"id":5,"method":"eth_submitWork","params":[%s,%s,null]}' % (NONCE, HEADER), "mix hash"),
    ('{"id":5,"method":"eth_submitWork","params":{"nonce":%s}}' % NONCE, "expected a list"),
    ('{"id":5,"method":"eth_submitLogin","params":[12345]}', "login"),
    ('{"id":5,"method":"eth_submitLogin","params":[]}', "login"),
    ('{"id":5,"method":"eth_submitLogin","params":["%s"],"worker":42}' % MINER_ADDRESS,
     "'worker' must be a string"),
    ('{"id":5,"method":"eth_submitHashrate","params":["0x%s","0x00"]}' % ("1" * 65), "hashrate"),
    ('{"id":5,"method":"eth_submitHashrate","params":[100]}', "hashrate"),
    ('{"id":5,"method":null,"params":[]}', "method"),
])
def test_broken_requests_get_errors_and_the_connection_stays(pool, line, words):
    peer = pool.connect()
    work = login(peer)
    (reply,) = peer.send_line(line.encode() + b"\n")
    code, message = error(reply, 5)
    assert code == 20 and words in message
    assert not peer.closed
    (reply,) = peer.send({"id": 5, "jsonrpc": "2.0", "method": "eth_getWork", "params": []})
    assert reply["result"] == work


def test_huge_numbers(pool):
    peer = pool.connect()
    work = login(peer, "d=16")
    big = 10**40
    (reply,) = peer.send({"id": big, "jsonrpc": "2.0", "method": "eth_getWork", "params": []})
    assert reply == {"id": big, "jsonrpc": "2.0", "result": work}
    # the largest nonce there is, and the largest hashrate: still just numbers
    nonce, mix, _ = solve(work, 16, first=2**64 - 4096)
    assert nonce < 2**64
    submit(peer, nonce, work[0], mix)
    assert answer(pool, peer)["result"] is True
    (reply,) = peer.send({"id": 9, "jsonrpc": "2.0", "method": "eth_submitHashrate",
                          "params": ["0x" + "f" * 64, "0x00"]})
    assert reply["result"] is True and peer.session.reported_hashrate == 2**256 - 1


def test_a_busy_verifier_is_a_clear_error():
    pool = EthashPool(max_pending=1)
    pool.push()
    try:
        first, second = pool.connect(), pool.connect(port=40001)
        work_a, work_b = login(first, "d=16"), login(second, "d=16")
        share_a, share_b = solve(work_a, 16), solve(work_b, 16)
        assert submit(first, share_a[0], work_a[0], share_a[1]) == []
        (reply,) = submit(second, share_b[0], work_b[0], share_b[1])
        code, message = error(reply)
        assert code == 20 and message.startswith("Busy") and "slow down" in message
        assert answer(pool, first)["result"] is True
        assert not second.closed
        submit(second, share_b[0], work_b[0], share_b[1], 41)
        assert answer(pool, second) == {"id": 41, "jsonrpc": "2.0", "result": True}
    finally:
        pool.stop()


def test_messages_are_logged_and_reconnect_closes(pool):
    peer = pool.connect()
    login(peer)
    peer.session.show_message("hello")
    assert peer.read() == []
    peer.session.reconnect()
    assert peer.closed and peer.read() == []
