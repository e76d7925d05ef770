"""`twistd gxcpool`: command-line options and the service tree (DESIGN.md section 3)."""
import os
import sys

from gxcpoold.shutdown import StopSignals

# Before the heavy imports below: a Ctrl-C from here on stops the pool quietly
# (gxcpoold/shutdown.py).  Only under twistd: an importing test keeps its own handler.
STOP_SIGNALS = StopSignals()
if "twisted.scripts.twistd" in sys.modules:
    STOP_SIGNALS.install()

from twisted.application.service import MultiService
from twisted.logger import ILogObserver, Logger
from twisted.python import usage

import gxcpoold
from gxcpoold import logs
from gxcpoold.alerts.service import add_alerts
from gxcpoold.config import ConfigError, load_config
from gxcpoold.events import EventHub, HeightEvents
from gxcpoold.ledger import ledgerlock
from gxcpoold.ledger.bansync import OperatorBanSync
from gxcpoold.ledger.service import add_ledger
from gxcpoold.miner.demo import DemoMinerService
from gxcpoold.node.service import NodeService
from gxcpoold.reload import ConfigReloader
from gxcpoold.shutdown import stop_service_tree
from gxcpoold.stratum.compose import add_mining
from gxcpoold.web.service import add_web


class Options(usage.Options):
    synopsis = "[options]"
    longdesc = ("Run the GXC mining pool. Configuration comes from a TOML file, environment "
                "variables (GXCPOOL_<SECTION>_<KEY>, POOL_ADDRESS, BLOCKCHAIN_NODE_URL, ...) "
                "and these options, in rising precedence. See etc/gxcpool.toml.")
    optFlags = [
        ["devnet", None, "Run the built-in GXC devnet node in this process (loopback) and mine "
                         "against it; ignores [node] url."],
    ]
    optParameters = [
        ["config", "c", None, "TOML configuration file (default: $GXCPOOL_CONFIG, else "
                              "/etc/gxcpool/gxcpool.toml if it exists, else built-in defaults)."],
        ["state-dir", None, None, "Directory for the database, DAG files and spill files."],
        ["node-url", None, None, "GXC node JSON-RPC URL, e.g. http://127.0.0.1:18332."],
        ["pool-address", None, None, "Pool address (the node wallet's); default: ask the node."],
        ["stratum-endpoint", None, None, "sha256d Stratum listener, e.g. tcp:3333."],
        ["web-endpoint", None, None, "Dashboard and API listener, e.g. tcp:5000."],
    ]

    # option name -> (section, key) of the configuration it overrides
    OVERRIDES = {
        "state-dir": ("pool", "state_dir"),
        "node-url": ("node", "url"),
        "pool-address": ("pool", "address"),
        "stratum-endpoint": ("stratum.sha256d", "endpoint"),
        "web-endpoint": ("web", "endpoint"),
    }

    def overrides(self):
        found = {key: self[option] for option, key in self.OVERRIDES.items()
                 if self[option] is not None}
        if self["devnet"]:
            found[("devnet", "enabled")] = True
        return found


class PoolService(MultiService):
    """The whole daemon; children are named so tests and later parts can find them."""

    log = Logger()
    log_observer = None     # replaces twistd's default observer when set (makeService)

    def __init__(self, config):
        super().__init__()
        self.config = config

    def setServiceParent(self, parent):
        super().setServiceParent(parent)
        if self.log_observer is not None and hasattr(parent, "setComponent"):
            # twistd asks its application for an observer before making its default one
            parent.setComponent(ILogObserver, self.log_observer)

    def startService(self):
        c = self.config
        os.makedirs(c.state_dir, exist_ok=True)
        self.log.info("gxcpool {version} starting: pool {name!r} on {network}, fee {fee}, "
                      "config from {source}, state in {state}", version=gxcpoold.__version__,
                      name=c.pool.name, network=c.pool.network, fee=float(c.pool.fee),
                      source=c.source, state=os.path.abspath(c.state_dir))
        super().startService()

    def stopService(self):
        # One child at a time, last started first (gxcpoold/shutdown.py).
        return stop_service_tree(self)


