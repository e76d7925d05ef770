"""The miner's end of a JSON-lines connection to a pool.

Requests get Deferreds that fire with the pool's result or fail with
StratumRPCError; messages with a method go to the miner as notifications;
a response-shaped message nobody asked for (eth-proxy pushes its work with
id 0) goes to the miner as a push.  Nothing the pool sends can raise out of
here: a line that is not a JSON object, or one the miner cannot use, is
logged as one line and dropped.
"""
import itertools
import json

from twisted.internet import defer
from twisted.internet.interfaces import IPushProducer
from twisted.protocols.basic import LineReceiver
from zope.interface import implementer


class StratumRPCError(Exception):
    def __init__(self, error):
        super().__init__(error)
        self.error = error
        if isinstance(error, list) and error:
            self.code = error[0]
        elif isinstance(error, dict):
            self.code = error.get("code")         # JSON-RPC 2.0 error object (eth-proxy)
        else:
            self.code = None


def error_text(error):
    """A short, bounded text for a pool's error, whatever its shape."""
    if isinstance(error, list) and len(error) >= 2:
        return ("%s %s" % (error[0], error[1]))[:80]
    if isinstance(error, dict) and "message" in error:
        return ("%s %s" % (error.get("code"), error["message"]))[:80]
    return repr(error)[:80]


@implementer(IPushProducer)
class MinerProtocol(LineReceiver):
    delimiter = b"\n"
    MAX_LENGTH = 1 << 20

    def __init__(self, miner):
        self.miner = miner
        self._ids = itertools.count(1)
        self._pending = {}
        self.writes_paused = False   # the pool is not reading: the send buffer is full
        self.replies_dropped = 0

    def request(self, method, *params, **members):
        """Send a request; members are extra top-level members (eth-proxy's
        "jsonrpc", "worker")."""
        request_id = next(self._ids)
        d = defer.Deferred()
        self._pending[request_id] = d
        message = {"id": request_id, "method": method, "params": list(params)}
        message.update(members)
        self.transport.write(json.dumps(message).encode() + b"\n")
        return d

    def request_ignoring_answer(self, method, *params, **members):
        """A request whose answer does not matter (its failure neither)."""
        self.request(method, *params, **members).addErrback(lambda failure: None)

    def reply(self, request_id, result):
        """Answer a request from the pool, unless the pool is not reading our
        answers anyway (a pool that keeps asking would grow the send buffer)."""
        if self.writes_paused:
            self.replies_dropped += 1
            return
        self.transport.write(json.dumps({"id": request_id, "result": result,
                                         "error": None}).encode() + b"\n")

    # IPushProducer: the transport says when its send buffer is full or drained
    def pauseProducing(self):
        self.writes_paused = True

    def resumeProducing(self):
        self.writes_paused = False

    def stopProducing(self):
        pass

    def connectionMade(self):
        self.transport.registerProducer(self, True)
        self.miner.connected(self)

    def connectionLost(self, reason):
        pending, self._pending = self._pending, {}
        for d in pending.values():
            d.errback(reason)
        self.miner.disconnected(self, reason)

    def lineReceived(self, line):
        try:
            message = json.loads(line)
        except ValueError:
            self.miner.ignored("pool line that is not JSON", repr(line[:200]))
            return
        if not isinstance(message, dict):
            self.miner.ignored("pool message that is not a JSON object", repr(line[:200]))
            return
        method = message.get("method")
        if method is not None:
            params = message.get("params")
            self.miner.notification(self, method, [] if params is None else params,
                                    message.get("id"))
            return
        request_id = message.get("id")
        # type(...) is int: a JSON true must not answer request 1
        d = self._pending.pop(request_id, None) if type(request_id) is int else None
        if d is None:
            if (request_id is None or request_id == 0 and type(request_id) is int) \
                    and "result" in message:
                self.miner.pushed(self, message["result"])
            return
        if message.get("error"):
            d.errback(StratumRPCError(message["error"]))
        else:
            d.callback(message.get("result"))
