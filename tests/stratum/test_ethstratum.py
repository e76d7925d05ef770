"""EthereumStratum/1.0.0 (NiceHash) on the ethash port, driven line by line
the way spec/ethash.md section 3.1 shows the messages: ethminer's ids (1, 2,
3, 40+n, 9), the per-connection header hash, NiceHash difficulty units,
shares checked by the real ethash verify (light cache of epoch 0), and
broken or out-of-order requests answered with errors on a connection that
stays open, with nothing logged as an error.  The last tests run a real
socket: both ethash dialects on one port, and the reference miner
(gxcpoold.miner) mining on each."""
import json
import tempfile
from fractions import Fraction
from pathlib import Path

import pytest
from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import Factory
from twisted.internet.threads import deferToThread
from twisted.protocols.basic import LineReceiver
from twisted.trial import unittest

from gxcpoold.algorithms import ethash
from gxcpoold.algorithms.context import AlgorithmContext
from gxcpoold.hashers.ethash import ethash_seedhash
from gxcpoold.hashers.keccak import keccak256
from gxcpoold.jobs import JobManager
from gxcpoold.shares import MemoryShareSink
from gxcpoold.stratum.service import StratumService
from tests.stratum.ethash_pool import (LIGHT_CACHES, NETWORK_D, USERNAME, EthashPool, LogWatch,
                                       find_nonce)
from tests.miner.checks import in_process_miner
from tests.miner.processes import ADDRESS as MINER_PROCESS_ADDRESS
from tests.stratum.helpers import FakeNode, gxc_template, settings
from tests.waiting import wait_for

VECTORS = json.loads((Path(__file__).resolve().parent.parent / "vectors" / "ethash.json")
                     .read_text())
CONVENTIONS = VECTORS["difficulty_boundary"]["pool_share_conventions"]["cases"]
AGENT = "ethminer/0.19.0"
HASHRATE = "0x" + "%064x" % 123_456_789
CLIENT_ID = "0x" + "ab" * 32


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


def subscribe(peer, request_id=1):
    (reply,) = peer.send({"id": request_id, "method": "mining.subscribe",
                          "params": [AGENT, "EthereumStratum/1.0.0"]})
    return reply


def login(peer, password="x"):
    """Subscribe and authorize: (extranonce1 bytes, job id, header bytes)."""
    subscribe(peer)
    reply, difficulty, notify = peer.send({"id": 3, "method": "mining.authorize",
                                           "params": [USERNAME, password]})
    assert reply == {"id": 3, "result": True, "error": None}
    assert difficulty["method"] == "mining.set_difficulty"
    job_id, _, header, _ = notify["params"]
    return peer.session.extranonce1, job_id, bytes.fromhex(header)


def submit(peer, job_id, digits, request_id=40):
    return peer.send({"id": request_id, "method": "mining.submit",
                      "params": [USERNAME, job_id, digits]})


def share(extranonce1, header, difficulty, meets=True):
    """A nonce with this connection's extranonce prefix whose final hash
    meets (or misses) difficulty -> (the 12 digits to submit, final hash)."""
    prefix = int.from_bytes(extranonce1, "big") & 0xFFFF
    nonce, _, final = find_nonce(header, difficulty, first=prefix << 48, share=meets)
    return "%012x" % (nonce & (2**48 - 1)), final


def answer(pool, peer):
    """Run the queued share checks; the one reply that results."""
    pool.run_checks()
    (reply,) = peer.read()
    return reply


# ---------------------------------------------------------------- handshake

def nicehash_unit(difficulty):
    return difficulty / 2**32


