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

--baseline-server: the same client against bench/baseline_server.py (a bare
Twisted server doing only a share's protocol work) and the pool, alternating
rounds, for the pool with the in-memory sink (as above), the whole daemon
(`twistd gxcpool --devnet`, tests/web/livepool.py) writing shares to SQLite,
and the daemon writing to PostgreSQL (a scratch database created and dropped
per round; skipped when the server cannot be reached).  Prints the medians
and the pool's figures as ratios to the baseline's (docs/scaling.md).

    .venv/bin/python bench/stratum_load.py --baseline-server --connections 1000
"""
import argparse
import json
import os
import re
import resource
import socket
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
            if params[8]:
                self.state.setdefault("clean", set()).add(params[0])
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
            "notified": {}, "clean": set()}


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


class ChildServer:
    """The pool (serve(), in-memory sink) or bench/baseline_server.py as a
    child process taking commands on stdin: rss, cpu, broadcast N, quit."""

    def __init__(self, command):
        self.child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, bufsize=1)
        hello = json.loads(self.child.stdout.readline())
        self.port, self.rss_idle = hello["port"], hello["rss"]

    def ask(self, command):
        """Send a command to the server process; the answer is read in a thread
        so this reactor keeps receiving meanwhile."""
        from twisted.internet import threads
        self.child.stdin.write(command + "\n")
        self.child.stdin.flush()
        return threads.deferToThread(self.child.stdout.readline).addCallback(json.loads)

    def close(self):
        try:
            self.child.stdin.write("quit\n")
            self.child.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass
        self.child.wait(timeout=30)


def libpq_url(url):
    """A SQLAlchemy PostgreSQL URL (postgresql+psycopg://...) as psycopg takes it."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


class DaemonServer:
    """The whole daemon: `twistd gxcpool --devnet` (tests/web/livepool.py,
    bench/web_load.py's settings) with its ledger in SQLite, or in the
    PostgreSQL database at database_url.  Figures from /proc; a broadcast is
    a new block submitted to the devnet node, which the pool sees at its next
    tip poll and sends to every connection as a clean job."""

    def __init__(self, database_url=None):
        from bench.web_load import pool_config
        from tests.web.livepool import LivePool

        class PostgresLivePool(LivePool):
            def _ledger_ready(self):
                import psycopg
                try:
                    with psycopg.connect(libpq_url(database_url), connect_timeout=5) as db:
                        return db.execute(
                            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name "
                            "IN ('blocks', 'payouts', 'shares', 'workers')").fetchone()[0] == 4
                except psycopg.Error:
                    return False

        config = pool_config()
        if database_url:
            config["database"] = {"url": database_url}
        kind = PostgresLivePool if database_url else LivePool
        # devnet D = 12: a block every 16**12 hashes, so no share of d=1e-10 is one
        self.pool = kind(("sha256d",), difficulty=12.0, config=config)
        self.pool.__enter__()
        self.pid = self.pool.pool.proc.pid
        self.port = self.pool.ports["sha256d"]
        self.rss_idle = rss_bytes(self.pid)

    def figures(self, command):
        from bench.web_load import process_cpu_seconds
        from bench.d1_flood import node_call
        if command == "rss":
            return {"rss": rss_bytes(self.pid)}
        if command == "cpu":
            return {"cpu": process_cpu_seconds(self.pid)}
        if command.startswith("broadcast"):
            node = self.pool.ports["node"]
            address = node_call(node, "getnewaddress")
            template = node_call(node, "getblocktemplate", {"minerAddress": address})
            zeros = int(template["difficulty"])
            block = {"height": template["height"],
                     "hash": "0" * zeros + os.urandom(32).hex()[zeros:],
                     "previousblockhash": template["previousblockhash"], "nonce": 1,
                     "miner": address, "timestamp": template["curtime"],
                     "difficulty": template["difficulty"],
                     "transactions": template["transactions"][:1]}
            started = time.time()
            node_call(node, "submitblock", block)
            return {"broadcast_started": started, "broadcast_written": None, "job_id": None}
        raise ValueError(command)

    def ask(self, command):
        from twisted.internet import threads
        return threads.deferToThread(self.figures, command)

    def close(self):
        self.pool.__exit__(None, None, None)


def start_server(args):
    if args.server in ("sqlite", "postgresql"):
        return DaemonServer(args.database_url if args.server == "postgresql" else None)
    if args.server == "baseline":
        return ChildServer([sys.executable, os.path.join(os.path.dirname(
            os.path.abspath(__file__)), "baseline_server.py"), "--commands"])
    command = [sys.executable, os.path.abspath(__file__), "--serve"]
    if args.pool_root:
        command += ["--pool-root", args.pool_root]
    return ChildServer(command)


def check_validation(port, difficulty=1e-5):
    """Proof that a server really validates: one connection at `difficulty`
    finds (in C, through gxcpoold.hashers) a nonce that meets the share target
    and one that does not, and submits the good one, it again, and the bad
    one.  Returns what each answer was."""
    from gxcpoold.hashers.sha256d import sha256d, sha256d_merkle_root, stratum_header_hash
    from gxcpoold.hashers.targets import sha256d_target
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        stream = s.makefile("rwb")

        def send(request):
            stream.write(json.dumps(request).encode() + b"\n")
            stream.flush()

        def answer(request_id):
            while True:
                message = json.loads(stream.readline())
                if message.get("method") == "mining.notify":
                    seen["notify"] = message["params"]
                elif message.get("method") == "mining.set_difficulty":
                    seen["difficulty"] = message["params"][0]
                if message.get("id") == request_id:
                    return message

        seen = {"difficulty": difficulty}
        send({"id": 1, "method": "mining.subscribe", "params": ["check"]})
        send({"id": 2, "method": "mining.authorize",
              "params": ["%s.check" % ADDRESS, "d=%g" % difficulty]})
        subscribed = answer(1)["result"]
        answer(2)
        while "notify" not in seen:
            answer(None)
        params = seen["notify"]
        extranonce1 = bytes.fromhex(subscribed[1])
        extranonce2 = b"\x00" * (subscribed[2] - 1) + b"\x07"
        coinbase = (bytes.fromhex(params[2]) + extranonce1 + extranonce2
                    + bytes.fromhex(params[3]))
        root = sha256d_merkle_root(sha256d(coinbase), [bytes.fromhex(h) for h in params[4]])
        target = sha256d_target(seen["difficulty"])
        good = bad = None
        nonce = 0
        while good is None or bad is None:
            digest = stratum_header_hash(int(params[5], 16), bytes.fromhex(params[1]), root,
                                         int(params[7], 16), int(params[6], 16), nonce)
            if int.from_bytes(digest, "little") <= target:
                good = nonce if good is None else good
            elif bad is None:
                bad = nonce
            nonce += 1
        outcome = {}
        for request_id, name, tried in ((10, "meets_target", good), (11, "same_again", good),
                                        (12, "wrong_nonce", bad)):
            send({"id": request_id, "method": "mining.submit",
                  "params": ["%s.check" % ADDRESS, params[0], extranonce2.hex(), params[7],
                             "%08x" % tried]})
            reply = answer(request_id)
            outcome[name] = True if reply.get("result") is True else reply.get("error")
        outcome["ok"] = (outcome["meets_target"] is True and outcome["same_again"] is not True
                         and outcome["wrong_nonce"] is not True)
        return outcome


def drive(args):
    raise_fd_limit(args.connections + 1000)
    from twisted.internet import defer, reactor
    from twisted.internet.task import deferLater

    server = start_server(args)
    ask = server.ask
    port, rss_idle = server.port, server.rss_idle
    validation = check_validation(port) if args.check_validation else None
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

        jobs_before = set(state["notified"])
        broadcast = await ask("broadcast 2")
        job_id = broadcast["job_id"]
        deadline = time.time() + 60
        while job_id is None or len(state["notified"].get(job_id, ())) < len(clients):
            if job_id is None:      # the daemon: the first new clean job
                job_id = next((j for j in state["notified"]
                               if j not in jobs_before and j in state["clean"]), None)
            if time.time() > deadline:
                raise RuntimeError("the new job did not reach every connection in 60 s")
            await deferLater(reactor, 0.001)
        reached = state["notified"][job_id]
        reached_all = max(reached) - broadcast["broadcast_started"]

        def pct(p):
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else None

        print(json.dumps({
            "server": args.server,
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
                                                - broadcast["broadcast_started"]) * 1000, 2)
                                         if broadcast["broadcast_written"] else None,
            # from the command; for the daemon from the block's submission, so it
            # includes the pool's tip poll ([node] tip_poll_interval, 0.5 s)
            "notify_broadcast_to_all_ms": round(reached_all * 1000, 2),
            # the first connection's notify to the last one's: comparable everywhere
            "notify_first_to_last_ms": round((max(reached) - min(reached)) * 1000, 2),
            "validation": validation,
        }, indent=2))
        for c in clients:
            c.transport.loseConnection()

    def finish(result):
        try:
            server.close()
        finally:
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


