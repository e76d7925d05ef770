"""A bounded thread pool for share checks that take milliseconds or more.

The reactor thread never hashes anything slow: a check runs in one of
`threads` worker threads (the native code releases the GIL).  At most
`max_pending` checks are queued or running; past that, run() refuses at
once with Busy, the Stratum error the session turns into an error reply and
back-pressure on the flooding connection.  Start and stop it as a Twisted
service, before and after the port that submits to it.

Each worker thread lowers its own CPU priority (gxcpoold/priority.py) before
its first check, so a flood of checks cannot slow the reactor thread, which
answers every share (and checks sha256d ones inline).
"""
import threading

from twisted.application.service import Service
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from gxcpoold.priority import DEFAULT_NICENESS, check_niceness, lower_this_thread
from gxcpoold.stratum.errors import Busy

__all__ = ["HashPool", "pool_size"]

SHUTTING_DOWN = "Busy: the pool is shutting down"


def pool_size(settings, cores):
    """(threads, max pending checks) for a port's [stratum.<name>] settings:
    verify_threads 0 = one per core, verify_queue 0 = four per thread."""
    threads = getattr(settings, "verify_threads", 0) or 0
    threads = threads if threads > 0 else max(1, cores)
    pending = getattr(settings, "verify_queue", 0) or 0
    return threads, pending if pending > 0 else 4 * threads


def pool_niceness(settings):
    """The hashing threads' nice value above the reactor's, from verify_niceness."""
    return getattr(settings, "verify_niceness", DEFAULT_NICENESS)


class HashPool(Service):
    """run(f, *args) -> Deferred of f(*args), computed in a worker thread.

    niceness: how much higher the workers' nice value is than the main
    thread's (0 = the same).  threadpool may be injected (tests); it is then
    neither started, stopped nor reniced here.
    """

    def __init__(self, threads, max_pending=None, *, reactor=None, name="hash-pool",
                 threadpool=None, niceness=DEFAULT_NICENESS):
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError("threads must be an int >= 1, got %r" % (threads,))
        if max_pending is None:
            max_pending = 4 * threads
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise ValueError("max_pending must be an int >= 1, got %r" % (max_pending,))
        if reactor is None:
            from twisted.internet import reactor   # late: importing must not install one
        self.name = name
        self.threads = threads
        self.max_pending = max_pending
        self.niceness = check_niceness(niceness)
        self._reactor = reactor
        self._worker = threading.local()      # .lowered: this thread's priority is set
        self._own_pool = threadpool is None
        self._pool = threadpool
        self._pending = 0
        self._accepting = False

    @property
    def pending(self):
        """Checks accepted and not finished (queued or running)."""
        return self._pending

    def status(self):
        return {"threads": self.threads, "pending": self._pending,
                "max_pending": self.max_pending}

    def startService(self):
        Service.startService(self)
        if self._own_pool:
            self._pool = ThreadPool(minthreads=0, maxthreads=self.threads, name=self.name)
            self._pool.start()
        self._accepting = True

    def stopService(self):
        """Refuse new checks, skip queued ones, wait for the running ones
        (milliseconds: a check is one hash)."""
        self._accepting = False
        if self._own_pool and self._pool is not None:
            pool, self._pool = self._pool, None
            pool.stop()
        return Service.stopService(self)

    def run(self, f, *args):
        """A Deferred firing with f(*args) from a worker thread.  Raises Busy
        at once when max_pending checks are in flight or the pool is not running."""
        if not self._accepting:
            raise Busy(SHUTTING_DOWN)
        if self._pending >= self.max_pending:
            raise Busy()
        self._pending += 1
        d = deferToThreadPool(self._reactor, self._pool, self._call, f, args)
        d.addBoth(self._finished)
        return d

    def _call(self, f, args):
        # Worker thread.  After stop, queued checks are skipped so shutdown
        # only waits for the ones already under way.
        if not self._accepting:
            raise Busy(SHUTTING_DOWN)
        if self._own_pool and not getattr(self._worker, "lowered", False):
            lower_this_thread(self.niceness)
            self._worker.lowered = True
        return f(*args)

    def _finished(self, result):
        self._pending -= 1
        return result


class PooledAlgorithm:
    """An algorithm module joined with the HashPool that checks its shares:
    what the object does not define itself (NAME, build_job, block_for, ...)
    is the module's."""

    def __init__(self, module, pool):
        self.module = module
        self.pool = pool

    def __getattr__(self, name):
        return getattr(self.module, name)

    def services(self):
        """Start before the port, stop after it."""
        return [self.pool]

    @property
    def check_capacity(self):
        """Checks the pool holds at once; the session shares it fairly."""
        return self.pool.max_pending
