"""The bare baseline: the least a Python Stratum V1 server must do per share.

One process, one reactor, a plain Twisted LineOnlyReceiver per connection and
nothing else: no sessions object, no vardiff, no rate limits, no share
record, no database, no logging.  What it does is what every sha256d share
costs any honest server (spec/stratum-v1.md section 4):

  json.loads of the line;
  the job by id, extranonce2 / ntime / nonce (and rolled version bits) from hex;
  coinbase = coinb1 | extranonce1 | extranonce2 | coinb2, its sha256d, the
  merkle root up the job's branch, the 80-byte header and its sha256d -- all
  through gxcpoold.hashers.sha256d, the pool's own C code, so the two differ
  in Python overhead only;
  the hash against the connection's share target and the block target;
  a per-job duplicate set;
  json.dumps of the reply.

bench/stratum_load.py --baseline-server runs it and the pool alternately
under the same load client and prints the pool's figures as ratios to it.

    .venv/bin/python bench/baseline_server.py --port 3333          # alone
    .venv/bin/python bench/baseline_server.py --commands           # as stratum_load's child

With --commands it listens on a free loopback port and takes the pool
child's commands on stdin (bench/stratum_load.py serve()): `rss`, `cpu`,
`broadcast <height>` (a new clean job written to every connection) and
`quit`; the first line it prints is {"port": ..., "rss": ...}.
"""
import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet import reactor, stdio  # noqa: E402
from twisted.internet.protocol import Factory  # noqa: E402
from twisted.protocols.basic import LineOnlyReceiver, LineReceiver  # noqa: E402

from gxcpoold.algorithms.sha256d import coinbase_parts  # noqa: E402  (job bytes, built once)
from gxcpoold.hashers.sha256d import (sha256d, sha256d_merkle_branch,  # noqa: E402
                                      sha256d_merkle_root, stratum_header_hash,
                                      stratum_prevhash)
from gxcpoold.hashers.targets import sha256d_target  # noqa: E402

EXTRANONCE2_SIZE = 4
VERSION = 0x20000000
VERSION_MASK = 0x1FFFE000
NBITS = 0x1D00FFFF
NTIME_WINDOW = 7000
POOL_ADDRESS = "tGXC" + "ab" * 17          # the address stratum_load's pool pays to
BLOCK_ZEROS = 12                           # leading hex zeros of a block (devnet D = 12)
DEFAULT_DIFFICULTY = 1.0


class Job:
    """One job's bytes, its notify line and its duplicate set."""

    def __init__(self, height, merkle_txids=0):
        self.job_id = "%x" % height
        previous = "%064x" % (height + 10**6)
        self.coinb1, self.coinb2 = coinbase_parts(
            height=height, previousblockhash=previous, coinbase_txid="%064x" % height,
            pool_address=POOL_ADDRESS, coinbasevalue=5_000_000_000,
            extranonce2_size=EXTRANONCE2_SIZE)
        self.branch = sha256d_merkle_branch([(height * 1000 + i).to_bytes(32, "little")
                                             for i in range(merkle_txids)])
        prevhash = stratum_prevhash(previous)
        self.prevhash = bytes.fromhex(prevhash)
        self.ntime = int(time.time())
        self.block_target = (1 << (256 - 4 * BLOCK_ZEROS)) - 1
        self.seen = set()
        self.notify = json.dumps({"id": None, "method": "mining.notify", "params": [
            self.job_id, prevhash, self.coinb1.hex(), self.coinb2.hex(),
            [h.hex() for h in self.branch], "%08x" % VERSION, "%08x" % NBITS,
            "%08x" % self.ntime, True]}, separators=(",", ":")).encode()


