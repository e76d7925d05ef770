"""SingletonTask: a periodic ledger task that one pool instance runs at a time.

The unlocker, the payout processor and the share pruner share this shape:
every `step` seconds (and whenever poked) a round runs, never two at once in
this process, and never two at once across instances sharing a PostgreSQL
database (singleton.SingletonLock, an advisory lock held for the round).  A
failed round never stops the timer: a node that does not answer is one
warning line (it is expected and retried next round), anything else is
logged with its traceback.
"""
import abc

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from gxcpoold.ledger.singleton import SingletonLock
from gxcpoold.node.errors import NodeError


class SingletonTask(Service, metaclass=abc.ABCMeta):
    """Subclasses set `name` and `lock_name` and implement round()."""

    log = Logger()
    lock_name = None             # SingletonLock name, e.g. "payouts"
    run_at_start = True          # first round as the service starts, or after one step
    locked_result = "locked"     # what a round returns when another instance holds the lock
    node_down_note = "will retry"   # end of the one-line warning when the node does not answer

    def __init__(self, db, step, clock=None):
        self.db = db
        self.step = step                     # seconds between rounds (reconfigure sets it)
        self.clock = clock
        self.lock = SingletonLock(db, self.lock_name)
        self.last_error = None
        self._loop = None
        self._running = None

    @abc.abstractmethod
    def round(self) -> defer.Deferred:
        """One round of the task's work."""

    def startService(self):
        super().startService()
        self._loop = LoopingCall(self.run_once)
        self._loop.clock = self.clock or self.db.reactor
        self._loop.start(self.step, now=self.run_at_start)

    def stopService(self):
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self._running is None:
            return defer.succeed(None)
        finished = defer.Deferred()          # fires once the round in progress is over
        self._running.addBoth(lambda result: (finished.callback(None), result)[1])
        return finished

    def run_once(self) -> defer.Deferred:
        """Start a round, or join the one already running."""
        if self._running is not None:
            return self._running
        d = self._running = self._locked_round()
        d.addBoth(self._done)
        return d

    def _done(self, result):
        self._running = None
        if isinstance(result, Failure):
            self.last_error = result.getErrorMessage()
            if result.check(NodeError):
                self.log.warn("{task}: node unavailable ({error}); {note}", task=self.name,
                              error=result.getErrorMessage(), note=self.node_down_note)
            else:
                self.log.failure("{task}: round failed", result, task=self.name)
            return None
        return result

    @defer.inlineCallbacks
    def _locked_round(self):
        lock = yield self.db.in_thread(self.lock.acquire)
        if lock is None:
            self.log.debug("{task}: another instance holds the lock", task=self.name)
            return self.locked_result
        try:
            result = yield self.round()
        finally:
            yield self.db.in_thread(self.lock.release, lock)
        return result
