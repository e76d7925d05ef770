"""The D = 1 flood (issue 10): the real pool against a devnet at difficulty 1.0.

The pool runs as an operator runs it (`twistd gxcpool`, built-in devnet at
`[devnet] difficulty = 1.0` with `request_latency = 0.010`, the real node's
answer time, spec/gxc-node.md 6.1), and reference miners (`gxcpool-miner`,
one process each) hash at full speed.  At D = 1 one hash in 16 is a block,
so every share is a block candidate.  Two runs:

- "vardiff": the pool's defaults (floor 0.0001, vardiff aiming at a share
  rate): the share rate, hence the block rate, follows the aim;
- "flood": a share floor of 1e-6 held fixed, so the miners send candidates
  far faster than the node can take blocks: the pool's own limit;

and "node": one client doing getblocktemplate -> submitblock -> ... against
the same devnet with fabricated hashes, what the node can take (the real
node: ~49 blocks/s, spec 6.1); "block_path": the pool's own block path
(template watcher, jobs, submitter) fed one fabricated candidate per new
job, with no hashing, what the pool can take.  A latency probe submits
shares through the pool at a steady pace (1/s with vardiff, 5/s in the
flood) and times the answers; its blocks are counted apart.

Prints one JSON object: blocks accepted per second, chain height, stale
shares, share latency p50/p99, pool and miner RSS.  A figure, not a test;
tests/stratum/test_d1_flood.py runs the vardiff case with assertions.

    .venv/bin/python bench/d1_flood.py [--duration 30] [--miners 2]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

TWISTD = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]
MINER = [sys.executable, "-c", "import sys; from gxcpoold.miner.main import main; "
                               "sys.exit(main())"]
ADDRESSES = ["tGXC" + ("%x" % i) * 34 for i in range(1, 9)]
# What the pool inherits: none of the caller's pool settings.
ENV = {k: v for k, v in os.environ.items()
       if not k.startswith(("GXCPOOL_", "POOL_", "BLOCKCHAIN_", "MIN_PAYOUT", "STRATUM_PORT",
                            "DASHBOARD_PORT"))}

VARDIFF = {"start_difficulty": 0.0001, "min_difficulty": 0.0001}    # defaults, converging at once
# a floor far below what the miners need for the aim, and an aim vardiff never reaches
FLOOD = {"start_difficulty": 1e-6, "min_difficulty": 1e-6, "shares_per_minute": 1e6,
         "requests_per_second": 5000.0}
REPORT = re.compile(r"accepted (\d+)  rejected (\d+)")
STALE = re.compile(r"(\d+) found for replaced jobs not sent")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def node_call(port, method, *params, timeout=10.0):
    """One JSON-RPC call the way the node wants it: one buffer, one write."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)},
                      separators=(",", ":")).encode()
    request = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    answer = json.loads(b"".join(chunks).partition(b"\r\n\r\n")[2])
    if answer.get("error"):
        raise RuntimeError("%s: %s" % (method, answer["error"]))
    return answer["result"]


