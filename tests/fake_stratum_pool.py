"""A scripted Stratum V1 pool on a real loopback socket, for testing the reference miner.

It logs a miner in, sends one difficulty and jobs when told to, and answers
mining.submit as the test chooses: at once, after a delay, or never (a pool
that is stuck or gone quiet).  It can also stop reading its socket.  Every
message it received is kept, in order.
"""
import json

from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Factory
from twisted.protocols.basic import LineReceiver
from zope.interface import implementer

EXTRANONCE1 = "0a0b0c0d"
PREVHASH = "00" * 32
# a one-input coinbase split around the extranonces; its content does not matter
COINB1 = "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff08"
COINB2 = "ffffffff0100f2052a010000001976a914" + "00" * 20 + "88ac00000000"


def notify_params(job_id, clean):
    return [job_id, PREVHASH, COINB1, COINB2, [], "20000000", "1d00ffff", "5f5e1000", clean]


@implementer(IPushProducer)
class FakePoolSession(LineReceiver):
    delimiter = b"\n"
    MAX_LENGTH = 1 << 16
    send_buffer_full = False     # the miner is not keeping up with what we send

    def connectionMade(self):
        self.answers = []            # delayed answers to cancel when the miner goes
        self.transport.registerProducer(self, True)
        self.factory.sessions.append(self)

    def pauseProducing(self):
        self.send_buffer_full = True

    def resumeProducing(self):
        self.send_buffer_full = False

    def stopProducing(self):
        pass

    def connectionLost(self, reason):
        for call in self.answers:
            if call.active():
                call.cancel()
        if self in self.factory.sessions:
            self.factory.sessions.remove(self)

    def send(self, message):
        self.transport.write(json.dumps(message).encode() + b"\n")

    def lineReceived(self, line):
        message = json.loads(line)
        pool = self.factory
        pool.received.append(message)
        method, request_id = message.get("method"), message.get("id")
        if method == "mining.subscribe":
            self.send({"id": request_id, "result": [[], EXTRANONCE1, 4], "error": None})
        elif method == "mining.authorize":
            self.send({"id": request_id, "result": True, "error": None})
            self.send({"id": None, "method": "mining.set_difficulty",
                       "params": [pool.difficulty]})
            if pool.jobs:
                self.send({"id": None, "method": "mining.notify", "params": pool.jobs[-1]})
            if not pool.reading:
                self.transport.pauseProducing()
        elif method == "mining.submit":
            pool.submits.append(message["params"])
            answer = {"id": request_id, "result": True, "error": None}
            if pool.answer_delay == 0:
                self.send(answer)
            elif pool.answer_delay is not None:
                self.answers = [c for c in self.answers if c.active()]
                self.answers.append(reactor.callLater(pool.answer_delay, self.send, answer))


class FakePool(Factory):
    protocol = FakePoolSession

    def __init__(self, difficulty, answer_delay=0, reading=True):
        """answer_delay: seconds before a submit is answered, None = never;
        reading=False: stop reading the socket once the miner is logged in."""
        self.difficulty = difficulty
        self.answer_delay = answer_delay
        self.reading = reading
        self.sessions = []
        self.received = []        # every message from miners, in order
        self.submits = []         # params of every mining.submit received
        self.jobs = [notify_params("job-1", True)]
        self.port = None

    async def listen(self):
        self.listening = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(self)
        self.port = self.listening.getHost().port
        return self.port

    def new_job(self, job_id, clean, then_ask_version=None):
        """Broadcast a job, followed by a client.get_version request with the
        given id: its answer marks where the miner had read the job."""
        params = notify_params(job_id, clean)
        self.jobs.append(params)
        for session in self.sessions:
            session.send({"id": None, "method": "mining.notify", "params": params})
            if then_ask_version is not None:
                session.send({"id": then_ask_version, "method": "client.get_version",
                              "params": []})

    def send_all(self, method, *params):
        for session in self.sessions:
            session.send({"id": None, "method": method, "params": list(params)})

    def ask_versions(self, count):
        """Send count client.get_version requests to every miner at once."""
        lines = b"".join(json.dumps({"id": 10**6 + i, "method": "client.get_version",
                                     "params": []}).encode() + b"\n" for i in range(count))
        for session in self.sessions:
            session.transport.write(lines)

    def stop(self):
        for session in list(self.sessions):
            session.transport.abortConnection()
        return self.listening.stopListening()
