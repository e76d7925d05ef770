"""The event hub: order, filtering, unsubscribing, a failing subscriber."""
from twisted.internet.task import Clock

from gxcpoold.events import EventHub, HeightEvents


class FakeTemplate:
    def __init__(self, height, previousblockhash="00" * 32, difficulty=1.0):
        self.height, self.previousblockhash, self.difficulty = height, previousblockhash, difficulty


def test_subscribers_get_events_in_order_with_time_and_fields():
    clock = Clock()
    clock.advance(1234.5)
    hub = EventHub(clock)
    seen = []
    hub.subscribe(seen.append)
    hub.publish("block.found", height=7, hash="ab")
    hub.publish("height.new", height=8)
    assert [(e.kind, e.time, e.data) for e in seen] == [
        ("block.found", 1234.5, {"height": 7, "hash": "ab"}), ("height.new", 1234.5, {"height": 8})]
    assert seen[0].as_json() == {"kind": "block.found", "time": 1234.5, "height": 7, "hash": "ab"}


def test_kinds_filter_and_unsubscribe():
    hub = EventHub(Clock())
    blocks, everything = [], []
    stop = hub.subscribe(blocks.append, kinds=("block.found",))
    hub.subscribe(everything.append)
    hub.publish("height.new", height=1)
    hub.publish("block.found", height=1)
    stop()
    stop()                                    # twice is harmless
    hub.publish("block.found", height=2)
    assert [e.data["height"] for e in blocks] == [1]
    assert len(everything) == 3
    assert [e.data["height"] for e in hub.of_kind("block.found")] == [1, 2]


def test_a_failing_subscriber_is_logged_and_the_others_still_hear(caplog=None):
    hub = EventHub(Clock())
    seen = []
    logged = []

    def broken(event):
        raise RuntimeError("boom")
    hub.subscribe(broken)
    hub.subscribe(seen.append)
    from twisted.logger import globalLogPublisher
    globalLogPublisher.addObserver(logged.append)
    try:
        hub.publish("payout.sent", amount=5)
    finally:
        globalLogPublisher.removeObserver(logged.append)
    assert [e.kind for e in seen] == ["payout.sent"]
    assert any("event subscriber failed" in e.get("log_format", "") for e in logged)


def test_height_events_once_per_tip():
    hub = EventHub(Clock())
    observe = HeightEvents(hub)
    observe(FakeTemplate(5), True)
    observe(FakeTemplate(5), False)           # a refreshed template of the same tip
    observe(FakeTemplate(6, "11" * 32), True)
    observe(FakeTemplate(6, "22" * 32), True)  # a reorg at the same height: a new tip
    assert [(e.data["height"], e.data["previousblockhash"][:2])
            for e in hub.of_kind("height.new")] == [(5, "00"), (6, "11"), (6, "22")]
