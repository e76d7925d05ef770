"""A bounded executor for gxhash share verification.

One gxhash costs ~0.1 s and 64 MiB, so shares are hashed in a dedicated
Twisted thread pool (the native code releases the GIL) and never on the
reactor thread.  The number of calls in flight (queued + running) is
bounded: past the bound ``hash()`` refuses at once with GxhashBusy, which is
the back-pressure signal for share floods (reject the share, maybe ban).

Use it as a Twisted service (add it to the application's MultiService) or
call start()/stop() explicitly.
"""
from twisted.application.service import Service
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from gxcpoold.hashers.gxhash import check_gxhash_args, gxhash, set_matrix_pool_limit

__all__ = ["GxhashVerifier", "GxhashBusy", "GxhashVerifierStopped"]


class GxhashBusy(Exception):
    """Too many gxhash calls are already pending; the call was refused."""


class GxhashVerifierStopped(Exception):
    """The verifier is not running (never started, or stopped)."""


class GxhashVerifier(Service):
    """Run gxhash(data, nonce) in at most ``max_threads`` threads.

    ``max_pending`` bounds the calls queued or running; defaults to four per
    thread, i.e. a backlog of well under a second.
    """

    def __init__(self, max_threads=2, max_pending=None, reactor=None):
        if isinstance(max_threads, bool) or not isinstance(max_threads, int) or max_threads < 1:
            raise ValueError("max_threads must be an int >= 1, got %r" % (max_threads,))
        if max_pending is None:
            max_pending = 4 * max_threads
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise ValueError("max_pending must be an int >= 1, got %r" % (max_pending,))
        if reactor is None:
            # Imported late so that importing this module never installs a reactor.
            from twisted.internet import reactor
        self.max_threads = max_threads
        self.max_pending = max_pending
        self._reactor = reactor
        self._threadpool = None
        self._pending = 0
        self._accepting = False

    @property
    def pending(self):
        """Calls accepted and not yet finished (queued or running)."""
        return self._pending

    def start(self):
        """Start the worker threads (idempotent)."""
        if self._accepting:
            return
        self._threadpool = ThreadPool(minthreads=0, maxthreads=self.max_threads,
                                      name="gxhash-verifier")
        self._threadpool.start()
        # Let every worker reuse its 64 MiB matrix instead of mapping a new one.
        set_matrix_pool_limit(min(self.max_threads, 64))
        self._accepting = True

    def stop(self):
        """Refuse new calls, fail the queued ones, wait for running hashes.

        Blocks for at most the duration of the hashes already running.
        """
        if self._threadpool is None:
            return
        self._accepting = False
        pool, self._threadpool = self._threadpool, None
        pool.stop()

    def startService(self):
        Service.startService(self)
        self.start()

    def stopService(self):
        self.stop()
        return Service.stopService(self)

    def hash(self, data, nonce):
        """Return a Deferred firing with gxhash(data, nonce) (32 bytes).

        Raises at once: TypeError/ValueError for bad arguments, GxhashBusy
        when ``max_pending`` calls are in flight, GxhashVerifierStopped when
        not running.  A call queued when stop() runs fails with
        GxhashVerifierStopped.
        """
        data = check_gxhash_args(data, nonce)
        if not self._accepting:
            raise GxhashVerifierStopped("gxhash verifier is not running")
        if self._pending >= self.max_pending:
            raise GxhashBusy("gxhash verifier busy: %d calls pending (limit %d)"
                             % (self._pending, self.max_pending))
        self._pending += 1
        d = deferToThreadPool(self._reactor, self._threadpool, self._run, data, nonce)
        d.addBoth(self._finished)
        return d

    def _run(self, data, nonce):
        # Runs in a worker thread.  After stop() queued work is skipped so
        # shutdown waits only for hashes already under way.
        if not self._accepting:
            raise GxhashVerifierStopped("gxhash verifier stopped before this hash ran")
        return gxhash(data, nonce)

    def _finished(self, result):
        self._pending -= 1
        return result
