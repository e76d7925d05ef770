"""A local webhook receiver for the alert tests: twisted.web on 127.0.0.1:0.

    receiver = await Receiver.start(test)             # answers 200
    receiver.mode = "status"; receiver.status = 500   # or "hang", or "slow" (delay s)
    await receiver.wait_for(2)                        # until two POSTs arrived
    receiver.kinds()                                  # ["block.found", ...]
"""
import json

from twisted.internet import defer, reactor
from twisted.web import server
from twisted.web.resource import Resource

from tests.waiting import wait_for


class _Hook(Resource):
    isLeaf = True

    def __init__(self, receiver):
        super().__init__()
        self.receiver = receiver

    def render_POST(self, request):
        r = self.receiver
        body = request.content.read()
        r.requests.append({"path": request.path, "body": body,
                           "headers": {k.decode().lower(): v[0].decode() for k, v
                                       in request.requestHeaders.getAllRawHeaders()},
                           "json": json.loads(body)})
        if r.mode == "status":
            request.setResponseCode(r.status)
            return b"no"
        if r.mode in ("hang", "slow"):
            r.held.append(request)
            if r.mode == "slow":
                call = reactor.callLater(r.delay, self._answer, request)
                r.timers.append(call)
            return server.NOT_DONE_YET
        return b"ok"

    def _answer(self, request):
        if request in self.receiver.held:
            self.receiver.held.remove(request)
        if not request._disconnected and not request.finished:
            request.write(b"late")
            request.finish()


class Receiver:
    def __init__(self):
        self.requests = []
        self.mode = "ok"
        self.status = 200
        self.delay = 0.0
        self.held = []                # requests not answered (hang, slow)
        self.timers = []
        self.port = None

    @classmethod
    async def start(cls, test, path="/hook/secret-token"):
        receiver = cls()
        site = server.Site(_Hook(receiver))
        site.noisy = False
        receiver.port = reactor.listenTCP(0, site, interface="127.0.0.1")
        receiver.url = "http://127.0.0.1:%d%s" % (receiver.port.getHost().port, path)
        test.addCleanup(receiver.stop)
        return receiver

    def stop(self):
        for call in self.timers:
            if call.active():
                call.cancel()
        for request in self.held:
            if not request._disconnected:
                request.channel.transport.abortConnection()
        self.held = []
        return defer.maybeDeferred(self.port.stopListening)

    def kinds(self):
        return [r["json"]["kind"] for r in self.requests]

    def wait_for(self, count, timeout=10.0):
        return wait_for(lambda: len(self.requests) >= count,
                        "%d webhook request(s)" % count, timeout)


def refused_url():
    """A loopback URL where nothing listens (connection refused)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "http://127.0.0.1:%d/hook" % port
