"""The three Stratum ports a fuzz input talks to, built as the daemon builds
them, each input on a fresh service (bans, duplicates and extranonces of one
input must not change what the next one does, or a crash would not replay).

Hashing stays cheap without stubbing anything:
- sha256d checks inline, as in production, at a share difficulty so low that
  every share is accepted (and a network difficulty of 1 makes one share in
  sixteen a block), so the accepted-share and block paths are reached;
- ethash runs the real EthashAlgorithm with the light cache of epoch 0
  (built once per process) and a one-thread HashPool whose queued checks
  run when the conversation drains them: every check is a real light hash
  (~2.5 ms), at difficulty 1, so NiceHash shares with any nonce are accepted;
- gxhash (0.2 s and 64 MiB a hash) runs the real GxhashAlgorithm and HashPool,
  but its queued checks are drained through the pool's own shutdown path: the
  pool stops, each queued check fails with Busy before hashing, the session
  answers it, and the pool starts again.  Everything up to the hash and the
  failure path after it is the daemon's own code.
"""
import dataclasses
import tempfile

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock

from gxcpoold.algorithms import ethash, gxhash, sha256d
from gxcpoold.algorithms.hashpool import HashPool
from gxcpoold.config import stratum_defaults
from gxcpoold.dag import DAGManager
from gxcpoold.hashers.ethash import EthashLightCacheLRU
from gxcpoold.jobs import JobManager
from gxcpoold.shares import MemoryShareSink
from gxcpoold.stratum.extranonce import ExtranonceAllocator
from gxcpoold.stratum.service import StratumService
from tests.stratum.helpers import MINER_ADDRESS, FakeNode, gxc_template

PEER_IP = "10.0.0.1"
USERNAME = MINER_ADDRESS + ".rig1"
TXID = "ef" * 32


class FuzzClock(Clock):
    """A test clock whose callFromThread runs the call at once: thread-pool
    results arrive while the conversation drains, in one thread."""

    def callFromThread(self, f, *args, **kw):
        f(*args, **kw)


class QueuedThreads:
    """A thread pool that only queues: the conversation runs the jobs when
    it drains, in order, on its own thread."""

    def __init__(self):
        self.jobs = []

    def callInThreadWithCallback(self, on_result, f, *args, **kw):
        self.jobs.append((on_result, f, args, kw))

    def run_all(self):
        while self.jobs:
            on_result, f, args, kw = self.jobs.pop(0)
            try:
                result = f(*args, **kw)
            except BaseException as e:          # what a worker thread reports
                on_result(False, _failure(e))
            else:
                on_result(True, result)


def _failure(exc):
    from twisted.python.failure import Failure
    return Failure(exc)


class Port:
    """One fresh StratumService of an algorithm, its clock, node and jobs."""
    name = "?"
    algorithm = None
    setting_changes = {}
    template_difficulty = 1.0

    def __init__(self):
        self.clock = FuzzClock()
        self.algorithm = self.make_algorithm()
        self.settings = dataclasses.replace(stratum_defaults(self.algorithm.NAME),
                                            endpoint="tcp:0", **self.setting_changes)
        self.node = FakeNode()
        self.jobs = JobManager(self.node, algorithm=self.algorithm, clock=self.clock)
        self.sink = MemoryShareSink()
        self.blocks = []
        self.service = StratumService(self.settings, algorithm=self.algorithm, jobs=self.jobs,
                                      network="testnet", share_sink=self.sink,
                                      reactor=self.clock, submit_block=self.blocks.append)
        # a fixed first extranonce: the same input gets the same answers
        algo = self.algorithm
        self.service.extranonces = ExtranonceAllocator(0, start=1, bits=algo.EXTRANONCE1_BITS,
                                                       size=algo.EXTRANONCE1_SIZE)
        self.jobs.add_listener(self.service.broadcast)
        self.height = 5
        self.push(new_tip=True)

    def push(self, new_tip):
        """A template from the node: a new tip, or a refresh of the same block."""
        if new_tip or self.node.current_template is None:
            self.height += 1
            prev, curtime = "%064x" % self.height, 1_800_000_000 + self.height
        else:
            prev = self.node.current_template.previousblockhash
            curtime = self.node.current_template.curtime + 30
        self.node.push(gxc_template(height=self.height, prev=prev, curtime=curtime,
                                    difficulty=self.template_difficulty, txids=(TXID,)),
                       new_tip)

    def make_algorithm(self):
        return self.algorithm

    def connect(self):
        return self.service.factory.buildProtocol(IPv4Address("TCP", PEER_IP, 40000))

    def drain_checks(self):
        """Run the share checks waiting for a hashing thread (none inline)."""

    def checks_waiting(self):
        return False


class Sha256dPort(Port):
    name = "sha256d"
    algorithm = sha256d
    setting_changes = {"start_difficulty": 1e-12, "min_difficulty": 1e-12}


class _Light:
    """What is built once per process for the ethash port (about 1 s)."""
    caches = None
    dag = None


class EthashPort(Port):
    name = "ethash"
    setting_changes = {"start_difficulty": 1.0, "min_difficulty": 1.0, "max_difficulty": 1e16}

    def make_algorithm(self):
        if _Light.caches is None:
            _Light.caches = EthashLightCacheLRU(maxsize=1)
            dag_threads = QueuedThreads()
            _Light.dag = DAGManager(tempfile.mkdtemp(prefix="gxcpool-fuzz-ethash-"),
                                    reactor=FuzzClock(), threadpool=dag_threads, full=False,
                                    light_caches=_Light.caches)
            _Light.dag.startService()
        self.threads = QueuedThreads()
        self.hashpool = HashPool(1, 8, reactor=self.clock, threadpool=self.threads)
        self.hashpool.startService()
        return ethash.EthashAlgorithm(_Light.dag, self.hashpool, floor_difficulty=1.0,
                                      dag_mode="light")

    def light_hash(self, header, nonce):
        """(mix hash, final hash) a miner computes for epoch 0."""
        return _Light.caches.get(0).hash(header, nonce)

    def drain_checks(self):
        self.threads.run_all()

    def checks_waiting(self):
        return bool(self.threads.jobs)


class GxhashPort(Port):
    name = "gxhash"
    setting_changes = {"start_difficulty": 1.0}

    def make_algorithm(self):
        self.threads = QueuedThreads()
        self.hashpool = HashPool(1, 2, reactor=self.clock, threadpool=self.threads)
        self.hashpool.startService()
        return gxhash.GxhashAlgorithm(self.hashpool)

    def drain_checks(self):
        if self.threads.jobs:
            # the pool's shutdown path: each queued check fails with Busy unhashed
            self.hashpool.stopService()
            self.threads.run_all()
            self.hashpool.startService()

    def checks_waiting(self):
        return bool(self.threads.jobs)


PORTS = {port.name: port for port in (Sha256dPort, EthashPort, GxhashPort)}
