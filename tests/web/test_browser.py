"""The dashboard in a real browser: headless Chromium (Debian's package, driven
by playwright) against a real running pool (`twistd gxcpool --devnet` with a
reference miner, tests/web/livepool.py).

It loads the dashboard and a miner page, finds their figures (checked against
the pool's ledger) and the SVG charts, sees a block the miner finds appear in
the recent-blocks table without a reload (the page's /api/events stream),
saves screenshots under the test's temporary directory, and fails on any
console error or page error (a CSP violation is a console error).

Skipped, with the reason, only where /usr/bin/chromium is absent (.ci/run
installs it as root: `apt-get install -y chromium`).
"""
import os
import re
import sqlite3
import time

import pytest

from tests.web.livepool import LivePool, Rig

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
MINER = "tGXC" + "c3" * 17
WORKER = "rig1"
LIVE_BLOCK_TIMEOUT = 30.0         # seconds for a new block to show up on the open page
CACHE_SLACK = 3.0                 # seconds a figure may be older than the page (the read cache)

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="headless browser test: %s is missing (Debian package chromium; "
                              ".ci/run installs it as root)" % CHROMIUM),
    pytest.mark.timeout(180),
]


def count(live, sql, *args):
    """A count from the pool's ledger; 0 while its tables are still being made."""
    try:
        return live.scalar(sql, *args) or 0
    except sqlite3.OperationalError:
        return 0


@pytest.fixture(scope="module")
def pool():
    # Devnet at difficulty 1: nearly every sha256d share at the D = 1 start
    # difficulty is a block, so blocks keep coming while the page is open.
    with LivePool(("sha256d", "gxhash"), miners=[Rig("sha256d", MINER, WORKER)]) as live:
        live.wait(lambda: count(live, "SELECT COUNT(*) FROM blocks") >= 2, "two pool blocks", 60)
        live.wait(lambda: count(live, "SELECT COUNT(*) FROM workers") >= 1, "a worker", 30)
        yield live


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.problems = []
    tab.on("console", lambda msg: tab.problems.append("console %s: %s" % (msg.type, msg.text))
           if msg.type == "error" else None)
    tab.on("pageerror", lambda error: tab.problems.append("page error: %s" % error))
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def served_text(html, element_id):
    """The text of the element with this id in the HTML as the server sent it."""
    match = re.search(r'id="%s"[^>]*>([^<]*)<' % re.escape(element_id), html)
    assert match, "no #%s in the page" % element_id
    return match.group(1).strip()


def number(text):
    return int(re.sub(r"[^0-9]", "", text))


def test_dashboard_shows_the_figures_and_a_new_block_live(pool, page, tmp_path):
    # the page may come from the web's read cache of a few seconds (cache.py)
    before = pool.scalar("SELECT COUNT(*) FROM blocks WHERE status != 'rejected' "
                         "AND created_at < ?", time.time() - CACHE_SLACK)
    response = page.goto(pool.web_url)
    assert response.status == 200
    after = pool.scalar("SELECT COUNT(*) FROM blocks WHERE status != 'rejected'")

    # figures, as the ledger had them while the page was built (read from the
    # page as served: the live stream may move them on in the document since)
    served = response.text()
    found = number(served_text(served, "blocks-found"))
    assert before <= found <= after
    assert number(served_text(served, "active-miners")) == 1
    assert served_text(served, "total-hashrate").endswith("H/s")
    assert served_text(served, "network-height").isdigit()
    # and the same elements are in the live document
    for figure in ("#blocks-found", "#active-miners", "#total-hashrate", "#network-height"):
        assert page.text_content(figure).strip()

    # the charts: inline SVG with a title, an aria-label and a drawn series
    charts = page.locator("svg.chart")
    assert charts.count() >= 2
    first = charts.first
    assert "hashrate" in first.get_attribute("aria-label").lower()
    assert first.locator("title").count() == 1
    assert first.locator("polyline, circle").count() >= 1

    # the recent blocks the page was built with, then one more without a reload
    rows = page.locator("#recent-blocks tr[data-hash]")
    assert rows.count() >= 1
    shown = set(rows.evaluate_all("rows => rows.map(r => r.dataset.hash)"))
    page.wait_for_selector("#live-status:not([hidden])")
    marker = page.evaluate("() => { window.__notReloaded = true; return true; }")
    assert marker
    page.wait_for_function(
        "known => Array.from(document.querySelectorAll('#recent-blocks tr[data-hash]'))"
        ".some(r => !known.includes(r.dataset.hash))", arg=sorted(shown),
        timeout=LIVE_BLOCK_TIMEOUT * 1000)
    assert page.evaluate("() => window.__notReloaded === true")       # the same document
    fresh = [h for h in rows.evaluate_all("rows => rows.map(r => r.dataset.hash)")
             if h not in shown]
    assert fresh
    # the live row is a block the pool really recorded
    pool.wait(lambda: pool.scalar("SELECT COUNT(*) FROM blocks WHERE hash = ?", fresh[0]) == 1,
              "the live block %s in the ledger" % fresh[0], 10)
    row = page.locator("#recent-blocks tr[data-hash='%s']" % fresh[0])
    assert MINER[:12] in row.text_content()
    assert WORKER in row.text_content()

    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    assert page.problems == []


def test_miner_page_shows_workers_balances_and_a_chart(pool, page, tmp_path):
    response = page.goto(pool.web_url + "miners/" + MINER)
    assert response.status == 200
    assert page.text_content("#miner-address").strip() == MINER
    workers = page.locator("#workers tbody tr")
    names = [text.strip() for text in page.locator("#workers .worker-name").all_text_contents()]
    assert WORKER in names
    assert workers.count() == pool.scalar(
        "SELECT COUNT(*) FROM workers JOIN miners ON miners.id = workers.miner_id "
        "WHERE miners.address = ?", MINER)
    for name in ("immature", "mature", "pending", "paid"):
        assert page.text_content("#balance-" + name).strip().endswith(" GXC")
    chart = page.locator("svg.chart").first
    assert chart.locator("title").count() == 1
    assert chart.get_attribute("role") == "img"
    page.screenshot(path=str(tmp_path / "miner.png"), full_page=True)
    assert page.problems == []


def test_getting_started_and_the_lookup_form(pool, page, tmp_path):
    page.goto(pool.web_url + "start")
    text = page.text_content("#port-sha256d")
    assert "stratum+tcp://127.0.0.1:%d" % pool.stratum_port("sha256d") in text
    assert page.locator("#port-ethash").count() == 0          # disabled in this pool
    page.screenshot(path=str(tmp_path / "start.png"), full_page=True)
    # the look-up form in the header leads to the miner's page
    page.fill("#lookup-address", MINER)
    with page.expect_navigation():
        page.press("#lookup-address", "Enter")
    assert page.url.endswith("/miners/" + MINER)
    assert page.problems == []


def test_pages_are_complete_without_javascript(pool, browser, tmp_path):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280,
                                                                       "height": 900})
    try:
        tab = context.new_page()
        assert tab.goto(pool.web_url).status == 200
        assert number(tab.text_content("#blocks-found")) >= 1
        assert tab.locator("#recent-blocks tr[data-hash]").count() >= 1
        assert tab.locator("svg.chart").count() == 2
        assert tab.is_hidden("#live-status")              # nothing claims to be live
        tab.goto(pool.web_url + "miners/" + MINER)
        assert tab.text_content("#miner-address").strip() == MINER
        tab.screenshot(path=str(tmp_path / "dashboard-no-js.png"), full_page=True)
    finally:
        context.close()
