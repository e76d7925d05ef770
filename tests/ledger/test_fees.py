"""Per-miner fees: configuration, resolution at a block's time, and crediting
through the real path (accept_block) on SQLite and PostgreSQL."""
import json
import random
from fractions import Fraction

import pytest
from sqlalchemy import insert, select

from gxcpoold.config import ConfigError, FeeTier, load_config
from gxcpoold.ledger import accounts, fees, history, migrate
from gxcpoold.ledger.admin import main as admin_main
from gxcpoold.ledger.blocks import RewardPolicy, accept_block, insert_candidate
from gxcpoold.ledger.schema import blocks, credits
from gxcpoold.ledger.sharestore import ShareStore
from gxcpoold.reload import changes, needs_restart
from gxcpoold.shares import BlockCandidate
from tests.ledger.dbtest import BACKENDS, open_database
from tests.ledger.factories import address, share

T0 = 1_700_000_040.0                 # a whole minute
DAY = 86400
REWARD = 5_000_000_000
TIERS = (FeeTier(min_hashrate=1_000.0, fee=Fraction(5, 1000)),
         FeeTier(min_hashrate=10_000.0, fee=Fraction(2, 1000)))
POLICY = fees.FeePolicy(default=Fraction(1, 100), tiers=TIERS)


def reward_policy(scheme="prop", fee_policy=POLICY):
    return RewardPolicy(scheme, 2.0, fee_policy.default, "@pool-fee", fees=fee_policy)


def write(database, records):
    database.run_sync(ShareStore().write, records)


def found(database, when, height, difficulty=8.0, finder=99):
    block = BlockCandidate(time=when, algorithm="gxhash", height=height, hash="%064x" % height,
                           previousblockhash="0" * 64, address=address(finder), worker="",
                           work=1, block={"difficulty": difficulty, "transactions": [
                               {"outputs": [{"address": "x", "amount": REWARD / 1e8}]}]})
    database.run_sync(insert_candidate, block, 0.0)


def credit(database, height, policy):
    return database.run_sync(accept_block, height, "%064x" % height, policy, 0.0)


def rows_of(database, height):
    return database.run_sync(lambda c: c.execute(
        select(credits).where(credits.c.block_id == height)).all())


def shares_of(database, block_id):
    return {r.account: (r.amount, r.fee) for r in rows_of(database, block_id)
            if r.kind == "share"}


def check_books(database, block_id):
    """The exact-sum property on the stored rows, and the fee row = sum of the parts' fees."""
    rows = rows_of(database, block_id)
    assert sum(r.amount for r in rows) == REWARD
    fee_row = sum(r.amount for r in rows if r.kind == "fee")
    assert fee_row == sum(r.fee for r in rows if r.kind == "share")
    assert all(r.fee == 0 for r in rows if r.kind != "share")


def admin(database, *argv):
    return admin_main(["--database-url", database.url, "--actor", "alice", *argv])


# ------------------------------------------------------------------ configuration

def load(tmp_path, text, environ=None):
    path = tmp_path / "pool.toml"
    path.write_text(text)
    return load_config(path, environ=environ or {})


def test_tiers_from_tables_and_from_an_inline_list(tmp_path):
    config = load(tmp_path, """
[pool]
fee = 0.02

[[pool.fee_tiers]]
min_hashrate = 1e9
fee = 0.015

[[pool.fee_tiers]]
min_hashrate = 10000000000
fee = "0.005"
""")
    assert config.pool.fee_tiers == (FeeTier(1e9, Fraction(15, 1000)),
                                     FeeTier(1e10, Fraction(5, 1000)))
    inline = load(tmp_path, "[pool]\nfee = 0.02\nfee_tiers = [{ min_hashrate = 1e9, "
                            "fee = 0.015 }, { min_hashrate = 1e10, fee = 0.005 }]\n")
    assert inline.pool == config.pool
    assert fees.FeePolicy.from_config(config) == fees.FeePolicy(
        Fraction(2, 100), config.pool.fee_tiers)
    assert RewardPolicy.from_config(config).fees.tiers == config.pool.fee_tiers
    assert load_config(None, environ={}).pool.fee_tiers == ()
    # tiers reload on SIGHUP (LedgerService.reconfigure builds the RewardPolicy anew)
    diff = changes(load_config(None, environ={}), config)
    assert ("pool.fee_tiers", (), config.pool.fee_tiers) in diff
    assert not needs_restart("pool.fee_tiers")
    assert "{min_hashrate = 1000000000.0, fee = 0.015}" in str(config.pool.fee_tiers)