def test_handshake_line_by_line_as_ethminer_sends_it(pool):
    peer = pool.connect()
    got = peer.exchange(b'{"id":1,"method":"mining.subscribe","params":["ethminer/0.19.0",'
                        b'"EthereumStratum/1.0.0"]}\n')
    extranonce1 = peer.session.extranonce1
    extranonce = "%04x" % (int.from_bytes(extranonce1, "big") & 0xFFFF)
    assert got == ('{"id":1,"result":[["mining.notify","%s","EthereumStratum/1.0.0"],"%s"],'
                   '"error":null}\n' % (extranonce1.hex(), extranonce)).encode()
    assert peer.session.user_agent == AGENT

    assert peer.exchange(b'{"id":2,"method":"mining.extranonce.subscribe","params":[]}\n') \
        == b'{"id":2,"result":true,"error":null}\n'

    got = peer.exchange(b'{"id":3,"method":"mining.authorize","params":["%s","x"]}\n'
                        % USERNAME.encode())
    job = pool.jobs.current_job
    header = keccak256(job.commitment + extranonce1)
    assert header == job.header_hash(extranonce1)
    # the difficulty (2**32 hashes: NiceHash 1) comes before the first job
    assert got.split(b"\n") == [
        b'{"id":3,"result":true,"error":null}',
        b'{"id":null,"method":"mining.set_difficulty","params":[1.0]}',
        ('{"id":null,"method":"mining.notify","params":["%s","%s","%s",true]}'
         % (job.job_id, "00" * 32, header.hex())).encode(),
        b""]

    got = peer.exchange(('{"id":9,"jsonrpc":"2.0","method":"eth_submitHashrate",'
                         '"params":["%s","%s"]}\n' % (HASHRATE, CLIENT_ID)).encode())
    assert got == b'{"id":9,"result":true,"error":null}\n'
    assert peer.session.reported_hashrate == 123_456_789

    # GPU 0 submits (id 40): far from 2**32 hashes' worth, so a clear refusal
    digits, final = share(extranonce1, header, 2**32, meets=False)
    assert submit(peer, job.job_id, digits) == []
    reply = answer(pool, peer)
    assert reply["id"] == 40 and reply["result"] is False
    code, message, data = reply["error"]
    assert code == 23 and message.startswith("Low difficulty share") and data is None
    assert message.endswith(" < 1)"), message      # 2**32 hashes, in NiceHash's unit
    assert not peer.closed


def test_each_connection_mines_its_own_header_and_extranonce(pool):
    first, second = pool.connect(), pool.connect(port=40001)
    en_a, job_a, header_a = login(first)
    en_b, job_b, header_b = login(second)
    assert job_a == job_b and en_a != en_b and header_a != header_b
    assert subscribe(first)["result"][1] == "%04x" % (int.from_bytes(en_a, "big") & 0xFFFF)


@pytest.mark.parametrize("hashes", [2**31, 2**32, 2**34])
def test_difficulty_on_the_wire_is_nicehash_units(hashes):
    pool = EthashPool()
    pool.push()
    try:
        peer = pool.connect()
        subscribe(peer)
        messages = peer.send({"id": 3, "method": "mining.authorize",
                              "params": [USERNAME, "x,d=%d" % hashes]})
        (d_nh,) = messages[1]["params"]
        # the published conventions: the spec's target for d_nh and the
        # pool's 2**256 // hashes, which is the larger (the lenient one)
        spec = next(c for c in CONVENTIONS if c["convention"].startswith("nicehash")
                    and Fraction(c["d"]) == Fraction(d_nh))
        pool_side = next(c for c in CONVENTIONS if c["convention"].startswith("pow2_32")
                         and Fraction(c["d"]) == Fraction(d_nh))
        assert d_nh == {2**31: 0.5, 2**32: 1.0, 2**34: 4.0}[hashes]
        assert ethash.nicehash_target(d_nh) == int(spec["target_hex"], 16)
        assert ethash.share_target(hashes) == int(pool_side["target_hex"], 16)
        assert ethash.nicehash_target(d_nh) < ethash.share_target(hashes)
    finally:
        pool.stop()


# ---------------------------------------------------------------- shares

def test_a_share_is_accepted_and_credited_in_hashes(pool):
    peer = pool.connect()
    extranonce1, job_id, header = login(peer, "x,d=16")
    assert [m["params"] for m in peer.received if m.get("method") == "mining.set_difficulty"] \
        == [[nicehash_unit(16)]]
    digits, final = share(extranonce1, header, 16)
    assert submit(peer, job_id, digits, 41) == []          # being checked off the reactor
    assert answer(pool, peer) == {"id": 41, "result": True, "error": None}
    (record,) = pool.sink.shares
    # the hash the pool recorded is the final hash of extranonce + the miner's digits
    assert (record.algorithm, record.address, record.worker) == ("ethash", USERNAME[:-5], "rig1")
    assert (record.difficulty, record.work, record.height) == (16, 16, 5)
    assert record.hash == final.hex() and not record.is_block
    assert pool.blocks == []


def test_a_duplicate_is_refused_at_once(pool):
    peer = pool.connect()
    extranonce1, job_id, header = login(peer, "d=16")
    digits, _ = share(extranonce1, header, 16)
    submit(peer, job_id, digits)
    assert answer(pool, peer)["result"] is True
    (reply,) = submit(peer, job_id, digits.upper(), 42)      # same nonce, other spelling
    assert reply == {"id": 42, "result": False, "error": [22, "Duplicate share", None]}
    assert len(pool.sink.shares) == 1


