"""Clean shutdown: stop a service tree's children one at a time, last started first.

twistd calls the root's stopService on SIGTERM and waits for its Deferred
before the reactor stops.  MultiService would stop all children at once; the
pool needs an order instead: Stratum stops accepting and lets its miners go
before the ledger flushes their last shares, and the node link (first
started) stops last, after in-flight block submissions.  A child whose stop
fails is logged and the rest still stop.

Stopping the reactor itself is quiet whenever it comes (stop_reactor,
StopSignals): a second Ctrl-C or a stop during start-up is not an error.
"""
import signal

from twisted.internet import defer
from twisted.internet.error import ReactorNotRunning
from twisted.logger import Logger

log = Logger(namespace="gxcpoold.shutdown")


async def stop_children(parent):
    for child in reversed(list(parent)):
        name = child.name or type(child).__name__
        log.debug("stopping {service}", service=name)
        try:
            await defer.maybeDeferred(child.stopService)
        except Exception:
            log.failure("service {service} did not stop cleanly", service=name)


def stop_service_tree(parent):
    """stopService body for a MultiService: marks it stopped, returns a Deferred."""
    parent.running = 0
    return defer.ensureDeferred(stop_children(parent))


def stop_reactor(reactor):
    """Stop a running reactor unless it is already stopping.

    A second reason to stop (another signal, a fatal error found while the
    pool is shutting down) is no error: reactor.stop() would raise
    ReactorNotRunning and log it as critical.  Before the reactor runs, use
    reactor.callWhenRunning(stop_reactor, reactor)."""
    try:
        reactor.stop()
    except ReactorNotRunning:
        pass


# signal -> the reactor's own handler for it (logs, stops, records the exit signal)
_REACTOR_HANDLERS = {signal.SIGINT: "sigInt", signal.SIGTERM: "sigTerm"}


class StopSignals:
    """Ctrl-C and SIGTERM stop the pool cleanly whenever they come.

    Twisted installs its handlers only once the reactor runs, so a Ctrl-C in
    the first second (imports, configuration, start-up) would end in a
    KeyboardInterrupt traceback; and each signal makes it call reactor.stop(),
    so a second one while the pool stops logs a critical ReactorNotRunning.
    Installed as soon as twistd loads the pool: a signal before the reactor
    runs stops it as soon as it does, one while stopping is only noted.
    """

    def __init__(self):
        self.reactor = None
        self.pending = None          # a signal that came before attach()
        self.stopping = False

    def install(self):
        """Take SIGINT now (Twisted leaves a SIGINT handler that is not Python's default)."""
        signal.signal(signal.SIGINT, self.received)

    def attach(self, reactor):
        """The reactor that will run: stop it for a signal already received."""
        self.reactor = reactor
        reactor.addSystemEventTrigger("after", "startup", self._take_over)
        reactor.addSystemEventTrigger("before", "shutdown", self._shutting_down)
        if self.pending is not None:
            signum, self.pending = self.pending, None
            self.received(signum, None)

    def _take_over(self):
        # Twisted has just installed its SIGTERM handler: route both through received().
        for signum in _REACTOR_HANDLERS:
            signal.signal(signum, self.received)

    def _shutting_down(self):
        self.stopping = True

    def received(self, signum, frame):
        if self.stopping:
            log.info("{signal} received: already stopping",
                     signal=signal.Signals(signum).name)
            return
        if self.reactor is None:
            self.pending = signum
            return
        self.stopping = True
        # Before the reactor runs this queues the stop for its first iteration.
        getattr(self.reactor, _REACTOR_HANDLERS[signum])(signum, frame)
