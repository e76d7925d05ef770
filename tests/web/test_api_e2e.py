"""The JSON API over real HTTP against a pool an end-to-end run filled
(tests/web/filled_pool.py: the real daemon, devnet at D = 1, reference
miners until blocks matured and a payout was mined).

Every figure is checked against the pool's SQLite ledger (read-only, with
SQL written here, not the read model's) and, where the chain knows it,
against the devnet node: block hashes and confirmations, the pool wallet's
balance, each mined payout's transaction in its block and the recipients'
balances.  Then pagination, 400/404/429 answers, and a hostile worker name
(planted in the ledger; Stratum refuses it, also tested) kept inert in the
JSON and on the miner's HTML page.

Figures over time windows come from the per-minute stats table; the read
model counts complete minutes, so an answer is checked against the minute it
was given in: between the work of the complete minutes and that plus the
current minute's.
"""
import http.client
import itertools
import json
import socket
import time
from urllib.parse import quote

import pytest

from gxcpoold.amounts import format_gxc, gxc_to_base_units
from tests.web.filled_pool import (FROZEN_MINIMUM, HOSTILE_WORKER, MINER_A, MINER_B,
                                   PAYOUT_MINIMUM)

pytestmark = pytest.mark.timeout(300)

WINDOWS = {"10m": 600, "1h": 3600, "24h": 86400}
ALGORITHMS = ("sha256d", "ethash", "gxhash")
ENABLED = ["sha256d", "gxhash"]
OPEN_BLOCKS = ("candidate", "submitted", "accepted", "immature")
UNKNOWN_ADDRESS = "tGXC" + "cd" * 17
FEE_ACCOUNT = "@pool-fee"
EPSILON = 1e-6
_client_ips = ("10.%d.%d.%d" % (a, b, c) for a, b, c in itertools.product(
    range(1, 250), range(1, 250), range(1, 250)))


# ---------------------------------------------------------------- HTTP

class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        assert self.headers.get("content-type", "").startswith("application/json"), self.headers
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


def request(pool, path, ip=None, method="GET"):
    """One request on its own connection; X-Forwarded-For (the pool trusts
    loopback as a proxy) makes each a client of its own for the rate limit."""
    connection = http.client.HTTPConnection("127.0.0.1", pool.ports["web"], timeout=30)
    try:
        connection.request(method, path, headers={
            "X-Forwarded-For": ip or next(_client_ips), "Accept": "*/*"})
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return Answer(response.status, headers, response.read())
    finally:
        connection.close()


def get_json(pool, path, status=200):
    answer = request(pool, path)
    assert answer.status == status, (path, answer)
    return answer.json()


