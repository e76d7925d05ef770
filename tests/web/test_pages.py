"""The HTML pages over real HTTP (tests/web/webpool.py: the whole web service
over a real SQLite ledger, a stand-in node and listening stand-in ports).

Every page answers 200 with the figures the ledger holds; an unknown miner
is a 404 page and a malformed address a 400 page; paging links; the getting
started commands for each enabled port only; a hostile worker name shows
escaped, never as markup; the security headers; static files' content types.
"""
import sqlite3
import time
from html.parser import HTMLParser

from twisted.trial import unittest

from gxcpoold.web import formats
from gxcpoold.web.http import SECURITY_HEADERS
from gxcpoold.web.pages import PAGE_SIZE
from tests.web.webpool import WebPool

HOSTILE = "<script>alert(1)</script>\"'&x"
PAGES = ("/", "/blocks", "/payouts", "/leaderboard", "/network", "/start")


# ------------------------------------------------------------ a small DOM

class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children = []
        self.parts = []

    @property
    def text(self):
        return "".join(part if isinstance(part, str) else part.text for part in self.parts)

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag=None, **attrs):
        return [n for n in self.iter() if (tag is None or n.tag == tag)
                and all(n.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())]

    def by_id(self, id_):
        found = self.find_all(id=id_)
        assert found, "no element #%s" % id_
        return found[0]

    def rows(self, table_id):
        body = self.by_id(table_id).find_all("tbody")[0]
        return [[" ".join(td.text.split()) for td in tr.children if td.tag in ("td", "th")]
                for tr in body.children if tr.tag == "tr"]


VOID = {"meta", "link", "input", "br", "img", "hr", "source", "rect", "line", "circle",
        "polyline", "path"}


class Tree(HTMLParser):
    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.root = self.node = Node("#root", {})
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.node)
        self.node.children.append(node)
        self.node.parts.append(node)
        if tag not in VOID:
            self.node = node

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, attrs, self.node)
        self.node.children.append(node)
        self.node.parts.append(node)

    def handle_endtag(self, tag):
        node = self.node
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.node = node.parent

    def handle_data(self, data):
        self.node.parts.append(data)


def dom(response):
    return Tree(response.text).root


def text(node):
    return " ".join(node.text.split())


# ------------------------------------------------------------ the tests

