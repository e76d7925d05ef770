"""The web's read model on both engines, against figures computed here from
the records the ledger was filled with (shares through ShareStore, blocks
through the recorder's functions, payouts through payoutstore)."""
import json
import math
from decimal import Decimal
from fractions import Fraction

import pytest
from sqlalchemy import delete, select

from gxcpoold.algorithms import ALGORITHMS
from gxcpoold.ledger import accounts, payoutstore, queries
from gxcpoold.ledger.blocks import RewardPolicy
from gxcpoold.ledger.candidates import write_entry
from gxcpoold.ledger.chainscan import PaymentSeen
from gxcpoold.ledger.schema import balances, blocks, credits, payouts, shares
from gxcpoold.ledger.sharestore import ShareStore, prune_stats
from gxcpoold.ledger.unlocker import mature_block, void_block
from gxcpoold.shares import BlockCandidate
from tests.ledger.factories import WALLET, address, share

T0 = 1_700_000_040.0                   # a minute start
FEE = "@pool-fee"
POLICY = RewardPolicy("pplns", 2.0, Fraction(1, 100), FEE)
GXC = 100_000_000
MONEY = {"amount", "reward", "immature", "mature", "pending", "paid", "pool_accounts",
         "commission_earned", "total_payouts", "network_fee"}


# ------------------------------------------------------------------ filling the ledger

def read(database, fn, *args):
    value = database.run_sync(fn, *args, write=False)
    assert_plain(value)
    return value


def write_shares(database, records):
    database.run_sync(ShareStore().write, records)


def record_block(database, height, time, *, finder=1, difficulty=2.0, outcome="accepted"):
    """A block as the durable recorder writes it: candidate, submitted, outcome."""
    candidate = BlockCandidate(
        time=time, algorithm="gxhash", height=height, hash="%064x" % height,
        previousblockhash="0" * 64, address=address(finder), worker="rig", work=1,
        block={"difficulty": difficulty,
               "transactions": [{"outputs": [{"address": "x", "amount": 50.0}]}]})
    database.run_sync(write_entry, candidate, [("submitted", ""), (outcome, "")], POLICY, time)
    return database.run_sync(lambda c: c.execute(
        select(blocks.c.id).where(blocks.c.height == height)).scalar())


def rows(database, table):
    return database.run_sync(lambda c: c.execute(select(table)).all())


