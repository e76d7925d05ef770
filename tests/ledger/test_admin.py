"""gxcpool-admin against both engines: every command leaves an audit trail and sane books."""
import csv
import io
import time
from fractions import Fraction

import pytest
from sqlalchemy import select

from gxcpoold.ledger import accounts, bans, fees, meta, migrate
from gxcpoold.ledger import payoutstore as store
from gxcpoold.ledger.admin import main
from gxcpoold.ledger.schema import audit
from gxcpoold.ledger.sharestore import ShareStore
from tests.ledger.factories import address, share


def admin(database, *argv):
    return main(["--database-url", database.url, "--actor", "alice", *argv])


def audit_actions(database):
    return [r.action for r in database.run_sync(
        lambda c: c.execute(select(audit).order_by(audit.c.id)).all())]


def test_db_upgrade_on_an_empty_database(tmp_path, capsys):
    assert main(["--database-url", "sqlite:///%s/new.db" % tmp_path, "db", "upgrade"]) == 0
    assert "empty -> %s" % migrate.head_revision() in capsys.readouterr().out


def test_adjustments_are_audited_and_never_overdraw(database, capsys):
    assert admin(database, "adjust", address(1), "1.5", "--reason", "missed share") == 0
    assert admin(database, "adjust", address(1), "-0.5", "--reason", "correction") == 0
    assert database.run_sync(accounts.balance_of, address(1)) == 100_000_000
    assert admin(database, "adjust", address(1), "-2", "--reason", "too much") == 1
    assert "exceeds the balance" in capsys.readouterr().err
    assert admin(database, "adjust", address(1), "0.000000001", "--reason", "x") == 1
    assert audit_actions(database) == ["credit", "debit"]
    assert database.run_sync(accounts.verify_balances) == []
    assert admin(database, "balances") == 0


def _stuck_payout(database):
    database.run_sync(accounts.adjust, address(2), 300_000_000, actor="t", reason="earned")
    return database.run_sync(store.create_intent, address(2), 1, 10, 1000)


def test_resolve_a_stuck_payout_as_never_paid(database, capsys):
    payout = _stuck_payout(database)
    assert admin(database, "payouts", "list") == 0
    assert payout.idempotency_key in capsys.readouterr().out
    assert admin(database, "payouts", "resolve", payout.idempotency_key, "--not-paid",
                 "--reason", "checked the chain by hand") == 0
    assert database.run_sync(accounts.balance_of, address(2)) == 300_000_000
    assert admin(database, "payouts", "resolve", payout.idempotency_key, "--not-paid",
                 "--reason", "again") == 1
    assert "already failed" in capsys.readouterr().err
    assert database.run_sync(accounts.verify_balances) == []


def test_resolve_a_stuck_payout_as_paid(database):
    payout = _stuck_payout(database)
    assert admin(database, "payouts", "resolve", payout.idempotency_key, "--paid", "42",
                 "--reason", "seen in block 42") == 0
    row = database.run_sync(store.unfinished_payouts)
    assert row == []
    assert database.run_sync(accounts.balance_of, address(2)) == 0
    assert "payout-resolved" in audit_actions(database)
    assert database.run_sync(accounts.verify_balances) == []


def test_resume_lifts_a_halt(database):
    database.run_sync(meta.put, meta.PAYOUTS_HALTED, "node refused")
    assert admin(database, "payouts", "resume", "--reason", "fixed") == 0
    assert database.run_sync(store.halted) is None
    assert audit_actions(database) == ["payouts-resumed"]


def test_ban_and_unban(database, capsys):
    assert admin(database, "ban", "add", "ip", "10.0.0.9", "--reason", "share flood") == 0
    assert database.run_sync(bans.is_banned, "ip", "10.0.0.9")
    assert admin(database, "ban", "list") == 0
    assert "share flood" in capsys.readouterr().out
    assert admin(database, "ban", "remove", "ip", "10.0.0.9") == 0
    assert not database.run_sync(bans.is_banned, "ip", "10.0.0.9")
    assert admin(database, "ban", "remove", "ip", "10.0.0.9") == 1
    assert audit_actions(database) == ["ban", "unban"]


def test_export_history_as_csv(database, tmp_path):
    database.run_sync(accounts.adjust, address(3), 250_000_000, actor="t", reason="bonus")
    database.run_sync(store.create_intent, address(3), 1, 5, 1000)
    out = tmp_path / "h.csv"
    assert admin(database, "export", address(3), "--output", str(out)) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["event"], r["amount_base_units"]) for r in rows] == [
        ("credit", "250000000"), ("payout", "-250000000")]
    assert rows[1]["status"] == "pending"


# ------------------------------------------------------------------ per-address fees

def fee_rows(database):
    return database.run_sync(fees.list_fees)