def test_a_share_below_the_difficulty_is_refused(pool):
    peer = pool.connect()
    extranonce1, job_id, header = login(peer, "d=16")
    digits, final = share(extranonce1, header, 16, meets=False)
    submit(peer, job_id, digits)
    reply = answer(pool, peer)
    assert reply["error"][0] == 23 and "Low difficulty share" in reply["error"][1]
    assert len(pool.sink.shares) == 0


def test_stale_after_a_clean_job_and_valid_after_a_refresh(pool):
    peer = pool.connect()
    extranonce1, old_id, old_header = login(peer, "d=16")
    # a refreshed template on the same tip: not clean, the older job still counts
    pool.push(new_tip=False, curtime=1_800_000_030)
    (notify,) = peer.read()
    assert notify["method"] == "mining.notify" and notify["params"][3] is False
    assert notify["params"][2] != old_header.hex()
    digits, _ = share(extranonce1, old_header, 16)
    submit(peer, old_id, digits)
    assert answer(pool, peer)["result"] is True
    # a new tip: clean, and the old job is stale
    pool.push(prev="cd" * 32)
    (notify,) = peer.read()
    assert notify["params"][3] is True and notify["params"][0] != old_id
    (reply,) = submit(peer, old_id, digits, 43)
    assert reply["id"] == 43 and reply["error"][0] == 21 and "Stale" in reply["error"][1]
    (reply,) = submit(peer, "ffff", digits, 44)
    assert reply["error"] == [21, "Job not found", None]
    assert not peer.closed


@pytest.mark.parametrize("digits", ["abc", "0" * 16, "0" * 11, "zzzzzzzzzzzz", "0x" + "0" * 10])
def test_a_nonce_of_the_wrong_size_gets_a_clear_error(pool, digits):
    peer = pool.connect()
    extranonce1, job_id, _ = login(peer)
    (reply,) = submit(peer, job_id, digits)
    code, message, _ = reply["error"]
    assert code == 20 and "12 hex digits" in message
    assert ("%04x" % (int.from_bytes(extranonce1, "big") & 0xFFFF)) in message
    assert not peer.closed


def test_the_nicehash_boundary_is_met_with_the_pools_target_not_the_specs(pool):
    """A final hash between the spec's target for d_nh and 2**256 // hashes
    is accepted: the pool is lenient by 65536/65535 (spec/ethash.md 2).
    The difficulty is chosen for a hash the miner already has."""
    peer = pool.connect()
    extranonce1 = bytes.fromhex(subscribe(peer)["result"][0][1])
    job = pool.jobs.current_job
    header = job.header_hash(extranonce1)
    prefix = (int.from_bytes(extranonce1, "big") & 0xFFFF) << 48
    nonce, _, final = find_nonce(header, 2, first=prefix)
    hash_int = int.from_bytes(final, "big")
    hashes = 2**256 / hash_int * (1 - 2**-20)
    assert ethash.share_target(hashes) >= hash_int
    assert ethash.nicehash_target(nicehash_unit(hashes)) < hash_int
    reply, difficulty, _ = peer.send({"id": 3, "method": "mining.authorize",
                                      "params": [USERNAME, "d=%r" % hashes]})
    assert difficulty["params"] == [nicehash_unit(hashes)]
    submit(peer, job.job_id, "%012x" % (nonce - prefix))
    assert answer(pool, peer)["result"] is True
    assert pool.sink.shares[-1].difficulty == hashes


def test_a_share_that_is_a_block_goes_to_the_submitter():
    pool = EthashPool()
    pool.push(difficulty=1.0)        # one leading zero: every share of 16 hashes is a block
    try:
        peer = pool.connect()
        extranonce1, job_id, header = login(peer, "d=16")
        digits, final = share(extranonce1, header, 16)
        submit(peer, job_id, digits)
        assert answer(pool, peer)["result"] is True
        (candidate,) = pool.blocks
        full_nonce = int(subscribe(peer)["result"][1] + digits, 16)
        assert candidate.hash == candidate.block["hash"] == final.hex()
        assert candidate.block["nonce"] == full_nonce & 0x7FFFFFFF
        assert (candidate.solution["nonce"], candidate.solution["header_hash"]) == (
            "%016x" % full_nonce, header.hex())
        assert (candidate.address, candidate.worker, candidate.work) == (USERNAME[:-5], "rig1", 16)
        assert pool.sink.shares[-1].is_block
    finally:
        pool.stop()


