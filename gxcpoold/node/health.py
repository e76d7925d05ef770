"""The node's health as the pool sees it: connected, lagging or down.

connected: polls succeed, answers come quickly.
lagging:   the node answers, but slowly, or some polls fail, or the template is old.
down:      several polls in a row failed, the node answers nonsense, or it is
           the wrong chain (then `reason` says why).
"""
from twisted.logger import Logger

CONNECTED, LAGGING, DOWN = "connected", "lagging", "down"


class NodeHealth:
    log = Logger()

    def __init__(self, clock, *, slow_after, down_after_failures, stale_after):
        self.clock = clock
        self.slow_after = slow_after
        self.down_after_failures = down_after_failures
        self.stale_after = stale_after
        self.state = DOWN
        self.reason = "not contacted yet"
        self.since = clock.seconds()
        self.consecutive_failures = 0
        self.last_success = None
        self.last_error = None
        self.last_latency = None
        self.last_template_at = None
        self.height = None
        self.blocker = None        # a reason that keeps the node down whatever it answers

    def succeeded(self, latency):
        self.consecutive_failures = 0
        self.last_success = self.clock.seconds()
        self.last_latency = latency
        self._update()

    def failed(self, error):
        self.consecutive_failures += 1
        self.last_error = str(error)
        self._update(error)

    def template_received(self, height):
        self.last_template_at = self.clock.seconds()
        self.height = height
        self._update()

    def block(self, reason):
        """Hold the node down (wrong chain, mainnet) until unblock()."""
        self.blocker = reason
        self._update()

    def unblock(self):
        self.blocker = None
        self._update()

    def _update(self, error=None):
        now = self.clock.seconds()
        if self.blocker:
            state, reason = DOWN, self.blocker
        elif self.last_success is None or self.consecutive_failures >= self.down_after_failures:
            state, reason = DOWN, str(error or self.last_error or "no answer yet")
        elif self.consecutive_failures:
            state, reason = LAGGING, "last poll failed: %s" % (error or self.last_error)
        elif self.last_latency is not None and self.last_latency > self.slow_after:
            state, reason = LAGGING, "answers take %.1fs" % self.last_latency
        elif self.last_template_at is None or now - self.last_template_at > self.stale_after:
            state, reason = LAGGING, "no fresh template"
        else:
            state, reason = CONNECTED, ""
        old = self.state
        self.state, self.reason = state, reason
        if state != old:
            self.since = now
            self._announce(old, state, reason)

    def _announce(self, old, new, reason):
        if new == DOWN:
            self.log.warn("node down: {reason}", reason=reason, node_state=new)
        elif new == LAGGING:
            self.log.warn("node lagging: {reason}", reason=reason, node_state=new)
        else:
            self.log.info("node connected, next block height {height}", height=self.height,
                          node_state=new)

    def as_dict(self) -> dict:
        """For the web API."""
        return {"state": self.state, "reason": self.reason, "since": self.since,
                "height": self.height, "latency": self.last_latency,
                "consecutive_failures": self.consecutive_failures}
