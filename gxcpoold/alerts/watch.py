"""What becomes an alert: hub events, and state that no event announces.

EventAlerts turns the hub's block events into alerts as they happen.
StateWatch is asked every `[alerts] check_interval` seconds to look at
what only has a state: the node's health (state and since), the share
writer's db_ok, each Stratum port's listener, and, through one read on the
ledger's database threads, the payout halt (meta table) and unfinished
payouts.  Each alert is raised once per event or episode: an episode ends
when the state is good again (which re-arms it).
"""
import time

from twisted.logger import Logger

from gxcpoold.alerts.payload import Alert
from gxcpoold.amounts import format_gxc
from gxcpoold.ledger import payoutstore
from gxcpoold.node.health import CONNECTED, DOWN
from gxcpoold.shares import ACCEPTED, ORPHANED, REJECTED

BLOCK_EVENTS = ("block.found", "block.submitted", "block.orphaned")


class EventAlerts:
    """Hub subscriber: block.found, block.submitted and block.orphaned to alerts."""

    def __init__(self, fire):
        self.fire = fire              # fire(alert, key): the service's, once per key

    def __call__(self, event):
        data, kind = event.data, event.kind
        height, block_hash = data.get("height"), data.get("hash")
        details = {k: data.get(k) for k in ("height", "hash", "algorithm", "address", "worker")
                   if k in data}
        who = "%s.%s" % (data.get("address"), data.get("worker"))
        if kind == "block.found":
            self.fire(Alert("block.found", "block candidate at height %s by %s (%s): %s"
                            % (height, who, data.get("algorithm"), block_hash),
                            event.time, details), ("block.found", height))
        elif kind == "block.submitted":
            status, reason = data.get("status"), data.get("reason") or ""
            details["reason"] = reason
            if status == ACCEPTED:
                self.fire(Alert("block.accepted", "block %s %s by %s accepted by the node"
                                % (height, block_hash, who), event.time, details),
                          ("block.accepted", block_hash))
            elif status == REJECTED:
                self.fire(Alert("block.rejected", "block %s %s by %s rejected by the node: %s"
                                % (height, block_hash, who, reason), event.time, details),
                          ("block.rejected", height))
            elif status == ORPHANED:
                self._orphaned(event.time, height, block_hash, reason, details)
        elif kind == "block.orphaned":
            self._orphaned(event.time, height, block_hash, data.get("reason") or "", details)

    def _orphaned(self, when, height, block_hash, reason, details):
        details["reason"] = reason
        self.fire(Alert("block.orphaned", "block %s %s orphaned: %s" % (height, block_hash, reason),
                        when, details), ("block.orphaned", block_hash))


def payout_state(connection):
    """On the database thread: (halt reason or None, unfinished payouts as dicts)."""
    halted = payoutstore.halted(connection)
    rows = payoutstore.unfinished_payouts(connection)
    return halted, [{"key": r.idempotency_key, "recipient": r.recipient, "amount": r.amount,
                     "status": r.status, "txid": r.txid, "payout_kind": r.kind,
                     "since": r.sent_at or r.created_at} for r in rows]


