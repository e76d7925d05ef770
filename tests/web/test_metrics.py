"""/metrics over real HTTP: a WebService on loopback over a real SQLite ledger,
fed by real Stratum sessions (sha256d inline, ethash in its check pool), a
real share writer and journal, a real block submitter and node client
talking to a scripted node on loopback.  The figures must match what the
miners were told and what the objects hold."""
import json
import os
import sqlite3
import tempfile
from types import SimpleNamespace

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url
from twisted.internet import defer, reactor
from twisted.internet.protocol import Protocol
from twisted.trial import unittest
from twisted.web.client import Agent, ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers

from gxcpoold.config import load_config
from gxcpoold.events import EventHub
from gxcpoold.ledger import meta
from gxcpoold.ledger import payoutstore
from gxcpoold.ledger.db import Database, ReadDatabase
from gxcpoold.ledger.sharewriter import ShareWriter
from gxcpoold.node.client import NodeClient
from gxcpoold.node.health import NodeHealth
from gxcpoold.node.submitter import BlockSubmitter
from gxcpoold.shares import MemoryBlockRecorder
from gxcpoold.web.cache import ReadCache
from gxcpoold.web.context import WebContext
from gxcpoold.web.service import WebService
from tests.ledger.dbtest import trial_database
from tests.node.fakes import ScriptedNode, http, request_json
from tests.stratum import test_ethstratum as eth
from tests.stratum.ethash_pool import EthashPool
from tests.stratum.helpers import MINER_ADDRESS, POOL_ADDRESS, Pool, gxc_template
from tests.waiting import wait_for

USERNAME = MINER_ADDRESS + ".rig1"


def node_answer(data):
    """The scripted node: submitblock accepted (null), getbestblockhash hangs up."""
    request = request_json(data)
    if request["method"] == "getbestblockhash":
        return "reset"
    result = 42 if request["method"] == "getblockcount" else None
    return http(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode())


class _Body(Protocol):
    """The whole body of a response (readBody warns about Agent's transport)."""

    def __init__(self):
        self.chunks = []
        self.done = defer.Deferred()

    def dataReceived(self, data):
        self.chunks.append(data)

    def connectionLost(self, reason):
        if reason.check(ResponseDone, PotentialDataLoss):
            self.done.callback(b"".join(self.chunks))
        else:
            self.done.errback(reason)


class Scraped:
    """The families of one /metrics answer, by name."""

    def __init__(self, text):
        self.text = text
        self.families = {f.name: f for f in text_string_to_metric_families(text)}

    def samples(self, sample_name, **labels):
        found = []
        for family in self.families.values():
            for sample in family.samples:
                if sample.name == sample_name and all(sample.labels.get(k) == v
                                                      for k, v in labels.items()):
                    found.append(sample)
        return found

    def value(self, sample_name, **labels):
        found = self.samples(sample_name, **labels)
        assert len(found) == 1, (sample_name, labels, found)
        return found[0].value

    def has(self, sample_name, **labels):
        return bool(self.samples(sample_name, **labels))


