"""The mined-txid set: kept across restarts, bounded, and what it saves on the devnet."""
import json
import os
import secrets
import shutil
import tempfile

from twisted.internet import defer, reactor
from twisted.internet.task import Clock
from twisted.trial import unittest

from gxcpoold.algorithms import sha256d
from gxcpoold.config import NodeSettings
from gxcpoold.jobs import JobManager
from gxcpoold.node.minedtxids import MARGIN, MinedTxids
from gxcpoold.node.service import NodeService
from gxcpoold.node.submitter import BlockSubmitter
from gxcpoold.shares import ACCEPTED, BlockCandidate, MemoryBlockRecorder
from tests.devnet.loopback import start_devnode
from tests.waiting import wait_for

NODE = NodeSettings(timeout=2.0, retries=1, retry_backoff=0.05, tip_poll_interval=0.1,
                    template_refresh=2.0)


def synchronous(fn, *args):
    return defer.maybeDeferred(fn, *args)


def mined_set(path, clock, **kw):
    return MinedTxids(path, clock=clock, run_in_thread=synchronous, **kw)


class MinedTxidsFile(unittest.TestCase):
    def setUp(self):
        state = tempfile.mkdtemp(prefix="gxcpool-mined-")
        self.addCleanup(shutil.rmtree, state)
        self.path = os.path.join(state, "mined-txids.json")
        self.clock = Clock()
        self.clock.advance(1_000_000)

    def test_survives_a_restart(self):
        first = mined_set(self.path, self.clock)
        first.update(["a", "b", None, ""])
        assert set(first) == {"a", "b"}
        again = mined_set(self.path, self.clock)
        again.load()
        assert "a" in again and "b" in again and len(again) == 2

    def test_expired_txids_are_dropped_and_the_size_is_bounded(self):
        mined = mined_set(self.path, self.clock, mempool_expiry=100.0, limit=3)
        mined.update(["old"])
        self.clock.advance(100 + MARGIN + 1)
        mined.update(["t1", "t2", "t3", "t4"])
        assert list(mined) == ["t2", "t3", "t4"]         # old expired, t1 over the limit
        again = mined_set(self.path, self.clock, mempool_expiry=100.0, limit=3)
        again.load()
        assert list(again) == ["t2", "t3", "t4"]
        self.clock.advance(100 + MARGIN + 1)
        later = mined_set(self.path, self.clock, mempool_expiry=100.0)
        later.load()
        assert len(later) == 0                          # all could have left the mempool

    def test_a_damaged_file_starts_empty_with_one_warning(self):
        with open(self.path, "w") as f:
            f.write("{not json")
        mined = mined_set(self.path, self.clock)
        mined.load()
        assert len(mined) == 0
        mined.update(["x"])
        with open(self.path) as f:
            assert list(json.load(f)) == ["x"]          # replaced whole, no temp file left
        assert os.listdir(os.path.dirname(self.path)) == ["mined-txids.json"]

    def test_an_unwritable_directory_is_one_warning_not_an_error(self):
        mined = mined_set(os.path.join(self.path, "no", "such", "dir.json"), self.clock)
        mined.update(["x"])
        mined.update(["y"])
        assert "x" in mined and "y" in mined             # memory still works

    async def test_writes_happen_off_the_reactor_thread_one_at_a_time(self):
        mined = MinedTxids(self.path, clock=self.clock)   # real thread pool
        mined.update(["a"])
        mined.update(["b"])
        await mined.save()
        with open(self.path) as f:
            assert set(json.load(f)) == {"a", "b"}


class RestartOnTheDevnet(unittest.TestCase):
    """Deliverable 5: a restart costs no failed submission."""

    timeout = 60

    def start_node(self):
        return start_devnode(self, difficulty=1.0)

    async def start_pool(self, devnode, path):
        """The pool's node link, jobs and submitter, as compose.py builds them."""
        node = NodeService(reactor, NODE, network="testnet", url=devnode.url)
        mined = MinedTxids(path, clock=reactor)
        mined.load()
        jobs = JobManager(node, algorithm=sha256d, clock=reactor, excluded_txids=mined)
        submitter = BlockSubmitter(node.client, MemoryBlockRecorder(), clock=reactor,
                                   refresh=node.watcher.refresh, mined_txids=mined)
        for service in (node, jobs, submitter):
            service.startService()
            self.addCleanup(lambda s=service: s.running and s.stopService())
        await wait_for(lambda: jobs.current_job is not None, "the first job")
        return node, jobs, submitter, mined

    def candidate(self, job, node):
        """A block from the job (the node checks only the hash's leading zeros)."""
        t = job.template
        block_hash = "0" * t.required_zeros + secrets.token_hex(32)[t.required_zeros:]
        block = {"height": t.height, "hash": block_hash, "previousblockhash": t.previousblockhash,
                 "nonce": 1, "miner": node.pool_address, "timestamp": t.curtime,
                 "difficulty": t.difficulty,
                 "transactions": [t.coinbase] + list(job.transactions)}
        return BlockCandidate(time=0.0, algorithm="sha256d", height=t.height, hash=block_hash,
                              previousblockhash=t.previousblockhash, address=node.pool_address,
                              worker="w", work=1, block=block)

    async def stop(self, *services):
        for service in services:
            await defer.maybeDeferred(service.stopService)

    async def mine_with_a_restart(self, path_after):
        """Mine the mempool tx, restart the pool (state from path_after), mine again.
        Returns the second pool's first job and how many submitblock calls its block took."""
        devnode = await self.start_node()
        dev = devnode.node
        dev.fund(dev.wallet.address, 100.0)
        txid = dev.send(dev.other_miner_address(), 1.0, None)
        path = os.path.join(self.state, "mined-txids.json")
        node, jobs, submitter, mined = await self.start_pool(devnode, path)
        await wait_for(lambda: [tx["txid"] for tx in jobs.current_job.transactions] == [txid],
                       "a job with the mempool tx")
        status = await submitter.submit(self.candidate(jobs.current_job, node))
        assert status == ACCEPTED and txid in mined
        await mined.save()
        await self.stop(submitter, jobs, node)
        assert txid in [tx.txid for tx in dev.mempool.listed()]   # the node keeps it (defect 6)

        node, jobs, submitter, _ = await self.start_pool(devnode, path_after or path)
        job = jobs.current_job
        sent = []
        submitblock = node.client.submitblock
        node.client.submitblock = lambda block: (sent.append(block), submitblock(block))[1]
        status = await submitter.submit(self.candidate(job, node))
        assert status == ACCEPTED
        return txid, job, sent

    def setUp(self):
        self.state = tempfile.mkdtemp(prefix="gxcpool-mined-")
        self.addCleanup(shutil.rmtree, self.state)

    async def test_first_block_after_a_restart_leaves_the_mined_tx_out(self):
        txid, job, sent = await self.mine_with_a_restart(None)
        assert txid not in [tx["txid"] for tx in job.transactions]
        assert len(sent) == 1                             # accepted at the first try

    async def test_without_the_file_the_first_block_would_fail(self):
        # the control: a pool that forgot the set includes the tx and must resubmit
        empty = os.path.join(self.state, "elsewhere.json")
        txid, job, sent = await self.mine_with_a_restart(empty)
        assert txid in [tx["txid"] for tx in job.transactions]
        assert [len(b["transactions"]) for b in sent] == [2, 1]   # failed, then coinbase-only
