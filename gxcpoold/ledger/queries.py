"""The web's read model: every figure the dashboard, the API and /metrics show.

Each function is fn(connection, ...) (run through ReadDatabase.read), reads
only, and returns plain JSON-safe values: ints for money (base units), floats
for hashrate and work, Unix float seconds for times, never Decimal or bytes.

Hashrate is effective hashrate (DESIGN section 2: work = expected hashes):
the accepted work of the `stats` table's complete 1-minute slots in the
window, divided by the window's seconds.  A window of W seconds is the W/60
slots before the current (still filling) minute, so a figure is exact for
the minutes it covers, lags by at most a minute, and depends on `now` only
through its minute: callers sharing a cache pass minute(now).  "Active" (a
share in the last 10 min) also counts the current minute.

What each query costs (indexes of ledger/schema.py; S = stats rows per
minute, about the number of active workers x algorithms).  Measured on
SQLite, S = 1000 (1.44 M stats rows in 24 h, 2 M shares), a loaded 2-CPU box:
- pool_hashrate, pool_summary (~270 ms): one range scan of the stats primary
  key (slot first) over 24 h, 1440 x S rows, grouped in key order; the rest
  are index look-ups (blocks by status and id, credits by account, payouts by
  status) and count(*) of miners.
- active_miners (~200 ms): the last 10 min of stats grouped by miner, then
  the 24 h range filtered to the page's miners.
- leaderboard (~700 ms): the window's stats grouped by miner (a sort of
  every row): cache it for the minute.
- miner, hashrate_series(address=...) (~110 ms): the stats range filtered by
  miner; the primary key starts with slot, so this walks every miner's index
  entries of the window (no (miner_id, slot) index).  Credits and payouts by
  account/recipient; its blocks by a scan of blocks (no index on address).
- hashrate_series of the pool (~260 ms): the range grouped by (slot, algorithm).
- blocks_page (~30 ms for 20 blocks): blocks by id (or status), each block's
  previous pool block by a correlated max(time) (no index on blocks.time: a
  scan of blocks per block shown), and its round's work: the shares of its
  first and last minute by time (ix_shares_time) and the whole minutes
  between from stats; a round older than the stats retention is summed from
  its shares by time (a range of ix_shares_time as long as the round).
- payouts_page, owed (< 1 ms): payouts by id or recipient, balances (one row
  per account), immature credits of open blocks (ix_blocks_status, then
  credits by block), unfinished payouts by status.
"""
import math

from sqlalchemy import Float, case, cast, func, select

from gxcpoold.algorithms import ALGORITHMS
from gxcpoold.ledger.accounts import IMMATURE as CREDIT_IMMATURE, VOID
from gxcpoold.ledger.blocks import OPEN_STATUSES
from gxcpoold.ledger.payoutstore import CONFIRMED, PAYOUT, SENT, UNFINISHED
from gxcpoold.ledger.schema import (balances, blocks, credits, miners, payouts, shares, stats,
                                    workers)
from gxcpoold.ledger.sharestore import SLOT_SECONDS
from gxcpoold.shares import ACCEPTED, IMMATURE, MATURE, ORPHANED, REJECTED

WINDOWS = {"10m": 600, "1h": 3600, "24h": 86400}
ACTIVE_SECONDS = WINDOWS["10m"]
INTERNAL_PREFIX = "@"
PENDING_BLOCK_STATUSES = OPEN_STATUSES          # candidate, submitted, accepted, immature
LEADERBOARD_ORDERS = ("work", "hashrate", "blocks")
MAX_SERIES_POINTS = 10_000
HISTORY_ROWS = 50                               # credits and payouts on a miner's page
MAX_WORKERS = 500                               # a miner names its workers: bound the list


# ------------------------------------------------------------------ small helpers

def slot_of(t) -> int:
    """The stats slot (Unix minute start) holding time t, as ShareStore computes it."""
    return int(math.floor(t / SLOT_SECONDS)) * SLOT_SECONDS