class Miner(LineOnlyReceiver):
    delimiter = b"\n"
    MAX_LENGTH = 16384

    extranonce1 = None
    authorized = False
    difficulty = DEFAULT_DIFFICULTY
    target = sha256d_target(DEFAULT_DIFFICULTY)
    version_mask = 0

    def connectionMade(self):
        self.factory.connections.add(self)

    def connectionLost(self, reason):
        self.factory.connections.discard(self)

    def reply(self, request_id, result, error=None):
        self.sendLine(json.dumps({"id": request_id, "result": result, "error": error},
                                 separators=(",", ":")).encode())

    def lineReceived(self, line):
        try:
            message = json.loads(line)
            request_id, method, params = message["id"], message["method"], message["params"]
        except (ValueError, KeyError, TypeError):
            self.reply(None, None, [20, "Malformed request", None])
            return
        if method == "mining.submit":
            self.submit(request_id, params)
        elif method == "mining.subscribe":
            self.extranonce1 = self.factory.next_extranonce1()
            self.reply(request_id, [[["mining.set_difficulty", "1"], ["mining.notify", "1"]],
                                    self.extranonce1.hex(), EXTRANONCE2_SIZE])
        elif method == "mining.authorize":
            self.authorize(request_id, params)
        elif method == "mining.configure":
            self.version_mask = VERSION_MASK
            self.reply(request_id, {"version-rolling": True,
                                    "version-rolling.mask": "%08x" % VERSION_MASK})
        else:
            self.reply(request_id, None, [20, "Unknown method", None])

    def authorize(self, request_id, params):
        if self.extranonce1 is None:
            self.reply(request_id, None, [25, "Not subscribed", None])
            return
        password = params[1] if len(params) > 1 and isinstance(params[1], str) else ""
        for option in password.split(","):
            if option.startswith("d="):
                try:
                    self.difficulty = float(option[2:])
                    self.target = sha256d_target(self.difficulty)
                except ValueError:
                    pass
        self.authorized = True
        self.reply(request_id, True)
        self.sendLine(json.dumps({"id": None, "method": "mining.set_difficulty",
                                  "params": [self.difficulty]}).encode())
        self.sendLine(self.factory.job.notify)

    def submit(self, request_id, params):
        if not self.authorized:
            self.reply(request_id, None, [24, "Unauthorized worker", None])
            return
        try:
            _, job_id, en2_hex, ntime_hex, nonce_hex = params[:5]
            job = self.factory.jobs.get(job_id)
            if job is None:
                self.reply(request_id, None, [21, "Job not found", None])
                return
            if (len(en2_hex) != 2 * EXTRANONCE2_SIZE or len(ntime_hex) != 8
                    or len(nonce_hex) != 8):
                raise ValueError
            extranonce2 = bytes.fromhex(en2_hex)
            ntime = int(ntime_hex, 16)
            nonce = int(nonce_hex, 16)
            version = VERSION
            if len(params) > 5:
                bits = int(params[5], 16)
                if bits & ~self.version_mask & 0xFFFFFFFF:
                    self.reply(request_id, None, [20, "Invalid version bits", None])
                    return
                version = (VERSION & ~self.version_mask) | (bits & self.version_mask)
        except (ValueError, TypeError):
            self.reply(request_id, None, [20, "Malformed submit", None])
            return
        if not job.ntime <= ntime <= job.ntime + NTIME_WINDOW:
            self.reply(request_id, None, [20, "Ntime out of range", None])
            return
        coinbase = job.coinb1 + self.extranonce1 + extranonce2 + job.coinb2
        root = sha256d_merkle_root(sha256d(coinbase), job.branch)
        digest = stratum_header_hash(version, job.prevhash, root, ntime, NBITS, nonce)
        hash_int = int.from_bytes(digest, "little")
        if hash_int > self.target:
            self.reply(request_id, None, [23, "Low difficulty share", None])
            return
        key = hash((self.extranonce1, extranonce2, ntime, nonce, version))
        if key in job.seen:
            self.reply(request_id, None, [22, "Duplicate share", None])
            return
        job.seen.add(key)
        if hash_int <= job.block_target:
            self.factory.blocks += 1
        self.reply(request_id, True)


class Server(Factory):
    protocol = Miner

    def __init__(self, merkle_txids=0):
        self.merkle_txids = merkle_txids
        self.connections = set()
        self.counter = 0
        self.blocks = 0
        self.jobs = {}
        self.job = None
        self.new_job(1)

    def next_extranonce1(self):
        self.counter += 1
        return self.counter.to_bytes(4, "big")

    def new_job(self, height):
        """A clean job: the old ones are stale."""
        self.job = Job(height, self.merkle_txids)
        self.jobs = {self.job.job_id: self.job}
        return self.job

    def broadcast(self, height):
        """A new job, one notify line written to every connection."""
        line = self.new_job(height).notify + b"\n"
        for connection in self.connections:
            if connection.authorized:
                connection.transport.write(line)
        return self.job


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Commands(LineReceiver):
    """stratum_load's child protocol on stdin/stdout."""
    delimiter = b"\n"

    def __init__(self, server):
        self.server = server

    def say(self, **fields):
        self.sendLine(json.dumps(fields).encode())

    def lineReceived(self, line):
        command = line.decode().strip()
        if command == "rss":
            self.say(rss=rss_bytes(), sessions=len(self.server.connections))
        elif command == "cpu":
            usage = resource.getrusage(resource.RUSAGE_SELF)
            self.say(cpu=usage.ru_utime + usage.ru_stime)
        elif command.startswith("broadcast"):
            started = time.time()
            job = self.server.broadcast(int(command.split()[1]))
            self.say(broadcast_started=started, broadcast_written=time.time(),
                     job_id=job.job_id)
        elif command == "quit":
            reactor.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--merkle-txids", type=int, default=0,
                        help="mempool txids under the coinbase (the pool's bench job has none)")
    parser.add_argument("--commands", action="store_true",
                        help="take stratum_load's commands on stdin")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    server = Server(args.merkle_txids)
    port = reactor.listenTCP(args.port, server, backlog=4096, interface="127.0.0.1")
    if args.commands:
        commands = Commands(server)
        stdio.StandardIO(commands)
        commands.say(port=port.getHost().port, rss=rss_bytes())
    else:
        print("baseline stratum server on 127.0.0.1:%d" % port.getHost().port, flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
