"""A scripted TCP server on loopback that answers node requests however a test wants."""
import json

from twisted.internet import reactor
from twisted.internet.protocol import Factory, Protocol


class _Scripted(Protocol):
    def dataReceived(self, data):
        self.factory.requests.append(data)
        answer = self.factory.respond(data)
        if self.factory.delay:
            reactor.callLater(self.factory.delay, self._answer, answer)
        else:
            self._answer(answer)

    def _answer(self, answer):
        if answer is None:
            return                       # stay silent: the client must time out
        if answer == "reset":
            self.transport.abortConnection()
            return
        self.transport.write(answer)
        self.transport.loseConnection()


class ScriptedNode(Factory):
    protocol = _Scripted

    def __init__(self, respond):
        self.respond = respond
        self.requests = []
        self.port = None
        self.delay = 0.0          # seconds before answering

    def listen(self, port=0):
        self.port = reactor.listenTCP(port, self, interface="127.0.0.1")
        return "http://127.0.0.1:%d" % self.port.getHost().port

    def stop(self):
        return self.port.stopListening()


def http(body: bytes, status=b"200 OK"):
    return (b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: %d"
            b"\r\nConnection: close\r\n\r\n" % len(body) + body)


def request_json(data: bytes) -> dict:
    return json.loads(data.partition(b"\r\n\r\n")[2])


def answer_with(result):
    """A respond() that echoes the request id with a result."""
    def respond(data):
        req = request_json(data)
        return http(json.dumps({"id": req["id"], "jsonrpc": "2.0", "result": result}).encode())
    return respond


def free_port() -> int:
    """A loopback port nothing listens on (for node-down tests)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
