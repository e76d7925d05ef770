"""LedgerService: the database and the services that use it, in the pool's tree.

At start it upgrades the schema (migrate.upgrade refuses a newer schema,
serialises instances on PostgreSQL), off the reactor thread, then starts the
share writer, the block candidate store, the chain scan, the unlocker, the
share pruner and the payout processor.  Shares and block candidates are
taken before that (they go to local files first).  On stop the share writer
flushes last shares and the database threads end.
"""
import os

from twisted.application.service import MultiService
from twisted.internet import defer
from twisted.logger import Logger

from gxcpoold.events import EventHub
from gxcpoold.ledger import migrate
from gxcpoold.ledger.blocks import RewardPolicy
from gxcpoold.ledger.blockscan import BlockScanner
from gxcpoold.ledger.candidates import DurableBlockRecorder
from gxcpoold.ledger.db import Database
from gxcpoold.ledger.payouts import PayoutService
from gxcpoold.ledger.pruning import PruneRule, SharePruner, template_difficulty
from gxcpoold.ledger.sharewriter import ShareWriter
from gxcpoold.ledger.unlocker import Unlocker, maturity_for

SPILL_FILE = "shares.spill"          # the share journal (sharewriter.py, spill.py)
BLOCKS_DIR = "blocks"                 # block candidates before the database has them


class LedgerService(MultiService):
    name = "ledger"
    log = Logger()

    def __init__(self, config, node, reactor, events=None):
        super().__init__()
        self.reactor = reactor
        events = events if events is not None else EventHub(reactor)
        self.db = Database(config.database_url, reactor=reactor)
        policy = RewardPolicy.from_config(config)
        d = config.database
        self.shares = ShareWriter(self.db, spill_path=os.path.join(config.state_dir, SPILL_FILE),
                                  batch_size=d.share_batch_size,
                                  flush_interval=d.share_flush_interval,
                                  stats_retention=d.stats_retention_days * 86400.0,
                                  events=events)
        self.blocks = DurableBlockRecorder(self.db, policy, self.shares,
                                           os.path.join(config.state_dir, BLOCKS_DIR),
                                           clock=reactor)
        self.scanner = BlockScanner(self.db, node, self.blocks, self.shares, clock=reactor)
        # After any database outage the chain is scanned for blocks the ledger missed.
        self.shares.recovery_observers.append(self.scanner.request)
        self.blocks.recovery_observers.append(self.scanner.request)
        self.unlocker = Unlocker(self.db, node.client, policy, maturity=maturity_for(config),
                                 interval=config.payouts.unlock_interval,
                                 share_writer=self.shares, events=events)
        self.payouts = PayoutService(self.db, node, minimum=config.payouts.minimum,
                                     fee_account=config.payouts.fee_account,
                                     mempool_expiry=config.payouts.mempool_expiry,
                                     interval=config.payouts.interval, events=events)
        self.pruner = SharePruner(self.db, PruneRule.from_config(config),
                                  interval=config.payouts.share_prune_interval,
                                  difficulty=template_difficulty(node))
        node.chain_observers.append(self.unlocker.chain_replaced)
        for child in (self.shares, self.blocks, self.scanner, self.unlocker, self.pruner,
                      self.payouts):
            child.setServiceParent(self)
        self.ready = None

    def startService(self):
        # Children start once the schema is current (the writer buffers meanwhile).
        self.running = 1
        self.ready = self.db.in_thread(migrate.upgrade, self.db.engine)
        self.ready.addCallbacks(self._upgraded, self._cannot_upgrade)

    def _upgraded(self, revisions):
        before, after = revisions
        if before != after:
            self.log.info("database schema upgraded {before} -> {after}",
                          before=before or "empty", after=after)
        if self.running:
            for child in self:
                child.startService()

    def _cannot_upgrade(self, failure):
        self.log.critical("ledger cannot start: {error}; shares, block crediting and payouts "
                          "are stopped", error=failure.getErrorMessage())
        from twisted.internet import reactor as global_reactor
        from gxcpoold.shutdown import stop_reactor      # quiet if already stopping
        if self.reactor is global_reactor:
            self.reactor.callLater(0, stop_reactor, self.reactor)

    @defer.inlineCallbacks
    def stopService(self):
        if self.ready is not None:
            yield self.ready
        # The share writer flushes on stop: stop the others first, it last.
        for child in (self.payouts, self.pruner, self.unlocker, self.scanner, self.blocks,
                      self.shares):
            if child.running:
                yield defer.maybeDeferred(child.stopService)
        self.running = 0
        self.db.close()

    def reconfigure(self, config):
        """SIGHUP: fee, scheme window, fee account, payout minimum, intervals, expiry,
        share pruning.  (database.* and payouts.scheme need a restart: gxcpoold/reload.py.)"""
        policy = RewardPolicy.from_config(config)
        self.blocks.policy = policy
        self.unlocker.policy = policy
        self.unlocker.maturity = maturity_for(config)
        p = config.payouts
        self.pruner.rule = PruneRule.from_config(config)
        self.pruner.set_interval(p.share_prune_interval)
        self.payouts.minimum = p.minimum
        self.payouts.fee_account = p.fee_account
        self.payouts.mempool_expiry = p.mempool_expiry
        for timer, step in ((self.unlocker, p.unlock_interval), (self.payouts, p.interval)):
            timer.step = step
            loop = getattr(timer, "_loop", None)
            if loop is not None:
                loop.interval = step


def add_ledger(top, config, node, reactor, events=None):
    """Attach the ledger to the pool; returns (share_sink, block_recorder) for Stratum."""
    ledger = LedgerService(config, node, reactor, events)
    ledger.setServiceParent(top)
    return ledger.shares, ledger.blocks
