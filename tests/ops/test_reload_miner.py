"""A mining miner across `systemctl reload` and `systemctl stop` of a real twistd pool.

The pool (twistd gxcpool --devnet, SQLite in a temporary state directory, the
journald observer) runs in a subprocess; the reference miner runs in this
test's reactor on its sha256d port.  A SIGHUP that changes the fee must not
drop the miner, which keeps getting shares accepted; after SIGTERM every
share the pool accepted must be in the database.
"""
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading

from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.trial import unittest

from gxcpoold.miner.client import Miner
from tests.ops.test_reload_twistd import ENV, TWISTD, free_port

MINER_ADDRESS = "tGXC" + "3c" * 17


def pool_config(fee, state, port):
    return f"""
[pool]
fee = {fee}
state_dir = "{state}"
[stratum.sha256d]
endpoint = "tcp:{port}:interface=127.0.0.1"
start_difficulty = 1e-5
min_difficulty = 1e-7
shares_per_minute = 240.0
retarget_interval = 5.0
[stratum.ethash]
endpoint = "tcp:0:interface=127.0.0.1"
[stratum.gxhash]
endpoint = "tcp:0:interface=127.0.0.1"
[web]
endpoint = "tcp:0:interface=127.0.0.1"
[devnet]
enabled = true
endpoint = "tcp:0:interface=127.0.0.1"
demo_miner_threads = 0
"""


async def wait_for(predicate, what, output, timeout=90.0, proc=None):
    """Let the reactor run until predicate() holds (a deadline, not a timing assertion)."""
    waited = 0.0
    while not predicate():
        if waited > timeout or (proc is not None and proc.poll() is not None):
            raise AssertionError("timed out waiting for %s; pool output:\n%s"
                                 % (what, "".join(output)))
        await deferLater(reactor, 0.05)
        waited += 0.05


def dropped(said):
    """What the miner printed about losing its connection."""
    return [s for s in said if "disconnected" in s or "asks to reconnect" in s]


class MinerAcrossReloadAndStop(unittest.TestCase):
    timeout = 240

    def start_pool(self):
        tmp = tempfile.mkdtemp(prefix="gxcpool-reload-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.state = os.path.join(tmp, "state")
        self.config = os.path.join(tmp, "gxcpool.toml")
        self.port = free_port()
        self.write_config(0.01)
        self.output = []
        self.proc = subprocess.Popen(
            TWISTD + ["--nodaemon", "--pidfile=", "--logger", "gxcpoold.logs.journald_observer",
                      "gxcpool", "--config", self.config],
            cwd=tmp, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(self.kill_pool)
        # list.append is atomic: the reactor thread only reads self.output.
        threading.Thread(target=lambda: [self.output.append(line) for line in self.proc.stdout],
                         daemon=True).start()

    def kill_pool(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def write_config(self, fee):
        with open(self.config, "w") as f:
            f.write(pool_config(fee, self.state, self.port))

    def logged(self, text, after=0):
        return any(text in line for line in self.output[after:])

    def database_shares(self):
        with sqlite3.connect(os.path.join(self.state, "gxcpool.sqlite3")) as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM shares JOIN miners ON shares.miner_id = miners.id "
                "WHERE miners.address = ?", (MINER_ADDRESS,)).fetchone()
        return count

    async def test_reload_keeps_the_miner_and_stop_keeps_every_accepted_share(self):
        self.start_pool()
        await wait_for(lambda: self.logged("sha256d stratum listening on"), "the Stratum port",
                       self.output, proc=self.proc)
        await wait_for(lambda: self.logged("new template height="), "a template", self.output,
                       proc=self.proc)
        said = []
        miner = Miner(reactor, "127.0.0.1", self.port, MINER_ADDRESS + ".rig", threads=1,
                      report_interval=0, printer=said.append)
        miner.start()
        self.addCleanup(miner.stop)
        await wait_for(lambda: miner.accepted >= 3, "3 accepted shares", self.output,
                       proc=self.proc)

        # systemctl reload: the fee changes, the miner stays connected and keeps mining.
        mark = len(self.output)
        self.write_config(0.02)
        self.proc.send_signal(signal.SIGHUP)
        await wait_for(lambda: self.logged("configuration reloaded", mark), "the reload",
                       self.output)
        (line,) = [l for l in self.output[mark:] if "configuration reloaded" in l]
        self.assertTrue(line.rstrip().endswith(": pool.fee 0.01 -> 0.02"), line)
        before = miner.accepted
        await wait_for(lambda: miner.accepted >= before + 3, "shares after the reload",
                       self.output)
        self.assertEqual(dropped(said), [])
        self.assertIsNone(self.proc.poll())

        # systemctl stop while the miner is submitting.
        self.proc.send_signal(signal.SIGTERM)
        await wait_for(lambda: self.proc.poll() is not None, "the pool to exit", self.output)
        # The pool's client.reconnect (or the closed connection) comes after every
        # answer it sent, so the miner's count is final once it has seen that.
        await wait_for(lambda: dropped(said), "the miner to notice", self.output)
        await miner.stop()
        accepted = miner.accepted
        output = "".join(self.output)
        self.assertIn(self.proc.returncode, (0, -signal.SIGTERM), output)
        self.assertIn("Server Shut Down.", output)
        self.assertNotIn("Traceback", output)
        self.assertNotIn("spilling shares", output)
        # Every share the miner was told was accepted is in the ledger.
        stored = self.database_shares()
        self.assertGreaterEqual(accepted, 6)
        self.assertGreaterEqual(stored, accepted, "%d accepted, %d stored:\n%s"
                                % (accepted, stored, output))
