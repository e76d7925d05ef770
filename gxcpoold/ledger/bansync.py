"""Operator bans from the database (`gxcpool-admin ban ...`) to the Stratum ports.

The admin command writes the bans table; this service reads the active bans
every `interval` seconds, and at once on `systemctl reload`, and hands them
to every Stratum service.  If the database cannot be read the last bans read
stay in force.
"""
from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from gxcpoold.ledger import bans

SYNC_INTERVAL = 30.0


class OperatorBanSync(Service):
    name = "operator-bans"
    log = Logger()

    def __init__(self, ledger, targets, reactor, interval=SYNC_INTERVAL):
        """ledger: LedgerService (its db, and `ready` once the schema is current);
        targets: services with apply_operator_bans(ips, addresses)."""
        self.ledger = ledger
        self.targets = list(targets)
        self.reactor = reactor
        self.interval = interval
        self.current = (frozenset(), frozenset())
        self._loop = None

    def startService(self):
        super().startService()
        self._loop = LoopingCall(self.sync)
        self._loop.clock = self.reactor
        self._loop.start(self.interval, now=True)

    def stopService(self):
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        return super().stopService()

    def reconfigure(self, config):
        return self.sync()

    @defer.inlineCallbacks
    def sync(self):
        """Read the active bans and apply them; never raises."""
        ready = self.ledger.ready
        if ready is None or not ready.called:
            return                      # the schema is still being upgraded
        try:
            rows = yield self.ledger.db.run(bans.active_bans, write=False)
        except Exception as e:
            self.log.warn("cannot read operator bans, keeping the last ones: {error}", error=e)
            return
        ips = frozenset(r.value for r in rows if r.kind == "ip")
        addresses = frozenset(r.value for r in rows if r.kind == "address")
        if (ips, addresses) != self.current:
            self.log.info("operator bans: {ips} IP(s), {addresses} address(es)",
                          ips=len(ips), addresses=len(addresses))
        self.current = (ips, addresses)
        for target in self.targets:
            target.apply_operator_bans(ips, addresses)