MODES = {"memory": "pool", "sqlite": "sqlite", "postgresql": "postgresql"}
BASELINE_RATIO_FIGURES = ("accepted_shares_per_second", "pool_cpu_us_per_share",
                          "submit_latency_p50_ms", "submit_latency_p99_ms",
                          "pool_rss_per_connection_kib", "notify_first_to_last_ms")


def postgres_scratch(admin_url):
    """A new empty database beside admin_url's: (its URL, a function dropping it)."""
    import psycopg
    from sqlalchemy.engine import make_url
    name = "gxcpool_bench_%d_%s" % (os.getpid(), os.urandom(4).hex())
    with psycopg.connect(libpq_url(admin_url), autocommit=True, connect_timeout=5) as db:
        db.execute('CREATE DATABASE "%s"' % name)

    def drop():
        with psycopg.connect(libpq_url(admin_url), autocommit=True, connect_timeout=5) as db:
            db.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def postgres_unreachable(admin_url):
    """Why the PostgreSQL server at admin_url cannot be used, or None."""
    try:
        import psycopg
    except ImportError as e:
        return "psycopg is not installed (%s)" % e
    try:
        with psycopg.connect(libpq_url(admin_url), autocommit=True, connect_timeout=5) as db:
            db.execute("SELECT 1")
    except psycopg.Error as e:
        return "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0])
    return None


