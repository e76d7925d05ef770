"""Share pruning never removes a share a reward still needs (both engines)."""
from fractions import Fraction

from sqlalchemy import func, select

from gxcpoold.ledger import meta
from gxcpoold.ledger.admin import main
from gxcpoold.ledger.blocks import RewardPolicy, accept_block, credit_block, insert_candidate
from gxcpoold.ledger.pruning import (NETWORK_DIFFICULTY, PruneRule, SharePruner, prune_round,
                                     run_steps_sync)
from gxcpoold.ledger.schema import blocks, shares
from gxcpoold.ledger.sharestore import ShareStore
from tests.ledger.dbtest import each_backend, trial_database
from tests.ledger.factories import share
from tests.ledger.test_blocks import candidate

T0 = 1_700_000_000.0
HOUR = 3600.0


def rule(scheme="pplns", margin=4, min_age_hours=0.0, min_shares=0):
    return PruneRule(scheme=scheme, pplns_window=2.0, margin=margin,
                     min_age=min_age_hours * HOUR, pplns_min_shares=min_shares)


def policy(scheme="pplns", min_shares=0):
    return RewardPolicy(scheme, 2.0, Fraction(1, 100), "@pool-fee", pplns_min_shares=min_shares)


def write(database, records):
    database.run_sync(ShareStore().write, records)


def prune(database, prune_rule, difficulty, now, dry_run=False):
    return run_steps_sync(database, prune_round(prune_rule, difficulty, now, dry_run=dry_run))


def share_times(database):
    return database.run_sync(lambda c: c.execute(
        select(shares.c.time).order_by(shares.c.time)).scalars().all(), write=False)


def block_id(database, height):
    return database.run_sync(lambda c: c.execute(
        select(blocks.c.id).where(blocks.c.height == height)).scalar(), write=False)


def preview_credits(database, height, reward_policy):
    """What crediting the block would write now, rolled back: (credits, fee, remainder)."""
    with database.engine.connect() as c:
        transaction = c.begin()
        try:
            split = credit_block(c, block_id(database, height), reward_policy, 0.0)
        finally:
            transaction.rollback()
    return split.credits, split.fee, split.remainder


def credit(database, height, reward_policy):
    split = database.run_sync(accept_block, height, "%064x" % height, reward_policy, 0.0)
    return split.credits, split.fee, split.remainder


def steady_shares(database, count, *, work=1000, spacing=1.0, start=1):
    write(database, [share(time=T0 + i * spacing, miner=i % 7, work=work)
                     for i in range(start, start + count)])


# ------------------------------------------------------------------ PPLNS

def test_an_uncredited_block_keeps_its_window_and_credits_the_same(database):
    # D = 2, N = 2: the block's window is 512 hashes, i.e. shares 100..95 (95 only in part).
    write(database, [share(time=T0 + i, miner=i % 7, work=100 + i % 3) for i in range(1, 101)])
    database.run_sync(insert_candidate, candidate(T0 + 100), 0.0)
    write(database, [share(time=T0 + i, miner=i % 7, work=100) for i in range(101, 201)])
    before = preview_credits(database, 7, policy())

    # margin 1 so the cut falls right at the block's window edge; the next
    # block's window (D 1 -> 1.75: 32 hashes) needs only the newest share.
    result = prune(database, rule(margin=1), difficulty=1.0, now=T0 + 200)

    assert (result.cutoff.time, result.cutoff.reason) == (T0 + 95, "window of block 7")
    assert result.count == 94
    assert share_times(database)[0] == T0 + 95
    assert credit(database, 7, policy()) == before
    assert before[0]                                        # shares were actually credited


def test_a_share_minimum_keeps_that_many_shares_and_credits_the_same(database):
    # D = 1: the work window (32 hashes) is one share; a minimum of 10 shares,
    # margin 1, must keep the block's 10 newest shares (95..104 is 10 shares
    # ending at the block) and the credit must not change.
    steady_shares(database, 100, start=5)
    database.run_sync(insert_candidate, candidate(T0 + 104, difficulty=1.0), 0.0)
    before = preview_credits(database, 7, policy(min_shares=10))
    assert len(before[0]) == 7                              # all seven miners paid
    result = prune(database, rule(margin=1, min_shares=10), difficulty=1.0, now=T0 + 105)
    assert (result.cutoff.time, result.cutoff.reason) == (T0 + 95, "window of block 7")
    assert credit(database, 7, policy(min_shares=10)) == before


def test_shares_far_behind_the_next_window_are_removed(database):
    # D = 2 rises to 3.5 at the next retarget: 4 x 2 x 16**3 = 32768 hashes = 33 shares kept.
    steady_shares(database, 100, start=0)
    result = prune(database, rule(margin=4), difficulty=2.0, now=T0 + 100)
    assert (result.cutoff.reason, result.count) == ("window of the next block", 67)
    assert share_times(database) == [T0 + i for i in range(67, 100)]


def test_credited_blocks_no_longer_hold_shares(database):
    steady_shares(database, 100, start=0)
    database.run_sync(insert_candidate, candidate(T0 + 50, difficulty=4.0), 0.0)
    database.run_sync(accept_block, 7, "%064x" % 7, policy(), 0.0)
    result = prune(database, rule(margin=4), difficulty=2.0, now=T0 + 100)
    assert result.count == 67


def test_the_minimum_age_is_respected(database):
    steady_shares(database, 100, start=0, spacing=HOUR)
    now = T0 + 99 * HOUR
    result = prune(database, rule(margin=1, min_age_hours=48), difficulty=1.0, now=now)
    assert (result.cutoff.time, result.cutoff.reason) == (now - 48 * HOUR, "minimum age")
    assert result.count == 51
    assert share_times(database)[0] == T0 + 51 * HOUR