def build_service(config, reactor) -> PoolService:
    """Compose the service tree from a loaded configuration."""
    top = PoolService(config)
    events = top.events = EventHub(reactor)
    if config.devnet.enabled:
        # The devnet is a product of its own (DESIGN.md section 4): imported
        # only when asked for, so a production pool never loads it.
        from gxcpoold.devnet.service import DevNodeService
        try:
            devnode = DevNodeService(config.devnet.node, config.devnet.endpoint, reactor=reactor)
        except ValueError as e:      # its state file is unreadable: one line, not a traceback
            raise SystemExit("gxcpool: %s" % e) from None
        devnode.setName("devnode")
        devnode.setServiceParent(top)
        node = NodeService(reactor, config.node, network=config.pool.network,
                           pool_address=config.pool.address, url=False)
        listening = devnode.whenListening()
        listening.addCallback(lambda _: node.set_url(devnode.url))
        listening.addErrback(lambda _: None)     # the devnode said why in one line
    else:
        node = NodeService(reactor, config.node, network=config.pool.network,
                           pool_address=config.pool.address)
    node.setName("node")
    node.setServiceParent(top)
    node.add_template_observer(HeightEvents(events))
    share_sink, block_recorder = add_ledger(top, config, node, reactor, events)
    ports = add_mining(top, config, node, reactor, share_sink=share_sink,
                       block_recorder=block_recorder, events=events)
    if ports:
        OperatorBanSync(top.getServiceNamed("ledger"), list(ports.values()),
                        reactor).setServiceParent(top)
    if config.devnet.enabled and config.devnet.demo_miner_threads:
        # the reference miner on every port (in the miner's default dialect),
        # so a newcomer sees each algorithm's jobs and shares at once
        for name, stratum in ports.items():
            DemoMinerService(stratum, reactor, threads=config.devnet.demo_miner_threads,
                             network=config.pool.network,
                             algorithm=name).setServiceParent(top)
    # alerts watch the node, the ledger and the ports; they stop before those
    add_alerts(top, config, events=events, node=node, ledger=top.getServiceNamed("ledger"),
               ports=ports, reactor=reactor)
    # last: it starts when everything it shows exists, and stops first
    add_web(top, config, node=node, ledger=top.getServiceNamed("ledger"), ports=ports,
            submitter=top.getServiceNamed("block-submitter"), events=events, reactor=reactor)
    return top


def makeService(options) -> PoolService:
    from twisted.internet import reactor
    try:
        config = load_config(options["config"], overrides=options.overrides())
    except ConfigError as e:
        # One line an operator can act on, not a traceback (twistd has not
        # started logging yet, so this goes to the terminal or the journal).
        raise SystemExit("gxcpool: configuration error: %s" % e)
    try:
        os.makedirs(config.state_dir, exist_ok=True)
    except OSError as e:
        raise SystemExit("gxcpool: cannot create the state directory %s: %s"
                         % (os.path.abspath(config.state_dir), e.strerror))
    if not os.access(config.state_dir, os.W_OK | os.X_OK):
        raise SystemExit("gxcpool: the state directory %s is not writable"
                         % os.path.abspath(config.state_dir))
    # One pool per SQLite ledger, and none during `gxcpool-admin db restore`;
    # held until the process exits (gxcpoold/ledger/ledgerlock.py).
    try:
        ledger_lock = ledgerlock.hold_for_pool(config.database_url)
    except ledgerlock.InUse as e:
        raise SystemExit("gxcpool: %s" % e)
    except OSError as e:
        raise SystemExit("gxcpool: cannot lock the database: %s" % e)
    STOP_SIGNALS.attach(reactor)
    top = build_service(config, reactor)
    top.ledger_lock = ledger_lock
    server = getattr(options, "parent", None)      # twistd's own options
    if server is not None and logs.twistd_logs_to_stdout(server):
        # twistd's stdout observer prints every level; keep GXCPOOL_LOG_LEVEL's (info)
        top.log_observer = logs.stdout_observer()
    # SIGHUP reloads from the same file, environment and options (gxcpoold/reload.py).
    ConfigReloader(lambda: load_config(options["config"], overrides=options.overrides()),
                   reactor).setServiceParent(top)
    return top
