"""Bounded, prioritised admission of node calls.

The real node serves every connection on a thread of its own, answered in
more than 10 s under a flood of block submissions and crashed when several
arrived at once (spec/gxc-node.md 6.1).  So the pool keeps a fixed number
of calls in flight (one by default) and queues the others by priority:
block submission first, then templates and tip polls, then everything else
(unlocker, payouts, chain scans).  A full queue turns the least urgent call
away at once instead of letting work pile up behind a slow node.
"""
import heapq
import itertools

from twisted.internet import defer

from gxcpoold.node.errors import NodeBusy

SUBMIT, TEMPLATE, OTHER = 0, 1, 2
_PRIORITIES = {
    "submitblock": SUBMIT, "gxc_submitBlock": SUBMIT,
    "getblocktemplate": TEMPLATE, "gxc_getBlockTemplate": TEMPLATE,
    "getbestblockhash": TEMPLATE,
}


def priority_of(method: str) -> int:
    return _PRIORITIES.get(method, OTHER)


class CallQueue:
    def __init__(self, max_in_flight=1, queue_limit=64):
        self.max_in_flight = max_in_flight
        self.queue_limit = queue_limit
        self.in_flight = 0
        self.refused = 0                  # calls turned away because the queue was full
        self._waiting = []                # heap of [priority, arrival, Deferred, method]
        self._arrivals = itertools.count()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def acquire(self, method: str, priority: int) -> defer.Deferred:
        """Fires when the call may go out; the caller must release() after."""
        if self.in_flight < self.max_in_flight and not self._waiting:
            self.in_flight += 1
            return defer.succeed(None)
        if len(self._waiting) >= self.queue_limit:
            # the newest of the least urgent waiting calls, unless the new one is no more urgent
            victim = max(self._waiting)
            if victim[0] <= priority:
                return defer.fail(self._busy(method))
            self._waiting.remove(victim)
            heapq.heapify(self._waiting)
            victim[2].errback(self._busy(victim[3]))
        entry = [priority, next(self._arrivals), None, method]
        entry[2] = defer.Deferred(canceller=lambda d: self._forget(entry))
        heapq.heappush(self._waiting, entry)
        return entry[2]

    def release(self):
        self.in_flight -= 1
        self.wake()

    def wake(self):
        """Let waiting calls go out while there is room (also after a limit change)."""
        while self._waiting and self.in_flight < self.max_in_flight:
            entry = heapq.heappop(self._waiting)
            self.in_flight += 1
            entry[2].callback(None)

    def _forget(self, entry):
        # cancelled while waiting (e.g. the poll of a stopping service)
        if entry in self._waiting:
            self._waiting.remove(entry)
            heapq.heapify(self._waiting)

    def _busy(self, method):
        self.refused += 1
        return NodeBusy("%s not sent: %d node calls already waiting (the node is slow or "
                        "down; [node] queue_limit)" % (method, self.queue_limit))