@pytest.mark.parametrize("text, message", [
    ("[[pool.fee_tiers]]\nmin_hashrate = 1e9\nfee = 1\n",
     r"tier 1: fee = 1: must be at least 0 and below 1 "),
    ("[[pool.fee_tiers]]\nmin_hashrate = 1e9\nfee = 0.000000001\n",
     r"tier 1: fee = 1e-09: more than 8 decimals"),
    ("[[pool.fee_tiers]]\nmin_hashrate = 1e9\nfee = -0.01\n", r"tier 1: fee = -0.01: must be"),
    ("[[pool.fee_tiers]]\nmin_hashrate = 1e9\nfee = 0.01\n"
     "[[pool.fee_tiers]]\nmin_hashrate = 0\nfee = 0.01\n",
     r"tier 2: min_hashrate = 0: must be a positive number"),
    ("[[pool.fee_tiers]]\nmin_hashrate = -5\nfee = 0.01\n", r"tier 1: min_hashrate = -5"),
    ("[[pool.fee_tiers]]\nmin_hashrate = inf\nfee = 0.01\n", r"tier 1: min_hashrate = inf"),
    ("[[pool.fee_tiers]]\nmin_hashrate = '1 GH/s'\nfee = 0.01\n",
     r"tier 1: min_hashrate = '1 GH/s'"),
    ("[[pool.fee_tiers]]\nmin_hashrate = true\nfee = 0.01\n", r"tier 1: min_hashrate = True"),
    ("[[pool.fee_tiers]]\nfee = 0.01\n", r"tier 1: min_hashrate is missing"),
    ("[[pool.fee_tiers]]\nmin_hashrate = 1e9\n", r"tier 1: fee is missing"),
    ("[[pool.fee_tiers]]\nmin_hashrate = 1e9\nfee = 0.01\nfees = 0.02\n",
     r"tier 1: unknown key fees \(known: fee, min_hashrate\)"),
    ("[pool]\nfee_tiers = 0.01\n", r"must be \[\[pool.fee_tiers\]\] tables"),
    ("[pool]\nfee_tiers = [1]\n", r"tier 1 must be a table"),
])
def test_bad_tiers_are_one_line_naming_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=r"^\[pool\] fee_tiers = .*" + message) as info:
        load(tmp_path, text)
    assert "\n" not in str(info.value)


def test_the_environment_cannot_set_tiers(tmp_path):
    with pytest.raises(ConfigError, match=r"^environment \[pool\] fee_tiers = .*configuration "
                                          r"file \(the environment cannot set them\)"):
        load(tmp_path, "", {"GXCPOOL_POOL_FEE_TIERS": "[]"})


def test_the_pool_fee_keeps_its_own_limit(tmp_path):
    with pytest.raises(ConfigError, match=r"^\[pool\] fee = 0.5: must be at least 0 and below "
                                          r"0.5 \(it is a fraction"):
        load(tmp_path, "[pool]\nfee = 0.5\n")


# ------------------------------------------------------------------ the rules

def test_the_lowest_fee_among_the_tiers_reached_applies():
    policy = fees.FeePolicy(Fraction(1, 100), (
        FeeTier(100.0, Fraction(8, 1000)), FeeTier(1000.0, Fraction(9, 1000)),
        FeeTier(5000.0, Fraction(3, 1000))))
    assert policy.tier_for(99.9) is None
    assert policy.tier_for(100.0) == (0, policy.tiers[0])
    assert policy.tier_for(4999.0) == (0, policy.tiers[0])     # 0.8 % beats the 0.9 % tier
    assert policy.tier_for(1e9) == (2, policy.tiers[2])


def test_fee_schedule_is_json_with_decimal_strings():
    schedule = fees.fee_schedule(POLICY)
    assert json.loads(json.dumps(schedule)) == schedule
    assert schedule["default"] == "0.01"
    assert schedule["tiers"] == [{"min_hashrate": 1000.0, "fee": "0.005"},
                                 {"min_hashrate": 10000.0, "fee": "0.002"}]
    assert schedule["hashrate_window_seconds"] == DAY
    assert fees.fee_schedule(fees.FeePolicy(Fraction(0)))["tiers"] == []


