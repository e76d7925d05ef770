"""End to end on loopback: devnet node + NodeService + JobManager + Stratum +
block submitter + the reference miner (gxcpool-miner's classes, real threads,
the native scan loop).  The devnet difficulty 6 makes a block 16**6 hashes:
about a second or two of one CPU thread.
"""
import dataclasses
import json

from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import Factory
from twisted.internet.task import deferLater
from twisted.protocols.basic import LineReceiver
from twisted.trial import unittest

from gxcpoold.algorithms import sha256d
from gxcpoold.config import NodeSettings, StratumSettings
from gxcpoold.hashers.sha256d import sha256d_scan
from gxcpoold.jobs import JobManager
from gxcpoold.miner.client import Miner
from gxcpoold.miner.work import Work
from gxcpoold.node.service import NodeService
from gxcpoold.node.submitter import BlockSubmitter
from gxcpoold.shares import ACCEPTED, MemoryBlockRecorder, MemoryShareSink
from gxcpoold.stratum.service import StratumService
from tests.devnet.loopback import start_devnode
from tests.stratum.helpers import MINER_ADDRESS
from tests.waiting import wait_for

NODE = NodeSettings(timeout=2.0, retries=1, retry_backoff=0.05, tip_poll_interval=0.1,
                    template_refresh=2.0)
STRATUM = StratumSettings(endpoint="tcp:0:interface=127.0.0.1", start_difficulty=1e-5,
                          min_difficulty=1e-7, max_difficulty=1e6, shares_per_minute=240.0,
                          retarget_interval=1.0)


class RawClient(LineReceiver):
    """A hand-driven Stratum client for the checks the real miner never fails."""
    delimiter = b"\n"

    def __init__(self):
        self.messages = []
        self.waiting = {}
        self.next_id = 0
        self.lost = defer.Deferred()

    def lineReceived(self, line):
        message = json.loads(line)
        self.messages.append(message)
        d = self.waiting.pop(message.get("id"), None)
        if d is not None:
            d.callback(message)

    def connectionLost(self, reason):
        self.lost.callback(None)

    def call(self, method, *params):
        self.next_id += 1
        d = self.waiting[self.next_id] = defer.Deferred()
        self.sendLine(json.dumps({"id": self.next_id, "method": method,
                                  "params": list(params)}).encode())
        return d

    def notifies(self):
        return [m["params"] for m in self.messages if m.get("method") == "mining.notify"]

    def difficulty(self):
        return [m["params"][0] for m in self.messages
                if m.get("method") == "mining.set_difficulty"][-1]


def find_nonce(work, extranonce2, start, want_share=True):
    """Scan like a miner: the first nonce from start that is (or is not) a share."""
    prefix = work.header_prefix(extranonce2)
    if want_share:
        nonce, _ = sha256d_scan(prefix, start, 2**32 - start, work.target)
        return nonce
    for nonce in range(start, start + 100):
        if sha256d_scan(prefix, nonce, 1, work.target) is None:
            return nonce
    raise AssertionError("every nonce was a share")


