"""The JSON API over real HTTP, against a ledger filled through the ledger's own code.

Each endpoint's figures are checked against the rows the test created (read
back with plain SQL, not through the read model), and the error cases:
pagination edges, 400 for every kind of bad parameter, 404, 429, security
headers, JSON errors without tracebacks, and a hostile worker name that
comes back as inert text.
"""
import json
import math
import socket
import time
from collections import Counter

from sqlalchemy import func, select
from twisted.internet import defer
from twisted.internet.threads import deferToThread
from twisted.trial import unittest

from gxcpoold.amounts import format_gxc
from gxcpoold.ledger.db import ReadDatabase
from gxcpoold.ledger.schema import balances, credits, miners, payouts, shares, workers
from gxcpoold.web import api
from gxcpoold.web.openapi import document_for
from tests.waiting import wait_for
from tests.web.webpool import WebPool, address

A, B, C = address(1), address(2), address(3)
UNKNOWN = address(99)
HOSTILE = "<script>alert(1)</script>"
QUOTED = "rig \"two\" 'quoted' & </b>"
FEE_ACCOUNT = "@pool-fee"
ONE_GXC = 100_000_000


# ------------------------------------------------------------ the scenario

async def fill(pool):
    """Three miners, five blocks (one of each outcome), two payouts."""
    for age in (100, 200, 300, 400):
        pool.add_share(A, worker="rig1", algorithm="sha256d", work=250_000, age=age)
    for age in (1800, 1900):
        pool.add_share(A, worker="rig2", algorithm="gxhash", work=50_000, age=age)
    for age in (150, 250, 350):
        pool.add_share(B, worker=HOSTILE, algorithm="sha256d", work=10_000, age=age)
    pool.add_share(B, worker=QUOTED, algorithm="ethash", work=20_000, age=300)
    pool.add_share(C, worker="old", algorithm="sha256d", work=7_000, age=7200)
    blocks = {}
    # blocks 90 s old: in the read model's figures, which run to the last whole minute
    blocks["rejected"] = await pool.add_block(C, status="rejected", reason="bad proof", age=90)
    blocks["mature"] = await pool.add_block(A, status="mature", confirmations=12, age=90)
    blocks["orphaned"] = await pool.add_block(B, status="orphaned", age=90)
    blocks["immature"] = await pool.add_block(A, status="immature", confirmations=3, age=90)
    blocks["candidate"] = await pool.add_block(B, status="candidate", worker=HOSTILE, age=90)
    await pool.pay(A, ONE_GXC, status="confirmed", network_fee=12_345)
    await pool.pay(B, status="sent")
    return blocks


def slot(t):
    return math.floor(t / 60) * 60


def share_rows(connection):
    return connection.execute(
        select(shares.c.time, shares.c.algorithm, shares.c.work, miners.c.address,
               workers.c.name)
        .join(miners, miners.c.id == shares.c.miner_id)
        .join(workers, workers.c.id == shares.c.worker_id)).all()


