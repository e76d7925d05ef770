"""The gxhash dialect over real loopback sockets (docs/protocol-gxhash.md).

The pool is the real StratumService with the gxhash algorithm and its real
check pool (HashPool threads); the tests hash with real gxhash like a miner, so a
wrong nonce combination or header text shows as a refused share.  Also:
refusals (duplicate, stale, low difficulty, bad params) and the slow-hash
protections (reading pauses at the per-connection bound, Busy from the
pool-wide bound, a ban for a connection that keeps flooding).
"""
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from twisted.internet import defer, reactor, threads
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import Factory
from twisted.internet.task import deferLater
from twisted.protocols.basic import LineReceiver
from twisted.trial import unittest

from gxcpoold.algorithms import gxhash as algo
from gxcpoold.algorithms.context import AlgorithmContext
from gxcpoold.algorithms.hashpool import HashPool
from gxcpoold.config import stratum_defaults
from gxcpoold.hashers.gxhash import gxhash
from gxcpoold.hashers.legacy import gxc_merkle_root
from gxcpoold.jobs import JobManager
from gxcpoold.shares import MemoryShareSink
from gxcpoold.stratum.service import StratumService
from gxcpoold.stratum.session import BUSY_LIMIT
from tests.stratum.helpers import MINER_ADDRESS, POOL_ADDRESS, FakeNode, gxc_template
from tests.waiting import wait_for

WORKER = MINER_ADDRESS + ".rig1"
TXID = "ef" * 32


def expected_nonce(en1_hex, n):
    """docs/protocol-gxhash.md section 3, written out here rather than borrowed."""
    return (int(en1_hex, 16) << 16) | n


def header_text(notify, nonce):
    """The GXC header text from a notify's fields, as a miner builds it."""
    _, height, prev, timestamp, merkleroot, _ = notify
    return ("%d%s%d%s%d" % (height, prev, timestamp, merkleroot, nonce)).encode("ascii")


def miner_hash(notify, en1_hex, n):
    """(N, gxhash hex) for the miner's nonce n: real hashing, off the reactor thread."""
    nonce = expected_nonce(en1_hex, n)
    return nonce, gxhash(header_text(notify, nonce), nonce).hex()


def scan(notify, en1_hex, wanted, limit=200):
    """Hash n = 0, 1, ... (two threads) until every predicate in `wanted`
    ({name: predicate(hash hex)}) has matched: {name: (n, N, hash hex)}."""
    found = {}
    with ThreadPoolExecutor(2) as pool:
        for start in range(0, limit, 2):
            batch = range(start, start + 2)
            for n, (nonce, hex_) in zip(batch, pool.map(
                    lambda n: miner_hash(notify, en1_hex, n), batch)):
                for name, predicate in wanted.items():
                    if name not in found and predicate(hex_):
                        found[name] = (n, nonce, hex_)
            if len(found) == len(wanted):
                return found
    raise AssertionError("no hash for %s in %d nonces" % (sorted(set(wanted) - set(found)),
                                                          limit))


class Client(LineReceiver):
    """A hand-driven miner connection: raw lines kept in arrival order."""
    delimiter = b"\n"

    def __init__(self):
        self.lines = []
        self.messages = []
        self.waiting = {}
        self.next_id = 0
        self.closed = False
        self._lost = []

    def lineReceived(self, line):
        self.lines.append(line)
        message = json.loads(line)
        self.messages.append(message)
        d = self.waiting.pop(message.get("id"), None)
        if d is not None:
            d.callback(message)

    def connectionLost(self, reason):
        self.closed = True
        waiting, self._lost = self._lost, []
        for d in waiting:
            d.callback(None)

    def when_lost(self):
        """A Deferred firing once the connection is closed."""
        if self.closed:
            return defer.succeed(None)
        d = defer.Deferred()
        self._lost.append(d)
        return d

    def send_all(self, *requests):
        """Write (method, params) requests in one write; a Deferred per answer."""
        lines, answers = [], []
        for method, params in requests:
            self.next_id += 1
            answers.append(self.waiting.setdefault(self.next_id, defer.Deferred()))
            lines.append(json.dumps({"id": self.next_id, "method": method,
                                     "params": params}).encode())
        self.transport.write(b"\n".join(lines) + b"\n")
        return answers

    def call(self, method, *params):
        return self.send_all((method, list(params)))[0]

    def submit(self, job_id, n, worker=WORKER):
        return self.call("mining.submit", worker, job_id, "%04x" % n)

    def notifies(self):
        return [m["params"] for m in self.messages if m.get("method") == "mining.notify"]

    def pushes(self, method):
        return [m["params"] for m in self.messages if m.get("method") == method]


