"""An ethash Stratum port for tests: the real EthashAlgorithm (light cache of
epoch 0, shared by every test of the process) whose share checks wait in a
manual thread pool until the test runs them, in-memory connections that
send exactly the lines a test scripts, and a miner's light hashing."""
import json
import tempfile

from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.logger import formatEvent, globalLogPublisher

from gxcpoold.algorithms import ethash
from gxcpoold.algorithms.hashpool import HashPool
from gxcpoold.dag import DAGManager
from gxcpoold.hashers.ethash import EthashLightCacheLRU
from gxcpoold.jobs import JobManager
from gxcpoold.shares import MemoryShareSink
from gxcpoold.stratum.service import StratumService
from tests.stratum.helpers import MINER_ADDRESS, FakeNode, gxc_template, settings
from tests.test_dag import ImmediateReactor, ManualPool

# Built once (about 1.5 s) for all the ethash Stratum tests of a run.
LIGHT_CACHES = EthashLightCacheLRU(maxsize=1)
USERNAME = MINER_ADDRESS + ".rig1"
# Block test 10 leading zeros: no share of these tests is a block, and the
# share difficulty ceiling (16**10 hashes) is above every difficulty used.
NETWORK_D = 10.0


def light_hash(header, nonce):
    """What a miner computes: (mix hash, final hash) of epoch 0."""
    return LIGHT_CACHES.get(0).hash(header, nonce)


def find_nonce(header, difficulty, *, first=0, step=1, share=True, within=None):
    """The first nonce from `first` (every `step`) whose final hash meets
    (share=True) or misses (share=False) difficulty; -> (nonce, mix, final)."""
    target = ethash.share_target(difficulty)
    nonce = first
    while True:
        if within is not None and not within(nonce):
            raise AssertionError("no nonce found in range")
        mix, final = light_hash(header, nonce)
        if (int.from_bytes(final, "big") <= target) == share:
            return nonce, mix, final
        nonce += step


class EthashPool:
    """A StratumService for ethash over StringTransports; run_checks() runs
    the share checks waiting in the verify pool."""

    def __init__(self, max_pending=64, **setting_changes):
        setting_changes.setdefault("min_difficulty", 1.0)
        setting_changes.setdefault("start_difficulty", 2.0**32)
        setting_changes.setdefault("max_difficulty", 1e16)
        self.clock = ImmediateReactor()
        self.dag_pool, self.check_pool = ManualPool(), ManualPool()
        self.dag = DAGManager(tempfile.mkdtemp(prefix="gxcpool-ethash-"), reactor=self.clock,
                              threadpool=self.dag_pool, full=False, light_caches=LIGHT_CACHES)
        self.hashpool = HashPool(1, max_pending, reactor=self.clock, threadpool=self.check_pool)
        stratum = settings(**setting_changes)
        self.algorithm = ethash.EthashAlgorithm(self.dag, self.hashpool,
                                                floor_difficulty=stratum.min_difficulty,
                                                dag_mode="light")
        for service in self.algorithm.services():
            service.startService()
        self.node = FakeNode()
        self.jobs = JobManager(self.node, algorithm=self.algorithm, clock=self.clock)
        self.sink = MemoryShareSink()
        self.blocks = []
        self.service = StratumService(stratum, algorithm=self.algorithm, jobs=self.jobs,
                                      network="testnet", share_sink=self.sink,
                                      reactor=self.clock, submit_block=self.blocks.append)
        self.jobs.add_listener(self.service.broadcast)

    def push(self, new_tip=True, **template):
        """A node template (epoch 0), as a new tip by default: returns the job."""
        template.setdefault("difficulty", NETWORK_D)
        self.node.push(gxc_template(**template), new_tip)
        return self.jobs.current_job

    def connect(self, ip="10.0.0.1", port=40000):
        return ScriptedPeer(self.service.factory.buildProtocol(IPv4Address("TCP", ip, port)))

    def run_checks(self):
        self.check_pool.run_all()

    def stop(self):
        for service in reversed(self.algorithm.services()):
            service.stopService()
        self.dag_pool.run_all()


class ScriptedPeer:
    """One miner connection: the test writes the exact lines."""

    def __init__(self, protocol):
        self.protocol = protocol
        self.transport = StringTransport()
        protocol.makeConnection(self.transport)
        self.received = []

    @property
    def session(self):
        return self.protocol

    def send_line(self, data):
        """Raw bytes in (a newline ends a line); the messages that came back."""
        self.protocol.dataReceived(data)
        return self.read()

    def exchange(self, data):
        """Raw bytes in; the exact bytes that came back (also parsed into received)."""
        self.protocol.dataReceived(data)
        raw = self.transport.value()
        self.read()
        return raw

    def send(self, message):
        """One JSON object as one line, keys in the order given."""
        return self.send_line(json.dumps(message).encode() + b"\n")

    def read(self):
        raw = self.transport.value()
        self.transport.clear()
        messages = [json.loads(line) for line in raw.split(b"\n") if line.strip()]
        self.received.extend(messages)
        return messages

    def raw(self):
        """The bytes sent to the miner and not read yet."""
        return self.transport.value()

    @property
    def closed(self):
        return self.transport.disconnecting


class LogWatch:
    """Error-level events and tracebacks logged while it watches."""

    def __init__(self):
        self.events = []

    def __call__(self, event):
        if "log_failure" in event or event.get("log_level") is not None \
                and event["log_level"].name in ("error", "critical"):
            self.events.append(formatEvent(event))

    def __enter__(self):
        globalLogPublisher.addObserver(self)
        return self

    def __exit__(self, *exc):
        globalLogPublisher.removeObserver(self)
