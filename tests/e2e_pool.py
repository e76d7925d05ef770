"""One real pool run for the end-to-end tests: `twistd gxcpool --devnet` on
spare loopback ports (devnet at difficulty 1.0, no demo miner, SQLite in a
temporary state directory) and one `gxcpool-miner` process.

PoolRun starts both, waits (with a deadline) until the devnet node has
accepted some blocks, stops the miner and then the pool with SIGTERM, and
keeps what the tests check: the chain as the node serves it (getblock), the
pool's log and its ledger (blocks, credits, shares).
"""
import json
import os
import shutil
import signal
import sqlite3
import tempfile
import time

from bench.d1_flood import MINER, Child, free_port, node_call
from tests.test_twistd import TWISTD

ADDRESS = "tGXC" + "e2" * 17
ALGORITHMS = ("sha256d", "ethash", "gxhash")
# Pool log lines that must never appear in a clean run.
BAD_LINES = {"tracebacks": "Traceback", "critical": "#critical]", "errors": "#error]"}


# At D = 1 a block is 16 hashes, below the sha256d and (devnet) ethash
# share floors, so no cap at the block difficulty applies to them
# (stratum/vardiff.py): every share is a block candidate, and the start
# difficulty sets how soon the first comes.  sha256d's default, 1 (4e9
# hashes), takes a CPU thread minutes; its floor takes a fraction of a
# second.  ethash's devnet start, 2000 hashes, takes the light-cache
# miner seconds on a loaded machine; 200 a fraction of that.  gxhash's
# floor is below 16, so its shares are capped at the block difficulty.
D1_START_DIFFICULTY = {"sha256d": 0.0001, "ethash": 200.0}


def write_config(state, ports):
    lines = ["[pool]", 'state_dir = "%s"' % state]
    for name in ALGORITHMS:
        lines += ["[stratum.%s]" % name,
                  'endpoint = "tcp:%d:interface=127.0.0.1"' % ports[name]]
    for name, start in D1_START_DIFFICULTY.items():
        lines.insert(lines.index("[stratum.%s]" % name) + 2, "start_difficulty = %r" % start)
    lines += ["[payouts]",
              # every share of the run counts whole in each block's PPLNS
              # window, so a block's credited work is a sum the test can redo
              "pplns_min_shares = 1000000",
              "[web]", 'endpoint = "tcp:%d:interface=127.0.0.1"' % ports["web"],
              "[devnet]", "enabled = true",
              'endpoint = "tcp:%d:interface=127.0.0.1"' % ports["node"],
              "difficulty = 1.0", "demo_miner_threads = 0"]
    path = os.path.join(state, "gxcpool.toml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


class PoolRun:
    """Use as a context manager; run() mines until `blocks` pool blocks are
    in the node's chain, then stops everything and reads the results."""

    def __init__(self, algorithm, *miner_args, worker=None):
        self.algorithm = algorithm
        self.worker = worker or algorithm
        self.miner_args = list(miner_args)
        self.state = tempfile.mkdtemp(prefix="gxcpool-e2e-")
        self.ports = {name: free_port() for name in ALGORITHMS + ("web", "node")}
        self.pool = self.miner = None
        self.chain = []           # getblock results of every block after genesis
        self.pool_exit = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for child in (self.miner, self.pool):
            if child is not None and child.proc.poll() is None:
                child.stop(signal.SIGTERM, timeout=15)    # SIGKILL after that
        shutil.rmtree(self.state, ignore_errors=True)

    def run(self, blocks=2, timeout=90.0):
        config = write_config(self.state, self.ports)
        self.pool = Child(TWISTD + ["--nodaemon", "--pidfile=", "gxcpool", "--devnet",
                                    "--config", config], self.state, keep=None,
                          watch=BAD_LINES)
        self.pool.wait_for("%s stratum listening on" % self.algorithm, timeout=60)
        self.pool.wait_for("new template height=1 ", timeout=60)
        url = "stratum+tcp://127.0.0.1:%d" % self.ports[self.algorithm]
        self.miner = Child(MINER + ["-a", self.algorithm, "-o", url,
                                    "-u", "%s.%s" % (ADDRESS, self.worker),
                                    "--report-interval", "2"] + self.miner_args,
                           self.state, keep=None)
        deadline = time.monotonic() + timeout
        while self._node("getblockcount") < blocks + 1:        # + genesis
            if time.monotonic() > deadline or self.miner.proc.poll() is not None \
                    or self.pool.proc.poll() is not None:
                raise AssertionError("the node did not accept %d blocks within %.0f s\n"
                                     "--- pool:\n%s\n--- miner:\n%s"
                                     % (blocks, timeout, self.pool_output()[-6000:],
                                        self.miner_output()[-3000:]))
            time.sleep(0.2)
        self.miner.stop(signal.SIGTERM)
        # The chain as the node serves it, read while the pool (and its
        # devnet) still runs; any block accepted after this is not checked.
        count = self._node("getblockcount")
        self.chain = [self._node("getblock", height) for height in range(1, count)]
        self.pool.stop(signal.SIGTERM)
        self.pool_exit = self.pool.proc.returncode
        return self

    def _node(self, method, *params):
        return node_call(self.ports["node"], method, *params)

    def pool_output(self):
        return self.pool.output() if self.pool is not None else ""

    def miner_output(self):
        return self.miner.output() if self.miner is not None else ""

    # -- the ledger, read after the pool stopped ------------------------------

    def query(self, sql, *args):
        db = sqlite3.connect(os.path.join(self.state, "gxcpool.sqlite3"))
        db.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in db.execute(sql, args)]
        finally:
            db.close()

    def ledger_blocks(self):
        """(height, hash) -> blocks rows (each with its candidate JSON decoded)."""
        found = {}
        for row in self.query("SELECT * FROM blocks"):
            row["candidate"] = json.loads(row["candidate"])
            found.setdefault((row["height"], row["hash"]), []).append(row)
        return found

    def credits(self, block_id):
        return self.query("SELECT account, kind, amount, work, status FROM credits "
                          "WHERE block_id = ?", block_id)

    def shares(self):
        """Every share row with its miner's address, oldest first; work as an int."""
        rows = self.query("SELECT s.*, m.address FROM shares s JOIN miners m "
                          "ON m.id = s.miner_id ORDER BY s.time, s.id")
        for row in rows:
            row["work"] = int(row["work"])
        return rows