class Pages(unittest.TestCase):
    timeout = 60

    async def filled(self, **kw):
        """Two miners with known work, blocks in each state, a payout."""
        pool = await WebPool.start(self, **kw)
        self.a, self.b = pool.address(1), pool.address(2)
        # 10 min window: whole minutes between 1 and 10 min ago
        pool.add_share(self.a, worker="rig1", work=60_000, age=120)
        pool.add_share(self.a, worker="rig2", work=30_000, age=180, algorithm="gxhash")
        pool.add_share(self.b, worker="box", work=6_000, age=240)
        self.mature = await pool.add_block(self.a, status="mature", age=600)
        await pool.add_block(self.b, status="mature", age=500)
        self.immature = await pool.add_block(self.a, status="immature", confirmations=2, age=60)
        self.orphan = await pool.add_block(self.b, status="orphaned", age=30)
        self.payout = await pool.pay(self.a, 100_000_000)
        await pool.flush()
        return pool

    def ledger(self, pool, sql, *args):
        db = sqlite3.connect(pool.database_url[len("sqlite:///"):], timeout=10)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    async def test_every_page_answers_200_html_with_the_security_headers(self):
        pool = await self.filled()
        for path in PAGES + ("/miners/" + self.a,):
            response = await pool.get(path)
            self.assertEqual(response.status, 200, path)
            self.assertEqual(response.headers["content-type"], "text/html; charset=utf-8")
            for name, value in SECURITY_HEADERS.items():
                self.assertEqual(response.headers[name.decode().lower()], value.decode(), path)
            html = response.text
            # no inline script or style: the CSP would block it
            self.assertNotRegex(html, r"<script(?![^>]*\bsrc=)", path)
            self.assertNotIn(" style=", html, path)
            self.assertNotIn("<style", html, path)
            self.assertIn('action="/miner"', html)               # the look-up form
            self.assertIn("/static/live.js?v=", html)
            tree = dom(response)
            nav = [a.attrs["href"] for a in tree.find_all("nav")[0].find_all("a")]
            self.assertEqual(nav[:6], ["/", "/blocks", "/payouts", "/leaderboard", "/network",
                                       "/start"])

    async def test_dashboard_figures_are_the_ledgers(self):
        pool = await self.filled()
        pool.node.client.balance = 10_000 * 10**8              # plenty
        tree = dom(await pool.get("/"))
        total = 60_000 + 30_000 + 6_000
        self.assertEqual(text(tree.by_id("total-hashrate")), formats.hashrate(total / 600))
        self.assertEqual(text(tree.by_id("active-miners")), "2")
        self.assertEqual(text(tree.by_id("active-workers")), "3")
        found = self.ledger(pool, "SELECT COUNT(*) FROM blocks WHERE status != 'rejected'")[0][0]
        self.assertEqual(text(tree.by_id("blocks-found")), str(found))
        self.assertEqual(text(tree.by_id("network-height")),
                         str(pool.node.current_template.height))
        rows = {r[0]: r for r in tree.rows("hashrate-table")}
        self.assertEqual(rows["sha256d"][1], formats.hashrate(66_000 / 600))
        self.assertEqual(rows["gxhash"][1], formats.hashrate(30_000 / 600))
        self.assertEqual(rows["ethash"][1], "0 H/s")
        # recent blocks: the ledger's, newest first, with status and finder
        recent = tree.rows("recent-blocks")
        heights = [h for (h,) in self.ledger(pool, "SELECT height FROM blocks ORDER BY id DESC")]
        self.assertEqual([int(r[0]) for r in recent], heights)
        self.assertIn("orphaned", recent[0])
        self.assertIn("immature", recent[1])
        # two charts, drawn on the server, over the period asked for
        self.assertEqual(len(tree.find_all("svg")), 2)
        self.assertEqual(text(tree.find_all("svg")[0].find_all("title")[0]),
                         "Pool hashrate, last 24 h")
        for span, title in (("1h", "last hour"), ("7d", "last 7 days")):
            svg = dom(await pool.get("/?chart=" + span)).find_all("svg")[0]
            self.assertEqual(text(svg.find_all("title")[0]), "Pool hashrate, " + title)
        self.assertEqual((await pool.get("/?chart=1y")).status, 400)
        # solvency: wallet and what is owed
        owed = self.ledger(pool, "SELECT "
                           "(SELECT COALESCE(SUM(amount), 0) FROM balances WHERE account "
                           "NOT LIKE '@%'), "
                           "(SELECT COALESCE(SUM(c.amount), 0) FROM credits c JOIN blocks b ON "
                           "b.id = c.block_id WHERE c.status = 'immature' AND c.account NOT "
                           "LIKE '@%')")[0]
        solvency = tree.by_id("solvency")
        self.assertIn("solvency-ok", solvency.attrs["class"])
        self.assertIn(formats.gxc(10_000 * 10**8), text(solvency))
        self.assertIn(formats.gxc(owed[0] + owed[1]), text(solvency))
        self.assertIn(formats.gxc(owed[0]), text(solvency))
        page = text(tree)
        self.assertIn("1.00 %", page)                           # fee
        self.assertIn("PPLNS", page)
        self.assertIn(formats.gxc(pool.config.payouts.minimum), page)

    async def test_solvency_warns_when_the_wallet_cannot_cover_mature_balances(self):
        pool = await self.filled()
        pool.node.client.balance = 1                            # one base unit
        solvency = dom(await pool.get("/")).by_id("solvency")
        self.assertIn("solvency-warning", solvency.attrs["class"])
        mature = self.ledger(pool, "SELECT SUM(amount) FROM balances WHERE account NOT LIKE "
                                   "'@%'")[0][0]
        self.assertIn("Warning: the wallet is %s short" % formats.gxc(mature - 1),
                      text(solvency))

    async def test_solvency_unknown_when_the_node_does_not_answer(self):
        pool = await self.filled()
        pool.node.client.error = "wallet locked"
        solvency = dom(await pool.get("/")).by_id("solvency")
        self.assertIn("solvency-unknown", solvency.attrs["class"])
        self.assertIn("balance is unknown: the node did not answer getbalance", text(solvency))

    async def test_a_node_that_does_not_answer_delays_the_dashboard_at_most_seconds(self):
        pool = await self.filled()
        pool.node.client.hang = True
        started = time.monotonic()
        solvency = dom(await pool.get("/")).by_id("solvency")
        self.assertLess(time.monotonic() - started, 8.0)      # api.BALANCE_TIMEOUT, 5 s
        self.assertIn("solvency-unknown", solvency.attrs["class"])
        # one question to the node at a time, however many pages ask
        await pool.get("/")
        self.assertEqual(pool.node.client.calls, [pool.node.pool_address])

    async def test_miner_page(self):
        pool = await self.filled()
        response = await pool.get("/miners/" + self.a)
        self.assertEqual(response.status, 200)
        tree = dom(response)
        self.assertEqual(text(tree.by_id("miner-address")), self.a)
        self.assertEqual(text(tree.by_id("miner-hashrate-10m")),
                         formats.hashrate(90_000 / 600))
        workers = {r[0]: r for r in tree.rows("workers")}
        self.assertEqual(set(workers), {"rig1", "rig2"})
        self.assertEqual(workers["rig1"][1], formats.hashrate(60_000 / 600))
        mature = self.ledger(pool, "SELECT amount FROM balances WHERE account = ?", self.a)[0][0]
        immature = self.ledger(pool, "SELECT SUM(amount) FROM credits WHERE account = ? AND "
                                     "status = 'immature'", self.a)[0][0]
        paid = self.ledger(pool, "SELECT SUM(amount) FROM payouts WHERE recipient = ? AND "
                                 "status = 'confirmed'", self.a)[0][0]
        self.assertEqual(text(tree.by_id("balance-mature")), formats.gxc(mature))
        self.assertEqual(text(tree.by_id("balance-immature")), formats.gxc(immature))
        self.assertEqual(text(tree.by_id("balance-paid")), formats.gxc(paid))
        self.assertEqual(paid, 100_000_000)
        # the payout with its transaction id (the mined one)
        txid = self.ledger(pool, "SELECT mined_txid FROM payouts WHERE id = ?", self.payout)[0][0]
        payout_html = response.text[response.text.index('id="payouts"'):]
        self.assertIn('title="%s"' % txid, payout_html)
        credits = tree.rows("credits")
        heights = [h for (h,) in self.ledger(
            pool, "SELECT b.height FROM credits c JOIN blocks b ON b.id = c.block_id "
                  "WHERE c.account = ? ORDER BY c.id DESC", self.a)]
        self.assertEqual([int(r[0]) for r in credits], heights)
        self.assertGreaterEqual(len(heights), 2)
        self.assertEqual(len(tree.find_all("svg")), 2)

    async def test_unknown_miner_is_a_404_page_and_a_malformed_address_a_400_page(self):
        pool = await self.filled()
        response = await pool.get("/miners/" + pool.address(99))
        self.assertEqual(response.status, 404)
        self.assertEqual(response.headers["content-type"], "text/html; charset=utf-8")
        self.assertIn("Unknown miner", response.text)
        for bad in ("xyz", "0x" + "ab" * 20, "tGXC" + "G" * 34, "%3Cb%3E"):
            response = await pool.get("/miners/" + bad)
            self.assertEqual(response.status, 400, bad)
            self.assertEqual(response.headers["content-type"], "text/html; charset=utf-8")
            self.assertNotIn("<b>", response.text)
        response = await pool.get("/miner?address=%3Cb%3Ebold")
        self.assertEqual(response.status, 400)
        self.assertIn("&lt;b&gt;bold", response.text)
        self.assertNotIn("<b>bold", response.text)

    async def test_an_unknown_path_is_an_html_404_page_outside_the_api(self):
        pool = await self.filled()
        response = await pool.get("/no/such/page%3Cscript%3E")
        self.assertEqual(response.status, 404)
        self.assertEqual(response.headers["content-type"], "text/html; charset=utf-8")
        self.assertIn("there is no page at this address", response.text)
        self.assertNotIn("no/such/page", response.text)      # the path is not reflected
        response = await pool.get("/api/no-such-thing")
        self.assertEqual(response.status, 404)
        self.assertEqual(response.json()["error"]["status"], 404)

    async def test_lookup_form_redirects_to_the_miner_page(self):
        pool = await self.filled()
        response = await pool.get("/miner?address=+%s+" % self.a)
        self.assertEqual(response.status, 302)
        self.assertEqual(response.headers["location"], "/miners/" + self.a)
        self.assertEqual((await pool.get("/miner")).status, 400)
        self.assertEqual((await pool.get("/miner?address=")).status, 400)

    async def test_blocks_are_paged_with_prev_and_next_links(self):
        pool = await WebPool.start(self)
        miner = pool.address(1)
        pool.add_share(miner, work=1000, age=120)
        for _ in range(PAGE_SIZE + 5):
            await pool.add_block(miner, status="immature", age=10)
        tree = dom(await pool.get("/blocks"))
        rows = tree.rows("blocks")
        self.assertEqual(len(rows), PAGE_SIZE)
        self.assertEqual(int(rows[0][0]), PAGE_SIZE + 5)           # newest first
        links = {a.attrs.get("rel"): a.attrs["href"] for a in tree.find_all("a")
                 if a.attrs.get("rel")}
        self.assertEqual(links, {"next": "/blocks?page=2"})
        self.assertIn("page 1 of 2", text(tree))
        tree = dom(await pool.get("/blocks?page=2"))
        rows = tree.rows("blocks")
        self.assertEqual([int(r[0]) for r in rows], [5, 4, 3, 2, 1])
        links = {a.attrs.get("rel"): a.attrs["href"] for a in tree.find_all("a")
                 if a.attrs.get("rel")}
        self.assertEqual(links, {"prev": "/blocks?page=1"})
        # past the end: an empty page, still with the way back
        tree = dom(await pool.get("/blocks?page=9"))
        self.assertIn("No blocks found yet.", text(tree.by_id("blocks")))
        for bad in ("0", "-1", "x", "1&page=2"):
            response = await pool.get("/blocks?page=" + bad)
            self.assertEqual(response.status, 400, bad)
            self.assertIn("text/html", response.headers["content-type"])

    async def test_payouts_page_lists_payouts_with_txids(self):
        pool = await self.filled()
        tree = dom(await pool.get("/payouts"))
        rows = tree.rows("payouts")
        self.assertEqual(len(rows), 1)
        self.assertEqual(int(rows[0][0]), self.payout)
        self.assertIn(formats.gxc(100_000_000), rows[0])
        self.assertIn("confirmed", rows[0])
        self.assertEqual([a for a in tree.find_all("a") if a.attrs.get("rel")], [])
        self.assertIn("page 1 of 1", text(tree))

    async def test_leaderboard_orders(self):
        pool = await self.filled()
        tree = dom(await pool.get("/leaderboard"))
        rows = tree.rows("leaderboard")
        self.assertEqual([r[1] for r in rows], [self.a, self.b])       # by work
        tree = dom(await pool.get("/leaderboard?by=blocks&window=7d"))
        self.assertEqual(len(tree.rows("leaderboard")), 2)
        self.assertEqual((await pool.get("/leaderboard?by=luck")).status, 400)
        self.assertEqual((await pool.get("/leaderboard?window=1y")).status, 400)

    async def test_network_page(self):
        pool = await self.filled(ports=("sha256d", "ethash"))
        template = pool.node.current_template
        tree = dom(await pool.get("/network"))
        chain = text(tree.by_id("chain"))
        self.assertIn(str(template.height), chain)
        self.assertIn(formats.gxc(template.coinbasevalue), chain)
        self.assertIn("connected", text(tree.by_id("node")))
        ports = {r[0]: r for r in tree.rows("ports")}
        self.assertEqual(ports["sha256d"][1], str(pool.ports["sha256d"].port.getHost().port))
        self.assertIn("listening", ports["sha256d"])
        self.assertIn("disabled", ports["gxhash"])
        self.assertIn("light DAG mode", ports["ethash"][5])
        self.assertIn("check threads", ports["ethash"][5])
        self.assertIn("hashed inline", ports["sha256d"][5])

    async def test_getting_started_commands_for_each_enabled_port(self):
        pool = await self.filled(ports=("sha256d", "ethash"))
        response = await pool.get("/start", headers={"Host": "pool.example.org:5000"})
        tree = dom(response)
        self.assertEqual(tree.find_all(id="port-gxhash"), [])       # disabled: no commands
        # the ports of the Stratum endpoints in the configuration ([stratum.*] endpoint)
        sha, eth = 3333, 3334
        self.assertEqual(pool.config.stratum["sha256d"].endpoint, "tcp:3333")
        commands = {section: [text(c) for c in tree.by_id(section).find_all("code")]
                    for section in ("port-sha256d", "port-ethash")}
        url = "stratum+tcp://pool.example.org:%d" % sha
        user = "tGXCYOUR_ADDRESS.rig1"
        for line in ("cpuminer -a sha256d -o %s -u %s -p x -t 4" % (url, user),
                     "bfgminer -o %s -u %s -p x -S all" % (url, user),
                     "cgminer -o %s -u %s -p x" % (url, user)):
            self.assertIn(line, commands["port-sha256d"])
        hp = "pool.example.org:%d" % eth
        for line in ("ethminer -P stratum2+tcp://%s:x@%s" % (user, hp),
                     "ethminer -P stratum1+tcp://%s:x@%s" % (user, hp),
                     "t-rex -a ethash -o stratum2+tcp://%s -u %s -p x" % (hp, user),
                     "PhoenixMiner -pool %s -wal %s -pass x -proto 4" % (hp, user),
                     "lolMiner --algo ETHASH --pool %s --user %s --pass x" % (hp, user)):
            self.assertIn(line, commands["port-ethash"])
        # the start difficulty and the d=N option in the port's unit
        start = pool.config.stratum["ethash"].start_difficulty
        self.assertIn("x,d=%d" % start, text(tree.by_id("port-ethash")))
        self.assertIn("x,d=1", text(tree.by_id("port-sha256d")))
        # the visitor's own address filled in
        tree = dom(await pool.get("/start?address=" + self.a))
        self.assertIn("-u %s.rig1" % self.a, text(tree.by_id("port-sha256d")))
        self.assertEqual((await pool.get("/start?address=nope")).status, 400)

    async def test_getting_started_host_is_checked_and_public_host_wins(self):
        pool = await WebPool.start(self, ports=("gxhash",),
                                   overrides={("stratum.gxhash", "endpoint"):
                                              "tcp:port=4444:interface=0.0.0.0"})
        port = 4444
        response = await pool.get("/start", headers={"Host": 'evil"><script>x</script>'})
        self.assertNotIn("evil", response.text)
        self.assertIn("gxcpool-miner -a gxhash -o stratum+tcp://127.0.0.1:%d" % port,
                      text(dom(response).by_id("port-gxhash")))
        pool = await WebPool.start(self, ports=("gxhash",),
                                   web={"public_host": "mine.example.net"})
        port = 3335
        response = await pool.get("/start", headers={"Host": "other.example.org"})
        self.assertIn("stratum+tcp://mine.example.net:%d" % port, response.text)
        self.assertNotIn("other.example.org", response.text)

    async def test_a_hostile_worker_name_is_shown_escaped_never_as_markup(self):
        pool = await self.filled()
        # Stratum refuses such a name: write it into the ledger directly
        db = sqlite3.connect(pool.database_url[len("sqlite:///"):], timeout=10)
        with db:
            miner_id = db.execute("SELECT id FROM miners WHERE address = ?",
                                  (self.a,)).fetchone()[0]
            db.execute("INSERT INTO workers (miner_id, name, last_share_at) VALUES (?, ?, ?)",
                       (miner_id, HOSTILE, time.time()))
            db.execute("UPDATE blocks SET worker = ? WHERE height = ?", (HOSTILE,
                                                                          self.immature[0]))
        db.close()
        pool.forget_cache()
        for path in ("/miners/" + self.a, "/", "/blocks"):
            response = await pool.get(path)
            self.assertEqual(response.status, 200, path)
            self.assertNotIn("<script>alert", response.text, path)
            self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;x",
                          response.text, path)
        names = [r[0] for r in dom(await pool.get("/miners/" + self.a)).rows("workers")]
        self.assertIn(HOSTILE, names)            # shown as the very text it is

    async def test_static_files_content_types_and_whitelist(self):
        pool = await WebPool.start(self)
        html = (await pool.get("/")).text
        for name, content_type in (("style.css", "text/css; charset=utf-8"),
                                   ("live.js", "text/javascript; charset=utf-8"),
                                   ("favicon.svg", "image/svg+xml")):
            response = await pool.get("/static/" + name)
            self.assertEqual(response.status, 200)
            self.assertEqual(response.headers["content-type"], content_type)
            self.assertEqual(response.headers["x-content-type-options"], "nosniff")
            self.assertIn("max-age", response.headers["cache-control"])
            self.assertTrue(response.body)
            self.assertIn("/static/%s?v=" % name, html)          # linked, versioned
        for name in ("../pages.py", "..%2Fpages.py", "nothing.css", "style.css.bak"):
            response = await pool.get("/static/" + name)
            self.assertEqual(response.status, 404, name)
            self.assertNotIn(b"import", response.body)

    async def test_empty_pool_pages_render(self):
        pool = await WebPool.start(self, connect_node=False)
        for path in PAGES:
            response = await pool.get(path)
            self.assertEqual(response.status, 200, path)
        tree = dom(await pool.get("/"))
        self.assertIn("No blocks found yet.", text(tree.by_id("recent-blocks")))
        self.assertIn("solvency-unknown", tree.by_id("solvency").attrs["class"])
        self.assertIn("no shares in this period", text(tree.find_all("svg")[0]))