def minute(now) -> int:
    """now rounded down to its minute: every figure here is the same for the
    whole minute except "active" counts and last-share times, so a cache keyed
    by it is shared by every caller of that minute."""
    return slot_of(now)


def _float(value) -> float:
    return 0.0 if value is None else float(value)


def _int(value) -> int:
    return 0 if value is None else int(value)


def _opt_float(value):
    return None if value is None else float(value)


def _is_internal(column):
    return column.startswith(INTERNAL_PREFIX, autoescape=True)


def _window_columns(end):
    """sum(work) and sum(shares) per window over slots [end - W, end)."""
    cols = []
    for name, seconds in WINDOWS.items():
        inside = stats.c.slot >= end - _whole_minutes(seconds)
        cols.append(func.sum(case((inside, stats.c.work), else_=0.0)).label("work_" + name))
        cols.append(func.sum(case((inside, stats.c.shares), else_=0)).label("shares_" + name))
    return cols


def _whole_minutes(seconds) -> int:
    return max(SLOT_SECONDS, int(seconds) // SLOT_SECONDS * SLOT_SECONDS)


def _windowed(connection, now, group, *where):
    """Rows of `group` columns + work_/shares_<window> sums over the complete
    slots of the longest window (one range scan of the stats primary key)."""
    end = slot_of(now)
    longest = _whole_minutes(max(WINDOWS.values()))
    query = (select(*group, *_window_columns(end))
             .where(stats.c.slot >= end - longest, stats.c.slot < end, *where))
    if group:
        query = query.group_by(*group)
    return connection.execute(query).all()


def _empty_hashrate():
    return {name: dict.fromkeys(("total",) + ALGORITHMS, 0.0) for name in WINDOWS}


def _hashrate_by_algorithm(rows):
    """rows of (algorithm, work_<w>...) -> {window: {"total", algorithm...}} in H/s."""
    result = _empty_hashrate()
    for row in rows:
        for name, seconds in WINDOWS.items():
            rate = _float(getattr(row, "work_" + name)) / _whole_minutes(seconds)
            if row.algorithm in result[name]:
                result[name][row.algorithm] += rate
            result[name]["total"] += rate
    return result


def _share_counts(rows):
    return {name: sum(_int(getattr(r, "shares_" + name)) for r in rows) for name in WINDOWS}


def _miner_id(connection, address):
    return connection.execute(select(miners.c.id).where(miners.c.address == address)).scalar()


# ------------------------------------------------------------------ pool figures

def _pool_windows(connection, now):
    """[(algorithm, work_<w>, shares_<w>...)] for the whole pool.  Grouped by
    (slot, algorithm), the primary key's order, the scan streams without a
    sort (3-4x faster on SQLite than grouping by algorithm alone); the
    windows are then added up here from at most 1440 x 3 rows."""
    end = slot_of(now)
    longest = _whole_minutes(max(WINDOWS.values()))
    totals = {}
    for row in connection.execute(
            select(stats.c.slot, stats.c.algorithm, func.sum(stats.c.work),
                   func.sum(stats.c.shares))
            .where(stats.c.slot >= end - longest, stats.c.slot < end)
            .group_by(stats.c.slot, stats.c.algorithm)):
        sums = totals.setdefault(row[1], {"algorithm": row[1]})
        for name, seconds in WINDOWS.items():
            if row[0] >= end - _whole_minutes(seconds):
                sums["work_" + name] = sums.get("work_" + name, 0.0) + _float(row[2])
                sums["shares_" + name] = sums.get("shares_" + name, 0) + _int(row[3])
    return [_Sums(d) for d in totals.values()]


class _Sums:
    """A row of window sums built in Python (missing sums are 0)."""

    def __init__(self, values):
        self.__dict__.update(values)

    def __getattr__(self, name):
        if name.startswith(("work_", "shares_")):
            return 0
        raise AttributeError(name)


def pool_hashrate(connection, now) -> dict:
    """{window: {"total": h, <algorithm>: h}} for the whole pool."""
    return _hashrate_by_algorithm(_pool_windows(connection, now))


def _active_counts(connection, now):
    since = slot_of(now) - ACTIVE_SECONDS
    row = connection.execute(select(func.count(stats.c.miner_id.distinct()),
                                    func.count(stats.c.worker_id.distinct()))
                             .where(stats.c.slot >= since)).one()
    return _int(row[0]), _int(row[1])


def block_counts(connection) -> dict:
    """{"found", "pending", "mature", "orphaned", "rejected"}: pool blocks by status."""
    by_status = dict(connection.execute(select(blocks.c.status, func.count())
                                        .group_by(blocks.c.status)).all())
    total = sum(by_status.values())
    return {"found": _int(total - by_status.get(REJECTED, 0)),
            "pending": _int(sum(by_status.get(s, 0) for s in PENDING_BLOCK_STATUSES)),
            "mature": _int(by_status.get(MATURE, 0)),
            "orphaned": _int(by_status.get(ORPHANED, 0)),
            "rejected": _int(by_status.get(REJECTED, 0))}


def _paid_out(connection):
    row = connection.execute(select(func.coalesce(func.sum(payouts.c.amount), 0), func.count())
                             .where(payouts.c.status.in_((SENT, CONFIRMED)),
                                    payouts.c.kind == PAYOUT)).one()
    return _int(row[0]), _int(row[1])


def commission_earned(connection, fee_account) -> int:
    """Every non-void credit of the fee account (fees and remainders)."""
    return _int(connection.execute(select(func.sum(credits.c.amount)).where(
        credits.c.account == fee_account, credits.c.status != VOID)).scalar())


def pool_summary(connection, now, fee_account) -> dict:
    rows = _pool_windows(connection, now)
    active_miners_n, active_workers_n = _active_counts(connection, now)
    paid, paid_count = _paid_out(connection)
    last = connection.execute(select(blocks).where(blocks.c.status != REJECTED)
                              .order_by(blocks.c.id.desc()).limit(1)).first()
    return {
        "hashrate": _hashrate_by_algorithm(rows),
        "active_miners": active_miners_n,
        "active_workers": active_workers_n,
        "shares": _share_counts(rows),
        "blocks": block_counts(connection),
        "last_block": None if last is None else _blocks_with_effort(connection, [last])[0],
        "commission_earned": commission_earned(connection, fee_account),
        "total_payouts": paid,
        "payouts_count": paid_count,
        "miners_total": _int(connection.execute(select(func.count()).select_from(miners))
                             .scalar()),
    }


# ------------------------------------------------------------------ series

def hashrate_series(connection, now, span=86400, step=600, address=None, worker=None) -> list:
    """span // step buckets of step seconds, oldest first, the last one holding
    now; each bucket's hashrate is its complete slots' work over their seconds
    ("seconds": how many that is; the current bucket's are fewer)."""
    span, step = int(span), int(step)
    if step <= 0 or step % SLOT_SECONDS or span < step or span // step > MAX_SERIES_POINTS:
        raise ValueError("step must be a positive multiple of %d s, span a multiple of step "
                         "of at most %d points" % (SLOT_SECONDS, MAX_SERIES_POINTS))
    count = span // step
    first = (int(math.floor(now / step)) - count + 1) * step
    end = slot_of(now)
    points = [{"time": float(first + i * step), "hashrate": 0.0, "shares": 0,
               "algorithms": dict.fromkeys(ALGORITHMS, 0.0),
               "seconds": max(0, min(step, end - (first + i * step)))} for i in range(count)]
    where = _owner_filter(connection, address, worker)
    if where is not None:
        rows = connection.execute(
            select(stats.c.slot, stats.c.algorithm, func.sum(stats.c.work).label("work"),
                   func.sum(stats.c.shares).label("shares"))
            .where(stats.c.slot >= first, stats.c.slot < end, *where)
            .group_by(stats.c.slot, stats.c.algorithm)).all()
        for row in rows:
            point = points[(int(row.slot) - first) // step]
            point["shares"] += _int(row.shares)
            rate = _float(row.work) / point["seconds"]
            point["hashrate"] += rate
            if row.algorithm in point["algorithms"]:
                point["algorithms"][row.algorithm] += rate
    return points


def _owner_filter(connection, address, worker):
    """stats conditions for the pool (()), a miner or one of its workers; None
    when the address or the worker is unknown (nothing to count)."""
    if address is None:
        return ()
    miner_id = _miner_id(connection, address)
    if miner_id is None:
        return None
    if worker is None:
        return (stats.c.miner_id == miner_id,)
    worker_id = connection.execute(select(workers.c.id).where(
        workers.c.miner_id == miner_id, workers.c.name == worker)).scalar()
    return None if worker_id is None else (stats.c.worker_id == worker_id,)


# ------------------------------------------------------------------ miners

def active_miners(connection, now, limit=50, offset=0) -> dict:
    """Miners with a share in the last 10 min, by 10 min hashrate (then address).
    The order comes from the 10 min of stats alone; the longer windows and
    last-share times are read for the page's miners only."""
    end = slot_of(now)
    since = end - ACTIVE_SECONDS
    active = (select(stats.c.miner_id,
                     func.sum(case((stats.c.slot < end, stats.c.work), else_=0.0)).label("work"),
                     func.count(stats.c.worker_id.distinct()).label("workers"))
              .where(stats.c.slot >= since).group_by(stats.c.miner_id).subquery())
    total = _int(connection.execute(select(func.count()).select_from(active)).scalar())
    page = connection.execute(
        select(miners.c.id, miners.c.address, active.c.workers)
        .join(miners, miners.c.id == active.c.miner_id)
        .order_by(active.c.work.desc(), miners.c.address)
        .limit(limit).offset(offset)).all()
    ids = [r.id for r in page]
    sums = {r.miner_id: r for r in _windowed(connection, now, (stats.c.miner_id,),
                                             stats.c.miner_id.in_(ids))} if ids else {}
    last = dict(connection.execute(
        select(workers.c.miner_id, func.max(workers.c.last_share_at))
        .where(workers.c.miner_id.in_(ids)).group_by(workers.c.miner_id)).all()) if ids else {}
    listed = []
    for row in page:
        rates = _rates(sums.get(row.id))
        listed.append({"address": row.address, "hashrate": rates["10m"],
                       "hashrate_1h": rates["1h"], "hashrate_24h": rates["24h"],
                       "workers": _int(row.workers), "last_share_at": _opt_float(last.get(row.id))})
    return {"total": total, "miners": listed}


def _rates(row) -> dict:
    """{window: h} from a row of work_<window> sums (None: no work)."""
    return {name: (_float(getattr(row, "work_" + name)) if row is not None else 0.0)
            / _whole_minutes(seconds) for name, seconds in WINDOWS.items()}


def address_known(connection, address) -> bool:
    """Whether the pool has seen a share of this address (a miners row)."""
    return _miner_id(connection, address) is not None


def miner(connection, address, now):
    """Everything a miner's page shows; None for an address the pool never saw."""
    row = connection.execute(select(miners).where(miners.c.address == address)).first()
    if row is None:
        return None
    rows = _windowed(connection, now, (stats.c.algorithm, stats.c.worker_id),
                     stats.c.miner_id == row.id)
    worker_list, worker_total = _workers_of(connection, row.id, now, rows)
    last = connection.execute(select(func.max(workers.c.last_share_at))
                              .where(workers.c.miner_id == row.id)).scalar()
    return {
        "address": address,
        "first_seen": float(row.created_at),
        "last_share_at": _opt_float(last),
        "hashrate": _hashrate_by_algorithm(rows),
        "workers": worker_list,
        "workers_total": worker_total,
        "shares": _share_counts(rows),
        "balances": balances_of(connection, address),
        "blocks_found": _int(connection.execute(
            select(func.count()).select_from(blocks)
            .where(blocks.c.address == address, blocks.c.status != REJECTED)).scalar()),
        "credits": credits_of(connection, address),
        "payouts": payouts_page(connection, HISTORY_ROWS, 0, address)["payouts"],
    }


def _workers_of(connection, miner_id, now, rows):
    """The miner's workers with a share in the last 24 h, busiest first, at
    most MAX_WORKERS of them, and how many there are.  rows: the miner's
    window sums by (algorithm, worker_id)."""
    work, counts = {}, {}
    for r in rows:
        per = work.setdefault(r.worker_id, dict.fromkeys(WINDOWS, 0.0))
        for name in WINDOWS:
            per[name] += _float(getattr(r, "work_" + name))
        counts[r.worker_id] = counts.get(r.worker_id, 0) + _int(r.shares_24h)
    found = connection.execute(select(workers.c.id, workers.c.name, workers.c.last_share_at)
                               .where(workers.c.miner_id == miner_id,
                                      workers.c.last_share_at >= now - WINDOWS["24h"])).all()
    listed = []
    for w in found:
        per = work.get(w.id, dict.fromkeys(WINDOWS, 0.0))
        listed.append({
            "name": w.name,
            "last_share_at": float(w.last_share_at),
            "hashrate": {name: per[name] / _whole_minutes(seconds)
                         for name, seconds in WINDOWS.items()},
            "shares_24h": counts.get(w.id, 0),
        })
    listed.sort(key=lambda w: (-w["hashrate"]["10m"], -w["hashrate"]["24h"], w["name"]))
    return listed[:MAX_WORKERS], len(listed)


def balances_of(connection, account) -> dict:
    """{"immature", "mature" (unpaid balance), "pending" (unfinished payouts),
    "paid" (confirmed payouts)} in base units."""
    immature = connection.execute(
        select(func.sum(credits.c.amount)).select_from(credits)
        .join(blocks, blocks.c.id == credits.c.block_id)
        .where(credits.c.account == account, credits.c.status == CREDIT_IMMATURE,
               blocks.c.status.in_(OPEN_STATUSES))).scalar()
    mature = connection.execute(select(balances.c.amount)
                                .where(balances.c.account == account)).scalar()
    sent = dict(connection.execute(
        select(payouts.c.status, func.sum(payouts.c.amount))
        .where(payouts.c.recipient == account, payouts.c.kind == PAYOUT,
               payouts.c.status.in_(UNFINISHED + (CONFIRMED,)))
        .group_by(payouts.c.status)).all())
    return {"immature": _int(immature), "mature": _int(mature),
            "pending": sum(_int(sent.get(s)) for s in UNFINISHED),
            "paid": _int(sent.get(CONFIRMED))}


def credits_of(connection, account, limit=HISTORY_ROWS) -> list:
    """The account's latest credits, newest first, with their block."""
    query = (select(credits, blocks.c.height, blocks.c.hash, blocks.c.status.label("bstatus"),
                    blocks.c.time)
             .join(blocks, blocks.c.id == credits.c.block_id)
             .where(credits.c.account == account)
             .order_by(credits.c.id.desc()).limit(limit))
    return [{"block_height": r.height, "block_hash": r.hash, "block_status": r.bstatus,
             "kind": r.kind, "amount": int(r.amount), "fee": int(r.fee), "status": r.status,
             "work": float(r.work), "time": float(r.time)}
            for r in connection.execute(query)]


# ------------------------------------------------------------------ blocks

def blocks_page(connection, limit=20, offset=0, status=None) -> dict:
    """Pool blocks newest first (by id: the order they were recorded)."""
    where = () if status is None else (blocks.c.status == status,)
    total = _int(connection.execute(select(func.count()).select_from(blocks).where(*where))
                 .scalar())
    rows = connection.execute(select(blocks).where(*where).order_by(blocks.c.id.desc())
                              .limit(limit).offset(offset)).all()
    return {"total": total, "blocks": _blocks_with_effort(connection, rows)}


def network_work(difficulty) -> float:
    """Expected hashes of a block at node difficulty D: 16 ** floor(D), as a float."""
    return float(16 ** max(0, math.floor(difficulty)))


def _blocks_with_effort(connection, rows):
    if not rows:
        return []
    previous = blocks.alias("previous")
    ids = [r.id for r in rows]
    prev_time = dict(connection.execute(
        select(blocks.c.id, select(func.max(previous.c.time))
               .where(previous.c.status != REJECTED, previous.c.time < blocks.c.time)
               .scalar_subquery())
        .where(blocks.c.id.in_(ids))).all())
    floors = _Floors(connection)
    result = []
    for r in rows:
        work = _round_work(connection, floors, prev_time.get(r.id), float(r.time))
        net = network_work(r.network_difficulty)
        result.append({
            "height": r.height, "hash": r.hash, "algorithm": r.algorithm, "finder": r.address,
            "worker": r.worker, "status": r.status, "reason": r.reason,
            "reward": int(r.reward), "time": float(r.time),
            "confirmations": int(r.confirmations),
            "network_difficulty": float(r.network_difficulty), "network_work": net,
            "work_since_previous": work,
            "effort": None if work is None else work / net,
        })
    return result


class _Floors:
    """The oldest share time, stats slot and first-seen time still stored
    (each read once per page, on demand)."""

    def __init__(self, connection):
        self.connection = connection
        self._cache = {}

    def _get(self, key, query):
        if key not in self._cache:
            self._cache[key] = self.connection.execute(query).scalar()
        return self._cache[key]

    @property
    def share(self):
        return self._get("share", select(func.min(shares.c.time)))

    @property
    def slot(self):
        return self._get("slot", select(func.min(stats.c.slot)))

    @property
    def first_seen(self):
        return self._get("first_seen", select(func.min(miners.c.created_at)))


def _round_work(connection, floors, start, end):
    """Work of the shares with start < time <= end (start None: every share up
    to end), or None when some of them may have been pruned.  The whole
    minutes between come from stats when it still holds them all."""
    oldest = floors.share
    if oldest is None:
        return None
    if start is None:
        first = floors.first_seen
        if first is None or oldest > first:
            return None
        return _shares_work(connection, shares.c.time <= end)
    if oldest > start:
        return None
    lo, hi = slot_of(start) + SLOT_SECONDS, slot_of(end)
    stats_floor = floors.slot
    if lo >= hi or stats_floor is None or stats_floor > lo:
        return _shares_work(connection, shares.c.time > start, shares.c.time <= end)
    middle = connection.execute(select(func.sum(stats.c.work)).where(
        stats.c.slot >= lo, stats.c.slot < hi)).scalar()
    return (_shares_work(connection, shares.c.time > start, shares.c.time < lo)
            + _float(middle)
            + _shares_work(connection, shares.c.time >= hi, shares.c.time <= end))


def _shares_work(connection, *where) -> float:
    """sum(work) of the shares in a time range (ix_shares_time), as a float."""
    return _float(connection.execute(
        select(func.sum(cast(shares.c.work, Float))).where(*where)).scalar())


# ------------------------------------------------------------------ payouts and money

def _payout(row) -> dict:
    return {"id": int(row.id), "recipient": row.recipient, "amount": int(row.amount),
            "network_fee": None if row.network_fee is None else int(row.network_fee),
            "status": row.status, "txid": row.txid, "mined_txid": row.mined_txid,
            "block_height": row.block_height, "created_at": float(row.created_at),
            "sent_at": _opt_float(row.sent_at)}


def payouts_page(connection, limit=20, offset=0, address=None) -> dict:
    """Payouts to miners (consolidations are the pool's own), newest first."""
    where = [payouts.c.kind == PAYOUT]
    if address is not None:
        where.append(payouts.c.recipient == address)
    total = _int(connection.execute(select(func.count()).select_from(payouts).where(*where))
                 .scalar())
    rows = connection.execute(select(payouts).where(*where).order_by(payouts.c.id.desc())
                              .limit(limit).offset(offset))
    return {"total": total, "payouts": [_payout(r) for r in rows]}


def owed(connection) -> dict:
    """What the ledger owes: miners' immature credits and balances, unfinished
    payouts, and the pool's own "@" balances (fees not yet spent on payouts)."""
    immature = connection.execute(
        select(func.sum(credits.c.amount)).select_from(credits)
        .join(blocks, blocks.c.id == credits.c.block_id)
        .where(blocks.c.status.in_(OPEN_STATUSES), credits.c.status == CREDIT_IMMATURE,
               ~_is_internal(credits.c.account))).scalar()
    internal = _is_internal(balances.c.account)
    row = connection.execute(select(
        func.sum(case((internal, 0), else_=balances.c.amount)),
        func.sum(case((internal, balances.c.amount), else_=0)))).one()
    pending = connection.execute(select(func.sum(payouts.c.amount)).where(
        payouts.c.status.in_(UNFINISHED), payouts.c.kind == PAYOUT)).scalar()
    return {"immature": _int(immature), "mature": _int(row[0]), "pending": _int(pending),
            "pool_accounts": _int(row[1])}


# ------------------------------------------------------------------ leaderboard

def leaderboard(connection, now, by="work", window=86400, limit=20) -> list:
    """The top miners of the window by work (= hashrate x seconds) or by pool
    blocks found (not rejected); ties by the other figure, then address."""
    if by not in LEADERBOARD_ORDERS:
        raise ValueError("by must be one of %s" % ", ".join(LEADERBOARD_ORDERS))
    seconds = _whole_minutes(window)
    end = slot_of(now)
    work = (select(miners.c.address, func.sum(stats.c.work).label("work"))
            .join(miners, miners.c.id == stats.c.miner_id)
            .where(stats.c.slot >= end - seconds, stats.c.slot < end)
            .group_by(miners.c.address))
    found = (select(blocks.c.address, func.count().label("blocks"))
             .where(blocks.c.status != REJECTED, blocks.c.time >= now - window,
                    blocks.c.time <= now)
             .group_by(blocks.c.address))
    if by == "blocks":
        top = connection.execute(found.order_by(func.count().desc(), blocks.c.address)
                                 .limit(limit)).all()
        counts = {r.address: int(r.blocks) for r in top}
        works = dict(connection.execute(work.where(miners.c.address.in_(list(counts)))).all())
    else:
        top = connection.execute(work.order_by(func.sum(stats.c.work).desc(), miners.c.address)
                                 .limit(limit)).all()
        works = {r.address: r.work for r in top}
        counts = dict(connection.execute(found.where(blocks.c.address.in_(list(works)))).all())
    names = [r.address for r in top]
    rows = [{"address": a, "work": _float(works.get(a)),
             "hashrate": _float(works.get(a)) / seconds, "blocks": _int(counts.get(a))}
            for a in names]
    key = ((lambda r: (-r["blocks"], -r["work"], r["address"])) if by == "blocks"
           else (lambda r: (-r["work"], -r["blocks"], r["address"])))
    rows.sort(key=key)
    return [dict(row, rank=i + 1) for i, row in enumerate(rows)]


IN_CHAIN = (ACCEPTED, IMMATURE, MATURE)


def live_confirmations(found_blocks, chain_size):
    """Blocks with their confirmations counted from the chain's size now
    (getblockcount): the unlocker stops updating a block once it matured.
    Returns new dicts (the read cache's own stay untouched)."""
    if chain_size is None:
        return found_blocks
    return [dict(b, confirmations=max(b["confirmations"], chain_size - b["height"]))
            if b["status"] in IN_CHAIN else b for b in found_blocks]
