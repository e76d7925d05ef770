"""A gxhash submission flood while sha256d miners mine (issue 11, slow-hash protection).

The pool runs as an operator runs it (`twistd gxcpool`, built-in devnet,
the ledger in SQLite; ethash off), with its sha256d and gxhash ports on
127.0.0.1.  This process drives both with raw Stratum clients on one
reactor:

- sha256d miners: a few connections authorized with password d=1e-10, so
  every hash is a share and they need no hashing (as bench/stratum_load.py
  does); each keeps one submit in flight and times its answer;
- an honest gxhash miner: one connection submitting one share a second
  (no hashing of its own: its shares are checked and mostly refused as low
  difficulty), timing each answer and counting Busy ones;
- gxhash flooders: connections that keep submissions queued at all times
  and send another as soon as one is answered, so the pool reads them as
  fast as it will.  Every submission carries a fresh valid nonce for the
  current job, so each one the pool accepts for checking costs a real
  gxhash (most are then refused as low difficulty).  A closed flooder
  reconnects half a second later (a banned one is then refused).

Two measured windows: (a) sha256d alone, (b) sha256d during the flood.
Prints one JSON object: sha256d submit latency p50/p99 and shares/s in
each window and their ratios (b / a); the honest gxhash miner's answers;
what became of the flood
submissions (checked, Busy, other), gxhash checks per second, the bans
the pool logged and the flooders' refused reconnections; pool CPU and RSS.
A figure, not a test.

    .venv/bin/python bench/gxhash_flood.py [--duration 20] [--flooders 4] [--miners 4]
"""
import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.d1_flood import ADDRESSES, TWISTD, Child, free_port, percentile, rss_bytes  # noqa: E402

SHA256D_PASSWORD = "d=1e-10"
FLOOD_QUEUED = 16                 # submissions each flooder keeps unanswered
RECONNECT_DELAY = 0.5
PROBE_INTERVAL = 1.0              # seconds between the honest gxhash miner's shares
DEVNET_DIFFICULTY = 8.0           # no block (a new tip) in either window


