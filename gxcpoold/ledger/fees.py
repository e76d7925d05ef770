"""Per-miner fees: which fee rate each account's part of a block reward pays.

Three sources, first match wins:
1. the address's own fee, set by an operator (gxcpool-admin fee set), in the
   miner_fees table;
2. volume tiers ([[pool.fee_tiers]]): the lowest fee among the tiers whose
   min_hashrate the miner's average accepted hashrate over the 24 h before
   the block reaches;
3. the pool fee ([pool] fee).

The hashrate is the accepted work (expected hashes, DESIGN.md section 2) of
the 1440 whole minutes before the block's minute, from the `stats` table,
divided by 86400.  Whole minutes only, so shares written after the block
never change which fee it used: given the database, the result is fixed.

Fees are exact Fractions, whole numbers of 1e-8 (config.parse_fee); the
miner_fees table keeps them as ints of 1e-8 (FEE_UNITS of them make 1).
"""
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import delete, func, select

from gxcpoold.config import FeeTier, fee_text, parse_fee
from gxcpoold.ledger.accounts import record_audit
from gxcpoold.ledger.schema import miner_fees, miners, stats
from gxcpoold.ledger.sharestore import SLOT_SECONDS, dialect_insert

__all__ = ["FeePolicy", "FeeTier", "effective_fees", "effective_fee", "fee_schedule",
           "fee_text", "parse_fee", "set_fee", "clear_fee", "list_fees"]

FEE_UNITS = 10**8                  # miner_fees.fee: 1_000_000 = 0.01 = 1 %
HASHRATE_WINDOW = 86400            # seconds of work a tier looks at
ADDRESS, TIER, DEFAULT = "address", "tier", "default"
# Above this many accounts the lookups read every row and filter here: one
# query either way, and no statement with tens of thousands of parameters.
IN_LIST_LIMIT = 500


@dataclass(frozen=True)
class FeePolicy:
    default: Fraction
    tiers: tuple = ()              # (FeeTier, ...) in the configuration's order

    @classmethod
    def from_config(cls, config):
        return cls(default=config.pool.fee, tiers=tuple(config.pool.fee_tiers))

    def tier_for(self, hashrate: float):
        """(index, FeeTier) of the lowest fee among the tiers reached, or None.
        On equal fees the first tier in the file wins."""
        reached = [(tier.fee, i) for i, tier in enumerate(self.tiers)
                   if hashrate >= tier.min_hashrate]
        if not reached:
            return None
        _, index = min(reached)
        return index, self.tiers[index]