def money_fields_exact(test, value, where="answer"):
    """Every amount x next to x_gxc is an int and x_gxc its exact text."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            money_fields_exact(test, item, "%s[%d]" % (where, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_gxc"):
                units = value[key[:-4]]
                if units is None:
                    test.assertIsNone(item, where + "." + key)
                else:
                    test.assertIs(type(units), int, where + "." + key[:-4])
                    test.assertEqual(item, format_gxc(units), where + "." + key)
            else:
                money_fields_exact(test, item, where + "." + key)


class ApiTestCase(unittest.TestCase):
    async def filled_pool(self, **kw):
        self.pool = await WebPool.start(self, **kw)
        self.blocks = await fill(self.pool)
        self.rows = self.pool.query(share_rows)
        return self.pool

    def expected_windows(self, now, rows=None, **where):
        """(work per window, shares per window) of the share rows matching where."""
        rows = [r for r in (self.rows if rows is None else rows)
                if all(getattr(r, k) == v for k, v in where.items())]
        end = slot(now)
        work, count = {}, {}
        for name, seconds in (("10m", 600), ("1h", 3600), ("24h", 86400)):
            inside = [r for r in rows if end - seconds <= slot(r.time) < end]
            work[name] = sum(int(r.work) for r in inside) / seconds
            count[name] = len(inside)
        return work, count


# ------------------------------------------------------------ figures

class Figures(ApiTestCase):
    async def test_stats_against_the_ledger(self):
        pool = await self.filled_pool()
        stats = await pool.get_json("/api/stats")
        money_fields_exact(self, stats)
        rates, counts = self.expected_windows(stats["time"])
        self.assertAlmostEqual(stats["total_hash_rate"], rates["10m"])
        for window in ("10m", "1h", "24h"):
            self.assertAlmostEqual(stats["hashrate"][window]["total"], rates[window])
            for algorithm in ("sha256d", "ethash", "gxhash"):
                self.assertAlmostEqual(stats["hashrate"][window][algorithm],
                                       self.expected_windows(stats["time"],
                                                             algorithm=algorithm)[0][window])
        self.assertEqual(stats["shares"], counts)
        self.assertGreater(stats["hashrate"]["1h"]["gxhash"], 0)
        self.assertEqual(stats["hashrate"]["10m"]["gxhash"], 0)
        self.assertEqual(stats["active_miners"], 2)           # C's only share is 2 h old
        self.assertEqual(stats["active_workers"], 3)          # rig2's are 30 min old
        self.assertEqual(stats["miners_total"], 3)
        self.assertEqual(stats["blocks"], {"found": 4, "pending": 2, "mature": 1,
                                           "orphaned": 1, "rejected": 1})
        self.assertEqual(stats["blocks_found"], 4)
        height, block_hash = self.blocks["candidate"]
        self.assertEqual((stats["last_block"]["height"], stats["last_block"]["hash"]),
                         (height, block_hash))
        self.assertEqual(stats["last_block"]["worker"], HOSTILE)

        def fees(connection):
            return int(connection.execute(select(func.sum(credits.c.amount)).where(
                credits.c.account == FEE_ACCOUNT, credits.c.status != "void")).scalar())

        def paid(connection):
            return connection.execute(select(func.sum(payouts.c.amount), func.count()).where(
                payouts.c.status.in_(("sent", "confirmed")))).one()
        self.assertEqual(stats["commission_earned"], pool.query(fees))
        self.assertGreater(stats["commission_earned"], 0)
        total, count = pool.query(paid)
        self.assertEqual((stats["total_payouts"], stats["payouts_count"]), (int(total), count))
        self.assertEqual(count, 2)
        self.assertEqual(stats["pool_fee"], "0.01")
        self.assertEqual((stats["minimum_payout"], stats["minimum_payout_gxc"]),
                         (10_000_000, "0.10000000"))
        self.assertEqual(stats["payout_scheme"], "pplns")
        self.assertEqual((stats["pool_name"], stats["network"]), ("gxcpool", "testnet"))
        self.assertEqual(stats["algorithms"], ["sha256d", "ethash", "gxhash"])
        template = pool.node.current_template
        self.assertEqual((stats["height"], stats["network_difficulty"], stats["node_state"]),
                         (template.height, template.difficulty, "connected"))

    async def test_miners_page_and_pagination(self):
        pool = await self.filled_pool()
        page = await pool.get_json("/api/miners")
        self.assertEqual((page["total"], page["limit"], page["offset"]), (2, 50, 0))
        self.assertEqual([m["address"] for m in page["miners"]], [A, B])   # by 10 min hashrate
        now = (await pool.get_json("/api/stats"))["time"]
        for entry in page["miners"]:
            rates, _ = self.expected_windows(now, address=entry["address"])
            self.assertAlmostEqual(entry["hashrate"], rates["10m"])
            self.assertAlmostEqual(entry["hashrate_1h"], rates["1h"])
            self.assertAlmostEqual(entry["hashrate_24h"], rates["24h"])
            self.assertEqual(entry["last_share_at"],
                             max(r.time for r in self.rows if r.address == entry["address"]))
        self.assertEqual([m["workers"] for m in page["miners"]], [1, 2])
        pages = [await pool.get_json("/api/miners?limit=1&offset=%d" % i) for i in range(3)]
        self.assertEqual([[m["address"] for m in p["miners"]] for p in pages], [[A], [B], []])
        self.assertEqual({p["total"] for p in pages}, {2})

    async def test_one_miner_against_the_ledger(self):
        pool = await self.filled_pool()
        found = await pool.get_json("/api/miners/" + A)
        money_fields_exact(self, found)
        now = (await pool.get_json("/api/stats"))["time"]
        rates, counts = self.expected_windows(now, address=A)
        self.assertAlmostEqual(found["hashrate"]["10m"]["total"], rates["10m"])
        self.assertAlmostEqual(found["hashrate"]["1h"]["gxhash"],
                               self.expected_windows(now, address=A, algorithm="gxhash")[0]["1h"])
        self.assertEqual(found["shares"], counts)
        self.assertEqual(found["first_seen"], min(r.time for r in self.rows if r.address == A))
        self.assertEqual([w["name"] for w in found["workers"]], ["rig1", "rig2"])
        self.assertEqual(found["workers_total"], 2)
        rig1 = found["workers"][0]
        self.assertAlmostEqual(rig1["hashrate"]["10m"],
                               self.expected_windows(now, name="rig1")[0]["10m"])
        self.assertEqual(rig1["shares_24h"], 4)
        self.assertEqual(found["blocks_found"], 2)

        def ledger(connection):
            balance = connection.execute(select(balances.c.amount)
                                         .where(balances.c.account == A)).scalar()
            rows = connection.execute(select(credits.c.amount, credits.c.status)
                                      .where(credits.c.account == A)).all()
            return int(balance), rows
        balance, credit_rows = pool.query(ledger)
        immature = sum(r.amount for r in credit_rows if r.status == "immature")
        self.assertEqual(found["balances"]["mature"], balance)
        self.assertEqual(found["balances"]["immature"], immature)
        self.assertEqual(found["balances"]["paid"], ONE_GXC)
        self.assertEqual(found["balances"]["pending"], 0)
        self.assertEqual(Counter(c["status"] for c in found["credits"]),
                         Counter(r.status for r in credit_rows))
        self.assertEqual({c["block_height"] for c in found["credits"]},
                         {self.blocks[s][0] for s in ("mature", "orphaned", "immature")})
        self.assertEqual([(p["amount"], p["status"], p["network_fee"]) for p in found["payouts"]],
                         [(ONE_GXC, "confirmed", 12_345)])
        self.assertIsNotNone(found["payouts"][0]["mined_txid"])

        other = await pool.get_json("/api/miners/" + B)
        self.assertEqual(other["balances"]["mature"], 0)          # all of it is being paid
        self.assertEqual(other["balances"]["pending"], other["payouts"][0]["amount"])
        self.assertEqual(other["payouts"][0]["status"], "sent")

    async def test_blocks_pages_and_status(self):
        pool = await self.filled_pool()
        page = await pool.get_json("/api/blocks")
        money_fields_exact(self, page)
        self.assertEqual(page["total"], 5)
        order = ["candidate", "immature", "orphaned", "mature", "rejected"]   # newest first
        self.assertEqual([(b["height"], b["hash"]) for b in page["blocks"]],
                         [self.blocks[s] for s in order])
        self.assertEqual([b["status"] for b in page["blocks"]], order)
        by_status = {b["status"]: b for b in page["blocks"]}
        # blocks in the chain count their confirmations from the node's height now
        # (the unlocker's stored figure stops at maturity), never below the stored one
        chain_size = pool.node.current_template.height
        self.assertEqual(by_status["mature"]["confirmations"],
                         max(12, chain_size - self.blocks["mature"][0]))
        self.assertEqual(by_status["immature"]["confirmations"],
                         max(3, chain_size - self.blocks["immature"][0]))
        self.assertEqual(by_status["orphaned"]["confirmations"], 0)
        self.assertEqual(by_status["rejected"]["reason"], "bad proof")
        self.assertEqual(by_status["mature"]["finder"], A)
        self.assertEqual(by_status["mature"]["reward"], 5_000_000_000)
        self.assertEqual(by_status["mature"]["network_work"], 16.0 ** 6)
        walked = []
        for offset in (0, 2, 4):
            part = await pool.get_json("/api/blocks?limit=2&offset=%d" % offset)
            self.assertEqual((part["total"], part["limit"], part["offset"]), (5, 2, offset))
            walked += part["blocks"]
        self.assertEqual([len(x) for x in (walked[:2], walked[2:4], walked[4:])], [2, 2, 1])
        self.assertEqual(walked, page["blocks"])
        for offset in (5, 1_000_000):
            beyond = await pool.get_json("/api/blocks?offset=%d" % offset)
            self.assertEqual((beyond["blocks"], beyond["total"]), ([], 5))
        mature = await pool.get_json("/api/blocks?status=mature")
        self.assertEqual((mature["total"], [b["status"] for b in mature["blocks"]]),
                         (1, ["mature"]))
        none = await pool.get_json("/api/blocks?status=submitted")
        self.assertEqual((none["total"], none["blocks"]), (0, []))

    async def test_payouts_pages_and_address(self):
        pool = await self.filled_pool()
        page = await pool.get_json("/api/payouts")
        money_fields_exact(self, page)
        self.assertEqual(page["total"], 2)
        self.assertEqual([(p["recipient"], p["status"]) for p in page["payouts"]],
                         [(B, "sent"), (A, "confirmed")])
        self.assertIsNone(page["payouts"][0]["network_fee"])
        self.assertIsNone(page["payouts"][0]["network_fee_gxc"])
        self.assertIsNotNone(page["payouts"][0]["txid"])
        mine = await pool.get_json("/api/payouts?address=" + A)
        self.assertEqual([p["recipient"] for p in mine["payouts"]], [A])
        self.assertEqual(mine["total"], 1)
        nobody = await pool.get_json("/api/payouts?address=" + UNKNOWN)
        self.assertEqual((nobody["total"], nobody["payouts"]), (0, []))
        second = await pool.get_json("/api/payouts?limit=1&offset=1")
        self.assertEqual([p["recipient"] for p in second["payouts"]], [A])

    async def test_leaderboard(self):
        pool = await self.filled_pool()
        board = await pool.get_json("/api/leaderboard")
        self.assertEqual((board["by"], board["window"]), ("work", "24h"))
        self.assertEqual([(e["rank"], e["address"]) for e in board["entries"]],
                         [(1, A), (2, B), (3, C)])
        now = (await pool.get_json("/api/stats"))["time"]
        work = self.expected_windows(now, address=A)[0]["24h"] * 86400
        self.assertAlmostEqual(board["entries"][0]["work"], work)
        self.assertAlmostEqual(board["entries"][0]["hashrate"], work / 86400)
        self.assertEqual(board["entries"][0]["blocks"], 2)
        by_blocks = await pool.get_json("/api/leaderboard?by=blocks&limit=1")
        self.assertEqual([(e["address"], e["blocks"]) for e in by_blocks["entries"]], [(A, 2)])
        recent = await pool.get_json("/api/leaderboard?window=10m&by=hashrate")
        self.assertEqual([e["address"] for e in recent["entries"]], [A, B])
        self.assertEqual(recent["window"], "10m")

    async def test_network_from_the_template_and_the_node(self):
        pool = await self.filled_pool()
        net = await pool.get_json("/api/network")
        template = pool.node.current_template
        self.assertEqual((net["height"], net["tip_height"], net["difficulty"],
                          net["required_zeros"], net["network_work"], net["reward"],
                          net["reward_gxc"], net["previous_block_hash"], net["template_time"]),
                         (template.height, template.height - 1, template.difficulty, 4,
                          65536.0, template.coinbasevalue, format_gxc(template.coinbasevalue),
                          template.previousblockhash, template.curtime))
        self.assertEqual(net["node"]["state"], "connected")
        self.assertEqual(net["pool_address"], pool.node.pool_address)
        pool.node.go_down("connection refused")
        down = await pool.get_json("/api/network")
        self.assertIsNone(down["height"])
        self.assertIsNone(down["reward_gxc"])
        self.assertEqual(down["node"]["state"], "down")
        self.assertEqual(down["node"]["consecutive_failures"], 3)
        self.assertEqual((await pool.get_json("/api/stats"))["node_state"], "down")


# ------------------------------------------------------------ solvency

class PoolBalance(ApiTestCase):
    def setUp(self):
        self.patch(api, "BALANCE_TTL", 0.0)         # ask the node every time
        self.patch(api, "BALANCE_TIMEOUT", 0.3)

    def owed(self, connection):
        internal = balances.c.account.startswith("@")
        mature = connection.execute(select(func.sum(balances.c.amount)).where(~internal)).scalar()
        pool_accounts = connection.execute(select(func.sum(balances.c.amount))
                                           .where(internal)).scalar()
        from gxcpoold.ledger.schema import blocks
        immature = connection.execute(
            select(func.sum(credits.c.amount)).join(blocks, blocks.c.id == credits.c.block_id)
            .where(credits.c.status == "immature", ~credits.c.account.startswith("@"),
                   blocks.c.status == "immature")).scalar()
        pending = connection.execute(select(func.sum(payouts.c.amount)).where(
            payouts.c.status.in_(("pending", "sent", "unknown")))).scalar()
        return {"immature": int(immature), "mature": int(mature), "pending": int(pending),
                "pool_accounts": int(pool_accounts)}

    async def test_wallet_against_what_is_owed(self):
        pool = await self.filled_pool()
        owed = pool.query(self.owed)
        self.assertGreater(owed["mature"], 0)
        pool.node.client.balance = owed["mature"] + 7
        answer = await pool.get_json("/api/pool-balance")
        money_fields_exact(self, answer)
        self.assertEqual(answer["owed"]["mature"], owed["mature"])
        self.assertEqual(answer["owed"]["immature"], owed["immature"])
        self.assertEqual(answer["owed"]["pending"], owed["pending"])
        self.assertEqual(answer["owed"]["total"], owed["mature"] + owed["immature"])
        self.assertEqual(answer["pool_accounts"], owed["pool_accounts"])
        self.assertEqual((answer["wallet"], answer["state"], answer["solvent"],
                          answer["shortfall"], answer["reason"]),
                         (owed["mature"] + 7, "ok", True, 0, ""))
        self.assertEqual(pool.node.client.calls, [pool.node.pool_address])

        pool.node.client.balance = owed["mature"] - 1
        short = await pool.get_json("/api/pool-balance")
        self.assertEqual((short["state"], short["solvent"], short["shortfall"],
                          short["shortfall_gxc"]), ("warning", False, 1, "0.00000001"))
        self.assertIn("less than", short["reason"])

    async def test_node_failure_is_unknown_never_an_error(self):
        pool = await self.filled_pool()
        pool.node.client.error = "wallet locked"
        failed = await pool.get_json("/api/pool-balance")
        self.assertEqual((failed["state"], failed["solvent"], failed["wallet"],
                          failed["wallet_gxc"], failed["shortfall"]),
                         ("unknown", None, None, None, None))
        self.assertIn("getbalance", failed["reason"])
        self.assertGreater(failed["owed"]["mature"], 0)      # the ledger's side still shown

        pool.node.client.error = None
        pool.node.client.hang = True
        hung = await pool.get_json("/api/pool-balance")
        self.assertEqual((hung["state"], hung["wallet"]), ("unknown", None))
        self.assertIn("TimeoutError", hung["reason"])

        pool.node.client.hang = False
        asked = len(pool.node.client.calls)
        pool.node.go_down("connection refused")
        down = await pool.get_json("/api/pool-balance")
        self.assertEqual(down["state"], "unknown")
        self.assertIn("node is down", down["reason"])
        self.assertEqual(len(pool.node.client.calls), asked)    # a down node is not asked

    async def test_the_node_is_asked_once_for_many_requests(self):
        self.patch(api, "BALANCE_TTL", 60.0)
        pool = await self.filled_pool()
        pool.node.client.balance = 10 * ONE_GXC
        answers = await defer.gatherResults([pool.get("/api/pool-balance") for _ in range(8)])
        self.assertEqual({a.status for a in answers}, {200})
        self.assertEqual({a.json()["wallet"] for a in answers}, {10 * ONE_GXC})
        self.assertEqual(len(pool.node.client.calls), 1)


# ------------------------------------------------------------ health

class Health(ApiTestCase):
    async def test_ok_with_listeners_connections_and_dag(self):
        pool = await self.filled_pool()
        port = pool.ports["sha256d"].port.getHost().port
        sockets = await deferToThread(lambda: [socket.create_connection(("127.0.0.1", port))
                                               for _ in range(2)])
        self.addCleanup(lambda: [s.close() for s in sockets])
        await wait_for(lambda: len(pool.ports["sha256d"].sessions) == 2, "two sessions")
        health = await pool.get_json("/api/health")
        self.assertEqual((health["status"], health["problems"]), ("ok", []))
        self.assertTrue(health["database"]["ok"])
        self.assertEqual(health["node"]["state"], "connected")
        listeners = {p["algorithm"]: p for p in health["stratum"]}
        self.assertEqual(list(listeners), ["sha256d", "ethash", "gxhash"])
        self.assertEqual(listeners["sha256d"]["connections"], 2)
        self.assertEqual(listeners["sha256d"]["port"], port)
        self.assertTrue(all(p["listening"] for p in health["stratum"]))
        self.assertEqual(listeners["ethash"]["dag"]["dag_mode"], "light")
        self.assertIsNone(listeners["sha256d"]["dag"])
        self.assertEqual(listeners["gxhash"]["verify"]["threads"], 1)
        self.assertEqual(health["shares"]["written"], len(self.rows))
        self.assertEqual(health["payouts"], {"halted": False, "reason": None})

    async def test_halted_payouts_warn_but_shares_are_taken(self):
        pool = await self.filled_pool()
        await pool.halt_payouts("the node's chain was replaced")
        health = await pool.get_json("/api/health")
        self.assertEqual(health["status"], "ok")
        self.assertEqual(health["payouts"], {"halted": True,
                                             "reason": "the node's chain was replaced"})
        self.assertEqual(len(health["problems"]), 1)

    async def test_503_when_the_node_is_down(self):
        pool = await self.filled_pool()
        pool.node.go_down("connection refused")
        health = await pool.get_json("/api/health", status=503)
        self.assertEqual(health["status"], "unavailable")
        self.assertIn("node is down", health["problems"][0])

    async def test_503_when_no_port_listens(self):
        pool = await WebPool.start(self, ports=("sha256d", "gxhash"))
        await pool.ports["sha256d"].stop()
        self.assertEqual((await pool.get_json("/api/health"))["status"], "ok")
        await pool.ports["gxhash"].stop()
        health = await pool.get_json("/api/health", status=503)
        self.assertEqual(health["problems"], ["no Stratum port is listening"])
        self.assertEqual([p["listening"] for p in health["stratum"]], [False, False])

    async def test_503_when_the_database_cannot_be_read(self):
        pool = await WebPool.start(self)
        # a database without the ledger's tables: every read fails
        empty = ReadDatabase("sqlite:///%s/empty.sqlite3" % pool.tmp)
        self.addCleanup(pool.ctx.reads.close)
        pool.ctx.reads = empty
        health = await pool.get_json("/api/health", status=503)
        self.assertFalse(health["database"]["ok"])
        self.assertIn("OperationalError", health["database"]["error"])
        self.assertIn("database cannot be read", health["problems"][0])


# ------------------------------------------------------------ refusals and safety

BAD_REQUESTS = [
    ("/api/blocks?limit=abc", "limit"),
    ("/api/blocks?limit=-1", "limit"),
    ("/api/blocks?limit=0", "limit"),
    ("/api/blocks?limit=101", "limit"),
    ("/api/blocks?limit=1e3", "limit"),
    ("/api/blocks?limit=99999999999999999999999", "limit"),
    ("/api/blocks?limit=1&limit=2", "limit"),
    ("/api/blocks?offset=-5", "offset"),
    ("/api/blocks?offset=1000001", "offset"),
    ("/api/blocks?status=lost", "status"),
    ("/api/blocks?status=%00", "status"),
    ("/api/miners?limit=201", "limit"),
    ("/api/miners?offset=x", "offset"),
    ("/api/payouts?limit=%FF", "limit"),
    ("/api/payouts?address=nope", "address"),
    ("/api/payouts?address=" + "tGXC" + "a" * 300, "address"),
    ("/api/leaderboard?by=luck", "by"),
    ("/api/leaderboard?window=7d", "window"),
    ("/api/leaderboard?window=", "window"),
    ("/api/blocks?limit=", "limit"),
    ("/api/payouts?address=", "address"),
    ("/api/leaderboard?limit=1000", "limit"),
    ("/api/miners/nope", "address"),
    ("/api/miners/GXC" + "0" * 34, "address"),                 # a mainnet address
    ("/api/miners/tGXC" + "A" * 34, "address"),                # upper-case hex
    ("/api/miners/%3Cscript%3Ealert(1)%3C", "address"),
    ("/api/miners/" + "tGXC" + "0" * 500, "address"),
]


class Refusals(ApiTestCase):
    def assertJsonError(self, response, status, path):
        self.assertEqual(response.status, status, path)
        self.assertEqual(response.headers["content-type"], "application/json; charset=utf-8")
        body = response.json()
        self.assertEqual(set(body), {"error"}, path)
        self.assertEqual(body["error"]["status"], status, path)
        self.assertIsInstance(body["error"]["message"], str)
        for leak in (b"Traceback", b'File "', b"<script", b"gxcpoold/"):
            self.assertNotIn(leak, response.body, path)
        return body["error"]["message"]

    async def test_bad_parameters_are_400_with_a_message(self):
        pool = await self.filled_pool()
        for path, name in BAD_REQUESTS:
            message = self.assertJsonError(await pool.get(path), 400, path)
            self.assertIn(name, message, path)

    async def test_unknown_address_and_path_are_json_404(self):
        pool = await self.filled_pool()
        for path in ("/api/miners/" + UNKNOWN, "/api/nothing", "/api/stats/extra",
                     "/api/miners/%s/more" % A, "/api/miners/%3Cscript%3Ex%3C%2Fscript%3E"):
            self.assertJsonError(await pool.get(path), 404, path)
        message = self.assertJsonError(await pool.get("/api/miners/" + UNKNOWN), 404, "")
        self.assertNotIn(UNKNOWN, message)
        self.assertJsonError(await pool.get("/api/stats", method="POST"), 405, "POST")

    async def test_429_beyond_the_burst(self):
        pool = await WebPool.start(self, web={"api_burst": 3, "api_rate": 0.01})
        for _ in range(3):
            self.assertEqual((await pool.get("/api/network")).status, 200)
        refused = await pool.get("/api/stats")
        message = self.assertJsonError(refused, 429, "/api/stats")
        self.assertIn("too many requests", message)
        self.assertGreaterEqual(int(refused.headers["retry-after"]), 1)
        self.assertIn("frame-ancestors 'none'", refused.headers["content-security-policy"])
        self.assertEqual((await pool.get("/api-docs")).status, 200)   # pages are not limited

    async def test_security_headers_and_content_type_everywhere(self):
        pool = await self.filled_pool()
        for path in ("/api/stats", "/api/miners", "/api/miners/" + A, "/api/blocks",
                     "/api/payouts", "/api/pool-balance", "/api/leaderboard", "/api/network",
                     "/api/health", "/api/openapi.json", "/api/miners/x", "/api/nope"):
            response = await pool.get(path)
            headers = response.headers
            self.assertEqual(headers["content-type"], "application/json; charset=utf-8", path)
            self.assertEqual(headers["x-content-type-options"], "nosniff", path)
            self.assertEqual(headers["x-frame-options"], "DENY", path)
            csp = headers["content-security-policy"]
            self.assertIn("script-src 'self'", csp)
            self.assertNotIn("unsafe-inline", csp)
            json.loads(response.body)

    async def test_hostile_worker_names_come_back_as_inert_text(self):
        pool = await self.filled_pool()
        for path in ("/api/miners/" + B, "/api/blocks", "/api/stats"):
            response = await pool.get(path)
            self.assertEqual(response.status, 200)
            for raw in (b"<script", b"</b>", b"<", b">", b"&"):
                self.assertNotIn(raw, response.body, path)
            self.assertIn(b"\\u003cscript\\u003e", response.body, path)
        found = (await pool.get("/api/miners/" + B)).json()
        self.assertEqual(sorted(w["name"] for w in found["workers"]), sorted([HOSTILE, QUOTED]))

    async def test_openapi_document_and_docs_page(self):
        pool = await WebPool.start(self)
        self.assertEqual(await pool.get_json("/api/openapi.json"), document_for(pool.config))
        page = await pool.get("/api-docs")
        self.assertEqual(page.status, 200)
        self.assertEqual(page.headers["content-type"], "text/html; charset=utf-8")
        self.assertIn("frame-ancestors 'none'", page.headers["content-security-policy"])
        for path in document_for(pool.config)["paths"]:
            self.assertIn(path, page.text)
        self.assertNotIn("<script", page.text)
        self.assertNotIn("style=", page.text)


# ------------------------------------------------------------ fees

class Fees(ApiTestCase):
    TIERS = [{"min_hashrate": 2.0, "fee": "0.008"}, {"min_hashrate": 1e12, "fee": "0.002"}]

    async def test_fee_rules_are_published(self):
        pool = await WebPool.start(self, pool={"fee": "0.01", "fee_tiers": self.TIERS})
        rules = await pool.get_json("/api/fees")
        self.assertEqual(rules["default"], "0.01")
        self.assertEqual(rules["tiers"], [{"min_hashrate": 2.0, "fee": "0.008"},
                                          {"min_hashrate": 1e12, "fee": "0.002"}])
        self.assertEqual(rules["hashrate_window_seconds"], 86400)
        self.assertIn("own fee", rules["rule"])

    async def test_a_miner_sees_its_fee_and_why(self):
        from fractions import Fraction
        from gxcpoold.ledger import fees
        pool = await WebPool.start(self, pool={"fee": "0.01", "fee_tiers": self.TIERS})
        # A: 24 h of work above 2 H/s on average (whole minutes before now): the tier
        pool.add_share(A, worker="rig1", work=200_000, age=600)
        # B: a little work: the default; C: an operator's own fee beats everything
        pool.add_share(B, worker="rig1", work=100, age=600)
        pool.add_share(C, worker="rig1", work=10**15, age=600)
        await pool.flush()
        await pool.db.run(fees.set_fee, C, Fraction(5, 1000), actor="test",
                          reason="premium member", now=time.time())
        pool.forget_cache()
        a, b, c = [(await pool.get_json("/api/miners/" + m))["fee"] for m in (A, B, C)]
        self.assertEqual((a["fee"], a["source"], a["tier"], a["min_hashrate"]),
                         ("0.008", "tier", 0, 2.0))
        self.assertAlmostEqual(a["hashrate_24h"], 200_000 / 86400)
        self.assertEqual((b["fee"], b["source"], b["tier"]), ("0.01", "default", None))
        self.assertEqual((c["fee"], c["source"]), ("0.005", "address"))
        self.assertEqual(c["default"], "0.01")
        # the operator's reason is not published
        raw = (await pool.get("/api/miners/" + C)).text
        self.assertNotIn("premium member", raw)

    async def test_credits_show_the_fee_their_part_paid(self):
        pool = await self.filled_pool()
        miner = await pool.get_json("/api/miners/" + A)
        shares_credits = [c for c in miner["credits"] if c["kind"] == "share"]
        self.assertTrue(shares_credits)
        for credit in shares_credits:
            part = credit["amount"] + credit["fee"]
            # the pool fee (1 %) of the miner's part, floored
            self.assertEqual(credit["fee"], part // 100)
            self.assertGreater(credit["fee"], 0)
        money_fields_exact(self, miner)
