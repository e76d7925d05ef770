"""gxcpool-admin against both engines: every command leaves an audit trail and sane books."""
import csv
import io

from sqlalchemy import select

from gxcpoold.ledger import accounts, bans, meta, migrate
from gxcpoold.ledger import payoutstore as store
from gxcpoold.ledger.admin import main
from gxcpoold.ledger.schema import audit
from tests.ledger.factories import address


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