class EndToEnd(unittest.TestCase):
    timeout = 120

    async def start_pool(self):
        self.devnode = await start_devnode(self, difficulty=6.0)
        self.node = NodeService(reactor, NODE, network="testnet", url=self.devnode.url)
        self.sink, self.recorder = MemoryShareSink(), MemoryBlockRecorder()
        mined = set()
        self.jobs = JobManager(self.node, algorithm=sha256d, clock=reactor, excluded_txids=mined)
        self.submitter = BlockSubmitter(self.node.client, self.recorder, clock=reactor,
                                        refresh=self.node.watcher.refresh, mined_txids=mined)
        self.stratum = StratumService(STRATUM, algorithm=sha256d, jobs=self.jobs, network="testnet",
                                      share_sink=self.sink, reactor=reactor,
                                      submit_block=self.submitter.submit)
        for service in (self.node, self.jobs, self.stratum):
            service.startService()
        self.addCleanup(self.node.stopService)
        self.addCleanup(self.jobs.stopService)
        self.addCleanup(lambda: self.stratum.running and self.stratum.stopService())
        self.port = (await self.stratum.whenListening()).getHost().port
        await wait_for(lambda: self.jobs.current_job is not None, "the first job")

    async def raw_client(self):
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port)
        client = await endpoint.connect(Factory.forProtocol(RawClient))
        self.addCleanup(client.transport.loseConnection)
        return client

    async def login(self, client, worker="probe"):
        subscribed = await client.call("mining.subscribe", "e2e-probe")
        authorized = await client.call("mining.authorize", MINER_ADDRESS + "." + worker, "x")
        assert authorized["result"] is True
        await wait_for(lambda: client.notifies(), "a job for the probe")
        _, en1, en2_size = subscribed["result"]
        return bytes.fromhex(en1), en2_size

    async def test_mining_through_the_pool(self):
        await self.start_pool()
        miner = Miner(reactor, "127.0.0.1", self.port, MINER_ADDRESS + ".rig1", threads=1,
                      report_interval=0)
        miner.start()
        self.addCleanup(miner.stop)
        height_before = self.devnode.node.chain.n

        # Blocks found by the miner, submitted by the pool, accepted by the node.
        accepted = lambda: [(e.data["height"], e.data["hash"])
                            for e in self.submitter.events.of_kind("block.submitted")
                            if e.data["status"] == ACCEPTED]
        await wait_for(lambda: len(accepted()) >= 2, "two accepted blocks")
        chain = self.devnode.node.chain
        for height, block_hash in accepted():
            assert (await self.node.client.getblockhash(height)) == block_hash
            assert block_hash.startswith("000000")
        assert chain.n >= height_before + 2

        # Vardiff moved the miner off the too-easy start and settled.
        def settled():
            shares = [s for s in self.sink.shares if s.worker == "rig1"]
            tail = shares[-10:]
            return (len(tail) == 10 and len({s.difficulty for s in tail}) == 1
                    and tail[0].difficulty > STRATUM.start_difficulty)
        await wait_for(settled, "vardiff to settle")
        assert miner.accepted >= 10
        # the miner's only rejections are shares that raced a new block
        assert all(error[0] == 21 for _, error in miner.rejections), list(miner.rejections)

        # A probe connection checks the error codes on real sockets.
        probe = await self.raw_client()
        en1, en2_size = await self.login(probe)
        en2 = bytes(en2_size)
        for attempt in range(5):
            # the miner may find a block meanwhile (a new tip): then take the new job
            work = Work.from_notify(probe.notifies()[-1], en1, en2_size, probe.difficulty())
            nonce = find_nonce(work, en2, 0)
            share = [MINER_ADDRESS + ".probe", work.job_id, en2.hex(), "%08x" % work.ntime]
            first = await probe.call("mining.submit", *share, "%08x" % nonce)
            if first["error"] is None or first["error"][0] != 21:
                break
        assert first["result"] is True, first
        duplicate = await probe.call("mining.submit", *share, "%08x" % nonce)
        assert duplicate["error"][0] == 22
        low = find_nonce(work, en2, nonce + 1, want_share=False)
        answer = await probe.call("mining.submit", *share, "%08x" % low)
        assert answer["error"][0] == 23

        # A tip change by another miner makes the probe's job stale (21).
        seen = len(probe.notifies())
        self.devnode.node.mine_other()
        await wait_for(lambda: any(p[8] for p in probe.notifies()[seen:]), "a clean job")
        stale = find_nonce(work, en2, low + 1)
        answer = await probe.call("mining.submit", *share, "%08x" % stale)
        assert answer["error"][0] == 21

        # Garbage on one connection does not disturb the others.
        vandal = await self.raw_client()
        vandal.transport.write(b"\x00\xff garbage \x80\n" + b"A" * 40000)
        await vandal.lost
        count = miner.accepted
        await wait_for(lambda: miner.accepted > count + 3, "more accepted shares")

        # Shutdown asks miners to reconnect.
        await self.stratum.stopService()
        await probe.lost
        assert probe.messages[-1] == {"id": None, "method": "client.reconnect", "params": []}


class MinerCommandLine(unittest.TestCase):
    def test_options(self):
        from gxcpoold.miner.main import options, parse_url
        args = options(["-o", "stratum+tcp://pool.example:3333", "-u", "addr.w", "-t", "3"])
        assert (args.host, args.port, args.user, args.threads) == ("pool.example", 3333,
                                                                    "addr.w", 3)
        assert parse_url("127.0.0.1:4444") == ("127.0.0.1", 4444)
        with self.assertRaises(SystemExit):
            options(["-o", "http://x:1", "-u", "a"])


class MinerLifecycle(unittest.TestCase):
    async def test_stop_twice_while_the_pool_is_unreachable_leaves_nothing_behind(self):
        # nothing listens on this port: the miner keeps trying to connect
        miner = Miner(reactor, "127.0.0.1", 1, MINER_ADDRESS + ".rig", threads=2,
                      report_interval=0.5, printer=lambda text: None)
        miner.start()
        await deferLater(reactor, 1.2)
        first, second = miner.stop(), miner.stop()
        await first
        await second
        assert not miner.hasher.alive()