def write_config(state, ports, verify_threads):
    lines = ["[pool]", 'state_dir = "%s"' % state,
             "[stratum.sha256d]", 'endpoint = "tcp:%d:interface=127.0.0.1"' % ports["sha256d"],
             "min_difficulty = 1e-12",
             # the per-connection rate limit is not what is measured here
             "requests_per_second = 1e9",
             "[stratum.ethash]", "enabled = false",
             "[stratum.gxhash]", 'endpoint = "tcp:%d:interface=127.0.0.1"' % ports["gxhash"]]
    if verify_threads:
        lines.append("verify_threads = %d" % verify_threads)
    lines += ["[web]", 'endpoint = "tcp:%d:interface=127.0.0.1"' % ports["web"],
              "[devnet]", "enabled = true",
              'endpoint = "tcp:%d:interface=127.0.0.1"' % ports["node"],
              "difficulty = %r" % DEVNET_DIFFICULTY, "demo_miner_threads = 0",
              "request_latency = 0.010"]
    path = os.path.join(state, "gxcpool.toml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def cpu_seconds(pid):
    """User + system CPU seconds of a process (all its threads)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(args, ports, pool_pid):
    """The clients, on this process's reactor; returns the figures."""
    from twisted.internet import defer, reactor
    from twisted.internet.endpoints import TCP4ClientEndpoint
    from twisted.internet.protocol import Factory
    from twisted.internet.task import LoopingCall, deferLater
    from twisted.protocols.basic import LineReceiver

    sha = {"running": False, "latencies": [], "accepted": 0, "rejected": {}}
    flood = {"running": False, "sent": 0, "checked": 0, "accepted": 0, "busy": 0,
             "other": {}, "connections": 0, "banned": 0, "refused": 0, "first_ban": None,
             "started": None}

    probe = {"latencies": [], "checked": 0, "busy": 0, "other": {}}

    def count(table, error):
        reason = str((error or [None, "false"])[1])[:48]
        table[reason] = table.get(reason, 0) + 1

    class Sha256dMiner(LineReceiver):
        delimiter = b"\n"
        MAX_LENGTH = 1 << 20

        def connectionMade(self):
            self.ready = defer.Deferred()
            self.worker = (ADDRESSES[0] + ".sha%d" % id(self)).encode()
            self.job = None
            self.en2_size = 4
            self.en2 = self.nonce = 0
            self.sent_at = None
            self.sendLine(b'{"id":1,"method":"mining.subscribe","params":["flood-bench"]}')
            self.sendLine(b'{"id":2,"method":"mining.authorize","params":["%s","%s"]}'
                          % (self.worker, SHA256D_PASSWORD.encode()))

        def lineReceived(self, line):
            message = json.loads(line)
            if message.get("method") == "mining.notify":
                params = message["params"]
                self.job = (params[0].encode(), params[7].encode())
                if not self.ready.called:
                    self.ready.callback(self)
            elif message.get("id") == 1:
                self.en2_size = message["result"][2]
            elif message.get("id") == 3:
                if message.get("result") is True:
                    sha["accepted"] += 1
                    sha["latencies"].append(time.perf_counter() - self.sent_at)
                else:
                    count(sha["rejected"], message.get("error"))
                self.sent_at = None
                if sha["running"]:
                    self.submit()

        def submit(self):
            # a fresh (extranonce2, nonce) for every share: never a duplicate
            self.nonce = (self.nonce + 1) % 2**32
            if self.nonce == 0:
                self.en2 += 1
            job_id, ntime = self.job
            self.sent_at = time.perf_counter()
            self.sendLine(b'{"id":3,"method":"mining.submit","params":["%s","%s","%s","%s",'
                          b'"%08x"]}' % (self.worker, job_id,
                                         b"%0*x" % (2 * self.en2_size, self.en2), ntime,
                                         self.nonce))

    class Flooder(LineReceiver):
        delimiter = b"\n"
        MAX_LENGTH = 1 << 20

        def connectionMade(self):
            flood["connections"] += 1
            self.worker = (ADDRESSES[1] + ".flood").encode()
            self.job_id = None
            self.n = 0                   # the 16-bit miner nonce, one per submission
            self.request_id = 10
            self.sendLine(b'{"id":1,"method":"mining.subscribe","params":["flood-bench"]}')
            self.sendLine(b'{"id":2,"method":"mining.authorize","params":["%s","x"]}'
                          % self.worker)

        def lineReceived(self, line):
            message = json.loads(line)
            method = message.get("method")
            if method == "mining.notify":
                first = self.job_id is None
                self.job_id = message["params"][0].encode()
                if first:
                    for _ in range(FLOOD_QUEUED):
                        self.submit()
            elif method == "client.show_message":
                text = message["params"][0]
                if text.startswith("gxcpool: disconnected:"):
                    flood["banned"] += 1
                    if flood["first_ban"] is None:
                        flood["first_ban"] = time.monotonic() - flood["started"]
                elif text.startswith("gxcpool: connection refused:"):
                    flood["refused"] += 1
            elif isinstance(message.get("id"), int) and message["id"] > 10:
                error = message.get("error")
                if message.get("result") is True:
                    flood["checked"] += 1
                    flood["accepted"] += 1
                elif error and error[0] == 23:
                    flood["checked"] += 1             # hashed, below the share target
                elif error and str(error[1]).startswith("Busy:"):
                    flood["busy"] += 1
                else:
                    count(flood["other"], error)
                self.submit()

        def submit(self):
            if not flood["running"] or self.n > 0xFFFF or self.job_id is None:
                return
            self.request_id += 1
            flood["sent"] += 1
            self.sendLine(b'{"id":%d,"method":"mining.submit","params":["%s","%s","%04x"]}'
                          % (self.request_id, self.worker, self.job_id, self.n))
            self.n += 1

        def connectionLost(self, reason):
            if flood["running"]:
                reactor.callLater(RECONNECT_DELAY, start_flooder)

    class GxhashProbe(LineReceiver):
        """An honest gxhash miner: one share a second, each answer timed."""
        delimiter = b"\n"
        MAX_LENGTH = 1 << 20

        def connectionMade(self):
            self.ready = defer.Deferred()
            self.worker = (ADDRESSES[2] + ".honest").encode()
            self.job_id = None
            self.n = 0
            self.sent_at = None
            self.sendLine(b'{"id":1,"method":"mining.subscribe","params":["flood-bench"]}')
            self.sendLine(b'{"id":2,"method":"mining.authorize","params":["%s","x"]}'
                          % self.worker)

        def lineReceived(self, line):
            message = json.loads(line)
            if message.get("method") == "mining.notify":
                self.job_id = message["params"][0].encode()
                if not self.ready.called:
                    self.ready.callback(self)
            elif message.get("id") == 3:
                error = message.get("error")
                if message.get("result") is True or (error and error[0] == 23):
                    probe["checked"] += 1
                    probe["latencies"].append(time.perf_counter() - self.sent_at)
                elif error and str(error[1]).startswith("Busy:"):
                    probe["busy"] += 1
                else:
                    count(probe["other"], error)
                self.sent_at = None

        def submit(self):
            if self.sent_at is None and self.n <= 0xFFFF and self.transport.connected:
                self.sent_at = time.perf_counter()
                self.sendLine(b'{"id":3,"method":"mining.submit","params":["%s","%s","%04x"]}'
                              % (self.worker, self.job_id, self.n))
                self.n += 1

    sha_endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", ports["sha256d"], timeout=30)
    gx_endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", ports["gxhash"], timeout=30)
    flooders = []

    def start_flooder():
        if flood["running"]:
            d = gx_endpoint.connect(Factory.forProtocol(Flooder))
            d.addCallback(flooders.append)
            d.addErrback(lambda f: reactor.callLater(RECONNECT_DELAY, start_flooder))

    async def window(name):
        """Measure sha256d for args.duration seconds (after args.warmup)."""
        await deferLater(reactor, args.warmup)
        sha["latencies"], sha["accepted"], sha["rejected"] = [], 0, {}
        probe.update(latencies=[], checked=0, busy=0, other={})
        flood_before = {k: flood[k] for k in ("sent", "checked", "busy")}
        cpu, started = cpu_seconds(pool_pid), time.perf_counter()
        await deferLater(reactor, args.duration)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(pool_pid) - cpu
        latencies = sha["latencies"]
        figures = {
            "sha256d_shares_per_s": round(sha["accepted"] / elapsed, 1),
            "sha256d_latency_ms_p50": _ms(percentile(latencies, 0.50)),
            "sha256d_latency_ms_p99": _ms(percentile(latencies, 0.99)),
            "sha256d_latency_ms_max": _ms(max(latencies) if latencies else None),
            "sha256d_rejected": sha["rejected"],
            "pool_cpu_percent": round(100 * cpu / elapsed, 1),
            "pool_rss_mb": round(rss_bytes(pool_pid) / 2**20, 1),
            "seconds": round(elapsed, 1),
            "honest_gxhash_checked": probe["checked"],
            "honest_gxhash_busy": probe["busy"],
            "honest_gxhash_other": probe["other"],
            "honest_gxhash_latency_ms_p50": _ms(percentile(probe["latencies"], 0.50)),
            "honest_gxhash_latency_ms_max": _ms(max(probe["latencies"])
                                                if probe["latencies"] else None)}
        if name == "flood":
            figures.update({
                "flood_submissions_sent": flood["sent"] - flood_before["sent"],
                "gxhash_checks_per_s": round((flood["checked"] - flood_before["checked"])
                                             / elapsed, 2),
                "flood_busy_answers": flood["busy"] - flood_before["busy"]})
        return figures

    async def run():
        miners = await defer.gatherResults([sha_endpoint.connect(Factory.forProtocol(Sha256dMiner))
                                            for _ in range(args.miners)])
        honest = await gx_endpoint.connect(Factory.forProtocol(GxhashProbe))
        await defer.gatherResults([m.ready for m in miners] + [honest.ready])
        sha["running"] = True
        for m in miners:
            m.submit()
        pacing = LoopingCall(honest.submit)
        pacing.clock = reactor
        pacing.start(PROBE_INTERVAL)
        result = {"alone": await window("alone")}

        flood["running"], flood["started"] = True, time.monotonic()
        for _ in range(args.flooders):
            start_flooder()
        result["flood"] = await window("flood")
        flood["running"] = sha["running"] = False
        pacing.stop()
        for m in miners + flooders + [honest]:
            m.transport.loseConnection()
        await deferLater(reactor, 0.5)
        result["flood_totals"] = {
            "submissions_sent": flood["sent"], "checked_by_the_pool": flood["checked"],
            "accepted_as_shares": flood["accepted"], "answered_busy": flood["busy"],
            "other_answers": flood["other"], "connections_made": flood["connections"],
            "connections_banned": flood["banned"],
            "reconnections_refused": flood["refused"],
            "first_ban_after_s": None if flood["first_ban"] is None
            else round(flood["first_ban"], 1)}
        return result

    outcome = {}
    d = defer.ensureDeferred(run())
    d.addCallbacks(outcome.update, lambda f: outcome.update(error=f.getTraceback()))
    d.addBoth(lambda _: reactor.stop())
    reactor.run()
    return outcome


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000, 2)


