"""Shared pieces for Stratum tests: a fake node, in-memory connections, templates."""
import dataclasses
import json
import os

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from gxcpoold.algorithms import sha256d
from gxcpoold.config import StratumSettings
from gxcpoold.jobs import JobManager
from gxcpoold.node.client import NodeClient
from gxcpoold.node.template import BlockTemplate
from gxcpoold.shares import MemoryShareSink
from gxcpoold.stratum.service import StratumService

POOL_ADDRESS = "tGXC" + "ab" * 17
MINER_ADDRESS = "tGXC" + "0123456789abcdef01234567890abcdef0"[:34]
VECTORS = os.path.join(os.path.dirname(__file__), "..", "vectors", "sha256d-stratum.json")


def vectors():
    with open(VECTORS) as f:
        return json.load(f)


def gxc_template(height=5, prev="ab" * 32, difficulty=6.0, txids=(), curtime=1_800_000_000,
                 coinbase_txid="cd" * 32):
    """A getblocktemplate answer shaped like the GXC node's (spec/gxc-node.md 2.1)."""
    coinbase = {"txid": coinbase_txid, "hash": coinbase_txid, "type": "COINBASE", "from": "",
                "to": POOL_ADDRESS, "amount": 50.0, "fee": 0.0, "timestamp": curtime,
                "is_coinbase": True, "coinbase": True, "block_height": height,
                "blockHeight": height, "inputs": [],
                "outputs": [{"address": POOL_ADDRESS, "amount": 50.0, "script": ""}]}
    txs = [{"txid": t, "hash": t, "type": "NORMAL", "is_coinbase": False, "coinbase": False,
            "fee": 0.001, "inputs": [], "outputs": []} for t in txids]
    return BlockTemplate.from_rpc({
        "version": 1, "previousblockhash": prev, "height": height, "difficulty": difficulty,
        "transactions": [coinbase] + txs, "coinbasevalue": 5_000_000_000, "curtime": curtime,
        "mintime": curtime, "bits": "1d00ffff"})


class FakeWatcher:
    def __init__(self):
        self.refreshes = 0

    def refresh(self):
        from twisted.internet import defer
        self.refreshes += 1
        return defer.succeed(None)


class FakeNode:
    """What JobManager needs of NodeService."""

    def __init__(self, pool_address=POOL_ADDRESS):
        self.pool_address = pool_address
        self.current_template = None
        self.observers = []
        self.watcher = FakeWatcher()
        self.client = NodeClient(None, "http://127.0.0.1:1")     # fit_block only

    def add_template_observer(self, observer):
        self.observers.append(observer)

    def push(self, template, new_tip):
        self.current_template = template
        for observer in self.observers:
            observer(template, new_tip)


def settings(**changes):
    return dataclasses.replace(StratumSettings(endpoint="tcp:0:interface=127.0.0.1"), **changes)


class Pool:
    """A StratumService with a fake node and clock, talking over StringTransports."""

    def __init__(self, clock=None, submit_block=None, **setting_changes):
        self.clock = clock or Clock()
        self.node = FakeNode()
        self.jobs = JobManager(self.node, algorithm=sha256d, clock=self.clock,
                               extranonce2_size=setting_changes.get("extranonce2_size", 4))
        self.sink = MemoryShareSink()
        self.blocks = []
        self.service = StratumService(
            settings(**setting_changes), algorithm=sha256d, jobs=self.jobs, network="testnet",
            share_sink=self.sink, reactor=self.clock,
            submit_block=submit_block or self.blocks.append)
        self.jobs.add_listener(self.service.broadcast)

    def connect(self, ip="10.0.0.1", port=40000):
        protocol = self.service.factory.buildProtocol(IPv4Address("TCP", ip, port))
        if protocol is None:
            return None
        return Peer(protocol)


class Peer:
    """One miner connection over a StringTransport."""

    def __init__(self, protocol):
        self.protocol = protocol
        self.transport = StringTransport()
        protocol.makeConnection(self.transport)
        self._next_id = 0
        self.received = []

    def send_line(self, data: bytes):
        self.protocol.dataReceived(data)
        return self.read()

    def read(self):
        raw = self.transport.value()
        self.transport.clear()
        messages = [json.loads(line) for line in raw.split(b"\n") if line.strip()]
        self.received.extend(messages)
        return messages

    def call(self, method, *params):
        """Send a request; return (response, other messages that came with it)."""
        self._next_id += 1
        out = self.send_line(json.dumps({"id": self._next_id, "method": method,
                                         "params": list(params)}).encode() + b"\n")
        response = [m for m in out if m.get("id") == self._next_id]
        assert len(response) == 1, out
        return response[0], [m for m in out if m.get("id") != self._next_id]

    @property
    def closed(self):
        return self.transport.disconnecting

    def notifications(self, method):
        return [m["params"] for m in self.received if m.get("method") == method]

    def login(self, username=MINER_ADDRESS + ".rig1", password="x"):
        subscribed, _ = self.call("mining.subscribe", "test-miner/1.0")
        authorized, pushes = self.call("mining.authorize", username, password)
        assert authorized["result"] is True, authorized
        return subscribed["result"], pushes
