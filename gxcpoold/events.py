"""The pool's in-process event hub: what happened, for the web, metrics and tests.

Publishers (block submitter, share writer, unlocker, payouts, the template
watcher's adapter) call publish() on the reactor thread; subscribers are
called at once, in order, on the same thread.  A subscriber that raises is
logged and skipped: an event never breaks the code that announced it.

Event kinds (each an Event with a dict of JSON-safe fields):
  height.new        height, previousblockhash, difficulty
  shares.written    count, algorithms {name: count}
  block.found       height, hash, algorithm, address, worker
  block.submitted   height, hash, algorithm, address, worker, status, reason
                    (status: accepted | rejected | orphaned | submitted, gxcpoold/shares.py)
  block.confirmed   height, hash, confirmations
  block.matured     height, hash, moved (base units)
  block.orphaned    height, hash, reason
  payout.sent       key, recipient, amount (base units), txid, payout_kind
  payout.mined      key, recipient, amount (base units), block_height
"""
from collections import deque
from dataclasses import dataclass, field

from twisted.logger import Logger

RECENT_EVENTS = 256


@dataclass(frozen=True)
class Event:
    kind: str
    time: float
    data: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"kind": self.kind, "time": self.time, **self.data}


class EventHub:
    log = Logger()

    def __init__(self, clock=None):
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock
        self._subscribers = []
        self.recent = deque(maxlen=RECENT_EVENTS)   # the last few, for late joiners and tests

    def subscribe(self, callback, kinds=None):
        """callback(event) for every event (or those whose kind is in kinds);
        returns a function that unsubscribes."""
        entry = (callback, frozenset(kinds) if kinds is not None else None)
        self._subscribers.append(entry)

        def unsubscribe():
            if entry in self._subscribers:
                self._subscribers.remove(entry)
        return unsubscribe

    def publish(self, kind, **data):
        event = Event(kind, self.clock.seconds(), data)
        self.recent.append(event)
        for callback, kinds in list(self._subscribers):
            if kinds is not None and kind not in kinds:
                continue
            try:
                callback(event)
            except Exception:
                self.log.failure("an event subscriber failed on {kind}", kind=kind)
        return event

    def of_kind(self, *kinds):
        """The recent events of these kinds, oldest first."""
        return [event for event in self.recent if event.kind in kinds]


class HeightEvents:
    """A template observer that announces each new height ("height.new") once."""

    def __init__(self, hub):
        self.hub = hub
        self._last = None

    def __call__(self, template, new_tip):
        tip = (template.height, template.previousblockhash)
        if tip != self._last:
            self._last = tip
            self.hub.publish("height.new", height=template.height,
                             previousblockhash=template.previousblockhash,
                             difficulty=template.difficulty)
