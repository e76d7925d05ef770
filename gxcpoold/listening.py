"""Waiters for a listener that may not be listening yet (whenListening)."""
from twisted.internet import defer


class ListenWaiters:
    """Deferreds firing with the listening port once it listens, or failing
    with why it cannot; asked for after that, they fire at once."""

    def __init__(self):
        self.port = None
        self._waiting = []

    def listened(self, port):
        self.port = port
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(port)

    def failed(self, failure):
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.errback(failure)

    def stopped(self):
        self.port = None

    def when(self):
        if self.port is not None:
            return defer.succeed(self.port)
        d = defer.Deferred()
        self._waiting.append(d)
        return d
