"""Stratum V1 load: N connections submitting valid shares as fast as the pool answers.

The pool (StratumService + JobManager on a fixed GXC template) runs in a
child process, so its memory can be measured alone; this process drives N
loopback connections.  Every connection authorizes with password d=1e-10,
which makes every hash a valid share, so clients need no hashing while the
pool still does all of its work (header rebuild, sha256d, duplicate check,
share record).  Each connection keeps one submit in flight.

Prints one JSON object: accepted shares/s, p50/p99 submit latency, pool RSS
per connection, and the time for a new job (clean_jobs) to reach every
connection.  A figure, not a pass/fail test.

    .venv/bin/python bench/stratum_load.py --connections 1000 --duration 10
    .venv/bin/python bench/stratum_load.py --baseline /tmp/before --rounds 5
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

from twisted.protocols.basic import LineReceiver

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ADDRESS = "tGXC" + "0123456789abcdef" * 2 + "01"


def raise_fd_limit(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(wanted, soft)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_bytes(pid="self"):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


# ---------------------------------------------------------------- pool side

def pool_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def serve(pool_root=None):
    """Child process: the pool on a loopback port; commands on stdin.
    pool_root: another checkout whose gxcpoold to run (a baseline)."""
    if pool_root:
        sys.path.insert(0, os.path.abspath(pool_root))
    raise_fd_limit(30000)
    from twisted.internet import reactor, stdio
    from twisted.protocols.basic import LineReceiver

    from gxcpoold.algorithms import sha256d
    from gxcpoold.config import StratumSettings
    from gxcpoold.jobs import JobManager
    from gxcpoold.node.client import NodeClient
    from gxcpoold.node.template import BlockTemplate
    from gxcpoold.shares import MemoryShareSink
    from gxcpoold.stratum.service import StratumService

    class StaticNode:
        """A node with one template: what JobManager needs of NodeService."""
        pool_address = "tGXC" + "ab" * 17
        current_template = None
        client = NodeClient(reactor, "http://127.0.0.1:1")

        def __init__(self):
            self.observers = []

        def add_template_observer(self, observer):
            self.observers.append(observer)

        def push(self, number):
            txid = "%064x" % number
            template = BlockTemplate.from_rpc({
                "height": number, "previousblockhash": "%064x" % (number + 10**6),
                "difficulty": 60.0, "coinbasevalue": 5_000_000_000,
                "curtime": int(time.time()),
                "transactions": [{"txid": txid, "is_coinbase": True, "block_height": number}]})
            for observer in self.observers:
                observer(template, True)

    node = StaticNode()
    jobs = JobManager(node, algorithm=sha256d, clock=reactor, job_refresh=3600)
    settings = StratumSettings(endpoint="tcp:0:interface=127.0.0.1:backlog=4096",
                               min_difficulty=1e-12, requests_per_second=1e9,
                               idle_timeout=3600, max_connections_per_ip=10**6)
    stratum = StratumService(settings, algorithm=sha256d, jobs=jobs, network="testnet",
                             share_sink=MemoryShareSink(limit=10_000), reactor=reactor)
    jobs.startService()
    stratum.startService()
    node.push(1)

    class Commands(LineReceiver):
        delimiter = b"\n"

        def say(self, **fields):
            self.sendLine(json.dumps(fields).encode())

        def lineReceived(self, line):
            command = line.decode().strip()
            if command == "rss":
                self.say(rss=rss_bytes(), sessions=len(stratum.sessions))
            elif command == "cpu":
                self.say(cpu=pool_cpu_seconds())
            elif command.startswith("broadcast"):
                number = int(command.split()[1])
                started = time.time()
                node.push(number)
                self.say(broadcast_started=started, broadcast_written=time.time(),
                         job_id=jobs.current_job.job_id)
            elif command == "quit":
                reactor.stop()

    commands = Commands()
    stdio.StandardIO(commands)
    stratum.whenListening().addCallback(
        lambda port: commands.say(port=port.getHost().port, rss=rss_bytes()))
    reactor.run()


# ---------------------------------------------------------------- client side

class Load(LineReceiver):
    """One loopback miner: subscribe, authorize with d=1e-10 (every hash a
    share), then one submit in flight while state["submitting"]; counts in
    the shared `state` dict (the factory's)."""
    delimiter = b"\n"
    MAX_LENGTH = 1 << 20

    def connectionMade(self):
        from twisted.internet import defer
        self.state = self.factory.state
        self.ready = defer.Deferred()
        self.job = None
        self.en2 = 0
        self.nonce = 0
        self.sent_at = None
        self.sendLine(b'{"id":1,"method":"mining.subscribe","params":["load"]}')
        self.sendLine(b'{"id":2,"method":"mining.authorize","params":["%s.w","d=1e-10"]}'
                      % ADDRESS.encode())

    def lineReceived(self, line):
        message = json.loads(line)
        if message.get("method") == "mining.notify":
            params = message["params"]
            self.job = (params[0], params[7])
            self.state["notified"].setdefault(params[0], []).append(time.time())
            if not self.ready.called:
                self.ready.callback(self)
            return
        if message.get("id") == 3:
            if message.get("result") is True:
                self.state["accepted"] += 1
                self.state["latencies"].append(time.perf_counter() - self.sent_at)
            else:
                self.state["rejected"] += 1
            self.sent_at = None
            if self.state["submitting"]:
                self.submit()

    def submit(self):
        self.nonce += 1
        if self.nonce == 2**32:
            self.nonce, self.en2 = 0, self.en2 + 1
        job_id, ntime = self.job
        self.sent_at = time.perf_counter()
        self.sendLine(b'{"id":3,"method":"mining.submit","params":["%s.w","%s","%08x",'
                      b'"%s","%08x"]}' % (ADDRESS.encode(), job_id.encode(), self.en2,
                                          ntime.encode(), self.nonce))


def new_state():
    return {"submitting": False, "latencies": [], "accepted": 0, "rejected": 0,
            "notified": {}}


async def connect(reactor, port, count, state):
    """count Load connections to 127.0.0.1:port (200 at a time), each logged in
    with a job; returns them."""
    from twisted.internet import defer
    from twisted.internet.endpoints import TCP4ClientEndpoint
    from twisted.internet.protocol import Factory
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port, timeout=60)
    factory = Factory.forProtocol(Load)
    factory.state = state
    clients = []
    for batch in range(0, count, 200):
        connects = [endpoint.connect(factory) for _ in range(min(200, count - batch))]
        clients += await defer.gatherResults(connects)
    await defer.gatherResults([c.ready for c in clients])
    return clients