def ratio(b, a):
    return None if not a or b is None else round(b / a, 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per window")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before each window")
    parser.add_argument("--miners", type=int, default=4, help="sha256d connections")
    parser.add_argument("--flooders", type=int, default=4, help="gxhash flood connections")
    parser.add_argument("--verify-threads", type=int, default=0,
                        help="[stratum.gxhash] verify_threads (0: the pool's default, "
                             "one per core)")
    args = parser.parse_args()

    load = [round(x, 2) for x in os.getloadavg()]
    state = tempfile.mkdtemp(prefix="gxcpool-gxflood-")
    ports = {"sha256d": free_port(), "gxhash": free_port(), "node": free_port(),
             "web": free_port()}
    config = write_config(state, ports, args.verify_threads)
    pool = Child(TWISTD + ["--nodaemon", "--pidfile=", "gxcpool", "--config", config], state,
                 watch={"bans": "banning 127.0.0.1", "tracebacks": "Traceback",
                        "critical": "#critical]", "errors": "#error]"})
    try:
        pool.wait_for("gxhash stratum listening", timeout=60)
        pool.wait_for("sha256d stratum listening", timeout=60)
        pool.wait_for("new template height=1 ", timeout=60)
        figures = drive(args, ports, pool.proc.pid)
        pool_exit = pool.stop(signal.SIGTERM)
    finally:
        if pool.proc.poll() is None:
            pool.stop(signal.SIGKILL)
        shutil.rmtree(state, ignore_errors=True)
    alone, flood = figures.get("alone", {}), figures.get("flood", {})
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus": os.cpu_count(),
        # other processes on the machine skew every figure: say how busy it was
        "load_average_at_start": load,
        "sha256d_miners": args.miners, "gxhash_flooders": args.flooders,
        "verify_threads": args.verify_threads or "default (one per core)",
        "window_s": args.duration,
        "ratio_flood_over_alone": {
            "sha256d_latency_p50": ratio(flood.get("sha256d_latency_ms_p50"),
                                         alone.get("sha256d_latency_ms_p50")),
            "sha256d_latency_p99": ratio(flood.get("sha256d_latency_ms_p99"),
                                         alone.get("sha256d_latency_ms_p99")),
            "sha256d_shares_per_s": ratio(flood.get("sha256d_shares_per_s"),
                                          alone.get("sha256d_shares_per_s"))},
        **figures,
        "pool_logged_bans": pool.counts["bans"],
        "pool_tracebacks": pool.counts["tracebacks"],
        "pool_critical_lines": pool.counts["critical"],
        "pool_error_lines": pool.counts["errors"],
        "pool_exit_s": round(pool_exit, 2)}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