class GatedVerifier(HashPool):
    """The real check pool, whose checks wait in its threads for a gate:
    as slow as a test needs (a check queued at stop is still refused)."""

    def __init__(self, threads, max_pending=None, **kwargs):
        super().__init__(threads, max_pending, **kwargs)
        self.gate = threading.Event()

    def _call(self, f, args):
        self.gate.wait(60)
        return super()._call(f, args)


class GxhashPool:
    """StratumService + JobManager + the gxhash algorithm on a loopback port."""

    def __init__(self, case, difficulty, verifier=None, **changes):
        self.case = case
        self.settings = replace(stratum_defaults("gxhash"),
                                endpoint="tcp:0:interface=127.0.0.1", **changes)
        if verifier is None:
            self.algorithm = algo.make(AlgorithmContext(settings=self.settings,
                                                        state_dir=case.mktemp(),
                                                        reactor=reactor, cores=2))
        else:
            self.algorithm = algo.GxhashAlgorithm(verifier)
        self.verifier = self.algorithm.pool
        self.node = FakeNode()
        self.jobs = JobManager(self.node, clock=reactor, algorithm=self.algorithm)
        self.sink = MemoryShareSink()
        self.blocks = []
        self.service = StratumService(self.settings, jobs=self.jobs, network="testnet",
                                      reactor=reactor, algorithm=self.algorithm,
                                      share_sink=self.sink, submit_block=self.blocks.append)
        self.difficulty = difficulty
        self.height = 5

    async def start(self):
        for service in self.algorithm.services():
            service.startService()
            self.case.addCleanup(service.stopService)
        gate = getattr(self.verifier, "gate", None)
        if gate is not None:
            self.case.addCleanup(gate.set)          # before the verifier stops
        self.service.startService()
        self.case.addCleanup(self._stop)
        self.port = (await self.service.whenListening()).getHost().port
        self.push()
        return self

    async def _stop(self):
        if self.service.running:
            await self.service.stopService()
        await wait_for(lambda: not self.service.sessions, "the pool's connections to close")

    def push(self, new_tip=True, **changes):
        """A template from the node; new_tip=False is a refresh of the same block."""
        if new_tip:
            self.height += 1
        fields = dict(height=self.height, prev="%064x" % self.height if new_tip else None,
                      difficulty=self.difficulty, txids=(TXID,), curtime=1_800_000_000)
        if not new_tip:
            fields["prev"] = self.node.current_template.previousblockhash
            fields["curtime"] = self.node.current_template.curtime + 30
        fields.update(changes)
        self.template = gxc_template(**fields)
        self.node.push(self.template, new_tip)
        return self.jobs.current_job

    async def connect(self):
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port)
        client = await endpoint.connect(Factory.forProtocol(Client))

        async def close():
            client.transport.loseConnection()
            await client.when_lost()
        self.case.addCleanup(close)
        return client

    async def login(self, password="x,d=1", worker=WORKER):
        """A subscribed, authorized client that has its first job: (client, en1 hex)."""
        client = await self.connect()
        subscribed = await client.call("mining.subscribe", "test-miner/1.0")
        authorized = await client.call("mining.authorize", worker, password)
        assert authorized["result"] is True, authorized
        await wait_for(lambda: client.notifies(), "the first job")
        return client, subscribed["result"][1]

    def session_of(self, en1_hex):
        [session] = [s for s in self.service.sessions
                     if s.extranonce1 is not None and s.extranonce1.hex() == en1_hex]
        return session


def error_of(answer):
    assert answer["result"] is None, answer
    return answer["error"]


