"""Found blocks: the database-backed BlockRecorder, and crediting a block.

A block is credited once, when it is known to be in the chain (the submitter
reports "accepted", or the unlocker sees it there first): its reward is split
by the configured scheme over the shares up to the block (rewards.py), each
account's part paying its own fee as of the block's time (fees.py), and the
credits are written as immature, in one transaction with the status change.
"""
import json
import time
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import and_, insert, or_, select, update
from twisted.internet import defer
from twisted.logger import Logger

from gxcpoold.amounts import gxc_to_base_units
from gxcpoold.ledger.accounts import IMMATURE
from gxcpoold.ledger.fees import FeePolicy, effective_fees
from gxcpoold.ledger.rewards import (PPLNS, PROP, paid_accounts, pplns_window, scheme_weights,
                                     split_weights)
from gxcpoold.ledger.schema import blocks, credits, miners, shares
from gxcpoold.ledger.sharestore import dialect_insert
from gxcpoold.shares import ACCEPTED, CANDIDATE, IMMATURE as BLOCK_IMMATURE, MATURE, SUBMITTED

SHARE_CHUNK = 5000
# Statuses of blocks that are or may become part of the chain.
OPEN_STATUSES = (CANDIDATE, SUBMITTED, ACCEPTED, BLOCK_IMMATURE)
CREDITED_STATUSES = (BLOCK_IMMATURE, MATURE)


@dataclass(frozen=True)
class RewardPolicy:
    scheme: str
    pplns_window: float
    fee: Fraction                  # the default fee ([pool] fee)
    fee_account: str
    pplns_min_shares: int = 0
    fees: FeePolicy | None = None  # tiers; None: everyone pays `fee` unless an address has its own

    @classmethod
    def from_config(cls, config):
        return cls(scheme=config.payouts.scheme, pplns_window=config.payouts.pplns_window,
                   fee=config.pool.fee, fee_account=config.payouts.fee_account,
                   pplns_min_shares=config.payouts.pplns_min_shares,
                   fees=FeePolicy.from_config(config))

    @property
    def fee_policy(self) -> FeePolicy:
        return self.fees if self.fees is not None else FeePolicy(default=self.fee)


def coinbase_reward(block: dict) -> int:
    """Base units the submitted block's coinbase pays (outputs[0], as the node keeps)."""
    coinbase = block["transactions"][0]
    outputs = coinbase.get("outputs") or []
    amount = outputs[0].get("amount", outputs[0].get("value")) if outputs else coinbase["amount"]
    return gxc_to_base_units(amount, exact=False)


# ------------------------------------------------------------------ sync (DB thread)

def insert_candidate(connection, candidate, now):
    row = {"height": candidate.height, "hash": candidate.hash,
           "previous_hash": candidate.previousblockhash, "algorithm": candidate.algorithm,
           "address": candidate.address, "worker": candidate.worker, "work": candidate.work,
           "network_difficulty": float(candidate.block.get("difficulty", 0.0)),
           "time": candidate.time, "status": CANDIDATE, "reason": "",
           "reward": coinbase_reward(candidate.block), "confirmations": 0, "credited": False,
           "candidate": json.dumps({"block": candidate.block, "solution": candidate.solution},
                                   separators=(",", ":"), sort_keys=True),
           "created_at": now, "updated_at": now}
    stmt = dialect_insert(connection, blocks).values(**row).on_conflict_do_nothing(
        index_elements=["height", "hash"])
    connection.execute(stmt)


def update_status(connection, height, block_hash, status, reason, now):
    """Move a block to `status` unless it is already credited/finished."""
    connection.execute(update(blocks).where(and_(
        blocks.c.height == height, blocks.c.hash == block_hash,
        blocks.c.credited.is_(False), blocks.c.status.in_((CANDIDATE, SUBMITTED, ACCEPTED))))
        .values(status=status, reason=reason, updated_at=now))


def _shares_newest_first(connection, before_time, after_time=None):
    """(address, work) for shares with after_time < time <= before_time, newest first."""
    cursor = None
    while True:
        query = (select(shares.c.id, shares.c.time, miners.c.address, shares.c.work)
                 .join(miners, miners.c.id == shares.c.miner_id)
                 .order_by(shares.c.time.desc(), shares.c.id.desc()).limit(SHARE_CHUNK))
        if cursor is None:
            query = query.where(shares.c.time <= before_time)
        else:
            t, i = cursor
            query = query.where(or_(shares.c.time < t, and_(shares.c.time == t, shares.c.id < i)))
        if after_time is not None:
            query = query.where(shares.c.time > after_time)
        rows = connection.execute(query).all()
        for row in rows:
            yield row.address, row.work
        if len(rows) < SHARE_CHUNK:
            return
        cursor = (rows[-1].time, rows[-1].id)