def test_effective_fee_says_why(database):
    block_time = T0 + DAY + 40          # 40 s into a minute
    write(database, [
        share(time=T0 - 1, miner=1, work=10 ** 12),                  # before the 24 h
        share(time=T0, miner=1, work=43_200_000),                    # first minute in
        share(time=T0 + DAY - 1, miner=1, work=43_200_000),          # last whole minute
        share(time=T0 + DAY + 50, miner=1, work=10 ** 12),           # after the block
        share(time=T0 + DAY + 10, miner=2, work=10 ** 12),           # the block's minute: out
    ])
    mine = database.run_sync(fees.effective_fee, address(1), block_time, POLICY)
    assert mine["hashrate_24h"] == pytest.approx(1000.0)
    assert (mine["fee"], mine["source"], mine["tier"]) == (Fraction(5, 1000), "tier", 0)
    assert mine["min_hashrate"] == 1000.0
    other = database.run_sync(fees.effective_fee, address(2), block_time, POLICY)
    assert (other["fee"], other["source"], other["tier"]) == (Fraction(1, 100), "default", None)
    assert other["hashrate_24h"] == 0.0
    database.run_sync(fees.set_fee, address(2), Fraction(3, 1000), actor="alice",
                      reason="premium", now=T0)
    other = database.run_sync(fees.effective_fee, address(2), block_time, POLICY)
    assert (other["fee"], other["source"], other["tier"]) == (Fraction(3, 1000), "address", None)
    assert (other["set_by"], other["reason"], other["set_at"]) == ("alice", "premium", T0)
    assert database.run_sync(fees.effective_fees, [address(1), address(2), address(3)],
                             block_time, POLICY) == {
        address(1): Fraction(5, 1000), address(2): Fraction(3, 1000),
        address(3): Fraction(1, 100)}
    assert database.run_sync(fees.effective_fees, [], block_time, POLICY) == {}


def test_many_accounts_are_resolved_without_a_parameter_per_account(database, monkeypatch):
    monkeypatch.setattr(fees, "IN_LIST_LIMIT", 3)
    write(database, [share(time=T0 + i, miner=i, work=100_000_000) for i in range(6)])
    database.run_sync(fees.set_fee, address(7), Fraction(0), actor="a", reason="r", now=T0)
    wanted = [address(i) for i in range(2, 8)]
    got = database.run_sync(fees.effective_fees, wanted, T0 + DAY, POLICY)
    assert got == {**{address(i): Fraction(5, 1000) for i in range(2, 6)},
                   address(6): Fraction(1, 100), address(7): Fraction(0)}


# ------------------------------------------------------------------ crediting

def test_premium_tier_reached_and_lost_and_the_default_through_crediting(database):
    t1 = T0 + DAY
    write(database, [
        share(time=t1 - 3600, miner=1, work=100_000_000),      # 1157 H/s: tier 0, 0.5 %
        share(time=t1 - 3000, miner=2, work=1_000_000),        # 11.6 H/s: default 1 %
        share(time=t1 - 2000, miner=3, work=1_000_000_000),    # a tier-1 rate, but premium
        share(time=t1 - 1000, miner=4, work=900_000_000),      # 10417 H/s: tier 1, 0.2 %
    ])
    assert admin(database, "fee", "set", address(3), "0.001", "--reason", "premium") == 0
    policy = reward_policy("prop")
    found(database, t1, 1)
    split = credit(database, 1, policy)
    assert split.rates == {address(1): Fraction(5, 1000), address(2): Fraction(1, 100),
                           address(3): Fraction(1, 1000), address(4): Fraction(2, 1000)}
    # part = floor(5e9 x work / 2.001e9), fee = floor(part x rate), credit = part - fee
    assert shares_of(database, 1) == {address(1): (248_625_687, 1_249_375),
                                      address(2): (2_473_763, 24_987),
                                      address(3): (2_496_251_874, 2_498_750),
                                      address(4): (2_244_377_811, 4_497_751)}
    assert (split.fee, split.remainder) == (8_270_863, 2)
    check_books(database, 1)

    # Two days on: miner 1 mined little in the last 24 h and is back at the default.
    t2 = t1 + 2 * DAY
    write(database, [share(time=t2 - 600, miner=1, work=1_000_000),
                     share(time=t2 - 500, miner=2, work=3_000_000)])
    found(database, t2, 2)
    split = credit(database, 2, policy)
    assert split.rates == {address(1): Fraction(1, 100), address(2): Fraction(1, 100)}
    assert shares_of(database, 2) == {address(1): (1_237_500_000, 12_500_000),
                                      address(2): (3_712_500_000, 37_500_000)}
    check_books(database, 2)
    assert database.run_sync(accounts.verify_balances) == []