class StateWatch:
    log = Logger()

    def __init__(self, fire, clock, settings, *, node=None, ledger=None, ports=None,
                 wall=time.time):
        self.fire = fire
        self.clock = clock
        self.settings = settings      # [alerts]: thresholds; replaced on SIGHUP
        self.node = node
        self.ledger = ledger
        self.ports = ports or {}
        self.wall = wall              # payouts are stamped with time.time()
        self._node_episode = None     # (state, since) already alerted
        self._node_alerted_at = None  # since when the node has been bad, once alerted
        self._db_down = False
        self._halted = None
        self._listeners = {}          # algorithm -> "listening" | "alerted"
        self._reading = None          # the ledger read in flight

    def check(self):
        """One look at everything (from a LoopingCall: never raises, never waits)."""
        for part in (self._check_node, self._check_database, self._check_listeners,
                     self._check_payouts):
            try:
                part()
            except Exception:
                self.log.failure("alerts: checking state failed")

    # -- node ------------------------------------------------------------------

    def _check_node(self):
        if self.node is None:
            return
        health, now = self.node.health, self.clock.seconds()
        state, since = health.state, health.since
        if state == CONNECTED:
            if self._node_alerted_at is not None:
                bad_for = now - self._node_alerted_at
                self.fire(Alert("node.recovered", "node connected again after %s of trouble; "
                                "next block height %s" % (_duration(bad_for), health.height),
                                now, {"height": health.height, "trouble_seconds": round(bad_for)}))
            self._node_episode = self._node_alerted_at = None
            return
        down = state == DOWN
        threshold = self.settings.node_down_after if down else self.settings.node_lagging_after
        if now - since < threshold or self._node_episode == (state, since):
            return
        self._node_episode = (state, since)
        if self._node_alerted_at is None:
            self._node_alerted_at = since
        kind = "node.down" if down else "node.lagging"
        self.fire(Alert(kind, "node %s for %s: %s" % ("down" if down else "lagging",
                                                     _duration(now - since), health.reason),
                        now, {"state": state, "reason": health.reason, "since": since,
                              "seconds": round(now - since),
                              "consecutive_failures": health.consecutive_failures}))

    # -- database (share writer) ----------------------------------------------------

    def _check_database(self):
        writer = getattr(self.ledger, "shares", None)
        if writer is None:
            return
        now = self.clock.seconds()
        if not writer.db_ok and not self._db_down:
            self._db_down = True
            self.fire(Alert("database.unavailable", "database unavailable: shares wait in the "
                            "journal on disk; crediting and payouts wait too", now,
                            {"journal": writer.journal.path, "spilled": writer.spilled}))
        elif writer.db_ok and self._db_down:
            self._db_down = False
            self.fire(Alert("database.recovered", "database writable again; journaled shares "
                            "replayed", now, {"spilled": writer.spilled}))

    # -- Stratum listeners ------------------------------------------------------------

    def _check_listeners(self):
        now = self.clock.seconds()
        for name, stratum in self.ports.items():
            if not stratum.running:
                continue
            port = stratum.port
            if port is not None and getattr(port, "connected", True):
                self._listeners[name] = "listening"
                continue
            seen = self._listeners.get(name)
            if seen == "alerted":
                continue
            self._listeners[name] = "alerted"
            endpoint = stratum.settings.endpoint
            if seen is None:
                # StratumService logged why at critical when the listen failed
                alert = Alert("stratum.listener_stopped", "%s Stratum port %s cannot listen; "
                              "its miners cannot connect" % (name, endpoint), now,
                              {"algorithm": name, "endpoint": endpoint, "listened": False},
                              logged=True)
            else:
                alert = Alert("stratum.listener_stopped", "%s Stratum port %s stopped listening "
                              "while the pool runs; its miners cannot connect" % (name, endpoint),
                              now, {"algorithm": name, "endpoint": endpoint, "listened": True})
            self.fire(alert)

    # -- payouts (a read on the ledger's database threads) -------------------------------------

    def _check_payouts(self):
        db = getattr(self.ledger, "db", None)
        if db is None or self._reading is not None:
            return                    # the last read has not answered: no pile-up
        self._reading = d = db.run(payout_state, write=False)
        d.addCallbacks(self._payouts_seen, self._payouts_unreadable)
        d.addBoth(self._read_done)

    def _read_done(self, _):
        self._reading = None

    def _payouts_unreadable(self, failure):
        # a database outage has its own alert; an empty schema at start-up is normal
        self.log.debug("alerts: payout state unreadable: {error}",
                       error=failure.getErrorMessage())

    def _payouts_seen(self, state):
        halted, unfinished = state
        now = self.clock.seconds()
        if halted and halted != self._halted:
            self.fire(Alert("payouts.halted", "payouts halted: %s; `gxcpool-admin payouts "
                            "resume` restarts them" % halted, now, {"reason": halted}))
        self._halted = halted or None
        wall = self.wall()
        for payout in unfinished:
            age = wall - payout["since"]
            if age < self.settings.payout_stuck_after:
                continue
            details = dict(payout, seconds=round(age))
            self.fire(Alert("payout.stuck", "payout %s: %s GXC to %s %s for %s and not mined "
                            "(mempool id %s)" % (payout["key"], format_gxc(payout["amount"]),
                                                 payout["recipient"], payout["status"],
                                                 _duration(age), payout["txid"] or "unknown"),
                            now, details), ("payout.stuck", payout["key"]))


def _duration(seconds) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return "%d s" % seconds
    if seconds < 7200:
        return "%d min" % (seconds // 60)
    return "%.1f h" % (seconds / 3600)