def test_fee_set_show_list_clear_with_an_audit_trail(database, capsys):
    assert admin(database, "fee", "show", address(5)) == 0
    out = capsys.readouterr().out
    assert "%s pays 0.01 (1 %%)" % address(5) in out and "the pool fee ([pool] fee)" in out
    assert admin(database, "fee", "list") == 0
    assert "no address has a fee of its own" in capsys.readouterr().out

    assert admin(database, "fee", "set", address(5), "0.005", "--reason", "premium") == 0
    assert "now pays 0.005 (0.5 %)" in capsys.readouterr().out
    assert admin(database, "fee", "set", address(5), "0.0025", "--reason", "gold") == 0
    assert "now pays 0.0025 (0.25 %); was 0.005 (0.5 %)" in capsys.readouterr().out
    assert [(r["address"], r["fee"], r["set_by"], r["reason"]) for r in fee_rows(database)] == [
        (address(5), Fraction(25, 10000), "alice", "gold")]
    assert admin(database, "fee", "show", address(5)) == 0
    out = capsys.readouterr().out
    assert "pays 0.0025 (0.25 %)" in out and "its own fee, set" in out and "alice: gold" in out
    assert admin(database, "fee", "list") == 0
    assert "%s 0.0025 (0.25 %%)" % address(5) in " ".join(capsys.readouterr().out.split())

    assert admin(database, "fee", "clear", address(5), "--reason", "expired") == 0
    assert "no longer has its own fee (was 0.0025 (0.25 %))" in capsys.readouterr().out
    assert fee_rows(database) == []
    assert admin(database, "fee", "clear", address(5)) == 1
    assert "has no fee of its own" in capsys.readouterr().err

    rows = database.run_sync(lambda c: c.execute(select(audit).order_by(audit.c.id)).all())
    assert [(r.actor, r.action, r.account, r.amount, r.reason) for r in rows] == [
        ("alice", "fee-set", address(5), None, "fee 0.005 (was none): premium"),
        ("alice", "fee-set", address(5), None, "fee 0.0025 (was 0.005): gold"),
        ("alice", "fee-clear", address(5), None, "fee 0.0025 removed: expired")]
    # a fee is no balance movement: the books still add up
    assert database.run_sync(accounts.verify_balances) == []


def test_fee_show_names_the_volume_tier(database, tmp_path, capsys):
    config = tmp_path / "pool.toml"
    config.write_text("[pool]\nfee = 0.02\n[[pool.fee_tiers]]\nmin_hashrate = 1000\n"
                      "fee = 0.01\n[[pool.fee_tiers]]\nmin_hashrate = 1e6\nfee = 0.001\n")
    now = time.time()
    database.run_sync(ShareStore().write, [share(time=now - 7200, miner=6, work=2 * 86_400_000)])
    assert admin(database, "--config", str(config), "fee", "show", address(6)) == 0
    out = capsys.readouterr().out
    assert "%s pays 0.01 (1 %%)" % address(6) in out
    assert "volume tier 1 of [[pool.fee_tiers]] (from 1.000 kH/s)" in out
    assert "24 h average accepted hashrate: 2.000 kH/s" in out
    assert "pool fee 0.02 (2 %); tier 1: 0.01 (1 %) from 1.000 kH/s; tier 2: 0.001 (0.1 %) " \
           "from 1.000 MH/s" in out


@pytest.mark.parametrize("argv, message", [
    (("fee", "set", address(5), "1", "--reason", "x"), "fee '1': must be at least 0 and below 1"),
    (("fee", "set", address(5), "1.5", "--reason", "x"), "below 1"),
    (("fee", "set", address(5), "-0.01", "--reason", "x"), "must be at least 0"),
    (("fee", "set", address(5), "0.000000001", "--reason", "x"),
     "fee '0.000000001': more than 8 decimals"),
    (("fee", "set", address(5), "1%", "--reason", "x"), "fee '1%': not a number"),
    (("fee", "set", address(5), "0.01", "--reason", " "), "--reason must say why"),
    (("fee", "set", "tGXCnothex", "0.01", "--reason", "x"), "'tGXCnothex' is not a testnet"),
    (("fee", "set", "@pool-fee", "0.01", "--reason", "x"), "is not a testnet address"),
    (("fee", "set", "GXCe05a3e3799de3e8fa8c28b555fba6f6764", "0.01", "--reason", "x"),
     "mainnet address; this pool is on testnet"),
    (("fee", "clear", "nope"), "is not a testnet address"),
    (("fee", "show", "nope"), "is not a testnet address"),
])
def test_fee_refuses_bad_input_in_one_line(database, capsys, argv, message):
    assert admin(database, *argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("gxcpool-admin: ") and message in err and err.count("\n") == 1
    assert fee_rows(database) == [] and audit_actions(database) == []


def test_fee_set_without_a_reason_is_a_usage_error(database, capsys):
    with pytest.raises(SystemExit) as exit_:
        admin(database, "fee", "set", address(5), "0.01")
    assert exit_.value.code == 2
    assert "--reason" in capsys.readouterr().err