def test_pplns_and_solo_use_each_accounts_fee(database):
    write(database, [share(time=T0 + 10, miner=1, work=100_000_000),
                     share(time=T0 + 20, miner=2, work=100_000_000)])
    database.run_sync(fees.set_fee, address(2), Fraction(0), actor="a", reason="friend", now=T0)
    found(database, T0 + 30, 1)
    split = credit(database, 1, reward_policy("pplns"))
    assert shares_of(database, 1) == {address(1): (2_475_000_000, 25_000_000),
                                      address(2): (2_500_000_000, 0)}
    assert split.fee == 25_000_000
    check_books(database, 1)
    # SOLO: the finder's own fee on the whole reward
    database.run_sync(fees.set_fee, address(99), Fraction(2, 100), actor="a", reason="r",
                      now=T0)
    found(database, T0 + 40, 2)
    credit(database, 2, reward_policy("solo"))
    assert shares_of(database, 2) == {address(99): (4_900_000_000, 100_000_000)}
    check_books(database, 2)


def test_a_pool_without_tiers_or_address_fees_splits_as_configured(database):
    write(database, [share(time=T0 + 10, miner=1, work=3), share(time=T0 + 20, miner=2, work=1)])
    found(database, T0 + 30, 1)
    credit(database, 1, RewardPolicy("pplns", 2.0, Fraction(1, 100), "@pool-fee"))
    assert shares_of(database, 1) == {address(1): (3_712_500_000, 37_500_000),
                                      address(2): (1_237_500_000, 12_500_000)}
    check_books(database, 1)


def test_random_fees_always_add_up_through_the_database(database):
    rng = random.Random(14)
    records, t = [], T0
    for i in range(300):
        t += rng.random() * 600
        records.append(share(time=t, miner=rng.randrange(12), work=rng.randrange(1, 10 ** 9)))
    write(database, records)
    for miner in range(0, 12, 3):
        database.run_sync(fees.set_fee, address(miner), Fraction(rng.randrange(10 ** 8), 10 ** 8),
                          actor="a", reason="random", now=T0)
    policy = reward_policy("prop", fees.FeePolicy(Fraction(rng.randrange(5 * 10 ** 6), 10 ** 8),
                                                  (FeeTier(5_000.0, Fraction(1, 1000)),)))
    for height in range(1, 6):
        found(database, T0 + height * (t - T0) / 5 + 0.5, height)
        split = credit(database, height, policy)
        assert split.total() == REWARD
        check_books(database, height)


def test_the_worked_example_of_docs_fees(database):
    # docs/fees.md: A at the pool fee, B premium 0.5 %, C in a 0.8 % tier; work 6:3:2
    # A's share is in the block's own minute, which the 24 h hashrate leaves
    # out: A reaches no tier although it did the most work.
    write(database, [share(time=T0 + 130, miner=1, work=6 * 10 ** 10),
                     share(time=T0 + 20, miner=2, work=3 * 10 ** 10),
                     share(time=T0 + 30, miner=3, work=2 * 10 ** 10)])
    database.run_sync(fees.set_fee, address(2), Fraction(5, 1000), actor="a", reason="premium",
                      now=T0)
    tier = fees.FeePolicy(Fraction(1, 100), (FeeTier(2 * 10 ** 10 / DAY, Fraction(8, 1000)),))
    found(database, T0 + 150, 1)
    split = credit(database, 1, reward_policy("prop", tier))
    assert shares_of(database, 1) == {address(1): (2_700_000_000, 27_272_727),
                                      address(2): (1_356_818_182, 6_818_181),
                                      address(3): (901_818_182, 7_272_727)}
    assert (split.fee, split.remainder) == (41_363_635, 1)
    check_books(database, 1)
    notes = [row[-1] for row in database.run_sync(history.miner_history, address(1))]
    assert notes == ["work 60000000000, fee 27272727 base units"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_credits_from_before_the_upgrade_record_no_fee(backend, tmp_path):
    cleanups = []
    database = open_database(backend, tmp_path, cleanups=cleanups, upgrade=False)
    try:
        migrate.upgrade(database.engine, "0003")

        def old_credit(c):
            c.execute(insert(blocks).values(
                id=1, height=1, hash="h", previous_hash="p", algorithm="gxhash", address="a",
                worker="", work=1, network_difficulty=1.0, time=T0, status="mature", reason="",
                reward=10, confirmations=6, credited=True, candidate="{}", created_at=T0,
                updated_at=T0))
            c.exec_driver_sql("INSERT INTO credits (block_id, account, kind, amount, work, "
                              "status) VALUES (1, 'a', 'share', 10, '1', 'mature')")
        database.run_sync(old_credit)
        migrate.upgrade(database.engine)
        assert [(r.amount, r.fee) for r in rows_of(database, 1)] == [(10, 0)]
        assert database.run_sync(fees.list_fees) == []
    finally:
        for fn in reversed(cleanups):
            fn()
