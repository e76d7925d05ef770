"""Stopping is quiet whenever it comes (gxcpoold/shutdown.py).  The real
twistd runs are in tests/test_twistd.py; these pin the rules."""
import signal

from twisted.internet.error import ReactorNotRunning

from gxcpoold.shutdown import StopSignals, stop_reactor


class FakeReactor:
    def __init__(self):
        self.stopped = False
        self.handled = []
        self.triggers = []

    def stop(self):
        if self.stopped:
            raise ReactorNotRunning("Can't stop reactor that isn't running.")
        self.stopped = True

    def sigInt(self, number, frame=None):
        self.handled.append(number)
        self.stop()

    sigTerm = sigInt

    def addSystemEventTrigger(self, phase, event, fn):
        self.triggers.append((phase, event, fn))

    def fire(self, phase, event):
        for p, e, fn in self.triggers:
            if (p, e) == (phase, event):
                fn()


def test_stop_reactor_twice_is_no_error():
    reactor = FakeReactor()
    stop_reactor(reactor)
    stop_reactor(reactor)
    assert reactor.stopped


def test_a_signal_before_the_reactor_is_known_stops_it_once_attached():
    signals, reactor = StopSignals(), FakeReactor()
    signals.received(signal.SIGINT, None)
    assert signals.pending == signal.SIGINT and not reactor.stopped
    signals.attach(reactor)
    assert reactor.handled == [signal.SIGINT] and reactor.stopped


def test_repeated_signals_are_noted_not_raised():
    signals, reactor = StopSignals(), FakeReactor()
    signals.attach(reactor)
    for _ in range(3):
        signals.received(signal.SIGINT, None)
    signals.received(signal.SIGTERM, None)
    assert reactor.handled == [signal.SIGINT]


def test_a_stop_from_elsewhere_makes_later_signals_quiet():
    signals, reactor = StopSignals(), FakeReactor()
    signals.attach(reactor)
    reactor.stop()                           # e.g. the ledger cannot start
    reactor.fire("before", "shutdown")
    signals.received(signal.SIGTERM, None)
    assert reactor.handled == []


def test_after_startup_both_signals_come_through_it():
    signals, reactor = StopSignals(), FakeReactor()
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        signals.attach(reactor)
        reactor.fire("after", "startup")
        assert signal.getsignal(signal.SIGINT) == signals.received
        assert signal.getsignal(signal.SIGTERM) == signals.received
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