# ---------------------------------------------------------------- order and manners

def test_authorize_before_subscribe_starts_work_after_the_subscribe(pool):
    peer = pool.connect()
    assert peer.send({"id": 3, "method": "mining.authorize", "params": [USERNAME, "x"]}) \
        == [{"id": 3, "result": True, "error": None}]
    reply, difficulty, notify = peer.send({"id": 1, "method": "mining.subscribe",
                                           "params": [AGENT, "EthereumStratum/1.0.0"]})
    assert reply["error"] is None
    assert difficulty["method"] == "mining.set_difficulty"
    assert notify["method"] == "mining.notify"


def test_submit_before_subscribe_and_by_an_unknown_worker(pool):
    peer = pool.connect()
    (reply,) = submit(peer, "1", "0" * 12)
    assert reply["error"] == [25, "Not subscribed", None]
    extranonce1, job_id, _ = login(peer)
    (reply,) = peer.send({"id": 45, "method": "mining.submit",
                          "params": [USERNAME[:-1] + "2", job_id, "0" * 12]})
    assert reply["error"][0] == 24 and "Unauthorized worker" in reply["error"][1]
    assert not peer.closed


def test_a_subscribe_without_the_protocol_speaks_this_dialect(pool):
    peer = pool.connect()
    (reply,) = peer.send({"id": 1, "method": "mining.subscribe", "params": [AGENT]})
    assert reply["result"][0][2] == "EthereumStratum/1.0.0" and reply["error"] is None


def test_ethminer_plain_stratum_is_told_which_schemes_work(pool):
    peer = pool.connect()
    (reply,) = peer.send({"id": 1, "jsonrpc": "2.0", "method": "mining.subscribe",
                          "params": []})
    assert reply == {"id": 1, "result": False, "error": [
        20, "Unsupported protocol: this port speaks EthereumStratum/1.0.0 (ethminer: "
            "stratum2+tcp://) and eth-proxy (stratum1+tcp://)", None]}
    assert not peer.closed and peer.protocol.extranonce1 is None


def test_the_dialect_is_kept_after_the_first_request(pool):
    peer = pool.connect()
    subscribe(peer)
    for method in ("eth_submitLogin", "eth_getWork", "eth_submitWork"):
        (reply,) = peer.send({"id": 7, "jsonrpc": "2.0", "method": method,
                              "params": [USERNAME, "x"]})
        assert reply == {"id": 7, "result": False,
                         "error": [20, "Unknown method %r" % method, None]}
    assert not peer.closed
    assert login(peer)[1] == pool.jobs.current_job.job_id


GARBAGE = [b"{not json}\n", b"\xff\xfe\x00garbage\x80\n", b"[1, 2, 3]\n", b"42\n",
           b"[" * 5000 + b"\n"]


@pytest.mark.parametrize("line", GARBAGE)
def test_unparseable_lines_before_and_after_the_subscribe(pool, line):
    peer = pool.connect()
    (reply,) = peer.send_line(line)
    assert reply["id"] is None and reply["error"][0] == 20 and reply["error"][1]
    subscribe(peer)
    (reply,) = peer.send_line(line)
    assert reply["result"] is False and reply["error"][0] == 20
    assert not peer.closed
    assert peer.send({"id": 2, "method": "mining.extranonce.subscribe", "params": []}) \
        == [{"id": 2, "result": True, "error": None}]