def drive(args):
    raise_fd_limit(args.connections + 1000)
    from twisted.internet import defer, reactor, threads
    from twisted.internet.task import deferLater

    serve_command = [sys.executable, os.path.abspath(__file__), "--serve"]
    if args.pool_root:
        serve_command += ["--pool-root", args.pool_root]
    child = subprocess.Popen(serve_command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, bufsize=1)

    def ask(command):
        """Send a command to the pool process; the answer is read in a thread
        so this reactor keeps receiving meanwhile."""
        child.stdin.write(command + "\n")
        child.stdin.flush()
        return threads.deferToThread(child.stdout.readline).addCallback(json.loads)

    hello = json.loads(child.stdout.readline())
    port, rss_idle = hello["port"], hello["rss"]
    state = new_state()

    async def run():
        started = time.time()
        clients = await connect(reactor, port, args.connections, state)
        connect_seconds = time.time() - started
        rss_connected = (await ask("rss"))["rss"]

        state["submitting"] = True
        for c in clients:
            c.submit()
        await deferLater(reactor, args.warmup)
        cpu_start = (await ask("cpu"))["cpu"]
        state["accepted"], state["latencies"] = 0, []
        window_start = time.perf_counter()
        await deferLater(reactor, args.duration)
        window = time.perf_counter() - window_start
        accepted, latencies = state["accepted"], sorted(state["latencies"])
        cpu_used = (await ask("cpu"))["cpu"] - cpu_start
        state["submitting"] = False
        while any(c.sent_at is not None for c in clients):
            await deferLater(reactor, 0.05)
        rss_loaded = (await ask("rss"))["rss"]

        broadcast = await ask("broadcast 2")
        job_id = broadcast["job_id"]
        while len(state["notified"].get(job_id, ())) < len(clients):
            await deferLater(reactor, 0.001)
        reached_all = max(state["notified"][job_id]) - broadcast["broadcast_started"]

        def pct(p):
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else None

        print(json.dumps({
            "connections": len(clients),
            "connect_and_login_seconds": round(connect_seconds, 2),
            "measured_seconds": round(window, 2),
            "accepted_shares_per_second": round(accepted / window, 1),
            # the pool process's own CPU per share: steadier than shares/s on a busy machine
            "pool_cpu_us_per_share": round(cpu_used / accepted * 1e6, 1) if accepted else None,
            "rejected_shares": state["rejected"],
            "submit_latency_p50_ms": round(pct(0.50) * 1000, 3) if latencies else None,
            "submit_latency_p99_ms": round(pct(0.99) * 1000, 3) if latencies else None,
            "pool_rss_idle_mib": round(rss_idle / 2**20, 1),
            "pool_rss_per_connection_kib": round((rss_connected - rss_idle)
                                                 / len(clients) / 1024, 2),
            "pool_rss_after_load_mib": round(rss_loaded / 2**20, 1),
            "notify_broadcast_write_ms": round((broadcast["broadcast_written"]
                                                - broadcast["broadcast_started"]) * 1000, 2),
            "notify_broadcast_to_all_ms": round(reached_all * 1000, 2),
        }, indent=2))
        for c in clients:
            c.transport.loseConnection()

    def finish(result):
        try:
            child.stdin.write("quit\n")
            child.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass
        child.wait(timeout=30)
        reactor.stop()
        return result

    d = defer.ensureDeferred(run())
    d.addErrback(lambda f: (f.printTraceback(), None)[1])
    d.addBoth(finish)
    reactor.run()