def hashrate_window(at_time: float):
    """[start, end) of the stats slots a block at `at_time` looks at."""
    end = int(at_time // SLOT_SECONDS) * SLOT_SECONDS
    return end - HASHRATE_WINDOW, end


def _overrides(connection, accounts) -> dict:
    """{address: row} of the addresses' own fees."""
    query = select(miner_fees)
    if len(accounts) <= IN_LIST_LIMIT:
        query = query.where(miner_fees.c.address.in_(sorted(accounts)))
    return {row.address: row for row in connection.execute(query) if row.address in accounts}


def _work_24h(connection, accounts, at_time) -> dict:
    """{address: accepted work in the 24 h window} for those that have any."""
    start, end = hashrate_window(at_time)
    query = (select(miners.c.address, func.sum(stats.c.work))
             .join(miners, miners.c.id == stats.c.miner_id)
             .where(stats.c.slot >= start, stats.c.slot < end)
             .group_by(miners.c.address))
    if len(accounts) <= IN_LIST_LIMIT:
        query = query.where(miners.c.address.in_(sorted(accounts)))
    return {address: float(work or 0) for address, work in connection.execute(query)
            if address in accounts}


def _resolve(policy, override, hashrate):
    if override is not None:
        return {"fee": Fraction(override.fee, FEE_UNITS), "source": ADDRESS, "tier": None}
    found = policy.tier_for(hashrate)
    if found is not None:
        index, tier = found
        return {"fee": tier.fee, "source": TIER, "tier": index}
    return {"fee": policy.default, "source": DEFAULT, "tier": None}


def effective_fees(connection, accounts, at_time: float, policy: FeePolicy) -> dict:
    """{account: fee rate} for each account, as of a block at `at_time`."""
    accounts = set(accounts)
    if not accounts:
        return {}
    overrides = _overrides(connection, accounts)
    rest = accounts - overrides.keys()
    work = _work_24h(connection, rest, at_time) if policy.tiers and rest else {}
    return {a: _resolve(policy, overrides.get(a), work.get(a, 0.0) / HASHRATE_WINDOW)["fee"]
            for a in accounts}


def effective_fee(connection, address: str, at_time: float, policy: FeePolicy) -> dict:
    """The fee `address` pays on a block at `at_time`, and why:
    {"fee": Fraction, "source": "address" | "tier" | "default", "tier": index into
    policy.tiers or None, "hashrate_24h": expected hashes/s, ...}; an address fee
    adds "set_at", "set_by", "reason", a tier "min_hashrate"."""
    override = _overrides(connection, {address}).get(address)
    hashrate = _work_24h(connection, {address}, at_time).get(address, 0.0) / HASHRATE_WINDOW
    result = _resolve(policy, override, hashrate)
    result["hashrate_24h"] = hashrate
    result["default"] = policy.default
    if override is not None:
        result.update(set_at=override.set_at, set_by=override.set_by, reason=override.reason)
    if result["tier"] is not None:
        result["min_hashrate"] = policy.tiers[result["tier"]].min_hashrate
    return result


def fee_schedule(policy: FeePolicy) -> dict:
    """The published rules, JSON-safe (fees as decimal strings: "0.01" = 1 %)."""
    return {
        "default": fee_text(policy.default),
        "tiers": [{"min_hashrate": tier.min_hashrate, "fee": fee_text(tier.fee)}
                  for tier in policy.tiers],
        "hashrate_window_seconds": HASHRATE_WINDOW,
        "rule": ("An address's own fee, set by the operator, applies first; else the lowest "
                 "fee among the tiers whose min_hashrate (expected hashes/s, averaged over "
                 "the 24 h before the block) the miner reaches; else the default.  Each "
                 "miner's part of a block reward, floor(reward x its work / total work), "
                 "pays floor(part x its fee)."),
    }


# ------------------------------------------------------------------ operator changes

def fee_units(fee: Fraction) -> int:
    units = Fraction(fee) * FEE_UNITS
    if units.denominator != 1:
        raise ValueError("a fee is a whole number of 1e-8, not %r" % (fee,))
    return int(units)


def set_fee(connection, address: str, fee: Fraction, *, actor: str, reason: str, now: float):
    """Give `address` its own fee (replacing any), with an audit entry.
    Returns the previous fee or None."""
    if not reason.strip():
        raise ValueError("an address fee needs a reason")
    if not 0 <= fee < 1:
        raise ValueError("a fee must be at least 0 and below 1")
    previous = connection.execute(select(miner_fees.c.fee).where(
        miner_fees.c.address == address)).scalar()
    row = {"address": address, "fee": fee_units(fee), "set_at": now, "set_by": actor,
           "reason": reason}
    stmt = dialect_insert(connection, miner_fees).values(**row)
    connection.execute(stmt.on_conflict_do_update(
        index_elements=["address"], set_={k: v for k, v in row.items() if k != "address"}))
    was = "none" if previous is None else fee_text(Fraction(previous, FEE_UNITS))
    # amount stays None: a fee is no balance movement (accounts.expected_balances)
    record_audit(connection, actor=actor, action="fee-set", account=address, now=now,
                 reason="fee %s (was %s): %s" % (fee_text(fee), was, reason))
    return None if previous is None else Fraction(previous, FEE_UNITS)


def clear_fee(connection, address: str, *, actor: str, reason: str, now: float):
    """Remove the address's own fee (tiers and the default apply again), audited.
    Returns the fee removed, or None if it had none."""
    previous = connection.execute(select(miner_fees.c.fee).where(
        miner_fees.c.address == address)).scalar()
    if previous is None:
        return None
    connection.execute(delete(miner_fees).where(miner_fees.c.address == address))
    was = fee_text(Fraction(previous, FEE_UNITS))
    record_audit(connection, actor=actor, action="fee-clear", account=address, now=now,
                 reason="fee %s removed" % was + (": %s" % reason if reason.strip() else ""))
    return Fraction(previous, FEE_UNITS)


def list_fees(connection) -> list:
    """[{"address", "fee" (Fraction), "set_at", "set_by", "reason"}] by address."""
    return [{"address": r.address, "fee": Fraction(r.fee, FEE_UNITS), "set_at": r.set_at,
             "set_by": r.set_by, "reason": r.reason}
            for r in connection.execute(select(miner_fees).order_by(miner_fees.c.address))]
