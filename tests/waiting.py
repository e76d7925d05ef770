"""Waiting in reactor-driven tests: a deadline for an event, never a timing assertion."""
from twisted.internet import reactor
from twisted.internet.task import deferLater


async def wait_for(predicate, what, timeout=60.0, step=0.02):
    """Let the reactor run until predicate() holds; fail naming `what` after timeout seconds."""
    waited = 0.0
    while not predicate():
        if waited > timeout:
            raise AssertionError("timed out waiting for " + what)
        await deferLater(reactor, step)
        waited += step