RATIO_FIGURES = ("accepted_shares_per_second", "pool_cpu_us_per_share",
                 "submit_latency_p50_ms", "submit_latency_p99_ms",
                 "pool_rss_per_connection_kib", "notify_broadcast_to_all_ms")


def side_by_side(args):
    """Runs alternating between this tree's pool and the baseline's, then
    the medians of each and their ratios (this / baseline)."""
    runs = {"this": [], "baseline": []}
    for _ in range(args.rounds):
        for name, root in (("this", None), ("baseline", args.baseline)):
            command = [sys.executable, os.path.abspath(__file__),
                       "--connections", str(args.connections), "--duration", str(args.duration),
                       "--warmup", str(args.warmup)]
            if root:
                command += ["--pool-root", root]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            runs[name].append(json.loads(out))

    def median(name, key):
        values = sorted(run[key] for run in runs[name])
        middle = len(values) // 2
        return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2

    medians = {name: {key: median(name, key) for key in RATIO_FIGURES} for name in runs}
    print(json.dumps({
        "baseline": os.path.abspath(args.baseline), "rounds": args.rounds,
        "medians": medians,
        "ratio_this_over_baseline": {key: round(medians["this"][key]
                                                / medians["baseline"][key], 3)
                                     for key in RATIO_FIGURES},
        "runs": runs}, indent=2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--baseline", metavar="DIR",
                        help="another checkout (e.g. `git worktree add /tmp/before <commit>` "
                             "with gxcpoold/_native*.so copied in): its pool is measured "
                             "alternately with this one's and ratios are printed")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each with --baseline")
    parser.add_argument("--pool-root", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.pool_root)
    elif args.baseline:
        side_by_side(args)
    else:
        drive(args)


if __name__ == "__main__":
    main()
