"""/metrics: the pool's figures for Prometheus.

Most figures are read from the live objects when scraped (connections,
share counts a port keeps, check times, node health and call times, the
share journal, DAG and hashing-pool state), so nothing is counted twice
and nothing costs the share path a Prometheus call (gxcpoold/metrics.py).
What only an event tells (share batch commit times, payouts sent and
mined) is counted from the event hub as it happens.  Each pool has its own
registry (never the process-wide default): tests run many pools at once.
The one database figure, whether payouts are halted, is read through the
read model's cache.  Money is in integer base units (1e-8 GXC), exact as
a Prometheus sample below 2**53 (90 million GXC).
"""
import os

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (CounterMetricFamily, GaugeMetricFamily,
                                            HistogramMetricFamily)
from prometheus_client.registry import CollectorRegistry
from prometheus_client.utils import floatToGoString

import gxcpoold
from gxcpoold.ledger.payoutstore import halted
from gxcpoold.metrics import ALL_REASONS, WRITE_BUCKETS, Timings
from gxcpoold.node.health import CONNECTED, DOWN, LAGGING
from gxcpoold.shares import ACCEPTED, ORPHANED, REJECTED, SUBMITTED

NODE_STATES = (CONNECTED, LAGGING, DOWN)
# BlockSubmitter.counts keys; "not sent": a candidate that only counted as a share
SUBMISSION_OUTCOMES = (ACCEPTED, REJECTED, ORPHANED, SUBMITTED, "not sent")
PAYOUT_KINDS = ("payout", "consolidation")
DAG_EVENTS = ("generated", "loaded", "dropped", "failed")


def _histogram(name, doc, labelnames, series):
    """A histogram family from [(label values, Timings)]."""
    family = HistogramMetricFamily(name, doc, labels=labelnames)
    for values, timings in series:
        family.add_metric(values, [(floatToGoString(bound), n)
                                   for bound, n in timings.cumulative()], timings.sum)
    return family


def _gauge(name, doc, value, labelnames=(), values=()):
    family = GaugeMetricFamily(name, doc, labels=labelnames)
    family.add_metric(list(values), value)
    return family


def _counter(name, doc, value):
    family = CounterMetricFamily(name, doc, labels=())
    family.add_metric([], value)
    return family


def _file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class EventTotals:
    """What the hub tells as it happens: share batch commits, payouts."""

    def __init__(self, events):
        self.write_times = Timings(WRITE_BUCKETS)
        self.payouts = {(what, kind): [0, 0] for what in ("sent", "mined")
                        for kind in PAYOUT_KINDS}     # -> [count, base units]
        self._unsubscribe = events.subscribe(
            self._event, {"shares.written", "payout.sent", "payout.mined"})

    def _event(self, event):
        data = event.data
        if event.kind == "shares.written":
            self.write_times.observe(float(data["seconds"]))
            return
        # consolidations (the pool wallet to itself) have keys "@consolidation#n"
        kind = "consolidation" if str(data.get("key", "")).startswith("@") else "payout"
        totals = self.payouts[(event.kind.split(".")[1], kind)]
        totals[0] += 1
        totals[1] += int(data["amount"])

    def close(self):
        self._unsubscribe()