def test_a_window_past_the_oldest_share_keeps_everything(database):
    steady_shares(database, 100)
    database.run_sync(insert_candidate, candidate(T0 + 100, difficulty=6.0), 0.0)
    result = prune(database, rule(margin=1), difficulty=1.0, now=T0 + 200)
    assert result.cutoff.time is None
    assert "window of block 7" in result.cutoff.reason
    assert len(share_times(database)) == 100


def test_an_unknown_network_difficulty_keeps_everything(database):
    steady_shares(database, 100)
    result = prune(database, rule(margin=1), difficulty=None, now=T0 + 200)
    assert (result.cutoff.time, result.count) == (None, 0)
    assert len(share_times(database)) == 100


def test_nothing_to_prune_is_a_no_op(database):
    for scheme in ("pplns", "prop", "solo"):
        assert prune(database, rule(scheme), difficulty=1.0, now=T0).count == 0
    steady_shares(database, 100, start=0)
    assert prune(database, rule(), difficulty=2.0, now=T0 + 100).count == 67
    again = prune(database, rule(), difficulty=2.0, now=T0 + 100)
    assert (again.cutoff.time, again.count) == (T0 + 67, 0)
    assert len(share_times(database)) == 33


# ------------------------------------------------------------------ PROP and SOLO

def test_prop_keeps_the_rounds_still_to_credit(database):
    write(database, [share(time=T0 + i, miner=i % 5, work=10 + i) for i in range(1, 101)])
    database.run_sync(insert_candidate, candidate(T0 + 40, height=1), 0.0)
    credit(database, 1, policy("prop"))
    database.run_sync(insert_candidate, candidate(T0 + 70, height=2), 0.0)
    before = preview_credits(database, 2, policy("prop"))

    result = prune(database, rule("prop"), difficulty=None, now=T0 + 1000)

    assert (result.cutoff.time, result.count) == (T0 + 40, 39)
    assert credit(database, 2, policy("prop")) == before
    # block 2 is credited now: the current round starts there
    assert prune(database, rule("prop"), difficulty=None, now=T0 + 1000).count == 30


def test_prop_before_the_first_credited_block_keeps_everything(database):
    steady_shares(database, 100)
    result = prune(database, rule("prop"), difficulty=None, now=T0 + 1000)
    assert (result.cutoff.time, result.count) == (None, 0)
    assert "current round" in result.cutoff.reason


def test_solo_keeps_only_the_minimum_age(database):
    steady_shares(database, 100)
    database.run_sync(insert_candidate, candidate(T0 + 100), 0.0)
    before = preview_credits(database, 7, policy("solo"))
    result = prune(database, rule("solo"), difficulty=None, now=T0 + 50)
    assert (result.cutoff.reason, result.count) == ("minimum age", 49)
    assert credit(database, 7, policy("solo")) == before


# ------------------------------------------------------------------ gxcpool-admin

def admin(database, tmp_path, *argv):
    config = tmp_path / "gxcpool.toml"
    config.write_text("[payouts]\nshare_window_margin = 4\nshare_min_age_hours = 48.0\n"
                      "pplns_min_shares = 5\n")
    return main(["--config", str(config), "--database-url", database.url, "shares", "prune",
                 *argv])


def test_admin_dry_run_reports_without_deleting(database, tmp_path, capsys):
    steady_shares(database, 100, start=0)
    assert admin(database, tmp_path, "--dry-run", "--difficulty", "2") == 0
    out = capsys.readouterr().out
    assert "set by the window of the next block" in out
    assert "67 shares would be deleted (dry run)" in out
    assert len(share_times(database)) == 100
    assert admin(database, tmp_path, "--difficulty", "2") == 0
    assert "67 shares deleted" in capsys.readouterr().out
    assert len(share_times(database)) == 33


def test_admin_uses_the_difficulty_the_daemon_saw(database, tmp_path, capsys):
    steady_shares(database, 100, start=0)
    assert admin(database, tmp_path, "--dry-run") == 0
    assert "network difficulty is not known" in capsys.readouterr().out
    database.run_sync(meta.put, NETWORK_DIFFICULTY, "2.0")
    assert admin(database, tmp_path, "--dry-run") == 0
    assert "67 shares would be deleted" in capsys.readouterr().out


# ------------------------------------------------------------------ the service

class PrunerServiceMixin:
    backend = "sqlite"

    def setUp(self):
        self.db = trial_database(self, self.backend)
        self.difficulty = 2.0
        self.pruner = SharePruner(self.db, rule(), interval=60.0,
                                  difficulty=lambda: self.difficulty)

    def count(self):
        return self.db.run_sync(lambda c: c.execute(
            select(func.count()).select_from(shares)).scalar())

    async def test_a_round_prunes_off_the_reactor_and_records_the_difficulty(self):
        steady_shares(self.db, 100, start=0)
        self.pruner.running = 1
        result = await self.pruner.run_once()
        self.assertEqual((result.count, self.count()), (67, 33))
        self.assertEqual(self.db.run_sync(meta.get, NETWORK_DIFFICULTY), "2.0")

    async def test_interval_zero_disables_pruning(self):
        steady_shares(self.db, 100, start=0)
        self.pruner.running = 1
        self.pruner.set_interval(0)
        self.assertIsNone(self.pruner.run_once())
        self.assertEqual(self.count(), 100)

    async def test_stopping_ends_the_round_without_deleting(self):
        steady_shares(self.db, 100, start=0)
        self.pruner.running = 0
        self.pruner.interval = 60.0
        result = await self.pruner._locked_round()
        self.assertIsNone(result)
        self.assertEqual(self.count(), 100)


globals().update(each_backend(PrunerServiceMixin))
