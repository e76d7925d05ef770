"""AlertService: alerts to the log and to the configured webhooks.

Composed after the ledger and Stratum (it watches them) and before the web,
so it stops before them: an alert raised while the pool stops is not sent.
Idle (no subscription, no checks) while `[alerts] webhooks` is empty; a
SIGHUP that adds or removes webhooks turns it on or off.
"""
import collections

from twisted.application.service import Service
from twisted.internet.task import LoopingCall
from twisted.logger import Logger, LogLevel

from gxcpoold.alerts.kinds import severity_rank
from gxcpoold.alerts.watch import BLOCK_EVENTS, EventAlerts, StateWatch
from gxcpoold.alerts.webhook import WebhookSender

SHUTDOWN_GRACE = 3.0          # seconds a stopping pool gives queued alerts
REMEMBERED = 4096             # keys of alerts already raised (once per event)
LOG_LEVELS = {"info": LogLevel.info, "warning": LogLevel.warn, "error": LogLevel.error,
              "critical": LogLevel.critical}


class AlertService(Service):
    name = "alerts"
    log = Logger()

    def __init__(self, config, reactor, *, events, node=None, ledger=None, ports=None):
        self.reactor = reactor
        self.events = events
        self.settings = settings = config.alerts
        self.pool_name, self.network = config.pool.name, config.pool.network
        self.sender = WebhookSender(reactor, settings.webhooks, **_sender_settings(settings))
        self.watch = StateWatch(self.fire, reactor, settings, node=node, ledger=ledger,
                                ports=ports)
        self.fired = collections.OrderedDict()    # once-per-event keys, oldest first
        self.raised = collections.Counter()       # kind -> alerts raised (tests, metrics)
        self._unsubscribe = None
        self._loop = None

    @property
    def active(self) -> bool:
        return bool(self.settings.webhooks)

    # -- life ---------------------------------------------------------------------

    def startService(self):
        super().startService()
        if self.active:
            self._activate()

    def _activate(self):
        if self._unsubscribe is None:
            self._unsubscribe = self.events.subscribe(EventAlerts(self.fire), BLOCK_EVENTS)
        if self._loop is None:
            self._loop = LoopingCall(self.watch.check)
            self._loop.clock = self.reactor
            self._loop.start(self.settings.check_interval, now=False)
            self.log.info("alerts: {count} webhook(s) at {urls}",
                          count=len(self.settings.webhooks),
                          urls=", ".join(d.shown for d in self.sender.destinations.values()))

    def _deactivate(self):
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._loop is not None:
            if self._loop.running:
                self._loop.stop()
            self._loop = None

    def stopService(self):
        super().stopService()
        self._deactivate()
        return self.sender.close(SHUTDOWN_GRACE)

    def reconfigure(self, config):
        """SIGHUP: every [alerts] key applies at once."""
        self.settings = settings = config.alerts
        self.watch.settings = settings
        self.pool_name = config.pool.name
        self.sender.configure(settings.webhooks, **_sender_settings(settings))
        if not self.running:
            return
        if not self.active:
            self._deactivate()
            return
        if self._loop is not None and self._loop.interval != settings.check_interval:
            self._deactivate()
        self._activate()

    # -- raising --------------------------------------------------------------------

    def fire(self, alert, key=None):
        """Raise an alert: once per key (None: the caller keeps it to once per episode).
        Logged, then queued for every webhook whose filters take it; never raises."""
        if key is not None:
            if key in self.fired:
                return
            self.fired[key] = True
            if len(self.fired) > REMEMBERED:
                self.fired.popitem(last=False)
        self.raised[alert.kind] += 1
        if alert.logged_by_pool:
            self.log.debug("alert {alert_kind}: {alert_message}", alert_kind=alert.kind,
                           alert_message=alert.message)
        else:
            self.log.emit(LOG_LEVELS[alert.severity], "alert {alert_kind}: {alert_message}",
                          alert_kind=alert.kind, alert_message=alert.message)
        if not self.wanted(alert):
            return
        try:
            body = alert.body(self.pool_name, self.network)
        except (TypeError, ValueError) as e:      # a detail JSON cannot carry: a bug
            self.log.error("alerts: {alert_kind} not sent, its body failed: {error}",
                           alert_kind=alert.kind, error=e)
            return
        self.sender.send("%s %s" % (alert.kind, alert.id), body)

    def wanted(self, alert) -> bool:
        s = self.settings
        if s.kinds and alert.kind not in s.kinds:
            return False
        return severity_rank(alert.severity) >= severity_rank(s.min_severity)


def _sender_settings(settings) -> dict:
    return {"timeout": settings.timeout, "retries": settings.retries,
            "retry_backoff": settings.retry_backoff, "queue_size": settings.queue_size,
            "secret": settings.secret}


def add_alerts(top, config, *, events, node, ledger, ports, reactor):
    """Attach the alert service (after the ledger and Stratum, before the web)."""
    alerts = AlertService(config, reactor, events=events, node=node, ledger=ledger, ports=ports)
    alerts.setServiceParent(top)
    return alerts
