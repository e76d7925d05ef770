"""The devnet demo miner: the reference miner inside the pool's own process.

With `twistd gxcpool --devnet` nothing else is needed to see the whole
pipeline at work (jobs, accepted shares, blocks, maturity, payouts): this
service connects the reference miner to one of the pool's own ports (sha256d
unless told otherwise) once it listens, over a real loopback socket like any
other miner.
"""
import hashlib

from twisted.application.service import Service
from twisted.logger import Logger

from gxcpoold.addresses import PREFIXES
from gxcpoold.miner.client import Miner


def demo_address(network: str) -> str:
    """A fixed, valid address for the demo miner's rewards (no one holds its key)."""
    return PREFIXES[network] + hashlib.sha256(b"gxcpool devnet demo miner").hexdigest()[:34]


class DemoMinerService(Service):
    log = Logger()

    def __init__(self, stratum, reactor, *, threads, network, algorithm="sha256d",
                 dialect=None):
        """stratum: the port's service (whenListening()); algorithm and
        dialect: what that port speaks (gxcpoold.miner.algorithms)."""
        self.stratum = stratum
        self.reactor = reactor
        self.threads = threads
        self.algorithm = algorithm
        self.dialect = dialect
        self.address = demo_address(network)
        self.miner = None

    def startService(self):
        super().startService()
        self.stratum.whenListening().addCallback(self._start_mining)

    def _start_mining(self, port):
        if not self.running:
            return
        host = port.getHost()
        address = "127.0.0.1" if host.host in ("0.0.0.0", "::", "") else host.host
        self.log.info("devnet demo miner: {threads} thread(s) mining {algorithm} to {address} "
                      "on {host}:{port}", threads=self.threads, algorithm=self.algorithm,
                      address=self.address, host=address, port=host.port)
        self.miner = Miner(self.reactor, address, host.port, self.address + ".demo",
                           threads=self.threads, report_interval=30.0,
                           algorithm=self.algorithm, dialect=self.dialect)
        self.miner.start()

    def stopService(self):
        super().stopService()
        if self.miner is not None:
            return self.miner.stop()
