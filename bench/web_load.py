"""The dashboard under Stratum load (issue 12): what a page costs the pool.

The real daemon (`twistd gxcpool --devnet`, tests/web/livepool.py; SQLite
ledger, the web on its own port) with its sha256d port taking shares from
N loopback connections (bench/stratum_load.py's client: password d=1e-10, so
every hash is a share and the clients do no hashing; the devnet's block
difficulty is high enough that none is a block).  Alternating rounds:

  quiet  shares only;
  busy   shares, and HTTP clients (a separate process, keep-alive) asking
         /api/stats and the load's miner page /miners/<address> in turn, as
         fast as they are answered (or at --http-rate requests/s).

Per round: accepted shares/s (from the clients' answers) and the pool
process's CPU per share (/proc: user + system).  Printed: the medians of
each, busy/quiet ratios, and /api/stats and miner page latency p50/p99 over
every busy round.  A figure, not a test.

    .venv/bin/python bench/web_load.py [--connections 1000] [--rounds 3] [--seconds 8]
    .venv/bin/python bench/web_load.py --http-rate 20     # a paced dashboard load
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import stratum_load  # noqa: E402  (after the path)

PATHS = ("/api/stats", "/miners/" + stratum_load.ADDRESS)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid):
    """user + system CPU seconds of a process (/proc/<pid>/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else None


# ---------------------------------------------------------------- the HTTP side (a child)

def http_load(port, seconds, clients, rate=0.0):
    """clients threads, each a keep-alive connection asking PATHS in turn (at
    most rate requests/s in all; 0 = as fast as answered); prints
    {path: [latency seconds...]} and the non-200 answers."""
    latencies = {path: [] for path in PATHS}
    failures = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop(first):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        turn = first
        pause = clients / rate if rate else 0.0
        next_at = time.monotonic() + pause * first / clients
        while time.monotonic() < deadline:
            if pause:
                time.sleep(max(0.0, next_at - time.monotonic()))
                next_at += pause
            path = PATHS[turn % len(PATHS)]
            turn += 1
            started = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as e:
                status = type(e).__name__
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            elapsed = time.perf_counter() - started
            with lock:
                if status == 200:
                    latencies[path].append(elapsed)
                else:
                    failures[str(status)] = failures.get(str(status), 0) + 1
        connection.close()

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"latencies": latencies, "failures": failures}))


# ---------------------------------------------------------------- the run

def pool_config():
    """The load port's and the web's settings: no per-connection or per-IP
    limit is the bottleneck (every client is on 127.0.0.1)."""
    return {
        "stratum.sha256d": {"min_difficulty": 1e-12, "start_difficulty": 1e-10,
                            "requests_per_second": 1e9, "idle_timeout": 3600.0,
                            "max_connections_per_ip": 1000000, "listen_backlog": 4096,
                            "max_checks_per_connection": 1000},
        "web": {"api_rate": 1e9, "api_burst": 1000000000},
    }


def run(args):
    from tests.web.livepool import LivePool
    stratum_load.raise_fd_limit(args.connections + 2000)     # the pool inherits it
    # devnet D = 12: a block every 16**12 hashes, so no share of d=1e-10 is one
    with LivePool(("sha256d",), difficulty=12.0, config=pool_config()) as pool:
        result = drive(pool, args)
        result["pool_log_tracebacks"] = pool.pool.counts["tracebacks"]
    return result