class Child:
    """A subprocess whose output lines are read by a thread (the last ones kept)."""

    def __init__(self, argv, cwd, keep=4000, watch=None):
        """watch: {name: text}; output lines containing text are counted under name."""
        self._watch = dict(watch or {})
        self.counts = {name: 0 for name in self._watch}
        self.lines = deque(maxlen=keep)
        self.proc = subprocess.Popen(argv, cwd=cwd, env=ENV, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            for name, pattern in list(self._watch.items()):
                if pattern in line:
                    self.counts[name] += 1

    def wait_for(self, text, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in list(self.lines)):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("no %r within %ss; output:\n%s" % (text, timeout,
                                                             "".join(list(self.lines)[-40:])))

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        """Signal, wait; returns seconds to exit (SIGKILL after timeout)."""
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._thread.join(5)
        return time.monotonic() - started

    def output(self):
        return "".join(self.lines)


class LatencyProbe(threading.Thread):
    """A Stratum client sending a paced share (fixed at the pool's floor) and
    timing each answer.  A reader thread keeps the latest job, so the probe
    hashes what the pool currently wants; it hashes only between shares."""

    def __init__(self, port, difficulty, per_second=5.0):
        super().__init__(daemon=True)
        self.port, self.difficulty, self.pause = port, difficulty, 1.0 / per_second
        self.latencies = []
        self.answers = {"accepted": 0}            # and each rejection reason
        self.stopping = threading.Event()
        self.error = None
        self._notify = None
        self._answers = {}                        # request id -> answer
        self._changed = threading.Condition()

    def run(self):
        try:
            self._run()
        except Exception as e:                    # reported in the figures, not raised
            self.error = repr(e)

    def _read(self, reader):
        for line in reader:
            message = json.loads(line)
            with self._changed:
                if message.get("method") == "mining.notify":
                    self._notify = message["params"]
                elif message.get("id") is not None:
                    self._answers[message["id"]] = message
                self._changed.notify_all()

    def _call(self, sock, request_id, method, *params):
        sock.sendall(json.dumps({"id": request_id, "method": method,
                                 "params": list(params)}).encode() + b"\n")
        with self._changed:
            self._changed.wait_for(lambda: request_id in self._answers, timeout=30)
            return self._answers.pop(request_id)

    def _run(self):
        from gxcpoold.hashers.sha256d import sha256d_scan
        from gxcpoold.miner.work import Work
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        threading.Thread(target=self._read, args=(sock.makefile("rb"),), daemon=True).start()
        worker = ADDRESSES[-1] + ".probe"
        _, en1, en2_size = self._call(sock, 1, "mining.subscribe", "d1-latency-probe")["result"]
        self._call(sock, 2, "mining.authorize", worker, "d=%r" % self.difficulty)
        with self._changed:
            self._changed.wait_for(lambda: self._notify is not None, timeout=30)
        request_id = 10
        while not self.stopping.is_set():
            work = Work.from_notify(self._notify, bytes.fromhex(en1), en2_size, self.difficulty)
            request_id += 1
            en2 = request_id.to_bytes(en2_size, "big")
            found = sha256d_scan(work.header_prefix(en2), 0, 2**32 - 1, work.target)
            if found is None:
                continue
            started = time.monotonic()
            answer = self._call(sock, request_id, "mining.submit", worker, work.job_id,
                                en2.hex(), "%08x" % work.ntime, "%08x" % found[0])
            self.latencies.append(time.monotonic() - started)
            if answer.get("result") is True:
                self.answers["accepted"] += 1
            else:
                reason = str((answer.get("error") or [None, "false"])[1])[:40]
                self.answers[reason] = self.answers.get(reason, 0) + 1
            self.stopping.wait(self.pause)
        sock.close()


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def write_config(state, ports, stratum):
    lines = ["[pool]", 'state_dir = "%s"' % state,
             "[stratum.sha256d]", 'endpoint = "tcp:%d:interface=127.0.0.1"' % ports["stratum"]]
    lines += ["%s = %r" % item for item in stratum.items()]
    lines += ["[web]", 'endpoint = "tcp:%d:interface=127.0.0.1"' % ports["web"],
              "[devnet]", "enabled = true",
              'endpoint = "tcp:%d:interface=127.0.0.1"' % ports["node"],
              "difficulty = 1.0", "demo_miner_threads = 0", "request_latency = 0.010"]
    path = os.path.join(state, "gxcpool.toml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def chain_blocks(node_port):
    """(height, hash) of every block after genesis, from the node."""
    count = node_call(node_port, "getblockcount")
    return [(h, node_call(node_port, "getblockhash", h)) for h in range(1, count)]


def ledger_blocks(state):
    """height, hash, status, credited, reward and the sum of its credits, per block row."""
    db = sqlite3.connect(os.path.join(state, "gxcpool.sqlite3"))
    try:
        return db.execute(
            "SELECT b.height, b.hash, b.status, b.credited, b.reward, "
            "COALESCE((SELECT SUM(c.amount) FROM credits c WHERE c.block_id = b.id), 0) "
            "FROM blocks b ORDER BY b.height").fetchall()
    finally:
        db.close()


def flood(duration, miners=2, threads=1, stratum=None, probe=0.0, sample=0.5,
          twistd_options=()):
    """Run the pool and miners for `duration` seconds; returns a dict of
    figures and the raw material tests check (chain, ledger, samples)."""
    state = tempfile.mkdtemp(prefix="gxcpool-d1-")
    ports = {"stratum": free_port(), "node": free_port(), "web": free_port()}
    stratum = dict(VARDIFF if stratum is None else stratum)
    config = write_config(state, ports, stratum)
    pool = Child(TWISTD + ["--nodaemon", "--pidfile="] + list(twistd_options)
                 + ["gxcpool", "--config", config], state,
                 watch={"accepted": "accepted by the node", "critical": "#critical]",
                        "probe_blocks": ADDRESSES[-1] + ".probe accepted by the node",
                        "tracebacks": "Traceback", "warnings": "#warn]"})
    rigs, latency = [], None
    try:
        pool.wait_for("new template height=1 ", timeout=60)
        url = "stratum+tcp://127.0.0.1:%d" % ports["stratum"]
        rigs = [Child(MINER + ["-o", url, "-u", ADDRESSES[i] + ".rig", "-t", str(threads),
                               "--report-interval", "1"], state) for i in range(miners)]
        if probe:
            latency = LatencyProbe(ports["stratum"], stratum["min_difficulty"], probe)
            latency.start()
        samples = []                           # (seconds, height, pool RSS, [miner RSS])
        started = time.monotonic()
        while time.monotonic() - started < duration:
            time.sleep(sample)
            samples.append((time.monotonic() - started,
                            node_call(ports["node"], "getblockcount"),
                            rss_bytes(pool.proc.pid), [rss_bytes(r.proc.pid) for r in rigs]))
        if latency is not None:
            latency.stopping.set()
        miner_exit = [r.stop(signal.SIGTERM) for r in rigs]
        if latency is not None:
            latency.join(10)
        # let the last submission settle before reading the chain
        settled, last = time.monotonic(), None
        while time.monotonic() - settled < 15:
            count = node_call(ports["node"], "getblockcount")
            if count == last:
                break
            last = count
            time.sleep(1.0)
        chain = chain_blocks(ports["node"])
        pool_exit = pool.stop(signal.SIGTERM)
        ledger = ledger_blocks(state)
    finally:
        for child in rigs + [pool]:
            if child.proc.poll() is None:
                child.stop(signal.SIGKILL)
        if latency is not None:
            latency.stopping.set()
    accepted = rejected = stale = 0
    for rig in rigs:
        reports = REPORT.findall(rig.output())
        if reports:
            accepted += int(reports[-1][0])
            rejected += int(reports[-1][1])
        stale += sum(int(n) for n in STALE.findall(rig.output()))
    figures = {
        "duration_s": round(samples[-1][0], 1),
        "miners": miners, "threads_per_miner": threads, "share_floor": stratum["min_difficulty"],
        "chain_height": len(chain),
        "blocks_per_s": round(len(chain) / samples[-1][0], 2),
        "blocks_accepted_logged": pool.counts["accepted"],
        "shares_accepted": accepted, "shares_rejected": rejected,
        "shares_stale_not_sent": stale,
        "stale_fraction": round((rejected + stale) / max(1, accepted + rejected + stale), 4),
        "pool_rss_mb_max": round(max(s[2] for s in samples) / 2**20, 1),
        "pool_rss_mb_end": round(samples[-1][2] / 2**20, 1),
        "miner_rss_mb_max": round(max(max(s[3]) for s in samples) / 2**20, 1),
        "miner_exit_s_max": round(max(miner_exit), 2),
        "pool_exit_s": round(pool_exit, 2),
        "pool_critical_lines": pool.counts["critical"],
        "pool_warning_lines": pool.counts["warnings"],
        "pool_tracebacks": pool.counts["tracebacks"],
    }
    if latency is not None:
        figures.update({
            "probe_shares": len(latency.latencies), "probe_answers": latency.answers,
            "probe_blocks": pool.counts["probe_blocks"],
            "share_latency_ms_p50": _ms(percentile(latency.latencies, 0.50)),
            "share_latency_ms_p99": _ms(percentile(latency.latencies, 0.99)),
            "probe_error": latency.error})
    raw = {"chain": chain, "ledger": ledger, "samples": samples, "pool_output": pool.output(),
           "miner_outputs": [r.output() for r in rigs]}
    shutil.rmtree(state, ignore_errors=True)
    return figures, raw


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000, 1)


def node_loop(duration):
    """What the node can take: template -> submit as fast as it answers."""
    import secrets
    state = tempfile.mkdtemp(prefix="gxcpool-d1-node-")
    port = free_port()
    node = Child(TWISTD + ["--nodaemon", "--pidfile=", "gxcdevnode", "--endpoint",
                           "tcp:%d:interface=127.0.0.1" % port, "--difficulty", "1.0",
                           "--request-latency", "0.010"], state)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                address = node_call(port, "getnewaddress")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        accepted = refused = 0
        template_ms, submit_ms = [], []
        started = time.monotonic()
        while time.monotonic() - started < duration:
            t0 = time.monotonic()
            template = node_call(port, "getblocktemplate", {"minerAddress": address})
            t1 = time.monotonic()
            zeros = int(template["difficulty"])
            block = {"height": template["height"],
                     "hash": "0" * zeros + secrets.token_hex(32)[zeros:],
                     "previousblockhash": template["previousblockhash"], "nonce": 1,
                     "miner": address, "timestamp": template["curtime"],
                     "difficulty": template["difficulty"],
                     "transactions": template["transactions"][:1]}
            try:
                node_call(port, "submitblock", block)
                accepted += 1
            except RuntimeError:
                refused += 1
            t2 = time.monotonic()
            template_ms.append(t1 - t0)
            submit_ms.append(t2 - t1)
        elapsed = time.monotonic() - started
    finally:
        node.stop(signal.SIGTERM)
        shutil.rmtree(state, ignore_errors=True)
    return {"blocks_per_s": round(accepted / elapsed, 1), "accepted": accepted,
            "refused": refused, "template_ms_p50": _ms(percentile(template_ms, 0.5)),
            "submit_ms_p50": _ms(percentile(submit_ms, 0.5)),
            "submit_ms_p99": _ms(percentile(submit_ms, 0.99))}


def block_path(duration):
    """The pool's block path alone, in this process: NodeService, JobManager
    and BlockSubmitter on the devnet; each new job gets one candidate at once
    (a fabricated hash, no hashing, block records in memory).  Blocks per
    second and node calls per block."""
    import secrets
    from twisted.internet import defer, reactor, task
    from gxcpoold.config import NodeSettings
    from gxcpoold.devnet.service import DevNodeService
    from gxcpoold.devnet.settings import DevNodeSettings
    from gxcpoold.algorithms import sha256d
    from gxcpoold.jobs import JobManager
    from gxcpoold.node.service import NodeService
    from gxcpoold.node.submitter import BlockSubmitter
    from gxcpoold.shares import BlockCandidate, MemoryBlockRecorder

    def candidate(job, address):
        t = job.template
        block_hash = "0" * t.required_zeros + secrets.token_hex(32)[t.required_zeros:]
        block = {"height": t.height, "hash": block_hash, "previousblockhash": t.previousblockhash,
                 "nonce": 1, "miner": address, "timestamp": t.curtime,
                 "difficulty": t.difficulty, "transactions": [t.coinbase]}
        return BlockCandidate(time=0.0, algorithm="sha256d", height=t.height, hash=block_hash,
                              previousblockhash=t.previousblockhash, address=address,
                              worker="path", work=1, block=block)

    async def run():
        devnode = DevNodeService(DevNodeSettings(difficulty=1.0, request_latency=0.010),
                                 "tcp:0:interface=127.0.0.1", reactor=reactor)
        devnode.startService()
        await devnode.whenListening()
        node = NodeService(reactor, NodeSettings(), network="testnet", url=devnode.url)
        mined = set()
        jobs = JobManager(node, algorithm=sha256d, clock=reactor, excluded_txids=mined)
        submitter = BlockSubmitter(node.client, MemoryBlockRecorder(), clock=reactor,
                                   refresh=node.watcher.refresh, mined_txids=mined)
        for service in (node, jobs, submitter):
            service.startService()
        while jobs.current_job is None:
            await task.deferLater(reactor, 0.05)
        jobs.add_listener(lambda job, clean: clean and submitter.submit(
            candidate(job, node.pool_address)))
        calls, height, started = node.client.calls, devnode.node.chain.n, time.monotonic()
        submitter.submit(candidate(jobs.current_job, node.pool_address))
        await task.deferLater(reactor, duration)
        blocks = devnode.node.chain.n - height
        elapsed = time.monotonic() - started
        for service in (submitter, jobs, node, devnode):
            await defer.maybeDeferred(service.stopService)
        return {"blocks_per_s": round(blocks / elapsed, 1), "blocks": blocks,
                "node_calls_per_block": round((node.client.calls - calls) / max(1, blocks), 2),
                "outcomes": dict(submitter.counts)}

    result = {}
    d = defer.ensureDeferred(run())
    d.addBoth(lambda r: (result.update(r if isinstance(r, dict) else {"error": str(r)}),
                         reactor.stop()))
    reactor.run()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per run")
    parser.add_argument("--miners", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="hashing threads per miner")
    parser.add_argument("--block-path-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.block_path_only:            # a child of main(): its own reactor
        print(json.dumps(block_path(args.duration)))
        return
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "cpus": os.cpu_count(), "devnet": "difficulty 1.0, request_latency 0.010 s"}
    result["node"] = node_loop(args.duration)
    child = subprocess.run([sys.executable, os.path.abspath(__file__), "--block-path-only",
                            "--duration", str(args.duration)], env=ENV, capture_output=True,
                           text=True, timeout=args.duration + 120)
    result["block_path"] = json.loads(child.stdout.strip().splitlines()[-1])
    # the probe's shares are block candidates too: a slow probe where blocks are few
    for name, stratum, probe in (("vardiff", VARDIFF, 1.0), ("flood", FLOOD, 5.0)):
        figures, raw = flood(args.duration, args.miners, args.threads, stratum, probe=probe)
        credited = {(h, b) for h, b, status, done, reward, paid in raw["ledger"] if done}
        figures["chain_blocks_credited"] = sum(1 for key in raw["chain"] if key in credited)
        figures["blocks_credited_not_in_chain"] = len(credited - set(raw["chain"]))
        result[name] = figures
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