def one_run(args, server, check):
    """One drive() in its own process (a reactor runs once): its JSON."""
    command = [sys.executable, os.path.abspath(__file__), "--server", server,
               "--connections", str(args.connections), "--duration", str(args.duration),
               "--warmup", str(args.warmup)]
    if check:
        command.append("--check-validation")
    drop = None
    if server == "postgresql":
        url, drop = postgres_scratch(args.database_url)
        command += ["--database-url", url]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    finally:
        if drop is not None:
            drop()
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError("%s run failed (exit %s):\n%s" % (server, done.returncode,
                                                             done.stderr[-4000:]))
    return json.loads(done.stdout)


def against_baseline_server(args):
    """For each mode: rounds alternating the pool and bench/baseline_server.py
    (which goes first alternates too), the medians and pool / baseline."""
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - set(MODES)
    if unknown:
        raise SystemExit("unknown modes %s (of %s)" % (sorted(unknown), ", ".join(MODES)))
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "cpus": os.cpu_count(), "connections": args.connections,
              "rounds": args.rounds, "duration": args.duration, "modes": {}}
    for mode in modes:
        if mode == "postgresql":
            why = postgres_unreachable(args.database_url)
            if why:
                print("postgresql skipped: %s unreachable (%s)" % (args.database_url, why),
                      file=sys.stderr)
                result["modes"][mode] = {"skipped": why}
                continue
        print("%s: %d rounds of pool and baseline, %d connections"
              % (mode, args.rounds, args.connections), file=sys.stderr)
        runs = {"pool": [], "baseline": []}
        for i in range(args.rounds):
            order = ("pool", "baseline") if i % 2 == 0 else ("baseline", "pool")
            for name in order:
                server = MODES[mode] if name == "pool" else "baseline"
                runs[name].append(one_run(args, server, check=(i == 0)))
                print("  round %d %s: %s shares/s" % (
                    i + 1, name, runs[name][-1]["accepted_shares_per_second"]), file=sys.stderr)

        def median(name, key):
            values = sorted(run[key] for run in runs[name] if run[key] is not None)
            if not values:
                return None
            middle = len(values) // 2
            return values[middle] if len(values) % 2 else (values[middle - 1]
                                                           + values[middle]) / 2

        keys = BASELINE_RATIO_FIGURES + ("notify_broadcast_to_all_ms",)
        medians = {name: {key: median(name, key) for key in keys} for name in runs}
        ratio_keys = keys if mode == "memory" else BASELINE_RATIO_FIGURES
        result["modes"][mode] = {
            "medians": medians,
            "ratio_pool_over_baseline": {
                key: round(medians["pool"][key] / medians["baseline"][key], 3)
                for key in ratio_keys if medians["pool"][key] and medians["baseline"][key]},
            "validation": {name: runs[name][0]["validation"] for name in runs},
            "runs": runs}
    print(json.dumps(result, indent=2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--baseline", metavar="DIR",
                        help="another checkout (e.g. `git worktree add /tmp/before <commit>` "
                             "with gxcpoold/_native*.so copied in): its pool is measured "
                             "alternately with this one's and ratios are printed")
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs of each with --baseline or --baseline-server (per mode)")
    parser.add_argument("--baseline-server", action="store_true",
                        help="measure bench/baseline_server.py (a bare Twisted server doing a "
                             "share's protocol work) alternately with the pool and print the "
                             "pool's figures as ratios to it, for each of --modes")
    parser.add_argument("--modes", default="memory,sqlite,postgresql",
                        help="with --baseline-server: memory (the pool with its in-memory "
                             "sink), sqlite and postgresql (the whole daemon, twistd --devnet, "
                             "with that database); comma-separated")
    parser.add_argument("--database-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="PostgreSQL for the postgresql mode: a scratch database is "
                             "created beside this one for each run and dropped after it")
    parser.add_argument("--server", default="pool",
                        choices=("pool", "baseline", "sqlite", "postgresql"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--check-validation", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pool-root", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.pool_root)
    elif args.baseline_server:
        against_baseline_server(args)
    elif args.baseline:
        side_by_side(args)
    else:
        drive(args)


if __name__ == "__main__":
    main()