@pytest.mark.parametrize("line,words", [
    (b'{"id":5,"method":"mining.submit","params":["%s","1"]}', "mining.submit takes"),
    (b'{"id":5,"method":"mining.submit","params":["%s",1,"000000000000"]}', "job_id"),
    (b'{"id":5,"method":"mining.submit","params":["%s","1",1e400]}', "nonce"),
    (b'{"id":5,"method":"mining.submit","params":["%s","1",123456789012]}', "nonce"),
    (b'{"id":5,"method":"mining.submit","params":[null,"1","000000000000"]}', "worker"),
    (b'{"id":5,"method":"mining.authorize","params":[12345,"x"]}', "username"),
    (b'{"id":5,"method":"mining.authorize","params":[]}', "username"),
    (b'{"id":5,"method":"mining.subscribe","params":[{"agent":1}]}', "user agent"),
    (b'{"id":5,"method":"mining.submit","params":{"worker":"%s"}}', "expected a list"),
    (b'{"id":5,"method":"eth_submitHashrate","params":["12345"]}', "hashrate"),
    (b'{"id":5,"method":"eth_submitHashrate","params":["0x%s"]}' % (b"f" * 65), "hashrate"),
    (b'{"id":5,"method":"eth_submitHashrate","params":[1e999]}', "hashrate"),
    (b'{"id":5,"method":17,"params":[]}', "method"),
    (b'{"id":5,"method":"mining.set_extranonce","params":[]}', "Unknown method"),
])
def test_broken_requests_get_errors_and_the_connection_stays(pool, line, words):
    peer = pool.connect()
    login(peer)
    if b"%s" in line:
        line = line % USERNAME.encode()
    (reply,) = peer.send_line(line + b"\n")
    assert reply["id"] == 5 and reply["result"] is False
    code, message, _ = reply["error"]
    assert code == 20 and words in message
    assert not peer.closed
    assert peer.send({"id": 2, "method": "mining.extranonce.subscribe", "params": []}) \
        == [{"id": 2, "result": True, "error": None}]


def test_huge_numbers_as_ids_and_values(pool):
    peer = pool.connect()
    login(peer)
    big = 10**40
    (reply,) = peer.send_line(b'{"id":%d,"method":"eth_submitHashrate","params":["0x%s","0x00"]}\n'
                              % (big, b"f" * 64))
    assert reply == {"id": big, "result": True, "error": None}
    assert peer.session.reported_hashrate == 2**256 - 1
    (reply,) = peer.send_line(b'{"id":1e400,"method":"mining.foo"}\n')
    assert reply["id"] is None and reply["error"][0] == 20
    (reply,) = peer.send_line(b'{"id":6,"method":"mining.submit","params":["%s","%s","%s"]}\n'
                              % (USERNAME.encode(), b"9" * 400, b"0" * 12))
    assert reply["error"][0] == 21
    assert not peer.closed


def test_a_busy_verifier_is_a_clear_error_and_the_share_can_come_again():
    pool = EthashPool(max_pending=1)
    pool.push()
    try:
        first, second = pool.connect(), pool.connect(port=40001)
        en_a, job_id, header_a = login(first, "d=16")
        en_b, _, header_b = login(second, "d=16")
        digits_a, _ = share(en_a, header_a, 16)
        digits_b, _ = share(en_b, header_b, 16)
        assert submit(first, job_id, digits_a) == []            # the one check allowed
        (reply,) = submit(second, job_id, digits_b)
        assert reply["id"] == 40 and reply["result"] is False
        code, message, _ = reply["error"]
        assert code == 20 and message.startswith("Busy") and "slow down" in message
        assert answer(pool, first)["result"] is True
        assert not second.closed
        submit(second, job_id, digits_b, 41)                  # not counted as a duplicate
        assert answer(pool, second) == {"id": 41, "result": True, "error": None}
    finally:
        pool.stop()


def test_reconnect_closes_and_messages_are_logged(pool):
    peer = pool.connect()
    login(peer)
    peer.session.show_message("hello")                       # no such line in this dialect
    assert peer.read() == []
    peer.session.reconnect()
    assert peer.closed and peer.read() == []


# ---------------------------------------------------------------- a real socket

class LineClient(LineReceiver):
    delimiter = b"\n"

    def __init__(self):
        self.messages = []
        self.arrived = defer.DeferredQueue()

    def lineReceived(self, line):
        message = json.loads(line)
        self.messages.append(message)
        self.arrived.put(message)

    def send(self, message):
        self.sendLine(json.dumps(message).encode())

    @defer.inlineCallbacks
    def next(self, count=1):
        out = []
        for _ in range(count):
            out.append((yield self.arrived.get()))
        return out