class Handshake(unittest.TestCase):
    timeout = 60

    async def test_subscribe_authorize_difficulty_and_jobs_line_by_line(self):
        pool = await GxhashPool(self, difficulty=6.0).start()
        client = await pool.connect()
        await client.call("mining.subscribe", "gxcpool-test/1")
        [line] = client.lines
        en1 = json.loads(line)["result"][1]
        self.assertRegex(en1, r"\A[0-9a-f]{4}\Z")
        self.assertLess(int(en1, 16), 2**15)
        self.assertEqual(line, b'{"id":1,"result":[[["mining.notify","%s"]],"%s",2],"error":null}'
                         % (en1.encode(), en1.encode()))

        await client.call("mining.authorize", WORKER, "x")
        await wait_for(lambda: len(client.lines) == 4, "difficulty and job after authorize")
        merkle = gxc_merkle_root([pool.template.coinbase["txid"], TXID])
        self.assertEqual(client.lines[1:], [
            b'{"id":2,"result":true,"error":null}',
            b'{"id":null,"method":"mining.set_difficulty","params":[64]}',
            b'{"id":null,"method":"mining.notify","params":["1",6,"%064x",1800000000,"%s",true]}'
            % (6, merkle.encode())])

        # a refresh of the same block: a new job, later timestamp, not clean
        pool.push(new_tip=False)
        await wait_for(lambda: len(client.lines) == 5, "the refreshed job")
        self.assertEqual(json.loads(client.lines[4])["params"],
                         ["2", 6, "%064x" % 6, 1800000030, merkle, False])

        answer = await client.call("mining.suggest_difficulty", 256)
        self.assertIs(answer["result"], True)
        await wait_for(lambda: len(client.lines) == 8, "the new difficulty and the job again")
        self.assertEqual(client.lines[6:], [
            b'{"id":null,"method":"mining.set_difficulty","params":[256]}',
            client.lines[4]])                     # the cached notify line, byte for byte

        self.assertEqual((await client.call("mining.ping"))["result"], "pong")
        self.assertIs((await client.call("mining.extranonce.subscribe"))["result"], True)

        # a new block: clean_jobs
        pool.push()
        await wait_for(lambda: len(client.notifies()) == 4, "the new tip's job")
        self.assertEqual(client.notifies()[-1][:3], ["3", 7, "%064x" % 7])
        self.assertIs(client.notifies()[-1][5], True)
        self.assertEqual(pool.verifier.pending, 0)

    async def test_fixed_difficulty_from_the_password(self):
        pool = await GxhashPool(self, difficulty=6.0).start()
        client, _ = await pool.login(password="x,d=1.5")
        self.assertEqual(client.pushes("mining.set_difficulty"), [[1.5]])


