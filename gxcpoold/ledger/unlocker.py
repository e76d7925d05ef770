"""Unlocker: follow found blocks until they mature or are orphaned.

Each round (every `interval` seconds, also poked when the node's chain is replaced):
- getblockhash [0] against the genesis the ledger follows: a new genesis is a
  wiped node (spec defect 18): every block not yet mature is orphaned, its
  credits voided, and payouts halt for an operator.
- for every open block, getblockhash [height] (spec 3.1: a block is in the
  chain iff height < N and that hash matches):
    in the chain  -> accepted and credited if it was not yet; confirmations
                     = N - height; mature after `maturity` confirmations, when
                     its credits move to balances in one transaction;
    height filled by another block -> candidates are rejected, credited
                     blocks orphaned and their credits voided.
A node that does not answer just ends the run; nothing changes.
"""
import time

from sqlalchemy import and_, select, update
from twisted.internet import defer
from twisted.logger import Logger

from gxcpoold.events import EventHub
from gxcpoold.ledger import meta
from gxcpoold.ledger.accounts import IMMATURE, MATURE, VOID, add_to_balance
from gxcpoold.ledger.blocks import OPEN_STATUSES, accept_block
from gxcpoold.ledger.schema import blocks, credits
from gxcpoold.ledger.timedtask import SingletonTask
from gxcpoold.shares import (ACCEPTED, CANDIDATE, IMMATURE as BLOCK_IMMATURE,
                             MATURE as BLOCK_MATURE, ORPHANED, REJECTED, SUBMITTED)

NETWORK_MATURITY = {"testnet": 6, "mainnet": 100}


# ------------------------------------------------------------------ sync (DB thread)

def open_blocks(connection):
    return connection.execute(select(blocks.c.id, blocks.c.height, blocks.c.hash,
                                     blocks.c.status, blocks.c.credited)
                              .where(blocks.c.status.in_(OPEN_STATUSES))
                              .order_by(blocks.c.height)).all()


def void_block(connection, block_id, status, reason, now):
    """Orphan/reject a block and void its immature credits."""
    connection.execute(update(credits).where(and_(credits.c.block_id == block_id,
                                                  credits.c.status == IMMATURE))
                       .values(status=VOID))
    connection.execute(update(blocks).where(blocks.c.id == block_id).values(
        status=status, reason=reason, updated_at=now))


def mature_block(connection, block_id, confirmations, now):
    """Credits become balances, in the same transaction as the status change."""
    row = connection.execute(select(blocks.c.status).where(blocks.c.id == block_id)).scalar()
    if row != BLOCK_IMMATURE:
        return 0
    moved = 0
    for credit in connection.execute(select(credits.c.id, credits.c.account, credits.c.amount)
                                     .where(credits.c.block_id == block_id,
                                            credits.c.status == IMMATURE)).all():
        add_to_balance(connection, credit.account, credit.amount, now=now)
        moved += credit.amount
    connection.execute(update(credits).where(and_(credits.c.block_id == block_id,
                                                  credits.c.status == IMMATURE))
                       .values(status=MATURE))
    connection.execute(update(blocks).where(blocks.c.id == block_id).values(
        status=BLOCK_MATURE, confirmations=confirmations, updated_at=now))
    return moved


def set_confirmations(connection, block_id, confirmations, now):
    connection.execute(update(blocks).where(blocks.c.id == block_id).values(
        confirmations=confirmations, updated_at=now))


def check_genesis(connection, genesis, now):
    """Store the first genesis; on a new one void everything not mature. Returns old or None."""
    known = meta.get(connection, meta.GENESIS_HASH)
    if known is None:
        meta.put(connection, meta.GENESIS_HASH, genesis)
        return None
    if known == genesis:
        return None
    reason = "the node's chain was replaced (genesis %s -> %s)" % (known[:16], genesis[:16])
    for block in open_blocks(connection):
        void_block(connection, block.id, ORPHANED if block.credited else REJECTED, reason, now)
    meta.put(connection, meta.GENESIS_HASH, genesis)
    meta.put(connection, meta.PAYOUTS_HALTED, reason + "; check unfinished payouts "
             "(gxcpool-admin payouts list) and resume")
    return known


# ------------------------------------------------------------------ the service

class Unlocker(SingletonTask):
    name = "unlocker"
    lock_name = "unlocker"
    log = Logger()

    def __init__(self, db, client, policy, *, maturity, interval=30.0, share_writer=None,
                 clock=None, events=None):
        super().__init__(db, interval, clock)
        self.events = events if events is not None else EventHub(self.clock)
        self.client = client
        self.policy = policy
        self.maturity = maturity
        self.share_writer = share_writer

    def chain_replaced(self, old_genesis, new_genesis):
        """NodeService.chain_observers hook."""
        self.run_once()

    @defer.inlineCallbacks
    def round(self):
        genesis = yield self.client.getblockhash(0)
        old = yield self.db.run(check_genesis, genesis, time.time())
        if old is not None:
            self.log.critical("node chain replaced (genesis {old} -> {new}): unmatured blocks "
                              "orphaned, their credits voided; payouts halted", old=old,
                              new=genesis)
        todo = yield self.db.run(open_blocks, write=False)
        if not todo:
            return
        n = yield self.client.getblockcount()
        flushed = False
        for block in todo:
            if block.height >= n:
                continue                       # not reached yet (or still being submitted)
            on_chain = yield self.client.getblockhash(block.height)
            now = time.time()
            if on_chain != block.hash:
                yield self._lost(block, on_chain, now)
                continue
            confirmations = n - block.height
            if not block.credited:
                if self.share_writer is not None and not flushed:
                    yield self.share_writer.flush()
                    flushed = True
                yield self.db.run(accept_block, block.height, block.hash, self.policy, now,
                                  "found in the chain by the unlocker")
                self.log.info("block {height} {hash} is in the chain; credited",
                              height=block.height, hash=block.hash)
                self.events.publish("block.confirmed", height=block.height, hash=block.hash,
                                    confirmations=confirmations)
            if confirmations >= self.maturity:
                moved = yield self.db.run(mature_block, block.id, confirmations, now)
                self.log.info("block {height} {hash} mature after {c} confirmations: {moved} "
                              "base units to balances", height=block.height, hash=block.hash,
                              c=confirmations, moved=moved)
                self.events.publish("block.matured", height=block.height, hash=block.hash,
                                    moved=moved)
            else:
                yield self.db.run(set_confirmations, block.id, confirmations, now)

    def _lost(self, block, on_chain, now):
        if block.credited or block.status == ACCEPTED:
            self.log.warn("block {height} {hash} orphaned: the chain has {other} there",
                          height=block.height, hash=block.hash, other=on_chain)
            self.events.publish("block.orphaned", height=block.height, hash=block.hash,
                                reason="the chain has %s there" % on_chain)
            return self.db.run(void_block, block.id, ORPHANED,
                               "height %d holds %s" % (block.height, on_chain), now)
        assert block.status in (CANDIDATE, SUBMITTED)
        return self.db.run(void_block, block.id, REJECTED,
                           "height %d was filled by %s" % (block.height, on_chain), now)


def maturity_for(config) -> int:
    """Configured confirmations, never below the network's coinbase maturity."""
    network = NETWORK_MATURITY[config.pool.network]
    if config.devnet.enabled:
        network = config.devnet.node.coinbase_maturity
    return max(config.payouts.maturity, network) if config.payouts.maturity else network
