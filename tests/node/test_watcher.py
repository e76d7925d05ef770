"""TemplateWatcher.refresh when refreshes overlap (the submitter asks for one after each block)."""
from twisted.internet import defer
from twisted.internet.task import Clock

from gxcpoold.node.watcher import TemplateWatcher


def template(height, prev):
    return {"height": height, "previousblockhash": prev, "difficulty": 1.0,
            "transactions": [{"txid": "%064x" % (0xcb00 + height), "is_coinbase": True,
                              "block_height": height}],
            "coinbasevalue": 5_000_000_000, "curtime": 1_800_000_000}


class Client:
    def __init__(self):
        self.waiting = []
        self.last_latency = 0.0

    def getblocktemplate(self, address=None):
        d = defer.Deferred()
        self.waiting.append(d)
        return d


class Health:
    def template_received(self, height):
        pass


def test_a_late_answer_to_an_earlier_refresh_does_not_go_back_to_the_old_tip():
    client = Client()
    watcher = TemplateWatcher(Clock(), client, Health(), tip_poll_interval=0.5,
                              template_refresh=5.0)
    seen = []
    watcher.add_observer(lambda t, new_tip: seen.append((t.height, new_tip)))
    before, after = watcher.refresh(), watcher.refresh()      # a poll, then a block's refresh
    client.waiting[1].callback(template(11, "b" * 64))        # the newer answer first
    client.waiting[0].callback(template(10, "a" * 64))        # the older one, late
    assert watcher.current.height == 11 and seen == [(11, True)]
    assert before.result.height == 11 and after.result.height == 11
