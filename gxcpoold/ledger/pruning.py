"""Pruning the shares table without removing a share a reward still needs.

The rule (docs/ledger.md, "Share pruning"): shares with time < cut-off are
deleted, the cut-off being the earliest of
- every scheme: now - min_age (operators can investigate recent shares);
- pplns: for every block that may still be credited (open, not credited),
  the edge of `margin` x its own window (work, and shares: margin x
  pplns_min_shares) walked back from the block exactly as
  blocks._shares_newest_first walks it; and for the next block, the edge
  of `margin` x N x network work at the difficulty after the next retarget
  (D x 1.75: network work is 16 ** floor(D), so one retarget can multiply it
  by 16 ** 3 or more), walked back from the newest share;
- prop: for every such block, the time of the credited block before it
  (its round's start), and for the next block the latest credited block;
- solo: no share is used, only the minimum age applies.
A window or round reaching past the oldest share stored, or a PPLNS network
difficulty not known, keeps everything.

Why deleting time < edge cannot change a credit: the window walks shares by
(time, id) newest first and stops at the edge share, so every share it
counts has time >= edge.  New shares (even spill replays of old ones) only
add work inside windows, moving edges later, never earlier.

A round is a generator of Steps (one database transaction each), run by
run_steps (Twisted, each step on the database thread pool) or run_steps_sync
(the admin command); long walks and deletes are thus cut into short
transactions that never block SQLite writers for long.
"""
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from fractions import Fraction
from typing import NamedTuple

from sqlalchemy import and_, delete, func, or_, select
from twisted.internet import defer
from twisted.logger import Logger

from gxcpoold.ledger import meta
from gxcpoold.ledger.blocks import OPEN_STATUSES
from gxcpoold.ledger.rewards import PPLNS, PROP, exact_fraction, pplns_window
from gxcpoold.ledger.schema import blocks, shares
from gxcpoold.ledger.timedtask import SingletonTask

WALK_CHUNK = 5000             # shares read per transaction while finding an edge
DELETE_BATCH = 5000           # shares deleted per transaction
RETARGET_FACTOR = Fraction(7, 4)   # the node multiplies D by 1.75 at a retarget
NETWORK_DIFFICULTY = "network_difficulty"   # meta key: D the daemon last saw
IDLE_STEP = 3600.0            # timer step while pruning is disabled (interval 0)


@dataclass(frozen=True)
class PruneRule:
    scheme: str
    pplns_window: float           # N
    margin: int                   # windows kept = margin x N x network work
    min_age: float                # seconds
    retarget_factor: Fraction = RETARGET_FACTOR
    pplns_min_shares: int = 0     # a window spans at least this many shares

    @classmethod
    def from_config(cls, config):
        p = config.payouts
        factor = RETARGET_FACTOR
        if config.devnet.enabled:       # the devnet's retarget factor is configurable
            factor = max(factor, exact_fraction(config.devnet.node.retarget_factor))
        return cls(scheme=p.scheme, pplns_window=p.pplns_window, margin=p.share_window_margin,
                   min_age=p.share_min_age_hours * 3600.0, retarget_factor=factor,
                   pplns_min_shares=p.pplns_min_shares)

    def block_window(self, difficulty) -> int:
        return self.margin * pplns_window(self.pplns_window, difficulty)

    @property
    def window_shares(self) -> int:
        """Shares kept below each window's newest one (margin x the minimum)."""
        return self.margin * self.pplns_min_shares

    def next_block_window(self, difficulty) -> int:
        return self.block_window(exact_fraction(difficulty) * self.retarget_factor)


@dataclass(frozen=True)
class Cutoff:
    time: float | None            # delete shares with time < this; None: keep all
    reason: str                   # which need set it, for the log


@dataclass(frozen=True)
class PruneResult:
    cutoff: Cutoff
    count: int                    # deleted (or, dry run, deletable)


class Step(NamedTuple):
    fn: object                    # fn(connection, *args), one transaction
    args: tuple
    write: bool = False


# ------------------------------------------------------------------ sync (DB thread)

def pending_blocks(connection):
    """Blocks the submitter or the unlocker may still credit."""
    return connection.execute(
        select(blocks.c.id, blocks.c.height, blocks.c.time, blocks.c.network_difficulty)
        .where(blocks.c.credited.is_(False), blocks.c.status.in_(OPEN_STATUSES))
        .order_by(blocks.c.time)).all()


def credited_before(connection, before_time=None):
    """Time of the latest credited block (before `before_time`): a PROP round's start."""
    query = select(func.max(blocks.c.time)).where(blocks.c.credited.is_(True))
    if before_time is not None:
        query = query.where(blocks.c.time < before_time)
    return connection.execute(query).scalar()


def share_chunk(connection, before_time, cursor):
    """(id, time, work) newest first, in the order the PPLNS window walks them."""
    query = (select(shares.c.id, shares.c.time, shares.c.work)
             .order_by(shares.c.time.desc(), shares.c.id.desc()).limit(WALK_CHUNK))
    if cursor is not None:
        t, i = cursor
        query = query.where(or_(shares.c.time < t, and_(shares.c.time == t, shares.c.id < i)))
    elif before_time is not None:
        query = query.where(shares.c.time <= before_time)
    return connection.execute(query).all()


def count_older(connection, cutoff):
    return connection.execute(select(func.count()).select_from(shares)
                              .where(shares.c.time < cutoff)).scalar()


