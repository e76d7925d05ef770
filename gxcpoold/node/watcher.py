"""Template watcher: a cheap tip poll, a full template on a new tip and every few seconds.

Jobs must change the moment the tip does (miners otherwise waste work on a
stale parent), and at least every `template_refresh` seconds so new mempool
transactions and the node's clock reach them.
"""
from twisted.internet import defer
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from gxcpoold.node.errors import NodeError
from gxcpoold.node.template import BlockTemplate


class TemplateWatcher:
    log = Logger()

    def __init__(self, clock, client, health, *, tip_poll_interval, template_refresh,
                 miner_address=None):
        self.clock = clock
        self.client = client
        self.health = health
        self.tip_poll_interval = tip_poll_interval
        self.template_refresh = template_refresh
        self.miner_address = miner_address
        self.current = None            # the latest BlockTemplate
        self.best_hash = None
        self._fetched_at = None
        self._observers = []
        self._busy = False
        self._loop = None
        self._fetches = 0              # refreshes started; an older answer never wins
        self._applied = 0

    def add_observer(self, observer):
        """observer(template, new_tip: bool) is called for every fresh template."""
        self._observers.append(observer)

    def remove_observer(self, observer):
        self._observers.remove(observer)

    def start(self):
        self._loop = LoopingCall(self.poll)
        self._loop.clock = self.clock
        self._loop.start(self.tip_poll_interval, now=True)

    def stop(self):
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None

    @defer.inlineCallbacks
    def poll(self):
        """One tick: tip check, template when needed.  Never raises."""
        if self._busy:
            return          # the previous poll is still waiting for the node
        self._busy = True
        try:
            best = yield self.client.getbestblockhash(retry=False)
            if not isinstance(best, str):
                raise NodeError("getbestblockhash answered %r" % (best,))
            latency = self.client.last_latency
            stale = (self._fetched_at is None
                     or self.clock.seconds() - self._fetched_at >= self.template_refresh)
            if best != self.best_hash or stale:
                yield self.refresh()
                latency = max(latency, self.client.last_latency)
            # Only a whole successful tick counts: a node that answers the tip
            # poll but sends unusable templates is no use to miners.
            self.health.succeeded(latency)
        except NodeError as e:
            self.health.failed(e)
        except defer.CancelledError:
            raise                      # stopping: not the node's fault
        except Exception:
            self.log.failure("template poll failed unexpectedly")
            self.health.failed("internal error, see the log")
        finally:
            self._busy = False

    @defer.inlineCallbacks
    def refresh(self):
        """Fetch a template now and tell the observers (NodeError on failure).
        Refreshes may overlap (the submitter asks for one after every block):
        an answer to an earlier request that arrives late is dropped, so jobs
        never go back to an older tip."""
        self._fetches += 1
        fetch = self._fetches
        result = yield self.client.getblocktemplate(self.miner_address)
        template = BlockTemplate.from_rpc(result)
        if fetch < self._applied:
            return self.current
        self._applied = fetch
        self._fetched_at = self.clock.seconds()
        self.best_hash = template.previousblockhash
        previous, self.current = self.current, template
        new_tip = previous is None or previous.previousblockhash != template.previousblockhash
        self.health.template_received(template.height)
        if new_tip or len(previous.transactions) != len(template.transactions):
            self.log.info("new template height={height} difficulty={difficulty} txs={txs}"
                          " prev={prev}", height=template.height,
                          difficulty=template.difficulty, txs=len(template.transactions) + 1,
                          prev=template.previousblockhash[:16])
        for observer in list(self._observers):
            try:
                observer(template, new_tip)
            except Exception:
                self.log.failure("template observer {observer!r} failed", observer=observer)
        return template
