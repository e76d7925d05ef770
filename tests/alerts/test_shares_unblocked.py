"""Sending alerts never holds up share processing: a miner's shares are answered at
once while the only webhook receiver hangs and its alert queue overflows."""
import time

from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import Factory
from twisted.trial import unittest

from gxcpoold.algorithms import sha256d
from gxcpoold.alerts.service import AlertService
from gxcpoold.events import EventHub
from gxcpoold.jobs import JobManager
from gxcpoold.miner.work import Work
from gxcpoold.node.service import NodeService
from gxcpoold.node.submitter import BlockSubmitter
from gxcpoold.shares import MemoryBlockRecorder, MemoryShareSink
from gxcpoold.stratum.pipeline import SharePipeline
from gxcpoold.stratum.service import StratumService
from tests.alerts.receiver import Receiver
from tests.alerts.test_service import make_config
from tests.devnet.loopback import start_devnode
from tests.stratum.helpers import MINER_ADDRESS
from tests.stratum.test_end_to_end import NODE, STRATUM, RawClient, find_nonce
from tests.waiting import wait_for

ANSWER_WITHIN = 0.5          # seconds: a share answer, with the reactor free (~1 ms)


class SharesWhileTheReceiverHangs(unittest.TestCase):
    timeout = 60

    async def test_shares_are_answered_at_once(self):
        hung = await Receiver.start(self)
        hung.mode = "hang"
        hub = EventHub(reactor)
        # block.found of every height goes to the hung receiver: one in flight
        # for the whole test (timeout 30 s), the rest queued and dropped
        alerts = AlertService(make_config([hung.url], timeout=30.0, queue_size=5), reactor,
                              events=hub)
        alerts.startService()
        self.addCleanup(alerts.stopService)
        self.addCleanup(alerts.sender.close, 0.2)         # then the stop need not wait

        devnode = await start_devnode(self, difficulty=1.0)      # every 16th hash a block
        node = NodeService(reactor, NODE, network="testnet", url=devnode.url)
        sink = MemoryShareSink()
        jobs = JobManager(node, algorithm=sha256d, clock=reactor)
        submitter = BlockSubmitter(node.client, MemoryBlockRecorder(), clock=reactor,
                                   refresh=node.watcher.refresh, events=hub)
        pipeline = SharePipeline(sink, submitter.submit, clock=reactor,
                                 pool_address=lambda: node.pool_address, events=hub)
        stratum = StratumService(STRATUM, algorithm=sha256d, jobs=jobs, network="testnet",
                                 reactor=reactor, pipeline=pipeline)
        for service in (node, jobs, submitter, stratum):
            service.startService()
            self.addCleanup(lambda s=service: s.running and s.stopService())
        port = (await stratum.whenListening()).getHost().port
        await wait_for(lambda: jobs.current_job is not None, "the first job")

        client = await TCP4ClientEndpoint(reactor, "127.0.0.1", port).connect(
            Factory.forProtocol(RawClient))
        self.addCleanup(client.transport.loseConnection)
        subscribed = await client.call("mining.subscribe", "alert-probe")
        authorized = await client.call("mining.authorize", MINER_ADDRESS + ".probe", "x")
        self.assertIs(authorized["result"], True)
        await wait_for(lambda: client.notifies(), "a job")
        _, en1, en2_size = subscribed["result"]
        en2 = bytes(en2_size)

        # the receiver holds the first alert; the queue behind it overflows
        for height in range(10):
            hub.publish("block.orphaned", height=height, hash="%064x" % height, reason="test")
        await hung.wait_for(1)
        self.assertGreater(alerts.sender.dropped, 0)
        answered, slowest, nonce = 0, 0.0, 0
        while answered < 20:
            work = Work.from_notify(client.notifies()[-1], bytes.fromhex(en1), en2_size,
                                    client.difficulty())
            nonce = find_nonce(work, en2, nonce + 1)
            started = time.monotonic()
            answer = await client.call("mining.submit", MINER_ADDRESS + ".probe", work.job_id,
                                       en2.hex(), "%08x" % work.ntime, "%08x" % nonce)
            slowest = max(slowest, time.monotonic() - started)
            if answer["error"] is None or answer["error"][0] != 21:   # 21: a new block raced it
                self.assertIs(answer["result"], True, answer)
                answered += 1
        # at D = 1 shares are blocks: their alerts were raised and queue behind the hung one
        await wait_for(lambda: alerts.raised["block.found"] >= 1, "a block.found alert")
        self.assertEqual(len(hung.requests), 1)            # one in flight, hanging
        self.assertLess(slowest, ANSWER_WITHIN)
        self.assertGreaterEqual(len(sink.shares), 20)
