"""A tiny raw HTTP client for the devnode tests: connect, write, collect until close.

Raw bytes matter here: the tests assert the node's exact status line, header
order and body bytes, and whether the connection ended cleanly or by a reset.
"""
import json
from dataclasses import dataclass

from twisted.internet import defer, error
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol


@dataclass
class RawResponse:
    data: bytes
    reset: bool          # the connection ended with a reset instead of a clean close

    @property
    def head(self) -> bytes:
        return self.data.partition(b"\r\n\r\n")[0]

    @property
    def status_line(self) -> bytes:
        return self.head.split(b"\r\n")[0]

    @property
    def headers(self) -> list[bytes]:
        return self.head.split(b"\r\n")[1:]

    @property
    def body(self) -> bytes:
        return self.data.partition(b"\r\n\r\n")[2]

    def json(self):
        return json.loads(self.body)


class _Collector(Protocol):
    def __init__(self, chunks: list[bytes], gap: float, reactor):
        self.chunks = list(chunks)
        self.gap = gap
        self.reactor = reactor
        self.received = bytearray()
        self.done = defer.Deferred()
        self._pending = None

    def connectionMade(self):
        self._write_next()

    def _write_next(self):
        if self.chunks and self.transport.connected:
            self.transport.write(self.chunks.pop(0))
            if self.chunks:
                self._pending = self.reactor.callLater(self.gap, self._write_next)

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        if self._pending is not None and self._pending.active():
            self._pending.cancel()
        reset = not reason.check(error.ConnectionDone)
        self.done.callback(RawResponse(bytes(self.received), reset))


def send_raw(port: int, chunks, gap: float = 0.1, reactor=None) -> defer.Deferred:
    """Write `chunks` (bytes or a list written `gap` seconds apart); fire with RawResponse."""
    if reactor is None:
        from twisted.internet import reactor
    if isinstance(chunks, bytes):
        chunks = [chunks]
    collector = _Collector(chunks, gap, reactor)
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    return connectProtocol(endpoint, collector).addCallback(lambda _: collector.done)


def post_bytes(body: bytes, path: str = "/") -> bytes:
    """A POST request in one buffer, as a well-behaved client sends it."""
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def get_bytes(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def compact(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()