def assert_plain(value, key=None):
    """JSON-safe all the way down: no Decimal, bytes or NaN; money an int."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str)
            assert_plain(v, k)
    elif isinstance(value, list):
        for v in value:
            assert_plain(v, key)
    else:
        assert not isinstance(value, (Decimal, bytes)), (key, value)
        assert value is None or isinstance(value, (str, int, float, bool)), (key, value)
        if isinstance(value, float):
            assert math.isfinite(value), key
        if key in MONEY and value is not None:
            assert type(value) is int, (key, value)
    if key is None:
        json.dumps(value, allow_nan=False)


def rate(records, seconds, end, **match):
    """Expected hashrate: work of the records in [end - seconds, end) / seconds."""
    work = sum(r.work for r in records if end - seconds <= r.time < end
               and all(getattr(r, k) == v for k, v in match.items()))
    return work / seconds


# ------------------------------------------------------------------ empty and unknown

def test_an_empty_database_answers_zeros(database):
    now = T0 + 30
    zeros = {w: dict.fromkeys(("total",) + ALGORITHMS, 0.0) for w in queries.WINDOWS}
    assert read(database, queries.pool_hashrate, now) == zeros
    summary = read(database, queries.pool_summary, now, FEE)
    assert summary == {
        "hashrate": zeros, "active_miners": 0, "active_workers": 0,
        "shares": {"10m": 0, "1h": 0, "24h": 0},
        "blocks": {"found": 0, "pending": 0, "mature": 0, "orphaned": 0, "rejected": 0},
        "last_block": None, "commission_earned": 0, "total_payouts": 0, "payouts_count": 0,
        "miners_total": 0}
    assert read(database, queries.active_miners, now) == {"total": 0, "miners": []}
    assert read(database, queries.miner, address(1), now) is None
    assert read(database, queries.address_known, address(1)) is False
    assert read(database, queries.blocks_page) == {"total": 0, "blocks": []}
    assert read(database, queries.payouts_page) == {"total": 0, "payouts": []}
    assert read(database, queries.owed) == {"immature": 0, "mature": 0, "pending": 0,
                                            "pool_accounts": 0}
    assert read(database, queries.leaderboard, now) == []
    series = read(database, queries.hashrate_series, now)
    assert len(series) == 144 and all(p["hashrate"] == 0.0 and p["shares"] == 0
                                      for p in series)


# ------------------------------------------------------------------ hashrate windows

END = T0 + 86400 + 600                 # the current minute's start in the window tests
NOW = END + 30


def window_records():
    """Shares on each side of every window edge, three algorithms, two miners."""
    made = []
    for t, miner, worker, algorithm, work in (
            (END - 600, 1, "a", "gxhash", 1000),            # first slot of 10 min: in
            (END - 600.5, 1, "a", "gxhash", 2000),          # one slot earlier: 1 h only
            (END - 1, 1, "b", "sha256d", 2 ** 70 + 5),      # last complete slot; > 64 bits
            (END - 30, 2, "", "ethash", 3000),
            (END + 5, 2, "", "ethash", 7000),               # current minute: no hashrate yet
            (END - 3600, 2, "", "gxhash", 400),             # first slot of 1 h
            (END - 3600.25, 2, "", "gxhash", 800),          # 24 h only
            (END - 86400, 1, "a", "gxhash", 50),            # first slot of 24 h
            (END - 86400.5, 1, "a", "gxhash", 60_000),      # outside every window
            (END - 700, 3, "x", "gxhash", 900),             # 3: not active (11+ min ago)
    ):
        made.append(share(time=t, miner=miner, worker=worker, algorithm=algorithm, work=work))
    return made


def test_pool_hashrate_is_the_complete_slots_work_over_each_window(database):
    records = window_records()
    write_shares(database, records)
    got = read(database, queries.pool_hashrate, NOW)
    for name, seconds in queries.WINDOWS.items():
        assert got[name]["total"] == pytest.approx(rate(records, seconds, END))
        for algorithm in ALGORITHMS:
            assert got[name][algorithm] == pytest.approx(
                rate(records, seconds, END, algorithm=algorithm))
    assert got["10m"]["ethash"] == pytest.approx(3000 / 600)
    # the same minute gives the same figures
    assert read(database, queries.pool_hashrate, END + 59.9) == got
    assert read(database, queries.pool_hashrate, queries.minute(NOW)) == got


def test_active_counts_the_current_minute_and_the_ten_before(database):
    records = window_records()
    write_shares(database, records)
    summary = read(database, queries.pool_summary, NOW, FEE)
    assert (summary["active_miners"], summary["active_workers"]) == (2, 3)
    assert summary["miners_total"] == 3
    assert summary["shares"] == {
        name: sum(1 for r in records if END - s <= r.time < END)
        for name, s in queries.WINDOWS.items()}
    assert summary["hashrate"] == read(database, queries.pool_hashrate, NOW)


def test_active_miners_are_ordered_by_10m_hashrate_and_paged(database):
    records = window_records()
    write_shares(database, records)
    page = read(database, queries.active_miners, NOW)
    assert page["total"] == 2
    first, second = page["miners"]
    assert first["address"] == address(1)      # 2**70 of sha256d
    assert first == {"address": address(1),
                     "hashrate": pytest.approx(rate(records, 600, END, address=address(1))),
                     "hashrate_1h": pytest.approx(rate(records, 3600, END, address=address(1))),
                     "hashrate_24h": pytest.approx(rate(records, 86400, END,
                                                        address=address(1))),
                     "workers": 2, "last_share_at": END - 1}
    assert (second["address"], second["workers"], second["last_share_at"]) == (
        address(2), 1, END + 5)
    assert second["hashrate"] == pytest.approx(3000 / 600)
    assert read(database, queries.active_miners, NOW, 1, 1) == {"total": 2,
                                                                "miners": [second]}
    assert read(database, queries.active_miners, NOW, 5, 2) == {"total": 2, "miners": []}


def test_a_miner_page_its_workers_and_windows(database):
    records = window_records()
    write_shares(database, records)
    page = read(database, queries.miner, address(1), NOW)
    mine = [r for r in records if r.address == address(1)]
    assert page["address"] == address(1)
    assert page["first_seen"] == min(r.time for r in mine)
    assert page["last_share_at"] == max(r.time for r in mine)
    for name, seconds in queries.WINDOWS.items():
        assert page["hashrate"][name]["total"] == pytest.approx(rate(mine, seconds, END))
        assert page["hashrate"][name]["sha256d"] == pytest.approx(
            rate(mine, seconds, END, algorithm="sha256d"))
        assert page["shares"][name] == sum(1 for r in mine if END - seconds <= r.time < END)
    assert [w["name"] for w in page["workers"]] == ["b", "a"]      # b: 2**70 in 10 min
    b, a = page["workers"]
    assert a["hashrate"] == {name: pytest.approx(rate(mine, s, END, worker="a"))
                             for name, s in queries.WINDOWS.items()}
    assert (a["shares_24h"], a["last_share_at"]) == (3, END - 600)
    assert (b["shares_24h"], page["workers_total"]) == (1, 2)
    assert page["balances"] == {"immature": 0, "mature": 0, "pending": 0, "paid": 0}
    assert (page["blocks_found"], page["credits"], page["payouts"]) == (0, [], [])
    assert read(database, queries.address_known, address(1)) is True
    assert read(database, queries.miner, address(77), NOW) is None


def test_hashrate_series_buckets_and_their_edges(database):
    records = window_records()
    write_shares(database, records)
    series = read(database, queries.hashrate_series, NOW, 3600, 600)
    last = NOW // 600 * 600                              # buckets start at multiples of step
    assert [p["time"] for p in series] == [last - 600 * (5 - i) for i in range(6)]
    assert [p["seconds"] for p in series] == [600] * 5 + [END - last]
    for point in series:
        start, seconds = point["time"], point["seconds"]
        inside = [r for r in records if start <= r.time < min(start + 600, END)]
        assert point["shares"] == len(inside)
        assert point["hashrate"] == pytest.approx(sum(r.work for r in inside) / seconds)
        assert point["algorithms"]["ethash"] == pytest.approx(
            sum(r.work for r in inside if r.algorithm == "ethash") / seconds)
    assert sum(p["shares"] for p in series) == 5         # not the current minute's
    # a bucket that starts with the current minute covers no second yet
    fresh = read(database, queries.hashrate_series, END + 130, 120, 60)
    assert [(p["time"], p["seconds"], p["shares"]) for p in fresh] == [
        (END + 60, 60, 0), (END + 120, 0, 0)]
    # two minutes on, the current minute's ethash share counts, over the seconds covered
    later = read(database, queries.hashrate_series, END + 130, 1200, 600)
    start = later[-1]["time"]
    assert later[-1]["seconds"] == END + 120 - start
    inside = [r for r in records if start <= r.time < END + 120]
    assert later[-1]["hashrate"] == pytest.approx(sum(r.work for r in inside)
                                                  / later[-1]["seconds"])
    assert any(r.time == END + 5 for r in inside)
    worker = read(database, queries.hashrate_series, NOW, 3600, 600, address(1), "a")
    theirs = [r for r in records if r.address == address(1) and r.worker == "a"
              and worker[0]["time"] <= r.time < END]
    assert sum(p["shares"] for p in worker) == len(theirs) == 2
    assert sum(p["hashrate"] * p["seconds"] for p in worker) == pytest.approx(
        sum(r.work for r in theirs))
    for unknown in ((address(77), None), (address(1), "nobody")):
        assert all(p["shares"] == 0 for p in read(database, queries.hashrate_series, NOW,
                                                  3600, 600, *unknown))
    with pytest.raises(ValueError):
        database.run_sync(queries.hashrate_series, NOW, 3600, 90)


# ------------------------------------------------------------------ blocks and effort

def effort_records():
    """A share every 13 s for 10 min (one exactly at the first block's time)."""
    made = [share(time=T0 + 1 + 13 * i, miner=1 + i % 3, work=100 + 7 * i) for i in range(46)]
    made.append(share(time=T0 + 100, miner=2, work=5000))
    return made


def round_work(records, start, end):
    return float(sum(r.work for r in records
                     if (start is None or r.time > start) and r.time <= end))


def effort_blocks(database):
    record_block(database, 1, T0 + 100, finder=1)                       # D 2
    record_block(database, 2, T0 + 250, finder=2, outcome="rejected")
    record_block(database, 3, T0 + 400, finder=3, difficulty=3.7)       # network work 16**3


def test_effort_is_the_round_work_over_network_work(database):
    records = effort_records()
    write_shares(database, records)
    effort_blocks(database)
    got = read(database, queries.blocks_page)
    assert got["total"] == 3
    third, second, first = got["blocks"]
    assert [b["height"] for b in got["blocks"]] == [3, 2, 1]
    assert third["work_since_previous"] == pytest.approx(round_work(records, T0 + 100, T0 + 400))
    assert third["network_work"] == 4096.0
    assert third["effort"] == pytest.approx(third["work_since_previous"] / 4096)
    assert second["status"] == "rejected"      # its own round still starts at block 1
    assert second["effort"] == pytest.approx(round_work(records, T0 + 100, T0 + 250) / 256)
    assert first["effort"] == pytest.approx(round_work(records, None, T0 + 100) / 256)
    assert first == {
        "height": 1, "hash": "%064x" % 1, "algorithm": "gxhash", "finder": address(1),
        "worker": "rig", "status": "immature", "reason": first["reason"], "reward": 50 * GXC,
        "time": T0 + 100, "confirmations": 0, "network_difficulty": 2.0,
        "network_work": 256.0, "work_since_previous": first["work_since_previous"],
        "effort": first["effort"]}
    # without the minute statistics the same figures come from the shares alone
    database.run_sync(prune_stats, T0 + 10_000)
    assert read(database, queries.blocks_page)["blocks"] == [
        dict(b, work_since_previous=pytest.approx(b["work_since_previous"]),
             effort=pytest.approx(b["effort"])) for b in got["blocks"]]


def test_effort_is_unknown_once_its_round_is_pruned(database):
    write_shares(database, effort_records())
    effort_blocks(database)

    def prune(before):
        database.run_sync(lambda c: c.execute(delete(shares).where(shares.c.time < before)))
        return [b["effort"] for b in read(database, queries.blocks_page)["blocks"]]
    third, second, first = prune(T0 + 50)
    assert first is None and third is not None and second is not None
    assert prune(T0 + 150) == [None, None, None]


def test_blocks_are_paged_newest_first_and_filtered_by_status(database):
    write_shares(database, effort_records())
    effort_blocks(database)
    page = read(database, queries.blocks_page, 2, 0)
    assert (page["total"], [b["height"] for b in page["blocks"]]) == (3, [3, 2])
    page = read(database, queries.blocks_page, 2, 2)
    assert (page["total"], [b["height"] for b in page["blocks"]]) == (3, [1])
    page = read(database, queries.blocks_page, 20, 0, "rejected")
    assert (page["total"], [b["height"] for b in page["blocks"]]) == (1, [2])
    assert read(database, queries.blocks_page, 20, 0, "orphaned") == {"total": 0, "blocks": []}


# ------------------------------------------------------------------ money

class Books:
    """Blocks credited, matured and orphaned, payouts sent and mined: a ledger
    with every kind of money in it."""

    def __init__(self, database):
        self.db = database
        write_shares(database, [share(time=T0 + i, miner=1 + i % 2, work=64) for i in range(20)])
        matured = record_block(database, 1, T0 + 10, finder=1)
        database.run_sync(mature_block, matured, 6, T0 + 20)
        record_block(database, 2, T0 + 20, finder=2)                     # stays immature
        orphan = record_block(database, 3, T0 + 21, finder=1)
        database.run_sync(void_block, orphan, "orphaned", "not in the chain", T0 + 30)
        record_block(database, 4, T0 + 22, finder=2, outcome="rejected")
        self.payout(1, 10 * GXC, confirm=True)
        consolidation = database.run_sync(payoutstore.create_consolidation, WALLET, GXC, 5,
                                          100, "merge")
        database.run_sync(payoutstore.confirm, consolidation.id, self.seen(consolidation, 8),
                          FEE)
        self.payout(2, 5 * GXC, confirm=False)

    def payout(self, miner, amount, confirm):
        row = self.db.run_sync(payoutstore.create_intent, address(miner), 1, 5, 100, amount)
        self.db.run_sync(payoutstore.mark_sent, row.id, "tx%d" % row.id)
        if confirm:
            self.db.run_sync(payoutstore.confirm, row.id, self.seen(row, 7), FEE)

    @staticmethod
    def seen(row, height):
        return PaymentSeen(height, "h%d" % height, "m%d" % row.id, row.recipient, row.amount,
                           1000, "", None)

    def credits(self, **match):
        return [c for c in rows(self.db, credits)
                if all(getattr(c, k) == v for k, v in match.items())]

    def balance(self, account):
        return self.db.run_sync(accounts.balance_of, account)


def test_a_miners_balances_credits_and_payouts(database):
    books = Books(database)
    all_payouts = rows(database, payouts)
    for miner in (1, 2):
        account = address(miner)
        page = read(database, queries.miner, account, T0 + 60)
        mine = [p for p in all_payouts if p.recipient == account and p.kind == "payout"]
        assert page["balances"] == {
            "immature": sum(c.amount for c in books.credits(account=account,
                                                            status="immature")),
            "mature": books.balance(account),
            "pending": sum(p.amount for p in mine if p.status == "sent"),
            "paid": sum(p.amount for p in mine if p.status == "confirmed")}
        assert page["blocks_found"] == 2 if miner == 1 else 1      # rejected ones never
        assert [(c["block_height"], c["status"]) for c in page["credits"]] == [
            (3, "void"), (2, "immature"), (1, "mature")]
        assert [p["id"] for p in page["payouts"]] == [p.id for p in reversed(mine)]
    page = read(database, queries.miner, address(1), T0 + 60)
    assert page["balances"]["immature"] > 0 and page["balances"]["paid"] == 10 * GXC
    credit = page["credits"][0]
    assert (credit["block_status"], credit["kind"], credit["time"]) == ("orphaned", "share",
                                                                         T0 + 21)
    assert read(database, queries.miner, FEE, T0 + 60) is None       # "@" accounts never
    assert read(database, queries.address_known, FEE) is False


def test_owed_splits_miners_from_the_pools_accounts_and_skips_void(database):
    books = Books(database)
    stored = {b.account: b.amount for b in rows(database, balances)}
    owed = read(database, queries.owed)
    assert owed == {
        "immature": sum(c.amount for c in books.credits(status="immature")
                        if not c.account.startswith("@")),
        "mature": sum(v for a, v in stored.items() if not a.startswith("@")),
        "pending": 5 * GXC,
        "pool_accounts": stored[FEE]}
    assert owed["immature"] > 0 and owed["pool_accounts"] != 0
    assert books.credits(status="void")                  # there were some to skip
    assert database.run_sync(accounts.verify_balances) == []


def test_summary_counts_blocks_commission_and_payouts(database):
    books = Books(database)
    summary = read(database, queries.pool_summary, T0 + 60, FEE)
    assert summary["blocks"] == {"found": 3, "pending": 1, "mature": 1, "orphaned": 1,
                                 "rejected": 1}
    assert summary["commission_earned"] == sum(
        c.amount for c in books.credits(account=FEE) if c.status != "void")
    assert summary["commission_earned"] > 0
    assert (summary["total_payouts"], summary["payouts_count"]) == (15 * GXC, 2)
    assert summary["last_block"]["height"] == 3          # the rejected block 4 is not "found"
    assert summary["miners_total"] == 2


def test_payouts_are_miners_only_newest_first_and_paged(database):
    Books(database)
    page = read(database, queries.payouts_page)
    assert page["total"] == 2                            # the consolidation is the pool's
    newest, oldest = page["payouts"]
    assert newest["recipient"] == address(2) and newest["status"] == "sent"
    assert newest["block_height"] is None and newest["network_fee"] is None
    assert isinstance(newest["sent_at"], float)
    assert oldest == {"id": oldest["id"], "recipient": address(1), "amount": 10 * GXC,
                      "network_fee": 1000, "status": "confirmed", "txid": "tx%d" % oldest["id"],
                      "mined_txid": "m%d" % oldest["id"], "block_height": 7,
                      "created_at": oldest["created_at"], "sent_at": oldest["sent_at"]}
    assert read(database, queries.payouts_page, 1, 1)["payouts"] == [oldest]
    assert read(database, queries.payouts_page, 20, 0, address(1))["payouts"] == [oldest]
    assert read(database, queries.payouts_page, 20, 0, address(9)) == {"total": 0,
                                                                       "payouts": []}


# ------------------------------------------------------------------ leaderboard

def test_leaderboard_by_work_hashrate_and_blocks(database):
    now = T0 + 7200 + 10
    end = T0 + 7200
    records = [share(time=end - 100, miner=1, work=900), share(time=end - 200, miner=2, work=400),
               share(time=end - 3600 - 1, miner=3, work=10 ** 6),       # outside 1 h
               share(time=end + 1, miner=4, work=10 ** 6)]               # current minute
    write_shares(database, records)
    for height, finder, when in ((1, 2, end - 50), (2, 2, end - 40), (3, 3, end - 3700),
                                 (4, 5, end - 30)):
        record_block(database, height, when, finder=finder)
    record_block(database, 5, end - 20, finder=1, outcome="rejected")
    by_work = read(database, queries.leaderboard, now, "work", 3600)
    assert by_work == [
        {"rank": 1, "address": address(1), "work": 900.0, "hashrate": 900 / 3600, "blocks": 0},
        {"rank": 2, "address": address(2), "work": 400.0, "hashrate": 400 / 3600, "blocks": 2}]
    assert read(database, queries.leaderboard, now, "hashrate", 3600) == by_work
    assert read(database, queries.leaderboard, now, "work", 3600, 1) == by_work[:1]
    by_blocks = read(database, queries.leaderboard, now, "blocks", 3600)
    assert [(r["rank"], r["address"], r["blocks"], r["work"]) for r in by_blocks] == [
        (1, address(2), 2, 400.0), (2, address(5), 1, 0.0)]
    assert read(database, queries.leaderboard, now, "work", 86400)[0]["address"] == address(3)
    with pytest.raises(ValueError):
        database.run_sync(queries.leaderboard, now, "luck")


def test_live_confirmations_count_from_the_chain_for_blocks_in_it_only():
    from gxcpoold.ledger.queries import live_confirmations
    found = [{"height": 10, "status": "mature", "confirmations": 6},
             {"height": 12, "status": "immature", "confirmations": 1},
             {"height": 13, "status": "orphaned", "confirmations": 0},
             {"height": 14, "status": "submitted", "confirmations": 0}]
    now = live_confirmations(found, 20)
    assert [b["confirmations"] for b in now] == [10, 8, 0, 0]
    assert found[0]["confirmations"] == 6           # the cached dicts are not changed
    assert live_confirmations(found, None) is found
    # a node that went back (restart, reorg) never lowers what the unlocker saw
    assert live_confirmations(found, 11)[0]["confirmations"] == 6