class PoolCollector:
    """The pool's families, read from ctx's live objects at each collect()."""

    def __init__(self, ctx, totals):
        self.ctx = ctx
        self.totals = totals
        self.database = None     # per scrape: (readable, halted reason or None)

    def collect(self):
        yield from self._process()
        yield from self._stratum()
        yield from self._verifiers()
        yield from self._node()
        yield from self._blocks()
        yield from self._ledger()
        yield from self._payouts()

    def _process(self):
        ctx = self.ctx
        info = GaugeMetricFamily("gxcpool_info", "The pool's version and network.",
                                 labels=("version", "network"))
        info.add_metric([gxcpoold.__version__, ctx.network], 1)
        yield info
        yield _gauge("gxcpool_start_time_seconds", "When the pool started (Unix time).",
                     ctx.started_at)

    # ------------------------------------------------------------ Stratum ports

    def _stratum(self):
        ports = self.ctx.ports
        connections = GaugeMetricFamily(
            "gxcpool_stratum_connections", "Open miner connections per Stratum port.",
            labels=("algorithm", "port"))
        listening = GaugeMetricFamily(
            "gxcpool_stratum_listening", "1 while the algorithm's Stratum port listens.",
            labels=("algorithm",))
        accepted = CounterMetricFamily(
            "gxcpool_shares_accepted", "Shares accepted (credited) since the pool started.",
            labels=("algorithm",))
        rejected = CounterMetricFamily(
            "gxcpool_shares_rejected", "Shares refused since the pool started, by reason.",
            labels=("algorithm", "reason"))
        checks = []
        for name, service in ports.items():
            port = service.port
            number = str(getattr(port.getHost(), "port", "")) if port is not None else ""
            connections.add_metric([name, number], len(service.sessions))
            listening.add_metric([name], 1 if port is not None else 0)
            accepted.add_metric([name], service.shares_accepted)
            counts = service.shares_rejected
            for reason in ALL_REASONS:
                rejected.add_metric([name, reason], counts.get(reason, 0))
            checks.append(([name], service.check_times))
        yield from (connections, listening, accepted, rejected)
        yield _histogram(
            "gxcpool_share_check_seconds",
            "Time to check a share: the inline hash for sha256d (one share in 64 timed); "
            "queue wait plus hash in the thread pool for ethash and gxhash (every share).",
            ("algorithm",), checks)

    def _verifiers(self):
        """Hashing pools (ethash, gxhash) and the ethash DAG."""
        threads = GaugeMetricFamily("gxcpool_verify_threads",
                                    "Threads checking the algorithm's shares.",
                                    labels=("algorithm",))
        pending = GaugeMetricFamily("gxcpool_verify_pending",
                                    "Share checks queued or running.", labels=("algorithm",))
        limit = GaugeMetricFamily("gxcpool_verify_queue_limit",
                                  "Share checks the pool holds before answering busy.",
                                  labels=("algorithm",))
        dag_families = []
        for name, service in self.ctx.ports.items():
            algorithm = service.algorithm
            pool = getattr(algorithm, "pool", None)
            if pool is not None:
                status = pool.status()
                threads.add_metric([name], status["threads"])
                pending.add_metric([name], status["pending"])
                limit.add_metric([name], status["max_pending"])
            if getattr(algorithm, "dag", None) is not None:
                dag_families.extend(self._dag(name, algorithm))
        yield from (threads, pending, limit)
        yield from dag_families

    @staticmethod
    def _dag(name, algorithm):
        status = algorithm.status()
        dag = algorithm.dag.status()
        labels = ("algorithm",)
        if status["epoch"] is not None:
            yield _gauge("gxcpool_dag_epoch", "The current Ethash epoch (height // 30000).",
                         status["epoch"], labels, [name])
        yield _gauge("gxcpool_dag_full",
                     "1 when the current epoch's shares are checked with the full DAG, "
                     "0 with the light cache.", 1 if status["mode"] == "full" else 0,
                     labels, [name])
        yield _gauge("gxcpool_dag_configured_full",
                     "1 when [stratum.ethash] dag_mode is full (a DAG is built per epoch).",
                     1 if status["dag_mode"] == "full" else 0, labels, [name])
        ready = GaugeMetricFamily("gxcpool_dag_epoch_ready", "1 for each epoch whose DAG is "
                                  "ready.", labels=("algorithm", "epoch"))
        for epoch in status["epochs_ready"]:
            ready.add_metric([name, str(epoch)], 1)
        yield ready
        progress = GaugeMetricFamily("gxcpool_dag_build_progress_ratio",
                                     "Share of the DAG being built that is done (0 to 1).",
                                     labels=("algorithm", "epoch"))
        if status["progress"] is not None:
            progress.add_metric([name, str(status["progress"]["epoch"])],
                                status["progress"]["percent"] / 100.0)
        yield progress
        events = CounterMetricFamily("gxcpool_dag_events", "DAGs generated, loaded from "
                                     "disk, dropped and failed.", labels=("algorithm", "event"))
        for event in DAG_EVENTS:
            events.add_metric([name, event], dag.get(event, 0))
        yield events

    # ------------------------------------------------------------ node

    def _node(self):
        node = self.ctx.node
        if node is None:
            return
        health = node.health
        state = GaugeMetricFamily("gxcpool_node_state", "1 for the node link's state "
                                  "(connected, lagging, down), 0 for the others.",
                                  labels=("state",))
        for name in NODE_STATES:
            state.add_metric([name], 1 if health.state == name else 0)
        yield state
        yield _gauge("gxcpool_node_consecutive_failures", "Node polls failed in a row.",
                     health.consecutive_failures)
        template = node.current_template
        height = template.height if template is not None else health.height
        if height is not None:
            yield _gauge("gxcpool_node_height", "Height of the block being mined (the node's "
                         "template).", height)
        if template is not None:
            yield _gauge("gxcpool_node_difficulty", "The node's block difficulty D.",
                         template.difficulty)
            yield _gauge("gxcpool_node_network_work", "Expected hashes per block: "
                         "16 ** floor(D).", float(template.network_work))
        client = node.client
        yield _histogram("gxcpool_node_rpc_seconds", "Node JSON-RPC calls answered, by "
                         "method: seconds from connecting to the whole answer.", ("method",),
                         [([method], timings) for method, timings in
                          sorted(client.rpc_times.items())])
        failures = CounterMetricFamily("gxcpool_node_rpc_failures", "Node JSON-RPC "
                                       "exchanges without a usable answer, by method.",
                                       labels=("method",))
        for method, n in sorted(client.rpc_failures.items()):
            failures.add_metric([method], n)
        yield failures

    # ------------------------------------------------------------ blocks

    def _blocks(self):
        pipelines = {id(s.pipeline): s.pipeline for s in self.ctx.ports.values()}
        if pipelines:
            yield _counter("gxcpool_block_candidates", "Shares that met the block target.",
                           sum(p.blocks_found for p in pipelines.values()))
        submitter = self.ctx.submitter
        if submitter is None:
            return
        outcomes = CounterMetricFamily(
            "gxcpool_block_submissions", "Block candidates by the submitter's outcome "
            "(not_sent: its height was settled or superseded; it counted as a share).",
            labels=("outcome",))
        counts = submitter.counts
        for outcome in sorted(set(SUBMISSION_OUTCOMES) | set(counts)):
            outcomes.add_metric([outcome.replace(" ", "_")], counts.get(outcome, 0))
        yield outcomes

    # ------------------------------------------------------------ ledger

    def _ledger(self):
        yield _histogram("gxcpool_share_batch_write_seconds", "Time to commit one batch of "
                         "shares to the database.", (), [((), self.totals.write_times)])
        if self.database is not None:
            yield _gauge("gxcpool_database_readable", "1 when this scrape's database read "
                         "succeeded.", 1 if self.database[0] else 0)
        ledger = self.ctx.ledger
        writer = getattr(ledger, "shares", None)
        if writer is None:
            return
        yield _counter("gxcpool_shares_written", "Shares committed to the database.",
                       writer.written)
        yield _counter("gxcpool_shares_spilled", "Shares that waited on disk because the "
                       "database was away.", writer.spilled)
        yield _gauge("gxcpool_database_writable", "0 while share writes fail (shares wait "
                     "in the journal).", 1 if writer.db_ok else 0)
        sealed = [item.path for item in writer.queue if item.path is not None]
        journal = writer.journal
        yield _gauge("gxcpool_share_journal_files", "Sealed journal files waiting for the "
                     "database.", len(sealed))
        yield _gauge("gxcpool_share_journal_bytes", "Bytes of journaled shares not yet in "
                     "the database (the live file and the sealed ones).",
                     journal.size + sum(_file_size(path) for path in sealed))
        yield _gauge("gxcpool_share_journal_records", "Shares in the live journal file.",
                     journal.records)
        yield _gauge("gxcpool_shares_unjournaled", "Shares only in memory: the journal could "
                     "not take them (disk full?).", len(writer.unjournaled))

    # ------------------------------------------------------------ payouts

    def _payouts(self):
        for what, doc in (("sent", "sent to the node"), ("mined", "found in a block")):
            count = CounterMetricFamily("gxcpool_payouts_%s" % what, "Payouts %s since the "
                                        "pool started, by kind." % doc, labels=("kind",))
            amount = CounterMetricFamily("gxcpool_payouts_%s_base_units" % what, "Amount of "
                                         "the payouts %s, in base units (1e-8 GXC)." % doc,
                                         labels=("kind",))
            for kind in PAYOUT_KINDS:
                n, total = self.totals.payouts[(what, kind)]
                count.add_metric([kind], n)
                amount.add_metric([kind], total)
            yield count
            yield amount
        if self.database is not None and self.database[0]:
            yield _gauge("gxcpool_payouts_halted", "1 while payouts are halted until an "
                         "operator resumes them (gxcpool-admin payouts resume).",
                         1 if self.database[1] else 0)