class MetricsTest(unittest.TestCase):
    timeout = 60

    def setUp(self):
        self.hub = EventHub(reactor)
        self.tmp = tempfile.mkdtemp(prefix="gxcmetrics-")
        self.db = trial_database(self, "sqlite")
        # the share writer's own handle fails fast while a test locks the database
        self.write_db = Database(self.db.url, reactor=reactor,
                                 engine_kw={"busy_timeout_ms": 100})
        self.addCleanup(self.write_db.close)
        self.writer = ShareWriter(self.write_db, spill_path=os.path.join(self.tmp, "shares.spill"),
                                  batch_size=10**6, flush_interval=3600.0, events=self.hub)
        self.writer.startService()
        self.addCleanup(lambda: self.writer.running and self.writer.stopService())

        self.node_server = ScriptedNode(node_answer)
        url = self.node_server.listen()
        self.addCleanup(self.node_server.stop)
        client = NodeClient(reactor, url, retries=0, timeout=5.0)
        self.health = NodeHealth(reactor, slow_after=5.0, down_after_failures=3,
                                 stale_after=60.0)
        self.node = SimpleNamespace(health=self.health, client=client, current_template=None,
                                    pool_address=POOL_ADDRESS)
        self.submitter = BlockSubmitter(client, MemoryBlockRecorder(), clock=reactor,
                                        retries=0, events=self.hub)

        # sha256d: D = 1 (a hash in 16 is a block), shares checked inline
        self.sha = Pool(submit_block=self.submitter.submit, min_difficulty=1e-12,
                        requests_per_second=1e9, max_connections_per_ip=10)
        self.sha.service.pipeline.share_sink = self.writer       # the real journal
        self.template = gxc_template(difficulty=1.0)
        self.sha.node.push(self.template, True)
        # ethash: checks in its pool (run when the test says), light cache of epoch 0
        self.eth = EthashPool()
        self.eth.push()
        self.addCleanup(self.eth.stop)

        config = load_config(None, environ={}, overrides={
            ("web", "endpoint"): "tcp:0:interface=127.0.0.1", ("pool", "state_dir"): self.tmp})
        self.ctx = WebContext(config=config, reads=ReadDatabase(self.db.url, reactor=reactor),
                              events=self.hub, clock=reactor, node=self.node,
                              ledger=SimpleNamespace(shares=self.writer),
                              ports={"sha256d": self.sha.service, "ethash": self.eth.service},
                              submitter=self.submitter, started_at=reactor.seconds())
        self.ctx.cache = ReadCache(self.ctx, ttl=0.0)    # every scrape reads the database
        self.web = WebService(self.ctx)
        self.web.startService()
        self.addCleanup(self.web.stopService)

    async def scrape(self, accept=None):
        port = await self.web.whenListening()
        url = b"http://127.0.0.1:%d/metrics" % port.getHost().port
        headers = Headers({b"Accept": [accept]} if accept else {})
        response = await Agent(reactor).request(b"GET", url, headers)
        reader = _Body()
        response.deliverBody(reader)
        body = await reader.done
        self.assertEqual(response.code, 200, body)
        self.response = response
        return Scraped(body.decode("utf-8"))

    # ------------------------------------------------------------ helpers

    def submit(self, peer, job_id, nonce, username=USERNAME, extranonce2=None):
        job = self.sha.service.jobs.current_job
        params = [username, job_id, extranonce2 or "%08x" % nonce, "%08x" % job.ntime,
                  "%08x" % nonce]
        answer, _ = peer.call("mining.submit", *params)
        return answer

    def tally(self, answers):
        told = {"accepted": 0}
        for answer in answers:
            if answer.get("result") is True:
                told["accepted"] += 1
            else:
                code = answer["error"][0]
                told[code] = told.get(code, 0) + 1
        return told

    # ------------------------------------------------------------ tests

    async def test_share_counts_match_what_the_miners_were_told(self):
        easy = self.sha.connect(port=1)
        easy.login(password="d=1e-10")          # every hash is a share
        hard = self.sha.connect(port=2)
        hard.login()                            # at the ceiling: a hash in 16
        old_job = self.sha.service.jobs.current_job.job_id
        answers = [self.submit(easy, old_job, n) for n in range(130)]
        answers.append(self.submit(easy, old_job, 0))                       # duplicate
        answers += [self.submit(hard, old_job, 1000 + n) for n in range(40)]  # mostly low
        answers.append(self.submit(easy, old_job, 7, username=MINER_ADDRESS + ".nobody"))
        answers.append(easy.call("mining.submit", USERNAME, old_job)[0])      # malformed
        # a new tip: the old job's shares are stale now
        self.sha.node.push(gxc_template(difficulty=1.0, prev="cd" * 32, height=6), True)
        answers.append(self.submit(easy, old_job, 500))
        lone = self.sha.connect(port=3)             # authorized, never subscribed
        lone.call("mining.authorize", USERNAME, "x")
        answers.append(self.submit(lone, self.sha.service.jobs.current_job.job_id, 1))
        told = self.tally(answers)
        self.assertEqual(told[22], 1)
        self.assertEqual(told[24], 1)
        self.assertEqual(told[25], 1)
        self.assertEqual(told[21], 1)
        self.assertGreater(told[23], 20)
        self.assertEqual(told[20], 1)            # the malformed submit

        m = await self.scrape()
        self.assertEqual(m.value("gxcpool_shares_accepted_total", algorithm="sha256d"),
                         told["accepted"])
        for reason, code in (("duplicate", 22), ("unauthorized", 24), ("not_subscribed", 25),
                             ("stale", 21), ("low_difficulty", 23), ("malformed", 20)):
            self.assertEqual(m.value("gxcpool_shares_rejected_total", algorithm="sha256d",
                                     reason=reason), told[code], reason)
        for reason in ("busy", "other"):
            self.assertEqual(m.value("gxcpool_shares_rejected_total", algorithm="sha256d",
                                     reason=reason), 0)
        self.assertEqual(m.value("gxcpool_shares_accepted_total", algorithm="ethash"), 0)
        self.assertEqual(m.value("gxcpool_stratum_connections", algorithm="sha256d", port=""),
                         3)
        self.assertEqual(m.value("gxcpool_stratum_listening", algorithm="sha256d"), 0)
        # one inline check in 64 is timed: 170 checks on the easy and hard sessions
        checks = m.value("gxcpool_share_check_seconds_count", algorithm="sha256d")
        self.assertEqual(checks, sum(s.checks_started // 64 for s in self.sha.service.sessions))
        self.assertGreaterEqual(checks, 2)
        self.assertEqual(m.value("gxcpool_share_check_seconds_bucket", algorithm="sha256d",
                                 le="+Inf"), checks)
        self.assertGreater(m.value("gxcpool_share_check_seconds_sum", algorithm="sha256d"), 0)
        # the Prometheus text format, not OpenMetrics, unless asked
        self.assertEqual(self.response.headers.getRawHeaders(b"content-type"),
                         [b"text/plain; version=0.0.4; charset=utf-8"])

    async def test_blocks_node_calls_and_the_journal(self):
        peer = self.sha.connect()
        peer.login(password="d=1e-10")
        job_id = self.sha.service.jobs.current_job.job_id
        answers = [self.submit(peer, job_id, n) for n in range(100)]
        self.assertEqual(self.tally(answers), {"accepted": 100})
        found = self.sha.service.pipeline.blocks_found
        self.assertGreater(found, 1)           # at D = 1, a share in 16
        await wait_for(lambda: sum(self.submitter.counts.values()) == found,
                       "the submitter's outcomes")
        # a call the node hangs up on
        with self.assertRaises(Exception):
            await self.node.client.getbestblockhash(retry=False)

        m = await self.scrape()
        self.assertEqual(m.value("gxcpool_block_candidates_total"), found)
        self.assertEqual(m.value("gxcpool_block_submissions_total", outcome="accepted"), 1)
        self.assertEqual(m.value("gxcpool_block_submissions_total", outcome="not_sent"),
                         found - 1)
        self.assertEqual(m.value("gxcpool_block_submissions_total", outcome="rejected"), 0)
        self.assertEqual(m.value("gxcpool_node_rpc_seconds_count", method="submitblock"), 1)
        self.assertEqual(m.value("gxcpool_node_rpc_failures_total", method="getbestblockhash"),
                         1)
        # the accepted shares wait in the live journal file
        journal = self.writer.journal
        self.assertEqual(m.value("gxcpool_share_journal_records"), 100)
        self.assertEqual(m.value("gxcpool_share_journal_bytes"), journal.size)
        self.assertEqual(journal.size, os.path.getsize(journal.path))
        self.assertEqual(m.value("gxcpool_share_batch_write_seconds_count"), 0)

        await self.writer.flush()
        m = await self.scrape()
        self.assertEqual(m.value("gxcpool_shares_written_total"), 100)
        self.assertEqual(m.value("gxcpool_share_journal_bytes"), 0)
        self.assertEqual(m.value("gxcpool_share_batch_write_seconds_count"), 1)
        self.assertEqual(m.value("gxcpool_share_batch_write_seconds_sum"),
                         self.writer.last_write_seconds)
        self.assertEqual(m.value("gxcpool_database_writable"), 1)

        # the database locked: the next batch waits on disk, sealed
        more = [self.submit(peer, job_id, 1000 + n) for n in range(30)]
        self.assertEqual(self.tally(more), {"accepted": 30})
        raw = sqlite3.connect(make_url(self.db.url).database, isolation_level=None)
        raw.execute("BEGIN EXCLUSIVE")
        try:
            await self.writer.flush()
        finally:
            raw.execute("ROLLBACK")
            raw.close()
        m = await self.scrape()
        (sealed,) = [item.path for item in self.writer.queue]
        self.assertEqual(m.value("gxcpool_database_writable"), 0)
        self.assertEqual(m.value("gxcpool_shares_spilled_total"), 30)
        self.assertEqual(m.value("gxcpool_share_journal_files"), 1)
        self.assertEqual(m.value("gxcpool_share_journal_bytes"), os.path.getsize(sealed))
        await self.writer.flush()
        m = await self.scrape()
        self.assertEqual(m.value("gxcpool_shares_written_total"), 130)
        self.assertEqual(m.value("gxcpool_share_journal_files"), 0)
        self.assertEqual(m.value("gxcpool_database_writable"), 1)

    async def test_node_health_height_and_difficulty(self):
        m = await self.scrape()
        self.assertEqual(m.value("gxcpool_node_state", state="down"), 1)
        self.assertEqual(m.value("gxcpool_node_state", state="connected"), 0)
        self.assertFalse(m.has("gxcpool_node_height"))
        self.health.succeeded(0.01)
        self.health.template_received(5)
        self.node.current_template = self.template
        m = await self.scrape()
        self.assertEqual([m.value("gxcpool_node_state", state=s)
                          for s in ("connected", "lagging", "down")], [1, 0, 0])
        self.assertEqual(m.value("gxcpool_node_height"), 5)
        self.assertEqual(m.value("gxcpool_node_difficulty"), 1.0)
        self.assertEqual(m.value("gxcpool_node_network_work"), 16.0)
        self.health.failed("connection refused")
        m = await self.scrape()
        self.assertEqual([m.value("gxcpool_node_state", state=s)
                          for s in ("connected", "lagging", "down")], [0, 1, 0])
        self.assertEqual(m.value("gxcpool_node_consecutive_failures"), 1)

    async def test_payout_totals_in_base_units_and_the_halt_flag(self):
        m = await self.scrape()
        self.assertEqual(m.value("gxcpool_payouts_halted"), 0)
        self.assertEqual(m.value("gxcpool_database_readable"), 1)
        self.hub.publish("payout.sent", key=MINER_ADDRESS + "#1", recipient=MINER_ADDRESS,
                         amount=123_456_789_012, txid="aa" * 32, payout_kind="payout")
        self.hub.publish("payout.sent", key="@consolidation#1", recipient=POOL_ADDRESS,
                         amount=5_000_000_001, txid="bb" * 32, payout_kind="consolidation")
        self.hub.publish("payout.mined", key=MINER_ADDRESS + "#1", recipient=MINER_ADDRESS,
                         amount=123_456_789_012, block_height=9)
        self.db.run_sync(meta.put, meta.PAYOUTS_HALTED, "node refused payout x#1: no funds")
        m = await self.scrape()
        self.assertEqual(m.value("gxcpool_payouts_sent_base_units_total", kind="payout"),
                         123_456_789_012)
        self.assertEqual(m.value("gxcpool_payouts_sent_total", kind="payout"), 1)
        self.assertEqual(m.value("gxcpool_payouts_sent_base_units_total",
                                 kind="consolidation"), 5_000_000_001)
        self.assertEqual(m.value("gxcpool_payouts_mined_base_units_total", kind="payout"),
                         123_456_789_012)
        self.assertEqual(m.value("gxcpool_payouts_mined_total", kind="consolidation"), 0)
        # base units, exact: a sample is a float, and every amount below 2**53 is one
        (sample,) = m.samples("gxcpool_payouts_sent_base_units_total", kind="payout")
        self.assertEqual(int(sample.value), 123_456_789_012)
        self.assertEqual(m.value("gxcpool_payouts_halted"), 1)
        self.db.run_sync(payoutstore.resume, "operator", "funds back")
        m = await self.scrape()
        self.assertEqual(m.value("gxcpool_payouts_halted"), 0)

    async def test_an_unreadable_database_leaves_the_rest_of_the_scrape(self):
        self.ctx.reads.close()
        self.ctx.reads = ReadDatabase("sqlite:///" + os.path.join(self.tmp, "no", "such.db"),
                                      reactor=reactor)
        m = await self.scrape()
        self.assertEqual(m.value("gxcpool_database_readable"), 0)
        self.assertFalse(m.has("gxcpool_payouts_halted"))
        self.assertTrue(m.has("gxcpool_shares_accepted_total", algorithm="sha256d"))

    async def test_ethash_checks_dag_and_verify_pool(self):
        peer = self.eth.connect()
        extranonce1, job_id, header = eth.login(peer, "x,d=16")
        digits, _ = eth.share(extranonce1, header, 16)
        self.assertEqual(eth.submit(peer, job_id, digits, 41), [])
        m = await self.scrape()
        self.assertEqual(m.value("gxcpool_verify_pending", algorithm="ethash"), 1)
        self.assertEqual(m.value("gxcpool_verify_threads", algorithm="ethash"), 1)
        self.assertEqual(m.value("gxcpool_verify_queue_limit", algorithm="ethash"), 64)
        self.assertFalse(m.has("gxcpool_verify_threads", algorithm="sha256d"))
        self.assertEqual(m.value("gxcpool_share_check_seconds_count", algorithm="ethash"), 0)
        self.assertEqual(eth.answer(self.eth, peer), {"id": 41, "result": True, "error": None})
        m = await self.scrape()
        # every pooled check is timed
        self.assertEqual(m.value("gxcpool_share_check_seconds_count", algorithm="ethash"), 1)
        self.assertEqual(m.value("gxcpool_shares_accepted_total", algorithm="ethash"), 1)
        self.assertEqual(m.value("gxcpool_verify_pending", algorithm="ethash"), 0)
        status = self.eth.algorithm.status()
        self.assertEqual(m.value("gxcpool_dag_epoch", algorithm="ethash"), 0)
        self.assertEqual(m.value("gxcpool_dag_full", algorithm="ethash"), 0)     # light mode
        self.assertEqual(m.value("gxcpool_dag_configured_full", algorithm="ethash"), 0)
        self.assertEqual(sorted(int(s.labels["epoch"])
                                for s in m.samples("gxcpool_dag_epoch_ready")),
                         sorted(status["epochs_ready"]))
        self.assertEqual(m.value("gxcpool_dag_events_total", algorithm="ethash",
                                 event="failed"), 0)

    async def test_openmetrics_on_request_and_the_per_pool_registry(self):
        m = await self.scrape(accept=b"application/openmetrics-text; version=1.0.0")
        self.assertTrue(self.response.headers.getRawHeaders(b"content-type")[0]
                        .startswith(b"application/openmetrics-text"))
        self.assertTrue(m.text.endswith("# EOF\n"))
        # nothing from the process-wide default registry (python_gc_..., process_...)
        self.assertNotIn("python_gc", m.text)
        self.assertNotIn("process_cpu", m.text)
        self.assertEqual(self.response.headers.getRawHeaders(b"cache-control"), [b"no-store"])