def drive(pool, args):
    from twisted.internet import defer, reactor, threads
    from twisted.internet.task import deferLater

    state = stratum_load.new_state()
    pid = pool.pool.proc.pid
    web_port = pool.ports["web"]
    outcome = {}

    def http_round(seconds):
        command = [sys.executable, os.path.abspath(__file__), "--http-child", str(web_port),
                   "--seconds", str(seconds), "--http-clients", str(args.http_clients),
                   "--http-rate", str(args.http_rate)]
        done = subprocess.run(command, capture_output=True, text=True, check=True,
                              timeout=seconds + 120)
        return json.loads(done.stdout.strip().splitlines()[-1])

    async def measure(seconds, busy):
        http = threads.deferToThread(http_round, seconds) if busy else None
        await deferLater(reactor, 0.5)                 # the HTTP clients connected
        accepted, cpu = state["accepted"], process_cpu_seconds(pid)
        started = time.perf_counter()
        await deferLater(reactor, seconds - 1.0)
        elapsed = time.perf_counter() - started
        shares = state["accepted"] - accepted
        used = process_cpu_seconds(pid) - cpu
        figures = {"shares_per_s": shares / elapsed,
                   "pool_cpu_us_per_share": used / shares * 1e6 if shares else None,
                   "pool_cpu_percent": used / elapsed * 100}
        if http is not None:
            figures["http"] = await http
        else:
            await deferLater(reactor, 0.5)
        return figures

    async def main():
        clients = await stratum_load.connect(reactor, pool.ports["sha256d"], args.connections,
                                             state)
        state["submitting"] = True
        for c in clients:
            c.submit()
        await deferLater(reactor, args.warmup)
        rounds = {"quiet": [], "busy": []}
        for i in range(args.rounds):
            order = ("quiet", "busy") if i % 2 == 0 else ("busy", "quiet")
            for name in order:
                rounds[name].append(await measure(args.seconds, name == "busy"))
        state["submitting"] = False
        for c in clients:
            c.transport.loseConnection()
        outcome.update(summarise(rounds, args, state))

    def stop(result):
        reactor.stop()
        return result

    d = defer.ensureDeferred(main())
    d.addErrback(lambda f: outcome.update(error=f.getTraceback()))
    d.addBoth(stop)
    reactor.run()
    return outcome


def summarise(rounds, args, state):
    def median(name, key):
        return statistics.median(r[key] for r in rounds[name])

    latencies = {path: [] for path in PATHS}
    failures, requests = {}, 0
    for r in rounds["busy"]:
        for path, values in r["http"]["latencies"].items():
            latencies[path] += values
            requests += len(values)
        for status, n in r["http"]["failures"].items():
            failures[status] = failures.get(status, 0) + n
    busy_seconds = len(rounds["busy"]) * args.seconds

    def ms(values, fraction):
        value = percentile(values, fraction)
        return None if value is None else round(value * 1000, 2)

    figures = {name: {"shares_per_s": round(median(name, "shares_per_s"), 1),
                      "pool_cpu_us_per_share": round(median(name, "pool_cpu_us_per_share"), 1),
                      "pool_cpu_percent": round(median(name, "pool_cpu_percent"), 1)}
               for name in rounds}
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
        "connections": args.connections, "rounds": args.rounds,
        "seconds_per_round": args.seconds, "http_clients": args.http_clients,
        "http_rate_asked": args.http_rate or "closed loop",
        "quiet": figures["quiet"], "busy": figures["busy"],
        "ratio_busy_over_quiet": {
            key: round(figures["busy"][key] / figures["quiet"][key], 3)
            for key in ("shares_per_s", "pool_cpu_us_per_share")},
        "http_requests_per_s": round(requests / busy_seconds, 1),
        "http_failures": failures,
        "api_stats_ms": {"p50": ms(latencies[PATHS[0]], 0.5),
                         "p99": ms(latencies[PATHS[0]], 0.99),
                         "requests": len(latencies[PATHS[0]])},
        "miner_page_ms": {"p50": ms(latencies[PATHS[1]], 0.5),
                          "p99": ms(latencies[PATHS[1]], 0.99),
                          "requests": len(latencies[PATHS[1]])},
        "rejected_shares": state["rejected"],
        "rounds_detail": rounds_without_samples(rounds),
    }


def rounds_without_samples(rounds):
    return {name: [{k: (round(v, 1) if isinstance(v, float) else v)
                    for k, v in r.items() if k != "http"} for r in runs]
            for name, runs in rounds.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="quiet/busy pairs")
    parser.add_argument("--seconds", type=float, default=8.0, help="per round")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--http-clients", type=int, default=4,
                        help="concurrent keep-alive HTTP clients in busy rounds")
    parser.add_argument("--http-rate", type=float, default=0.0,
                        help="requests/s of all HTTP clients together; 0 = closed loop, "
                             "each asks again as soon as answered")
    parser.add_argument("--http-child", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.http_child:
        http_load(args.http_child, args.seconds, args.http_clients, args.http_rate)
        return
    print(json.dumps(run(args), indent=1))


if __name__ == "__main__":
    main()