def credit_block(connection, block_id, policy: RewardPolicy, now):
    """Split the block's reward and write immature credits; once only.  Returns the Split."""
    block = connection.execute(select(blocks).where(blocks.c.id == block_id)).one()
    if block.credited:
        return None
    after = None
    if policy.scheme == PROP:
        after = connection.execute(
            select(blocks.c.time).where(blocks.c.credited.is_(True), blocks.c.id != block_id,
                                        blocks.c.time < block.time)
            .order_by(blocks.c.time.desc()).limit(1)).scalar()
    window = (pplns_window(policy.pplns_window, block.network_difficulty)
              if policy.scheme == PPLNS else 0)
    weights = scheme_weights(policy.scheme, _shares_newest_first(connection, block.time, after),
                             finder=block.address, window=window,
                             min_shares=policy.pplns_min_shares if policy.scheme == PPLNS else 0)
    # Each account's fee as of the block's time, read in this transaction.
    fee_policy = policy.fee_policy
    fees = effective_fees(connection, paid_accounts(weights, block.address), block.time,
                          fee_policy)
    split = split_weights(weights, block.reward, fee_policy.default, finder=block.address,
                          fees=fees)
    rows = [{"block_id": block_id, "account": a, "kind": "share", "amount": amount,
             "work": split.work.get(a, 0), "status": IMMATURE, "fee": split.fees.get(a, 0)}
            for a, amount in split.credits.items()]
    if split.fee:
        rows.append({"block_id": block_id, "account": policy.fee_account, "kind": "fee",
                     "amount": split.fee, "work": 0, "status": IMMATURE, "fee": 0})
    if split.remainder:
        rows.append({"block_id": block_id, "account": policy.fee_account, "kind": "remainder",
                     "amount": split.remainder, "work": 0, "status": IMMATURE,
                     "fee": 0})
    if rows:
        connection.execute(insert(credits), rows)
    note = ""
    if policy.scheme == PPLNS and not split.window_filled:
        note = "PPLNS window not full: %d of %d work, %d of %d shares" % (
            split.counted, split.window, split.shares, split.min_shares)
    connection.execute(update(blocks).where(blocks.c.id == block_id).values(
        status=BLOCK_IMMATURE, credited=True, updated_at=now, reason=note))
    return split


def accept_block(connection, height, block_hash, policy, now, reason=""):
    """The block is in the chain: mark it and credit it (idempotent).  The row
    is locked (PostgreSQL): the submitter's record, the unlocker and the chain
    scan may all credit the same block at once, and only one may."""
    block = connection.execute(select(blocks.c.id, blocks.c.credited).where(
        blocks.c.height == height, blocks.c.hash == block_hash).with_for_update()).first()
    if block is None:
        return None
    if not block.credited:
        connection.execute(update(blocks).where(blocks.c.id == block.id).values(
            status=ACCEPTED, reason=reason, updated_at=now))
        return credit_block(connection, block.id, policy, now)
    return None


# ------------------------------------------------------------------ the BlockRecorder

class LedgerBlockRecorder:
    """BlockRecorder (gxcpoold.shares) writing to the ledger.

    Before crediting an accepted block it flushes the share writer, so the
    window includes every share up to the block."""

    log = Logger()

    def __init__(self, db, policy: RewardPolicy, share_writer=None):
        self.db = db
        self.policy = policy
        self.share_writer = share_writer

    def record_candidate(self, candidate) -> defer.Deferred:
        return self.db.run(insert_candidate, candidate, time.time())

    @defer.inlineCallbacks
    def set_block_status(self, height, hash, status, reason=""):
        if status == ACCEPTED:
            if self.share_writer is not None:
                yield self.share_writer.flush()
            split = yield self.db.run(accept_block, height, hash, self.policy, time.time(), reason)
            if split is not None:
                self.log.info("block {height} {hash} credited: {n} accounts, fee {fee}, "
                              "remainder {rem}, window {counted}/{window}", height=height,
                              hash=hash, n=len(split.credits), fee=split.fee,
                              rem=split.remainder, counted=split.counted, window=split.window)
            return
        yield self.db.run(update_status, height, hash, status, reason, time.time())
