"""An acknowledged share survives SIGKILL (issue 10): a real pool process takes shares
from a real Stratum client, is SIGKILLed the moment the client reads `true`, and is
started again on the same state directory; every acknowledged share must then be in
the database.  20 times, one devnet node process throughout (as on a pool host).
"""
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time

from tests.test_twistd import ENV, TWISTD

ADDRESS = "tGXC" + "0123456789abcdef" * 2 + "01"
ROUNDS = 20
DEADLINE = 30.0               # seconds for any one step (a start, a login, a reply)


class Output:
    """A subprocess's merged stdout, read by a thread; wait() for a pattern."""

    def __init__(self, proc):
        self.lines = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, args=(proc.stdout,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait(self, pattern, start=0):
        deadline = time.monotonic() + DEADLINE
        with self._changed:
            while True:
                for line in self.lines[start:]:
                    found = re.search(pattern, line)
                    if found:
                        return found
                left = deadline - time.monotonic()
                assert left > 0, "no %r in:\n%s" % (pattern, "".join(self.lines[-40:]))
                self._changed.wait(left)


def spawn(args, cwd, env=None):
    proc = subprocess.Popen(TWISTD + ["--nodaemon", "--pidfile="] + args, cwd=cwd,
                            env=env or ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    return proc, Output(proc)


class StratumClient:
    """Just enough Stratum V1: subscribe, authorize, submit and read the answer."""

    def __init__(self, port, worker):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
        self.buffer = b""
        self.next_id = 0
        self.job = None
        self.worker = "%s.%s" % (ADDRESS, worker)
        self.call("mining.subscribe", "sigkill-test/1")
        self.extranonce2_size = self.result[2]
        # d= in the password: every hash is a share, so no hashing is needed here.
        assert self.call("mining.authorize", self.worker, "d=1e-10") is True, self.result
        while self.job is None:
            self.read()

    def call(self, method, *params):
        self.next_id += 1
        self.sock.sendall(json.dumps({"id": self.next_id, "method": method,
                                      "params": list(params)}).encode() + b"\n")
        self.result = None
        while True:
            message = self.read()
            if message.get("id") == self.next_id:
                self.result = message.get("result", message.get("error"))
                return message.get("result")

    def read(self):
        while b"\n" not in self.buffer:
            data = self.sock.recv(65536)
            assert data, "the pool closed the connection"
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        message = json.loads(line)
        if message.get("method") == "mining.notify":
            self.job = message["params"]
        return message

    def submit(self, nonce):
        job_id, ntime = self.job[0], self.job[7]
        return self.call("mining.submit", self.worker, job_id,
                         "00" * self.extranonce2_size, ntime, "%08x" % nonce)


def shares_by_worker(database):
    if not os.path.exists(database):
        return {}
    connection = sqlite3.connect("file:%s?mode=ro" % database, uri=True, timeout=10)
    try:
        return dict(connection.execute(
            "SELECT workers.name, COUNT(*) FROM shares JOIN workers "
            "ON workers.id = shares.worker_id GROUP BY workers.name").fetchall())
    except sqlite3.OperationalError:          # the schema is not there yet
        return {}
    finally:
        connection.close()


def wait_for_shares(database, expected):
    deadline = time.monotonic() + DEADLINE
    while True:
        found = shares_by_worker(database)
        if all(found.get(w, 0) >= n for w, n in expected.items()):
            return found
        assert time.monotonic() < deadline, (expected, found)
        time.sleep(0.1)


def test_every_acknowledged_share_survives_sigkill(tmp_path):
    node, node_out = spawn(["gxcdevnode", "--endpoint", "tcp:0:interface=127.0.0.1"],
                           cwd=tmp_path)
    try:
        url = node_out.wait(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        state = tmp_path / "state"
        env = dict(ENV, GXCPOOL_STRATUM_SHA256D_ENDPOINT="tcp:0:interface=127.0.0.1",
                   GXCPOOL_WEB_ENDPOINT="tcp:0:interface=127.0.0.1",
                   GXCPOOL_STRATUM_SHA256D_MIN_DIFFICULTY="1e-12",
                   GXCPOOL_STRATUM_SHA256D_START_DIFFICULTY="1e-10")
        database = str(state / "gxcpool.sqlite3")
        acknowledged = {}
        for round_ in range(ROUNDS + 1):
            pool, out = spawn(["gxcpool", "--state-dir", str(state), "--node-url", url],
                              cwd=tmp_path, env=env)
            try:
                port = int(out.wait(r"StratumFactory starting on (\d+)").group(1))
                if round_ == ROUNDS:
                    # The last start only replays what the previous process left.
                    wait_for_shares(database, acknowledged)
                    break
                worker = "rig%d" % round_
                client = StratumClient(port, worker)
                count = 1 + round_ % 3
                for nonce in range(count):
                    assert client.submit(nonce) is True, client.result
                # `true` read: kill at once, before any flush interval can pass.
                pool.send_signal(signal.SIGKILL)
                acknowledged[worker] = count
                pool.wait(DEADLINE)
                client.sock.close()
            finally:
                if pool.poll() is None:
                    pool.send_signal(signal.SIGTERM)
                    pool.wait(DEADLINE)
        found = shares_by_worker(database)
        assert {w: found.get(w, 0) for w in acknowledged} == acknowledged
    finally:
        node.send_signal(signal.SIGKILL)
        node.wait(DEADLINE)
