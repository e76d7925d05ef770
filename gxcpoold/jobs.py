"""JobManager: node templates -> Stratum jobs, the recent ones kept for lookup.

Every template (a new tip, or the node's periodic refresh with a new random
coinbase txid) becomes a new job.  Jobs of the current tip stay valid so
in-flight work is still accepted; a new tip makes all older jobs stale and
is announced with clean_jobs=true.  If no template arrives for a while the
current job is re-issued with a later ntime so miners' clocks stay close to
the node's.
"""
import itertools
from collections import OrderedDict, deque

from twisted.application.service import Service
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from gxcpoold.node.errors import NodeError


class JobManager(Service):
    name = "jobs"
    log = Logger()

    def __init__(self, node, *, clock, algorithm, extranonce2_size=4, keep=8, job_refresh=30.0,
                 excluded_txids=None):
        """node: NodeService (templates, pool_address, client.fit_block).
        excluded_txids: a set (node/minedtxids.py: kept across restarts) the
        block submitter fills with txids the node has already mined (they
        linger in its mempool and poison blocks)."""
        self.node = node
        self.clock = clock
        self.extranonce2_size = extranonce2_size
        self.keep = keep
        self.job_refresh = job_refresh
        self.excluded_txids = excluded_txids if excluded_txids is not None else set()
        self.algorithm = algorithm
        self.jobs = OrderedDict()         # job_id -> job, current tip only, oldest first
        self.stale_ids = deque(maxlen=256)  # job ids dropped by a tip change
        self.current_job = None
        self._listeners = []
        self._ids = itertools.count(1)
        self._loop = None
        node.add_template_observer(self.on_template)

    # ------------------------------------------------------------ service

    def startService(self):
        super().startService()
        template = self.node.current_template
        if template is not None and self.current_job is None:
            self.on_template(template, True)
        self._loop = LoopingCall(self._refresh_if_old)
        self._loop.clock = self.clock
        self._loop.start(self.job_refresh, now=False)

    def stopService(self):
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
        return super().stopService()

    # ------------------------------------------------------------ listeners

    def add_listener(self, listener):
        """listener(job, clean_jobs) for every new job."""
        self._listeners.append(listener)

    def remove_listener(self, listener):
        if listener in self._listeners:
            self._listeners.remove(listener)

    # ------------------------------------------------------------ lookup

    def get(self, job_id):
        return self.jobs.get(job_id)

    def is_stale(self, job_id):
        return job_id in self.stale_ids

    # ------------------------------------------------------------ building

    def next_job_id(self):
        return "%x" % next(self._ids)

    def select_transactions(self, template):
        """Mempool txs for a job: none the node already mined, and only as
        many as fit the node's request limit, so the block we submit is
        exactly the one the header commits to."""
        txs = [tx for tx in template.transactions if tx["txid"] not in self.excluded_txids]
        if not txs:
            return ()
        # the largest block these transactions can make: widest nonce and hash
        draft = template.submitblock(hash_hex="0" * 64, nonce=2**31 - 1,
                                     miner=self.node.pool_address or "",
                                     timestamp=template.curtime, transactions=txs)
        try:
            fitted = self.node.client.fit_block(draft)
        except NodeError:
            return ()
        return tuple(fitted["transactions"][1:])

    def on_template(self, template, new_tip):
        """Template observer: build and announce a job."""
        address = self.node.pool_address
        if not address:
            self.log.warn("template for height {height} ignored: pool address not known yet",
                          height=template.height)
            return
        clean = new_tip or self.current_job is None \
            or self.current_job.previousblockhash != template.previousblockhash
        job = self.algorithm.build_job(
            template, self.next_job_id(), pool_address=address,
            extranonce2_size=self.extranonce2_size,
            transactions=self.select_transactions(template), clean_jobs=clean,
            created=self.clock.seconds())
        self.install(job)

    def install(self, job):
        """Make a job current and announce it (clean_jobs drops the older ones)."""
        if job.clean_jobs:
            self.stale_ids.extend(self.jobs)
            self.jobs.clear()
        self.jobs[job.job_id] = job
        while len(self.jobs) > self.keep:
            old_id, _ = self.jobs.popitem(last=False)
            self.stale_ids.append(old_id)
        self.current_job = job
        for listener in list(self._listeners):
            try:
                listener(job, job.clean_jobs)
            except Exception:
                self.log.failure("job listener {listener!r} failed", listener=listener)

    def _refresh_if_old(self):
        """Re-issue the current job with a later ntime when no template came."""
        job = self.current_job
        if job is None or job.template is None:
            return
        age = self.clock.seconds() - job.created
        if age < self.job_refresh:
            return
        fresh = self.algorithm.build_job(
            job.template, self.next_job_id(), pool_address=self.node.pool_address,
            extranonce2_size=self.extranonce2_size, transactions=job.transactions,
            ntime=job.ntime + int(age), clean_jobs=False, created=self.clock.seconds())
        self.install(fresh)

    def refresh_template(self):
        """Ask the node for a template now (after a block, a difficulty error)."""
        return self.node.watcher.refresh()