class PoolMetrics:
    """The pool's registry and the one scrape: a database read, then the text."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.totals = EventTotals(ctx.events)
        self.collector = PoolCollector(ctx, self.totals)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)

    def close(self):
        self.totals.close()

    def scrape(self, accept):
        """A Deferred of (body bytes, content type) for an Accept header."""
        d = self.ctx.cached(halted)
        d.addCallbacks(lambda reason: (True, reason), lambda _failure: (False, None))
        d.addCallback(self._render, accept)
        return d

    def _render(self, database, accept):
        encoder, content_type = choose_encoder(accept)
        # set and read in one go on the reactor thread: no other scrape interleaves
        self.collector.database = database
        try:
            return encoder(self.registry), content_type
        finally:
            self.collector.database = None


def add_routes(app, ctx):
    metrics = PoolMetrics(ctx)
    ctx.on_stop.append(metrics.close)

    @app.route("/metrics", methods=["GET"])
    def scrape(request):
        accept = (request.getHeader(b"accept") or b"").decode("latin-1")

        def answer(rendered):
            body, content_type = rendered
            request.setHeader(b"Content-Type", content_type.encode("ascii"))
            request.setHeader(b"Cache-Control", b"no-store")
            return body
        return metrics.scrape(accept).addCallback(answer)