class RealSocket(unittest.TestCase):
    """Both ethash dialects on one listening port, the real ethash verify
    in its own thread pool (light cache of epoch 0), the real reactor."""

    timeout = 50

    @defer.inlineCallbacks
    def setUp(self):
        stratum = settings(min_difficulty=1.0, start_difficulty=2.0**32, max_difficulty=1e16,
                           dag_mode="light", verify_threads=1)
        self.algorithm = ethash.make(AlgorithmContext(
            settings=stratum, state_dir=tempfile.mkdtemp(prefix="gxcpool-ethash-"),
            reactor=reactor, cores=1), light_caches=LIGHT_CACHES)
        for service in self.algorithm.services():
            service.startService()
        self.node = FakeNode()
        self.jobs = JobManager(self.node, algorithm=self.algorithm, clock=reactor)
        self.sink = MemoryShareSink()
        self.service = StratumService(stratum, algorithm=self.algorithm, jobs=self.jobs,
                                      network="testnet", share_sink=self.sink, reactor=reactor,
                                      submit_block=lambda candidate: None)
        self.node.push(gxc_template(difficulty=NETWORK_D), True)
        self.service.startService()
        port = yield self.service.whenListening()
        self.port = port.getHost().port
        self.clients = []

    @defer.inlineCallbacks
    def tearDown(self):
        for client in self.clients:
            client.transport.loseConnection()
        yield self.service.stopService()
        for service in reversed(self.algorithm.services()):
            yield service.stopService()

    @defer.inlineCallbacks
    def connect(self):
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port)
        client = yield endpoint.connect(Factory.forProtocol(LineClient))
        self.clients.append(client)
        return client

    @defer.inlineCallbacks
    def test_nicehash_and_eth_proxy_miners_share_the_port(self):
        with LogWatch() as watch:
            nicehash = yield self.connect()
            nicehash.send({"id": 1, "method": "mining.subscribe",
                           "params": [AGENT, "EthereumStratum/1.0.0"]})
            (reply,) = yield nicehash.next()
            extranonce = reply["result"][1]
            nicehash.send({"id": 3, "method": "mining.authorize", "params": [USERNAME, "d=16"]})
            reply, difficulty, notify = yield nicehash.next(3)
            self.assertEqual(reply, {"id": 3, "result": True, "error": None})
            self.assertEqual(difficulty["params"], [nicehash_unit(16)])
            job_id, seed, header, clean = notify["params"]
            self.assertEqual((seed, clean), (ethash_seedhash(0).hex(), True))
            nonce, _, final = yield deferToThread(find_nonce, bytes.fromhex(header), 16,
                                                  first=int(extranonce, 16) << 48)
            nicehash.send({"id": 40, "method": "mining.submit",
                           "params": [USERNAME, job_id, "%012x" % (nonce & (2**48 - 1))]})
            (reply,) = yield nicehash.next()
            self.assertEqual(reply, {"id": 40, "result": True, "error": None})

            proxy = yield self.connect()
            proxy.send({"id": 1, "jsonrpc": "2.0", "method": "eth_submitLogin",
                        "params": [USERNAME, "d=16"]})
            reply, work = yield proxy.next(2)
            self.assertEqual(reply, {"id": 1, "jsonrpc": "2.0", "result": True})
            self.assertEqual(work["id"], 0)
            header, seed, target, height = work["result"]
            self.assertEqual(target, "0x%064x" % (2**256 // 16))
            self.assertEqual(height, "0x5")
            nonce, mix, final2 = yield deferToThread(find_nonce, bytes.fromhex(header[2:]), 16)
            proxy.send({"id": 40, "jsonrpc": "2.0", "method": "eth_submitWork",
                        "params": ["0x%016x" % nonce, header, "0x" + mix.hex()],
                        "worker": "rig1"})
            (reply,) = yield proxy.next()
            self.assertEqual(reply, {"id": 40, "jsonrpc": "2.0", "result": True})
        self.assertEqual(sorted(s.hash for s in self.sink.shares),
                         sorted([final.hex(), final2.hex()]))
        self.assertEqual([s.work for s in self.sink.shares], [16, 16])
        self.assertEqual(watch.events, [])

    async def mine_with_the_reference_miner(self, dialect):
        miner = in_process_miner(self, self.port, algorithm="ethash", dialect=dialect,
                                 password="d=16")
        await wait_for(lambda: miner.accepted >= 3, "3 accepted %s shares" % dialect,
                       timeout=40)
        self.assertEqual((miner.rejected, list(miner.rejections)), (0, []))
        shares = [s for s in self.sink.shares if s.address == MINER_PROCESS_ADDRESS]
        self.assertGreaterEqual(len(shares), 3)
        self.assertEqual({(s.worker, s.difficulty, s.work) for s in shares}, {("rig", 16, 16)})

    async def test_the_reference_miner_on_ethereum_stratum(self):
        with LogWatch() as watch:
            await self.mine_with_the_reference_miner("nicehash")
        self.assertEqual(watch.events, [])

    async def test_the_reference_miner_on_eth_proxy(self):
        with LogWatch() as watch:
            await self.mine_with_the_reference_miner("ethproxy")
        self.assertEqual(watch.events, [])