class Shares(unittest.TestCase):
    timeout = 60

    async def test_shares_and_a_block_through_the_real_verifier(self):
        """D = 1: a block needs one leading '0'.  Difficulty 1: every hash is a share."""
        pool = await GxhashPool(self, difficulty=1.0).start()
        client, en1 = await pool.login("x,d=1")
        notify = client.notifies()[-1]
        found = await threads.deferToThread(scan, notify, en1, {
            "block": lambda h: h.startswith("0"), "share": lambda h: not h.startswith("0")})

        n, nonce, share_hash = found["share"]
        answer = await client.submit(notify[0], n)
        self.assertIs(answer["result"], True, answer)
        [share] = pool.sink.shares
        self.assertEqual((share.algorithm, share.address, share.worker, share.difficulty,
                          share.work, share.height, share.hash, share.is_block),
                         ("gxhash", MINER_ADDRESS, "rig1", 1.0, 1, 6, share_hash, False))
        self.assertEqual(pool.blocks, [])

        n, nonce, block_hash = found["block"]
        self.assertLess(nonce, 2**31)
        answer = await client.submit(notify[0], n)
        self.assertIs(answer["result"], True, answer)
        self.assertEqual(len(pool.sink.shares), 2)
        self.assertTrue(pool.sink.shares[1].is_block)
        self.assertEqual(pool.sink.shares[1].hash, block_hash)
        [candidate] = pool.blocks
        template = pool.template
        self.assertEqual(candidate.block, {
            "height": 6, "hash": block_hash, "previousblockhash": "%064x" % 6, "nonce": nonce,
            "miner": POOL_ADDRESS, "timestamp": 1_800_000_000, "difficulty": 1.0,
            "transactions": [template.coinbase] + list(template.transactions)})
        self.assertEqual(candidate.block["hash"], gxhash(header_text(notify, nonce), nonce).hex())
        self.assertEqual(candidate.solution["header_text"],
                         header_text(notify, nonce).decode("ascii"))
        self.assertEqual((candidate.algorithm, candidate.address, candidate.worker,
                          candidate.work), ("gxhash", MINER_ADDRESS, "rig1", 1))

        # the same nonce again: refused before any hashing
        answer = await client.submit(notify[0], n)
        self.assertEqual(error_of(answer), [22, "Duplicate share", None])
        self.assertEqual(len(pool.sink.shares), 2)
        self.assertEqual(pool.verifier.pending, 0)

    async def test_low_difficulty(self):
        pool = await GxhashPool(self, difficulty=60.0).start()
        client, en1 = await pool.login("x,d=1e12")
        notify = client.notifies()[-1]
        _, expected = await threads.deferToThread(miner_hash, notify, en1, 0x2a)
        answer = await client.submit(notify[0], 0x2a)
        self.assertEqual(error_of(answer),
                         [23, "Low difficulty share (%.6g < 1e+12)" % (2**256 / int(expected, 16)),
                          None])
        self.assertEqual(list(pool.sink.shares), [])
        self.assertEqual(pool.session_of(en1).invalid_shares, 1)

    async def test_stale_and_unknown_jobs(self):
        pool = await GxhashPool(self, difficulty=6.0).start()
        client, _ = await pool.login()
        old = client.notifies()[-1][0]
        pool.push()
        await wait_for(lambda: len(client.notifies()) == 2, "the new tip's job")
        self.assertEqual(error_of(await client.submit(old, 1)),
                         [21, "Stale job: work on the latest job", None])
        self.assertEqual(error_of(await client.submit("abc", 1)), [21, "Job not found", None])
        self.assertEqual(pool.verifier.pending, 0)
        self.assertEqual(list(pool.sink.shares), [])

    async def test_bad_params_get_clear_errors(self):
        pool = await GxhashPool(self, difficulty=6.0).start()
        client = await pool.connect()
        self.assertEqual(error_of(await client.submit("1", 1)), [25, "Not subscribed", None])
        self.assertEqual(error_of(await client.call("mining.subscribe", 5)),
                         [20, "Invalid params: user agent must be a string", None])
        await client.call("mining.subscribe")
        self.assertEqual(error_of(await client.call("mining.authorize")),
                         [20, "Invalid params: expected [username, password]", None])
        code, message, _ = error_of(await client.call("mining.authorize", WORKER, "x,d=abc"))
        self.assertEqual(code, 24)
        self.assertIn("d=abc", message)
        await client.call("mining.authorize", WORKER, "x")
        await wait_for(lambda: client.notifies(), "the first job")
        job_id = client.notifies()[-1][0]

        counts = "Invalid params: mining.submit takes [worker, job_id, nonce (4 hex digits)]"
        for params in ([], [WORKER, job_id], [WORKER, job_id, "0001", "00"]):
            self.assertEqual(error_of(await client.call("mining.submit", *params)),
                             [20, counts, None], params)
        for nonce in ("zzzz", "123", "12345", "0x12", " 123", "１２３４"):
            code, message, _ = error_of(await client.call("mining.submit", WORKER, job_id, nonce))
            self.assertEqual((code, message),
                             (20, "Invalid params: nonce must be 4 hex digits (0000 to ffff), "
                                  "got %r" % nonce), nonce)
        for nonce in (4660, None, ["0001"]):
            self.assertEqual(error_of(await client.call("mining.submit", WORKER, job_id, nonce)),
                             [20, "Invalid params: nonce must be a string", None])
        self.assertEqual(error_of(await client.call("mining.submit", 7, job_id, "0001")),
                         [20, "Invalid params: worker must be a string", None])
        self.assertEqual(error_of(await client.submit(job_id, 1, worker=MINER_ADDRESS + ".other")),
                         [24, "Unauthorized worker %r" % (MINER_ADDRESS + ".other"), None])
        self.assertEqual(error_of(await client.call("mining.suggest_difficulty", "high")),
                         [20, "Invalid params: difficulty must be a positive number", None])
        self.assertEqual(error_of(await client.call("mining.configure", [], {})),
                         [20, "Unknown method 'mining.configure'", None])
        # none of it was hashed, recorded, or fatal
        self.assertEqual((await client.call("mining.ping"))["result"], "pong")
        self.assertEqual(pool.verifier.pending, 0)
        self.assertEqual(list(pool.sink.shares), [])
        self.assertFalse(client.closed)