def slot_of(t):
    return int(t // 60) * 60


def in_one_minute(fetch):
    """(fetch(), the minute it ran in), retried when it straddled a minute."""
    for _ in range(3):
        before = time.time()
        result = fetch()
        if slot_of(before) == slot_of(time.time()):
            return result, slot_of(before)
    raise AssertionError("three answers each straddled a minute")


# ---------------------------------------------------------------- the ledger's figures

def money_fields_exact(obj, path="$"):
    """Every x_gxc has its int x next to it, and is format_gxc(x) exactly."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key.endswith("_gxc"):
                units = obj[key[:-4]]
                if units is None:
                    assert value is None, (path, key)
                else:
                    assert type(units) is int, ("%s.%s is not an int" % (path, key[:-4]), units)
                    assert value == format_gxc(units), (path, key, value, units)
            money_fields_exact(value, "%s.%s" % (path, key))
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            money_fields_exact(item, "%s[%d]" % (path, i))


def window_work(pool, end, seconds, where="1", *args):
    """(work, shares) by algorithm of the stats slots in [end - W, end) and
    in [end - W, end + 60) (the current minute too)."""
    rows = pool.query("SELECT s.algorithm, s.slot >= ? AS current, SUM(s.work) AS work, "
                      "SUM(s.shares) AS shares FROM stats s JOIN miners m ON m.id = s.miner_id "
                      "JOIN workers w ON w.id = s.worker_id WHERE s.slot >= ? AND %s "
                      "GROUP BY s.algorithm, current" % where, end, end - seconds, *args)
    low = {a: [0.0, 0] for a in ALGORITHMS}
    high = {a: [0.0, 0] for a in ALGORITHMS}
    for row in rows:
        for bound in (high,) if row["current"] else (low, high):
            bound[row["algorithm"]][0] += row["work"]
            bound[row["algorithm"]][1] += row["shares"]
    return low, high


def assert_between(value, low, high, what):
    assert low - EPSILON * max(1.0, abs(low)) <= value <= high + EPSILON * max(1.0, abs(high)), \
        "%s = %r, not within [%r, %r]" % (what, value, low, high)


def check_hashrate(pool, end, hashrate, where="1", *args):
    """A {window: {total, algorithm...}} answer against the stats rows."""
    assert set(hashrate) == set(WINDOWS)
    for name, seconds in WINDOWS.items():
        low, high = window_work(pool, end, seconds, where, *args)
        rates = hashrate[name]
        assert set(rates) == {"total"} | set(ALGORITHMS), rates
        for algorithm in ALGORITHMS:
            assert isinstance(rates[algorithm], float)
            assert_between(rates[algorithm], low[algorithm][0] / seconds,
                           high[algorithm][0] / seconds, "%s %s" % (name, algorithm))
        assert rates["total"] == pytest.approx(sum(rates[a] for a in ALGORITHMS))


def check_shares(pool, end, shares, where="1", *args):
    for name, seconds in WINDOWS.items():
        low, high = window_work(pool, end, seconds, where, *args)
        assert type(shares[name]) is int
        assert_between(shares[name], sum(v[1] for v in low.values()),
                       sum(v[1] for v in high.values()), "shares " + name)


def units(gxc):
    return gxc_to_base_units(gxc, exact=False)


def balance_on_node(pool, address):
    return units(pool.node("getbalance", address))


def confirmed_payouts(pool, address=None):
    sql = "SELECT * FROM payouts WHERE kind = 'payout' AND status = 'confirmed'"
    return pool.query(sql + " AND recipient = ?", address) if address else pool.query(sql)


# ---------------------------------------------------------------- /api/stats

def test_stats_against_the_ledger_and_the_node(filled_pool):
    pool = filled_pool
    stats, end = in_one_minute(lambda: get_json(pool, "/api/stats"))
    money_fields_exact(stats)
    assert stats["pool_name"] == "gxcpool" and stats["network"] == "testnet"
    assert stats["algorithms"] == ENABLED
    assert stats["pool_fee"] == "0.01" and stats["payout_scheme"] == "pplns"

    by_status = {r["status"]: r["n"] for r in pool.query(
        "SELECT status, COUNT(*) AS n FROM blocks GROUP BY status")}
    found = sum(n for s, n in by_status.items() if s != "rejected")
    assert stats["blocks_found"] == found == stats["blocks"]["found"]
    assert stats["blocks"] == {"found": found,
                               "pending": sum(by_status.get(s, 0) for s in OPEN_BLOCKS),
                               "mature": by_status.get("mature", 0),
                               "orphaned": by_status.get("orphaned", 0),
                               "rejected": by_status.get("rejected", 0)}
    assert stats["blocks"]["mature"] >= 3
    last = pool.query("SELECT height, hash FROM blocks WHERE status != 'rejected' "
                      "ORDER BY id DESC LIMIT 1")[0]
    assert (stats["last_block"]["height"], stats["last_block"]["hash"]) == (
        last["height"], last["hash"])

    # commission: the fee account's credits, and what the credited blocks'
    # rewards left after every miner's share
    fee_credits = pool.scalar("SELECT SUM(amount) FROM credits WHERE account = ? "
                              "AND status != 'void'", FEE_ACCOUNT)
    left = pool.scalar(
        "SELECT (SELECT SUM(reward) FROM blocks WHERE credited = 1 AND status NOT IN "
        "('orphaned', 'rejected')) - (SELECT SUM(c.amount) FROM credits c JOIN blocks b "
        "ON b.id = c.block_id WHERE c.account NOT LIKE '@%' AND c.status != 'void' "
        "AND b.status NOT IN ('orphaned', 'rejected'))")
    assert stats["commission_earned"] == fee_credits == left > 0

    # payouts: the ledger's mined payouts, and what the recipients hold on the node
    paid = confirmed_payouts(pool)
    assert paid, "the fill mined a payout"
    assert stats["total_payouts"] == sum(p["amount"] for p in paid)
    assert stats["payouts_count"] == len(paid)
    assert stats["total_payouts"] == sum(balance_on_node(pool, a) for a in (MINER_A, MINER_B))

    assert stats["miners_total"] == pool.scalar("SELECT COUNT(*) FROM miners") == 2
    active = pool.query("SELECT COUNT(DISTINCT miner_id) AS miners, COUNT(DISTINCT worker_id) "
                        "AS workers FROM stats WHERE slot >= ?", end - 600)[0]
    assert (stats["active_miners"], stats["active_workers"]) == (
        active["miners"], active["workers"]) == (2, 4)
    check_hashrate(pool, end, stats["hashrate"])
    check_shares(pool, end, stats["shares"])
    assert stats["total_hash_rate"] == stats["hashrate"]["10m"]["total"] > 0

    count = pool.node("getblockcount")
    assert stats["height"] == count                     # the template's: the next block
    assert stats["network_difficulty"] == 1.0
    assert stats["node_state"] == "connected"


def test_stats_minimum_payout_is_the_running_one(filled_pool):
    """The fill raised [payouts] minimum with a SIGHUP reload (payouts.minimum
    is reloadable): the API shows the minimum the pool pays by now."""
    stats = get_json(filled_pool, "/api/stats")
    running = units(FROZEN_MINIMUM)
    assert stats["minimum_payout"] == running, (
        "minimum_payout is %d (the start-up [payouts] minimum is %d); the running "
        "configuration's, after the SIGHUP reload, is %d"
        % (stats["minimum_payout"], units(PAYOUT_MINIMUM), running))
    assert stats["minimum_payout_gxc"] == format_gxc(running)


# ---------------------------------------------------------------- /api/miners

def test_miners_list_and_pages(filled_pool):
    pool = filled_pool
    page, end = in_one_minute(lambda: get_json(pool, "/api/miners"))
    money_fields_exact(page)
    active = pool.query("SELECT m.address, COUNT(DISTINCT s.worker_id) AS workers FROM stats s "
                        "JOIN miners m ON m.id = s.miner_id WHERE s.slot >= ? "
                        "GROUP BY m.address", end - 600)
    assert page["total"] == len(active) == 2
    assert (page["limit"], page["offset"]) == (50, 0)
    listed = {m["address"]: m for m in page["miners"]}
    assert set(listed) == {MINER_A, MINER_B}
    rates = [m["hashrate"] for m in page["miners"]]
    assert rates == sorted(rates, reverse=True)
    for row in active:
        entry = listed[row["address"]]
        assert entry["workers"] == row["workers"]
        assert entry["last_share_at"] == pytest.approx(pool.scalar(
            "SELECT MAX(w.last_share_at) FROM workers w JOIN miners m ON m.id = w.miner_id "
            "WHERE m.address = ?", row["address"]))
        where = "m.address = ?"
        for key, window in (("hashrate", "10m"), ("hashrate_1h", "1h"),
                            ("hashrate_24h", "24h")):
            low, high = window_work(pool, end, WINDOWS[window], where, row["address"])
            assert_between(entry[key], sum(v[0] for v in low.values()) / WINDOWS[window],
                           sum(v[0] for v in high.values()) / WINDOWS[window],
                           "%s %s" % (row["address"], key))

    first = get_json(pool, "/api/miners?limit=1")
    second = get_json(pool, "/api/miners?limit=1&offset=1")
    beyond = get_json(pool, "/api/miners?limit=1&offset=2")
    assert first["total"] == second["total"] == beyond["total"] == 2
    assert [m["address"] for m in first["miners"] + second["miners"]] == \
        [m["address"] for m in page["miners"]]
    assert beyond["miners"] == [] and beyond["offset"] == 2


@pytest.mark.parametrize("address", [MINER_A, MINER_B])
def test_miner_against_the_ledger_and_the_node(filled_pool, address):
    pool = filled_pool
    miner, end = in_one_minute(lambda: get_json(pool, "/api/miners/" + address))
    money_fields_exact(miner)
    row = pool.query("SELECT * FROM miners WHERE address = ?", address)[0]
    assert miner["address"] == address
    assert miner["first_seen"] == pytest.approx(row["created_at"])
    workers = {w["name"]: w for w in pool.query(
        "SELECT * FROM workers WHERE miner_id = ? AND last_share_at >= ?",
        row["id"], time.time() - 86400)}
    assert {w["name"] for w in miner["workers"]} == set(workers)
    assert miner["workers_total"] == len(workers)
    expected = {"rig1", "cpu2", HOSTILE_WORKER} if address == MINER_A else {"box"}
    assert set(workers) == expected
    assert miner["last_share_at"] == pytest.approx(max(w["last_share_at"]
                                                       for w in workers.values()))
    check_hashrate(pool, end, miner["hashrate"], "s.miner_id = ?", row["id"])
    check_shares(pool, end, miner["shares"], "s.miner_id = ?", row["id"])
    for worker in miner["workers"]:
        stored = workers[worker["name"]]
        assert worker["last_share_at"] == pytest.approx(stored["last_share_at"])
        for name, seconds in WINDOWS.items():
            low, high = window_work(pool, end, seconds, "s.worker_id = ?", stored["id"])
            assert_between(worker["hashrate"][name], sum(v[0] for v in low.values()) / seconds,
                           sum(v[0] for v in high.values()) / seconds,
                           "%s %s" % (worker["name"], name))
        low, high = window_work(pool, end, 86400, "s.worker_id = ?", stored["id"])
        assert_between(worker["shares_24h"], sum(v[1] for v in low.values()),
                       sum(v[1] for v in high.values()), worker["name"] + " shares_24h")

    immature = pool.scalar(
        "SELECT COALESCE(SUM(c.amount), 0) FROM credits c JOIN blocks b ON b.id = c.block_id "
        "WHERE c.account = ? AND c.status = 'immature' AND b.status IN (%s)"
        % ",".join("'%s'" % s for s in OPEN_BLOCKS), address)
    mature = pool.scalar("SELECT amount FROM balances WHERE account = ?", address) or 0
    paid = sum(p["amount"] for p in confirmed_payouts(pool, address))
    assert miner["balances"] == {
        "immature": immature, "immature_gxc": format_gxc(immature),
        "mature": mature, "mature_gxc": format_gxc(mature),
        "pending": 0, "pending_gxc": format_gxc(0),
        "paid": paid, "paid_gxc": format_gxc(paid)}
    # what was paid is what the address holds on the chain (it had nothing else)
    assert paid == balance_on_node(pool, address)
    assert miner["blocks_found"] == pool.scalar(
        "SELECT COUNT(*) FROM blocks WHERE address = ? AND status != 'rejected'", address)

    credits = pool.query("SELECT b.height, b.hash, b.status AS block_status, c.kind, c.amount, "
                         "c.status FROM credits c JOIN blocks b ON b.id = c.block_id "
                         "WHERE c.account = ? ORDER BY c.id DESC LIMIT 50", address)
    assert credits
    assert [(c["block_height"], c["block_hash"], c["block_status"], c["kind"], c["amount"],
             c["status"]) for c in miner["credits"]] == [tuple(c.values()) for c in credits]
    payouts = pool.query("SELECT id, amount, status FROM payouts WHERE recipient = ? "
                         "AND kind = 'payout' ORDER BY id DESC LIMIT 50", address)
    assert [(p["id"], p["amount"], p["status"]) for p in miner["payouts"]] == \
        [tuple(p.values()) for p in payouts]


def test_miner_unknown_is_404_and_malformed_is_400(filled_pool):
    pool = filled_pool
    missing = get_json(pool, "/api/miners/" + UNKNOWN_ADDRESS, status=404)
    assert missing["error"]["status"] == 404 and missing["error"]["message"]
    for bad in ("nonsense", "tGXC" + "zz" * 17, "GXC" + "ab" * 17, "tGXC" + "ab" * 16,
                "x" * 120):
        answer = get_json(pool, "/api/miners/" + bad, status=400)
        assert answer["error"]["status"] == 400 and answer["error"]["message"]


# ---------------------------------------------------------------- /api/blocks

def test_blocks_against_the_ledger_and_the_node(filled_pool):
    pool = filled_pool
    rows = pool.query("SELECT * FROM blocks ORDER BY id DESC")
    page = get_json(pool, "/api/blocks?limit=100")
    money_fields_exact(page)
    assert page["total"] == len(rows) and (page["limit"], page["offset"]) == (100, 0)
    assert len(page["blocks"]) == min(100, len(rows))
    for block, row in zip(page["blocks"], rows):
        assert (block["height"], block["hash"], block["algorithm"], block["finder"],
                block["worker"], block["status"], block["reward"]) == (
            row["height"], row["hash"], row["algorithm"], row["address"], row["worker"],
            row["status"], row["reward"]), (block, row)
        assert block["time"] == pytest.approx(row["time"])
        assert block["network_difficulty"] == 1.0 and block["network_work"] == 16.0
        if block["effort"] is not None:
            assert block["effort"] == pytest.approx(block["work_since_previous"] / 16.0)
        if block["status"] not in ("rejected", "orphaned"):
            assert pool.node("getblockhash", block["height"]) == block["hash"]
            node_block = pool.node("getblock", block["height"])
            assert block["reward"] == units(node_block["reward"])
            assert node_block["miner"] == get_json(pool, "/api/network")["pool_address"]


def test_block_confirmations_follow_the_node(filled_pool):
    pool = filled_pool
    count = pool.node("getblockcount")
    page = get_json(pool, "/api/blocks?limit=100")
    wrong = [(b["height"], b["status"], b["confirmations"], count - b["height"])
             for b in page["blocks"] if b["status"] not in ("rejected", "orphaned")
             and b["confirmations"] != count - b["height"]]
    assert not wrong, ("(height, status, confirmations shown, node count - height) "
                       "where they differ: %s" % wrong)


def test_blocks_pages_and_status_filter(filled_pool):
    pool = filled_pool
    everything = [b["hash"] for b in get_json(pool, "/api/blocks?limit=100")["blocks"]]
    paged, offset = [], 0
    while True:
        page = get_json(pool, "/api/blocks?limit=7&offset=%d" % offset)
        assert page["total"] == pool.scalar("SELECT COUNT(*) FROM blocks")
        if not page["blocks"]:
            break
        assert len(page["blocks"]) <= 7
        paged += [b["hash"] for b in page["blocks"]]
        offset += 7
    assert paged[:100] == everything and len(paged) == page["total"] == len(set(paged))
    for status in ("mature", "immature", "orphaned"):
        page = get_json(pool, "/api/blocks?limit=100&status=" + status)
        assert page["total"] == pool.scalar("SELECT COUNT(*) FROM blocks WHERE status = ?",
                                            status)
        assert {b["status"] for b in page["blocks"]} <= {status}
    assert get_json(pool, "/api/blocks?status=mature")["total"] >= 3


# ---------------------------------------------------------------- /api/payouts

def test_payouts_against_the_ledger_and_the_chain(filled_pool):
    pool = filled_pool
    rows = pool.query("SELECT * FROM payouts WHERE kind = 'payout' ORDER BY id DESC")
    page = get_json(pool, "/api/payouts?limit=100")
    money_fields_exact(page)
    assert page["total"] == len(rows) >= 1
    assert [p["id"] for p in page["payouts"]] == [r["id"] for r in rows][:100]
    for payout, row in zip(page["payouts"], rows):
        for key in ("recipient", "amount", "network_fee", "status", "txid", "mined_txid",
                    "block_height"):
            assert payout[key] == row[key], (key, payout, row)
        assert payout["status"] == "confirmed"          # the fill mined every one it sent
        # the transaction is in the block the ledger names, paying the amount
        block = pool.node("getblock", payout["block_height"])
        assert block["hash"] == row["block_hash"]
        txs = {tx["txid"]: tx for tx in block["tx"]}
        assert payout["mined_txid"] in txs, (payout, list(txs))
        outputs = [(o["address"], units(o["amount"])) for o in txs[payout["mined_txid"]]["outputs"]]
        assert (payout["recipient"], payout["amount"]) in outputs, outputs

    for address in (MINER_A, MINER_B):
        mine = get_json(pool, "/api/payouts?limit=100&address=" + address)
        assert mine["total"] == sum(1 for r in rows if r["recipient"] == address)
        assert {p["recipient"] for p in mine["payouts"]} <= {address}
    one = get_json(pool, "/api/payouts?limit=1")
    assert one["total"] == len(rows) and [p["id"] for p in one["payouts"]] == [rows[0]["id"]]
    assert get_json(pool, "/api/payouts?limit=1&offset=%d" % len(rows))["payouts"] == []
    assert get_json(pool, "/api/payouts?address=" + UNKNOWN_ADDRESS)["total"] == 0


# ---------------------------------------------------------------- /api/pool-balance

def test_pool_balance_against_the_wallet_and_the_ledger(filled_pool):
    pool = filled_pool
    balance = get_json(pool, "/api/pool-balance")
    money_fields_exact(balance)
    address = balance["pool_address"]
    assert address == get_json(pool, "/api/network")["pool_address"]
    assert balance["wallet"] == balance_on_node(pool, address) > 0
    immature = pool.scalar(
        "SELECT COALESCE(SUM(c.amount), 0) FROM credits c JOIN blocks b ON b.id = c.block_id "
        "WHERE c.account NOT LIKE '@%%' AND c.status = 'immature' AND b.status IN (%s)"
        % ",".join("'%s'" % s for s in OPEN_BLOCKS))
    mature = pool.scalar("SELECT COALESCE(SUM(amount), 0) FROM balances "
                         "WHERE account NOT LIKE '@%'")
    internal = pool.scalar("SELECT COALESCE(SUM(amount), 0) FROM balances "
                           "WHERE account LIKE '@%'")
    owed = balance["owed"]
    assert (owed["immature"], owed["mature"], owed["pending"], owed["total"]) == (
        immature, mature, 0, immature + mature)
    assert immature > 0 and mature > 0
    assert balance["pool_accounts"] == internal > 0
    solvent = balance["wallet"] >= mature
    assert balance["solvent"] is solvent
    assert balance["state"] == ("ok" if solvent else "warning")
    assert balance["shortfall"] == max(0, mature - balance["wallet"])


# ---------------------------------------------------------------- /api/leaderboard

def test_leaderboard_by_work_and_hashrate(filled_pool):
    pool = filled_pool
    for by in ("work", "hashrate"):
        board, end = in_one_minute(lambda: get_json(pool, "/api/leaderboard?by=" + by))
        assert board["by"] == by and board["window"] == "24h"
        entries = board["entries"]
        assert [e["rank"] for e in entries] == list(range(1, len(entries) + 1))
        assert [e["work"] for e in entries] == sorted((e["work"] for e in entries),
                                                      reverse=True)
        assert MINER_A in {e["address"] for e in entries}   # its planted worker's minute
        for entry in entries:
            low, high = window_work(pool, end, 86400, "m.address = ?", entry["address"])
            assert_between(entry["work"], sum(v[0] for v in low.values()),
                           sum(v[0] for v in high.values()), entry["address"] + " work")
            assert entry["hashrate"] == pytest.approx(entry["work"] / 86400)
            low, high = blocks_in_window(pool, end, 86400, entry["address"])
            assert_between(entry["blocks"], low, high, entry["address"] + " blocks")


def blocks_in_window(pool, end, seconds, address):
    """Bounds of the blocks an address found in the window ending at the
    answer's "now", somewhere in [end, the time of the answer]: the blocks
    of [end - W + 60, end] are in it whatever now was, those of
    [end - W, now] at most."""
    sql = ("SELECT COUNT(*) FROM blocks WHERE address = ? AND status != 'rejected' "
           "AND time >= ? AND time <= ?")
    return (pool.scalar(sql, address, end - seconds + 60, end),
            pool.scalar(sql, address, end - seconds, time.time()))


def test_leaderboard_by_blocks(filled_pool):
    pool = filled_pool
    board, end = in_one_minute(
        lambda: get_json(pool, "/api/leaderboard?by=blocks&window=1h&limit=5"))
    assert board["by"] == "blocks" and board["window"] == "1h"
    entries = {e["address"]: e for e in board["entries"]}
    counts = [e["blocks"] for e in board["entries"]]
    assert counts == sorted(counts, reverse=True) and all(counts)
    for address in (MINER_A, MINER_B):
        low, high = blocks_in_window(pool, end, 3600, address)
        shown = entries[address]["blocks"] if address in entries else 0
        assert_between(shown, low, high, address + " blocks")


# ---------------------------------------------------------------- /api/network, /api/health

def test_network_against_the_node(filled_pool):
    pool = filled_pool
    network = get_json(pool, "/api/network")
    money_fields_exact(network)
    count = pool.node("getblockcount")
    assert network["network"] == "testnet"
    assert (network["height"], network["tip_height"]) == (count, count - 1)
    assert network["previous_block_hash"] == pool.node("getblockhash", count - 1) \
        == pool.node("getbestblockhash")
    assert network["difficulty"] == 1.0 and network["network_work"] == 16.0
    template = pool.node("getblocktemplate", {"minerAddress": network["pool_address"]})
    assert template["height"] == count
    assert network["reward"] == template["coinbasevalue"]      # base units (an int)
    assert network["node"]["state"] == "connected" and network["node"]["height"] == count


def test_health(filled_pool):
    pool = filled_pool
    health = get_json(pool, "/api/health")
    assert health["status"] == "ok" and health["problems"] == []
    assert health["node"]["state"] == "connected"
    assert health["database"]["ok"] is True
    assert health["payouts"] == {"halted": False, "reason": None}
    ports = {p["algorithm"]: p for p in health["stratum"]}
    assert set(ports) == set(ENABLED)
    for name in ENABLED:
        assert ports[name]["listening"] is True and ports[name]["port"] == pool.ports[name]
        assert ports[name]["connections"] == 0            # the miners stopped


def test_openapi_document_lists_every_endpoint(filled_pool):
    document = get_json(filled_pool, "/api/openapi.json")
    assert document["openapi"].startswith("3.")
    for path in ("/api/stats", "/api/miners", "/api/miners/{address}", "/api/blocks",
                 "/api/payouts", "/api/pool-balance", "/api/leaderboard", "/api/network",
                 "/api/health"):
        assert "get" in document["paths"][path], path


# ---------------------------------------------------------------- refusals

@pytest.mark.parametrize("path", [
    "/api/miners?limit=0", "/api/miners?limit=abc", "/api/miners?limit=100000",
    "/api/miners?offset=-1", "/api/miners?limit=1&limit=2", "/api/miners?limit=",
    "/api/blocks?status=bogus", "/api/blocks?limit=1.5", "/api/payouts?address=nonsense",
    "/api/payouts?limit=-3", "/api/leaderboard?by=luck", "/api/leaderboard?window=1y",
    "/api/leaderboard?limit=0",
])
def test_bad_parameters_are_400_json(filled_pool, path):
    answer = request(filled_pool, path)
    assert answer.status == 400, (path, answer)
    error = answer.json()["error"]
    assert error["status"] == 400 and isinstance(error["message"], str) and error["message"]


def test_unknown_path_is_404_json(filled_pool):
    answer = request(filled_pool, "/api/no-such-thing")
    assert answer.status == 404 and answer.json()["error"]["status"] == 404


def test_rate_limit_is_429_per_client(filled_pool):
    pool = filled_pool
    client = "198.51.100.%d" % (int(time.time()) % 200 + 1)
    statuses = []
    for _ in range(400):
        answer = request(pool, "/api/health", ip=client)
        statuses.append(answer.status)
        if answer.status == 429:
            break
    assert statuses[-1] == 429, "no 429 in %d requests" % len(statuses)
    assert statuses.count(200) >= 10                     # a burst is allowed first
    assert int(answer.headers["retry-after"]) >= 1
    assert answer.json()["error"]["status"] == 429
    assert request(pool, "/api/health").status == 200   # another client is served


# ---------------------------------------------------------------- the hostile worker name

def test_stratum_refuses_the_hostile_worker_name(filled_pool):
    pool = filled_pool
    with socket.create_connection(("127.0.0.1", pool.ports["sha256d"]), timeout=10) as s:
        reader = s.makefile("rb")
        s.sendall(b'{"id":1,"method":"mining.subscribe","params":["e2e"]}\n')
        s.sendall(json.dumps({"id": 2, "method": "mining.authorize",
                              "params": [MINER_A + "." + HOSTILE_WORKER, "x"]}).encode() + b"\n")
        answer = None
        for line in reader:
            message = json.loads(line)
            if message.get("id") == 2:
                answer = message
                break
    assert answer is not None, "the connection closed without an answer"
    assert answer.get("result") is not True and answer.get("error"), answer
    assert "worker name" in json.dumps(answer["error"]), answer
    assert pool.scalar("SELECT COUNT(*) FROM workers WHERE name = ?", HOSTILE_WORKER) == 1


def test_hostile_worker_name_inert_in_json(filled_pool):
    answer = request(filled_pool, "/api/miners/" + MINER_A)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert b"<" not in answer.body and b">" not in answer.body, \
        "raw angle brackets in the JSON: %r" % answer.body[:200]
    assert HOSTILE_WORKER in {w["name"] for w in answer.json()["workers"]}   # exact text back


def test_hostile_worker_name_inert_in_the_miner_page(filled_pool):
    answer = request(filled_pool, "/miners/" + MINER_A)
    assert answer.status == 200, answer
    assert answer.headers["content-type"].startswith("text/html")
    page = answer.body.decode("utf-8")
    assert HOSTILE_WORKER not in page and "<script>alert" not in page
    assert "&lt;script&gt;alert(" in page, "the name is not on the page, escaped"
    # the only script elements are the page's own files (the CSP forbids inline ones)
    for tag in page.split("<script")[1:]:
        assert tag.lstrip().startswith("src=") or " src=" in tag.split(">")[0], tag[:80]


@pytest.mark.parametrize("path, statuses", [
    ("/api/miners/" + quote("<img src=x onerror=alert(1)>", safe=""), (400,)),
    ("/api/payouts?address=" + quote("<img src=x onerror=alert(1)>", safe=""), (400,)),
    ("/api/payouts?address=" + quote("<script>alert(1)</script>", safe=""), (400,)),
    # an encoded "/" makes it a path no route has: 404 is right too
    ("/api/miners/" + quote("<script>alert(1)</script>", safe=""), (400, 404)),
])
def test_hostile_address_is_not_echoed(filled_pool, path, statuses):
    answer = request(filled_pool, path)
    assert answer.status in statuses, (path, answer)
    assert answer.json()["error"]["status"] == answer.status
    assert b"<" not in answer.body and b"alert(1)" not in answer.body, answer


# ---------------------------------------------------------------- last: the pool's log

def test_zz_pool_logged_no_traceback(filled_pool):
    """After every request above: no traceback, error or critical line."""
    counts = filled_pool.pool.pool.counts
    assert counts == {"tracebacks": 0, "critical": 0, "errors": 0}, (
        counts, filled_pool.log_tail())