class FeesShown(unittest.TestCase):
    async def test_the_miner_page_shows_its_fee_and_the_dashboard_the_tiers(self):
        from fractions import Fraction
        from gxcpoold.ledger import fees
        pool = await WebPool.start(self, pool={"fee": "0.01", "fee_tiers": [
            {"min_hashrate": 2.0, "fee": "0.008"}]})
        a, b = pool.address(1), pool.address(2)
        pool.add_share(a, worker="rig1", work=200_000, age=600)
        pool.add_share(b, worker="rig1", work=100, age=600)
        await pool.flush()
        page = (await pool.get("/miners/" + a)).text
        self.assertIn("Your fee: <strong>0.80 %</strong>", page)
        self.assertIn("volume tier", page)
        self.assertIn("Your fee: <strong>1.00 %</strong>", (await pool.get("/miners/" + b)).text)
        await pool.db.run(fees.set_fee, b, Fraction(3, 1000), actor="test", reason="premium",
                          now=time.time())
        pool.forget_cache()
        page = (await pool.get("/miners/" + b)).text
        self.assertIn("Your fee: <strong>0.30 %</strong>", page)
        self.assertIn("your own fee", page)
        dashboard = (await pool.get("/")).text
        self.assertIn("0.80 % from 2", dashboard)