class SlowHashProtection(unittest.TestCase):
    """One hashing thread whose checks wait for a gate; one check per connection."""
    timeout = 60

    async def gated_pool(self):
        verifier = GatedVerifier(threads=1, max_pending=1, reactor=reactor)
        pool = await GxhashPool(self, difficulty=60.0, verifier=verifier,
                                max_checks_per_connection=1).start()
        return pool, verifier

    async def test_reading_pauses_at_the_bound_and_a_full_pool_answers_busy(self):
        pool, verifier = await self.gated_pool()
        a, en1_a = await pool.login()
        b, en1_b = await pool.login()
        job_id = a.notifies()[-1][0]
        answers = a.send_all(("mining.submit", [WORKER, job_id, "0001"]),
                             ("mining.submit", [WORKER, job_id, "0002"]),
                             ("mining.ping", []))
        session_a = pool.session_of(en1_a)
        await wait_for(lambda: session_a.checks_in_flight == 1, "the first share in checking")
        await deferLater(reactor, 0.2)
        # the second share waits in the socket: not read, not hashed, not answered
        self.assertTrue(session_a.paused)
        self.assertEqual(verifier.pending, 1)
        self.assertEqual([m for m in a.messages if m.get("id") in (3, 4, 5)], [])

        # the pool's one slot is taken: another connection is told to slow down
        code, message, _ = error_of(await b.submit(job_id, 7))
        self.assertEqual(code, 20)
        self.assertTrue(message.startswith("Busy:"), message)
        session_b = pool.session_of(en1_b)
        self.assertEqual((session_b.busy_count, session_b.invalid_shares), (1, 0))
        self.assertEqual((await b.call("mining.ping"))["result"], "pong")

        verifier.gate.set()
        results = await defer.gatherResults(answers)
        self.assertEqual([r["result"] for r in results], [True, True, "pong"])
        # answered in request order
        self.assertEqual([m["id"] for m in a.messages if m.get("id") in (3, 4, 5)], [3, 4, 5])
        self.assertFalse(session_a.paused)
        # the busy share was not checked, so it may be sent again
        self.assertIs((await b.submit(job_id, 7))["result"], True)
        self.assertEqual(len(pool.sink.shares), 3)

    async def test_a_connection_that_keeps_flooding_is_banned(self):
        pool, verifier = await self.gated_pool()
        a, _ = await pool.login()
        job_id = a.notifies()[-1][0]
        first = a.submit(job_id, 1)                   # holds the pool's one slot
        await wait_for(lambda: verifier.pending == 1, "the slot taken")

        flooder, _ = await pool.login()
        flooder.send_all(*[("mining.submit", [WORKER, job_id, "%04x" % n])
                           for n in range(100, 100 + BUSY_LIMIT + 10)])
        await flooder.when_lost()
        busy = [m for m in flooder.messages if m.get("error") and m["error"][0] == 20
                and m["error"][1].startswith("Busy:")]
        self.assertEqual(len(busy), BUSY_LIMIT)
        [shown] = flooder.pushes("client.show_message")
        self.assertTrue(shown[0].startswith("gxcpool: disconnected:"), shown)
        self.assertIn("busy", shown[0])
        self.assertIsNotNone(pool.service.bans.ban_of("127.0.0.1"))

        # the ban refuses new connections from that address
        again = await pool.connect()
        await again.when_lost()
        self.assertTrue(again.pushes("client.show_message")[0][0].startswith(
            "gxcpool: connection refused:"))

        # the honest connection's share is still checked
        verifier.gate.set()
        self.assertIs((await first)["result"], True)
