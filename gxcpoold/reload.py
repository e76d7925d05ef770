"""Configuration reload on SIGHUP (`systemctl reload gxcpool`).

ConfigReloader is a child service of PoolService (or of any service holding
a `config`).  On SIGHUP it loads the
configuration again exactly as at start-up (same file, same environment, same
command-line overrides), compares it with the running one key by key and
then either
- refuses, with one error line, when the new file is invalid or changes a key
  that only a restart can apply (RESTART_REQUIRED); the pool keeps running on
  the configuration it has, or
- installs it: the root service's `config` becomes the new one and every
  service in the tree that has a `reconfigure(config)` method gets it
  (it may return a Deferred).  A service that has `reconfigure` handles its
  own children; the walk descends only into services that do not.

To make a key reloadable, implement `reconfigure` in the service that uses
it and take its pattern out of RESTART_REQUIRED.
"""
import dataclasses
import fnmatch
import signal
from fractions import Fraction

from twisted.application.service import IServiceCollection, Service
from twisted.internet import defer
from twisted.logger import Logger

from gxcpoold.amounts import format_gxc
from gxcpoold import config as config_module
from gxcpoold.config import ConfigError
from gxcpoold.redact import redact

# Dotted keys (fnmatch patterns) whose change needs a restart: listeners and
# storage are opened once, the network and pool address shape every job, and
# the services below have no reconfigure for them (yet).
RESTART_REQUIRED = (
    "pool.network",
    "pool.address",
    "pool.state_dir",
    "state_dir",
    "database.*",
    "database_url",
    "node.url",
    "stratum.*.endpoint",
    "stratum.*.enabled",
    "stratum.*.extranonce2_size",
    "stratum.*.listen_backlog",
    "stratum.*.verify_threads",       # the verifier pools are sized at start
    "stratum.*.verify_queue",
    "stratum.*.dag_mode",
    "stratum.*.verify_niceness",
    "web.endpoint",
    "web.enabled",
    "cluster.*",
    "devnet.*",
    "payouts.scheme",
)

# Bookkeeping fields of Config that are not settings.
IGNORED = ("source",)

# Keys whose values are secrets (a webhook URL often carries its token): a
# reload logs that they changed, never what they are.
HIDDEN = ("alerts.webhooks", "alerts.secret")


class Amount(int):
    """Base units (1e-8 GXC) that print as GXC, the way the file gives them."""

    def __str__(self):
        return format_gxc(self) + " GXC"


def gxc_amount_field(f) -> bool:
    """A setting given in GXC and held in base units (e.g. [payouts] minimum)."""
    return f.metadata.get("parse") is config_module._gxc_amount


def flatten(config, prefix="") -> dict:
    """{"pool.fee": Fraction(1, 100), "stratum.sha256d.endpoint": "tcp:3333", ...}"""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        items = ((f.name, Amount(getattr(config, f.name)) if gxc_amount_field(f)
                  else getattr(config, f.name)) for f in dataclasses.fields(config))
    elif isinstance(config, dict):
        items = config.items()
    else:
        return {prefix: config}
    flat = {}
    for name, value in items:
        key = "%s.%s" % (prefix, name) if prefix else str(name)
        if key in IGNORED:
            continue
        flat.update(flatten(value, key))
    return flat


def changes(old, new) -> list:
    """[(key, old value, new value)] for every setting that differs, sorted by key."""
    before, after = flatten(old), flatten(new)
    keys = sorted(set(before) | set(after))
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


def needs_restart(key) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in RESTART_REQUIRED)


def show(value) -> str:
    """A value as an operator wrote it: fractions as decimals, credentials masked."""
    if isinstance(value, Fraction):
        return str(float(value))
    return redact(repr(value) if isinstance(value, str) else str(value))


def reconfigurable(service):
    """Services under `service` (itself included) to hand a new configuration, in tree order."""
    if callable(getattr(service, "reconfigure", None)):
        yield service
        return
    if IServiceCollection.providedBy(service):
        for child in service:
            yield from reconfigurable(child)


class ConfigReloader(Service):
    """Reloads the root service's configuration on SIGHUP (or when reload() is called).

    loader: a callable returning a fresh, validated Config or raising ConfigError.
    """

    name = "reload"
    log = Logger()

    def __init__(self, loader, reactor, signum=signal.SIGHUP):
        self.loader = loader
        self.reactor = reactor
        self.signum = signum
        self._previous_handler = None
        self._busy = None          # Deferred of the reload in progress
        self._again = False        # a signal arrived during it: reload once more after

    @property
    def root(self):
        """The nearest ancestor holding the running `config` (PoolService); under twistd
        the application's own top service sits above it."""
        service = self.parent
        while not hasattr(service, "config"):
            service = service.parent
        return service

    def privilegedStartService(self):
        # twistd calls this before the reactor runs: from here on a reload sent
        # while the pool starts waits for the reactor instead of killing us.
        self._install()
        super().privilegedStartService()

    def startService(self):
        self._install()
        super().startService()

    def _install(self):
        if self._previous_handler is None:
            self._previous_handler = signal.signal(self.signum, self._on_signal)

    def stopService(self):
        if self._previous_handler is not None:
            signal.signal(self.signum, self._previous_handler)
            self._previous_handler = None
        return super().stopService()

    def _on_signal(self, signum, frame):
        # Runs between two bytecodes of the reactor thread: only hand the work
        # to the reactor, as Twisted does for SIGINT.
        self.reactor.callFromThread(self.reload)

    def reload(self):
        """Reload now; returns a Deferred firing with True if the new config was installed."""
        if self._busy is not None:
            self._again = True
            return self._busy
        self._busy = defer.ensureDeferred(self._reload())

        def done(result):
            self._busy = None
            if self._again and self.running:
                self._again = False
                self.reload()
            return result
        return self._busy.addBoth(done)

    async def _reload(self):
        root = self.root
        old = root.config
        try:
            new = self.loader()
        except ConfigError as e:
            self.log.error("configuration reload refused, keeping the running configuration: "
                           "{reason}", reason=str(e))
            return False
        diff = changes(old, new)
        blocked = [key for key, _, _ in diff if needs_restart(key)]
        if blocked:
            self.log.error("configuration reload refused, keeping the running configuration: "
                           "{keys} changed, which needs a restart (systemctl restart gxcpool)",
                           keys=", ".join(blocked))
            return False
        if not diff:
            self.log.info("configuration reloaded from {source}: nothing changed",
                          source=new.source)
            return True
        root.config = new
        self.log.info("configuration reloaded from {source}: {changed}", source=new.source,
                      changed=", ".join("%s changed" % k if k in HIDDEN else
                                        "%s %s -> %s" % (k, show(a), show(b))
                                        for k, a, b in diff))
        for service in reconfigurable(root):
            try:
                await defer.maybeDeferred(service.reconfigure, new)
            except Exception as e:
                # The others still get the new configuration; the operator sees
                # which part kept its old settings.
                self.log.failure("service {service} failed to apply the new configuration: {e}",
                                 service=service.name or type(service).__name__, e=e)
        return True
