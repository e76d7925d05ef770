"""Scripted pools on real loopback sockets, one per miner dialect, for the
reference miner's ethash and gxhash tests.

Each logs a miner in the way its dialect's spec shows (spec/ethash.md 3.1 and
3.2, the gxhash dialect in the brief / docs/protocol-gxhash.md), sends one
difficulty and one job, and answers every share with true.  Tests can push
more messages (or raw bytes) to every miner; every message received is kept.
"""
import json

from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.protocol import Factory
from twisted.protocols.basic import LineReceiver

SEED_EPOCH_0 = "00" * 32
# the header hash of the first ethash vector (tests/vectors/ethash.json, block 0)
HEADER = "2a8de2adf89af77358250bf908bf04ba94a6e8c3ba87775564a41d269a05e4ce"
NICEHASH_EXTRANONCE = "a2ee"
GXHASH_EXTRANONCE1 = 0x5eed          # 15 bits: GXC nonces 0x5eed0000 .. 0x5eedffff < 2**31
GXHASH_PREVHASH = "00000" + "7b" * 28 + "abc"
GXHASH_MERKLEROOT = "4d" * 32


class ScriptedSession(LineReceiver):
    delimiter = b"\n"
    MAX_LENGTH = 1 << 16

    def connectionMade(self):
        self.factory.sessions.append(self)

    def connectionLost(self, reason):
        if self in self.factory.sessions:
            self.factory.sessions.remove(self)

    def send(self, message):
        self.transport.write(json.dumps(message).encode() + b"\n")

    def answer(self, request, result):
        self.send({"id": request.get("id"), "result": result, "error": None})

    def lineReceived(self, line):
        message = json.loads(line)
        self.factory.received.append(message)
        self.factory.handle(self, message)


class ScriptedPool(Factory):
    protocol = ScriptedSession

    def __init__(self):
        self.sessions = []
        self.received = []       # every message from miners, in order
        self.submits = []        # params of every share submitted
        self.port = None

    async def listen(self):
        self.listening = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(self)
        self.port = self.listening.getHost().port
        return self.port

    def stop(self):
        for session in list(self.sessions):
            session.transport.abortConnection()
        return self.listening.stopListening()

    def methods(self):
        return [m.get("method") for m in self.received]

    def send_all(self, message):
        for session in self.sessions:
            session.send(message)

    def write_all(self, data):
        for session in self.sessions:
            session.transport.write(data)

    def notify_all(self, method, *params):
        self.send_all({"id": None, "method": method, "params": list(params)})


class NiceHashPool(ScriptedPool):
    """EthereumStratum/1.0.0: difficulty in NiceHash's unit, 2-byte extranonce."""

    def __init__(self, difficulty, job=("a1", SEED_EPOCH_0, HEADER),
                 extranonce=NICEHASH_EXTRANONCE):
        super().__init__()
        self.difficulty = difficulty
        self.job = list(job)
        self.extranonce = extranonce

    def handle(self, session, message):
        method = message.get("method")
        if method == "mining.subscribe":
            session.answer(message, [["mining.notify", "5e55", "EthereumStratum/1.0.0"],
                                     self.extranonce])
        elif method == "mining.extranonce.subscribe":
            session.answer(message, True)
        elif method == "mining.authorize":
            session.answer(message, True)
            session.send({"id": None, "method": "mining.set_difficulty",
                          "params": [self.difficulty]})
            session.send({"id": None, "method": "mining.notify", "params": self.job + [True]})
        elif method == "mining.submit":
            self.submits.append(message["params"])
            session.answer(message, True)


class EthProxyPool(ScriptedPool):
    """eth-proxy: work [header, seed, target, block number], all 0x hex."""

    def __init__(self, target, header=HEADER, height=1):
        super().__init__()
        self.work = self.work_for(header, target, height)
        self.hashrates = []

    @staticmethod
    def work_for(header, target, height):
        return ["0x" + header, "0x" + SEED_EPOCH_0, "0x%064x" % target, "0x%x" % height]

    def push(self, work):
        """New work to every miner, as a response with id 0."""
        self.work = work
        self.send_all({"id": 0, "jsonrpc": "2.0", "result": work})

    def handle(self, session, message):
        method = message.get("method")
        reply = {"id": message.get("id"), "jsonrpc": "2.0"}
        if method == "eth_submitLogin":
            session.send(dict(reply, result=True))
        elif method == "eth_getWork":
            session.send(dict(reply, result=self.work))
        elif method == "eth_submitWork":
            self.submits.append(message["params"])
            session.send(dict(reply, result=True))
        elif method == "eth_submitHashrate":
            self.hashrates.append(message["params"])
            session.send(dict(reply, result=True))
        else:
            session.send(dict(reply, result=None,
                              error={"code": -3, "message": "Method not found"}))


class GxhashPool(ScriptedPool):
    """The gxhash dialect: difficulty in expected hashes, 15-bit extranonce1."""

    def __init__(self, difficulty, height=7, timestamp=1700000000):
        super().__init__()
        self.difficulty = difficulty
        self.job = ["g1", height, GXHASH_PREVHASH, timestamp, GXHASH_MERKLEROOT]

    def handle(self, session, message):
        method = message.get("method")
        if method == "mining.subscribe":
            session.answer(message, [[["mining.notify", "5e55"]],
                                     "%04x" % GXHASH_EXTRANONCE1, 2])
        elif method == "mining.authorize":
            session.answer(message, True)
            session.send({"id": None, "method": "mining.set_difficulty",
                          "params": [self.difficulty]})
            session.send({"id": None, "method": "mining.notify", "params": self.job + [True]})
        elif method == "mining.submit":
            self.submits.append(message["params"])
            session.answer(message, True)
