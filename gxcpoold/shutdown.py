"""Clean shutdown: stop a service tree's children one at a time, last started first.

twistd calls the root's stopService on SIGTERM and waits for its Deferred
before the reactor stops.  MultiService would stop all children at once; the
pool needs an order instead: Stratum stops accepting and lets its miners go
before the ledger flushes their last shares, and the node link (first
started) stops last, after in-flight block submissions.  A child whose stop
fails is logged and the rest still stop.
"""
from twisted.internet import defer
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
