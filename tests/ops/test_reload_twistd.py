"""`systemctl reload` and `systemctl stop` against a real `twistd gxcpool` process.

The daemon runs as the unit runs it (journald observer, --nodaemon, a config
file) on free loopback ports; SIGHUP and SIGTERM are what systemd sends.
"""
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

TWISTD = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]
ENV = {k: v for k, v in os.environ.items()
       if not k.startswith(("GXCPOOL_", "POOL_", "BLOCKCHAIN_", "MIN_PAYOUT", "STRATUM_PORT",
                            "DASHBOARD_PORT", "JOURNAL_STREAM", "STATE_DIRECTORY"))}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_text(fee, state_dir, node_port, stratum_port):
    return f"""
[pool]
fee = {fee}
state_dir = "{state_dir}"
[node]
url = "http://127.0.0.1:{node_port}"
[stratum.sha256d]
endpoint = "tcp:{stratum_port}:interface=127.0.0.1"
[stratum.ethash]
endpoint = "tcp:0:interface=127.0.0.1"
[stratum.gxhash]
endpoint = "tcp:0:interface=127.0.0.1"
[web]
endpoint = "tcp:0:interface=127.0.0.1"
"""


class Daemon:
    """A twistd gxcpool subprocess whose output lines are read in a thread."""

    def __init__(self, tmp_path):
        self.path = tmp_path / "gxcpool.toml"
        self.state = tmp_path / "state"
        self.node_port = free_port()          # nothing listens: the node is "down"
        self.stratum_port = free_port()
        self.write(0.01)
        self.proc = subprocess.Popen(
            TWISTD + ["--nodaemon", "--pidfile=", "--logger", "gxcpoold.logs.journald_observer",
                      "gxcpool", "--config", str(self.path)],
            cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def write(self, fee):
        self.path.write_text(config_text(fee, self.state, self.node_port, self.stratum_port))

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, text, timeout=60):
        """Lines up to and including the first containing text (a deadline, not a timing check)."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError("no %r in:\n%s" % (text, "".join(self.seen))) from None
            if line is None:
                raise AssertionError("twistd exited before %r:\n%s" % (text, "".join(self.seen)))
            self.seen.append(line)
            got.append(line)
            if text in line:
                return got

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(tmp_path)
    yield d
    if d.proc.poll() is None:
        d.proc.kill()
        d.proc.wait()


def test_sighup_changes_the_fee_refuses_bad_config_and_sigterm_exits_cleanly(daemon):
    daemon.wait_for(" starting: pool ")

    daemon.write(0.02)
    daemon.proc.send_signal(signal.SIGHUP)
    (line,) = [l for l in daemon.wait_for("configuration reloaded") if "configuration" in l]
    assert line.startswith("<6>gxcpoold.reload.ConfigReloader: configuration reloaded from ")
    assert line.rstrip().endswith(": pool.fee 0.01 -> 0.02"), line

    daemon.write(0.9)
    daemon.proc.send_signal(signal.SIGHUP)
    got = daemon.wait_for("configuration reload refused")
    assert got[-1].rstrip() == (
        "<3>gxcpoold.reload.ConfigReloader: configuration reload refused, keeping the running "
        "configuration: [pool] fee = 0.9: must be at least 0 and below 0.5 (it is a fraction: "
        "0.01 = 1 %)")
    # Still running on fee 0.02: putting 0.02 back is "nothing changed".
    daemon.write(0.02)
    daemon.proc.send_signal(signal.SIGHUP)
    assert "nothing changed" in daemon.wait_for("configuration reloaded")[-1]
    assert daemon.proc.poll() is None

    # Twisted >= 23 ends twistd with the signal that stopped it; systemd counts
    # an exit by SIGTERM as clean.
    assert daemon.stop() in (0, -signal.SIGTERM)
    rest = "".join(daemon.seen) + "".join(iter(daemon.lines.get, None))
    assert "Traceback" not in rest, rest
    assert "Main loop terminated." in rest and "Server Shut Down." in rest
