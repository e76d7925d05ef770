"""The node's HTTP transport as a Twisted protocol (spec §1.1-§1.3).

The real node does ONE recv() of at most 8191 bytes per connection, answers
whatever arrived, sends one response and closes.  Emulation:

* The "read" happens READ_GRACE seconds after the first bytes arrive, and
  takes at most ``request_limit`` bytes of everything received until then.
  The grace period makes the emulation robust to Twisted handing one TCP
  segment over in more than one dataReceived call; it is far shorter than any
  deliberate gap, so a client that writes headers and body separately (or
  waits for "100 Continue") still sees the node's "Empty POST body" answer.
  The real node, polling accept() every 10 ms, is if anything more lenient.
* More than ``request_limit`` bytes: the first ``request_limit`` bytes are
  answered (a -32700 parse error in practice), then the socket is closed with
  SO_LINGER 0 so the client gets a reset, as with the node's unread data.
* Bytes arriving after the read are never read; the kernel resets the
  connection when it is closed with them unread, exactly like the node.
* ``request_latency`` delays every answer (and the handling of its request)
  without blocking the reactor, to give the simulator the real node's speed.
* ``single_read = False`` switches to a lenient reader that waits for the
  whole request by Content-Length (for tests that want to isolate the pool
  from transport defects).
"""
from twisted.internet.protocol import Factory, Protocol

from . import routes

READ_GRACE = 0.002          # seconds between the first bytes and the emulated recv()
IDLE_TIMEOUT = 60.0         # the node would wait forever; the simulator gives up
LENIENT_MAX = 1 << 20       # lenient reader: answer anyway beyond this many bytes


class SingleReadProtocol(Protocol):
    def __init__(self):
        self.buffer = bytearray()
        self.read_call = None
        self.idle_call = None
        self.answered = False

    def connectionMade(self):
        self.idle_call = self.factory.reactor.callLater(IDLE_TIMEOUT, self._idle)

    def dataReceived(self, data: bytes):
        if self.answered:
            return
        self.buffer += data
        settings = self.factory.settings
        if settings.single_read:
            if len(self.buffer) > settings.request_limit:
                self._answer()
            elif self.read_call is None:
                self.read_call = self.factory.reactor.callLater(READ_GRACE, self._answer)
        elif self._complete():
            self._answer()

    def _complete(self) -> bool:
        """Lenient mode: headers plus Content-Length bytes of body have arrived."""
        head, found, body = bytes(self.buffer).partition(b"\r\n\r\n")
        if len(self.buffer) > LENIENT_MAX:
            return True
        if not found:
            return False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length" and value.strip().isdigit():
                return len(body) >= int(value.strip())
        return True

    def _cancel_timers(self):
        for call in (self.read_call, self.idle_call):
            if call is not None and call.active():
                call.cancel()

    def _answer(self):
        self._cancel_timers()
        self.answered = True
        settings = self.factory.settings
        limit = settings.request_limit if settings.single_read else len(self.buffer)
        request, overflow = bytes(self.buffer[:limit]), len(self.buffer) > limit
        # The node's accept loop serves a request about one 10 ms tick late
        # (§6.1); the emulated read's grace period is part of that wait.
        # Waiting in the reactor keeps other connections going; the request is
        # handled even if the client has given up meanwhile, as the node does.
        wait = settings.request_latency - (READ_GRACE if settings.single_read else 0.0)
        if wait > 0:
            self.factory.reactor.callLater(wait, self._respond, request, overflow)
        else:
            self._respond(request, overflow)

    def _respond(self, request: bytes, overflow: bool):
        response = routes.answer(self.factory.dispatcher, request)
        if overflow:
            self._send_then_reset(response)
        else:
            self.transport.write(response)
            self.transport.loseConnection()

    def _send_then_reset(self, response: bytes):
        """The node sends its answer, then closes with unread data: a TCP reset."""
        try:
            self.transport.getHandle().send(response)
        except OSError:
            pass   # the reset alone is also what clients of the real node see
        self.transport.abortConnection()

    def _idle(self):
        self.transport.abortConnection()

    def connectionLost(self, reason):
        self._cancel_timers()


class NodeHttpFactory(Factory):
    protocol = SingleReadProtocol
    noisy = False       # no "Starting factory" lines; the node logs its blocks instead

    def __init__(self, dispatcher, settings, reactor):
        self.dispatcher = dispatcher
        self.settings = settings
        self.reactor = reactor