def delete_older(connection, cutoff, limit):
    """Delete up to `limit` of the oldest shares before `cutoff` (by the time index)."""
    ids = select(shares.c.id).where(shares.c.time < cutoff).order_by(shares.c.time).limit(limit)
    return connection.execute(delete(shares).where(shares.c.id.in_(ids))).rowcount


# ------------------------------------------------------------------ the round (Steps)

def window_edge(before_time, work, min_shares=0):
    """Time of the share at which `work` hashes and `min_shares` shares,
    counted newest first from `before_time` (None: the newest share), are
    both reached; None if never."""
    counted, taken, cursor = 0, 0, None
    while True:
        rows = yield Step(share_chunk, (before_time, cursor))
        for row in rows:
            counted += max(int(row.work), 0)
            taken += 1
            if counted >= work and taken >= min_shares:
                return row.time
        if len(rows) < WALK_CHUNK:
            return None
        cursor = (rows[-1].time, rows[-1].id)


def pplns_needs(rule, difficulty):
    """[(edge time or None, why)] for every PPLNS window that may still be credited."""
    needs = []
    for block in (yield Step(pending_blocks, ())):
        edge = yield from window_edge(block.time, rule.block_window(block.network_difficulty),
                                      rule.window_shares)
        needs.append((edge, "window of block %d" % block.height))
    edge = yield from window_edge(None, rule.next_block_window(difficulty), rule.window_shares)
    return needs + [(edge, "window of the next block")]


def prop_needs(rule):
    """[(round start or None, why)] for every PROP round that may still be credited."""
    needs = []
    for block in (yield Step(pending_blocks, ())):
        start = yield Step(credited_before, (block.time,))
        needs.append((start, "round of block %d" % block.height))
    start = yield Step(credited_before, (None,))
    return needs + [(start, "current round")]


def find_cutoff(rule, difficulty, now):
    """The earliest time any reward may still need a share from."""
    needs = [(now - rule.min_age, "minimum age")]
    if rule.scheme == PPLNS:
        if difficulty is None:
            return Cutoff(None, "the network difficulty is not known")
        needs += yield from pplns_needs(rule, difficulty)
    elif rule.scheme == PROP:
        needs += yield from prop_needs(rule)
    for edge, why in needs:
        if edge is None:
            return Cutoff(None, "the %s reaches past the oldest share" % why)
    edge, why = min(needs, key=lambda need: need[0])
    return Cutoff(edge, why)


def prune_round(rule, difficulty, now, *, dry_run=False):
    """Find the cut-off, then delete (or count) the shares before it."""
    cutoff = yield from find_cutoff(rule, difficulty, now)
    if cutoff.time is None:
        return PruneResult(cutoff, 0)
    if dry_run:
        return PruneResult(cutoff, (yield Step(count_older, (cutoff.time,))))
    total = 0
    while True:
        deleted = yield Step(delete_older, (cutoff.time, DELETE_BATCH), True)
        total += deleted
        if deleted < DELETE_BATCH:
            return PruneResult(cutoff, total)


def run_steps_sync(db, steps):
    """Drive a round on the calling thread (admin command, tests)."""
    result = None
    while True:
        try:
            step = steps.send(result)
        except StopIteration as done:
            return done.value
        result = db.run_sync(step.fn, *step.args, write=step.write)


@defer.inlineCallbacks
def run_steps(db, steps, stopping=lambda: False):
    """Drive a round, each step in its own transaction on the database thread pool;
    when stopping() turns true the round ends after its current step (fires None)."""
    result = None
    while True:
        if stopping():
            steps.close()
            return None
        try:
            step = steps.send(result)
        except StopIteration as done:
            return done.value
        result = yield db.run(step.fn, *step.args, write=step.write)


def describe(cutoff: Cutoff) -> str:
    if cutoff.time is None:
        return "nothing can be pruned: %s" % cutoff.reason
    when = datetime.fromtimestamp(cutoff.time, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return "cut-off %s (%r), set by the %s" % (when, cutoff.time, cutoff.reason)


# ------------------------------------------------------------------ the service

class SharePruner(SingletonTask):
    """Runs a pruning round every `interval` seconds (0: never).

    difficulty() gives the network difficulty of the current template, or
    None (node not ready): PPLNS then keeps everything that round."""

    name = "share-pruner"
    lock_name = "share-pruner"
    log = Logger()
    run_at_start = False
    locked_result = None             # another instance prunes

    def __init__(self, db, rule, *, interval, difficulty, clock=None):
        self.interval = interval
        super().__init__(db, interval or IDLE_STEP, clock)
        self.rule = rule
        self.difficulty = difficulty

    def set_interval(self, interval):
        self.interval = interval
        self.step = interval or IDLE_STEP
        if self._loop is not None:
            self._loop.interval = self.step

    def run_once(self) -> defer.Deferred | None:
        if not self.interval:
            return None
        return super().run_once()

    @defer.inlineCallbacks
    def round(self):
        difficulty = self.difficulty()
        if difficulty is not None:       # for `gxcpool-admin shares prune`
            yield self.db.run(meta.put, NETWORK_DIFFICULTY, repr(float(difficulty)))
        result = yield run_steps(self.db, prune_round(self.rule, difficulty, time.time()),
                                 stopping=lambda: not self.running)
        if result is not None and result.count:
            self.log.info("pruned {count} shares older than the {cutoff}", count=result.count,
                          cutoff=describe(result.cutoff))
        return result


def template_difficulty(node):
    """difficulty() for SharePruner from a NodeService."""
    def difficulty():
        template = getattr(node, "current_template", None)
        value = getattr(template, "difficulty", None)
        return value if value is not None and math.isfinite(value) else None
    return difficulty
