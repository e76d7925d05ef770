"""A real `gxcpool-miner` process for tests; its output is collected line by line."""
import os
import subprocess
import sys
import threading
import time

from twisted.internet import reactor
from twisted.internet.task import deferLater

MINER = [os.path.join(os.path.dirname(sys.executable), "gxcpool-miner")]
ADDRESS = "tGXC" + "5e" * 17


class MinerProcess:
    """gxcpool-miner -o URL -u ADDRESS.rig --report-interval 1 ARGS...;
    url is a port number (stratum+tcp://127.0.0.1:port) or a whole URL."""

    def __init__(self, test, url, *args):
        if isinstance(url, int):
            url = "stratum+tcp://127.0.0.1:%d" % url
        self.proc = subprocess.Popen(
            MINER + ["-o", url, "-u", ADDRESS + ".rig", "--report-interval", "1", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        # list.append is atomic: the reactor thread only reads self.lines
        threading.Thread(target=lambda: [self.lines.append(l) for l in self.proc.stdout],
                         daemon=True).start()
        test.addCleanup(self.kill)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def output(self):
        return "".join(self.lines)

    def reports(self, unit="MH/s"):
        return [l for l in self.lines if unit in l]

    async def exit_after(self, signum):
        """Send signum; seconds from the signal until the process has exited."""
        sent = time.monotonic()
        self.proc.send_signal(signum)
        while self.proc.poll() is None:
            if time.monotonic() - sent > 30:
                raise AssertionError("the miner did not exit 30 s after signal %d:\n%s"
                                     % (signum, self.output()))
            await deferLater(reactor, 0.005)
        return time.monotonic() - sent
