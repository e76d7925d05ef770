"""Payout rows on both engines: parts, consolidations, replaced payouts; the books always balance."""
from gxcpoold.ledger import accounts
from gxcpoold.ledger import payoutstore as store
from gxcpoold.ledger.admin import main
from gxcpoold.ledger.chainscan import PaymentSeen, payments_in_block
from tests.ledger.factories import WALLET, address

GXC = 100_000_000


def owe(database, account, amount):
    database.run_sync(accounts.adjust, account, amount, actor="test", reason="owed")


def seen(row, height=7, fee=100_000):
    return PaymentSeen(height, "h%d" % height, "t", row.recipient, row.amount, fee, "", None)


def books(database):
    return database.run_sync(accounts.verify_balances)


def test_a_part_debits_only_its_amount_and_one_payout_is_open_at_a_time(database):
    owe(database, address(1), 30 * GXC)
    part = database.run_sync(store.create_intent, address(1), GXC, 5, 100, 12 * GXC)
    assert (part.amount, part.kind, part.idempotency_key) == (12 * GXC, "payout",
                                                              address(1) + "#1")
    assert database.run_sync(accounts.balance_of, address(1)) == 18 * GXC
    assert database.run_sync(store.create_intent, address(1), GXC, 5, 100) is None
    assert database.run_sync(store.create_consolidation, WALLET, GXC, 5, 100, "x") is None
    database.run_sync(store.mark_sent, part.id, "t1")
    database.run_sync(store.confirm, part.id, seen(part), "@pool-fee")
    rest = database.run_sync(store.create_intent, address(1), GXC, 8, 100, 99 * GXC)
    assert rest.amount == 18 * GXC                      # never more than the balance
    assert database.run_sync(store.last_send_ids) == {"t1", "t"}
    assert books(database) == []


def test_a_consolidation_moves_no_balance_but_its_fee_is_the_pools(database):
    owe(database, "@pool-fee", GXC)
    row = database.run_sync(store.create_consolidation, WALLET, 5 * GXC, 5, 100, "merge")
    assert (row.kind, row.recipient, row.idempotency_key) == ("consolidation", WALLET,
                                                              "@consolidation#1")
    database.run_sync(store.confirm, row.id, seen(row), "@pool-fee")
    assert database.run_sync(accounts.balance_of, "@pool-fee") == GXC - 100_000
    assert database.run_sync(accounts.balance_of, WALLET) == 0
    again = database.run_sync(store.create_consolidation, WALLET, GXC, 9, 100, "merge")
    assert again.idempotency_key == "@consolidation#2"
    database.run_sync(store.refund, again.id, "expired")
    assert database.run_sync(accounts.balance_of, WALLET) == 0
    assert books(database) == []


def test_a_replaced_payout_is_refunded_then_debited_again_if_mined_after_all(database):
    owe(database, address(1), 20 * GXC)
    stuck = database.run_sync(store.create_intent, address(1), GXC, 5, 100)
    database.run_sync(store.mark_sent, stuck.id, "t1")
    assert database.run_sync(store.replace, stuck.id, "too large")
    assert database.run_sync(accounts.balance_of, address(1)) == 20 * GXC
    assert [r.id for r in database.run_sync(store.replaced_payouts)] == [stuck.id]
    assert database.run_sync(store.unfinished_payouts) == []
    part = database.run_sync(store.create_intent, address(1), GXC, 6, 100, 12 * GXC)
    assert books(database) == []
    # the stuck one is mined after all: the balance owes it again (its part then fails)
    assert database.run_sync(store.confirm, stuck.id, seen(stuck), "@pool-fee")
    assert database.run_sync(accounts.balance_of, address(1)) == -12 * GXC
    database.run_sync(store.refund, part.id, "its input was spent")
    assert database.run_sync(accounts.balance_of, address(1)) == 0
    assert books(database) == []


def test_a_replaced_payout_past_its_expiry_is_final_without_moving_money(database):
    owe(database, address(1), 20 * GXC)
    stuck = database.run_sync(store.create_intent, address(1), GXC, 5, 100)
    database.run_sync(store.replace, stuck.id, "too large")
    assert database.run_sync(store.retire, stuck.id, "expired")
    assert not database.run_sync(store.retire, stuck.id, "twice")
    assert database.run_sync(accounts.balance_of, address(1)) == 20 * GXC
    assert books(database) == []


def test_admin_lists_and_resolves_a_replaced_payout(database, capsys):
    owe(database, address(1), 20 * GXC)
    stuck = database.run_sync(store.create_intent, address(1), GXC, 5, 100)
    database.run_sync(store.replace, stuck.id, "too large")
    args = ["--database-url", database.url, "--actor", "alice"]
    assert main(args + ["payouts", "list"]) == 0
    assert "replaced" in capsys.readouterr().out
    assert main(args + ["payouts", "resolve", stuck.idempotency_key, "--not-paid",
                        "--reason", "expired"]) == 0
    assert "now final" in capsys.readouterr().out
    assert database.run_sync(accounts.balance_of, address(1)) == 20 * GXC
    assert books(database) == []


def test_a_send_to_the_pool_itself_is_seen_as_a_payment_to_the_pool():
    block = {"height": 3, "hash": "h", "tx": [
        {"coinbase": True, "from": "", "outputs": [{"address": WALLET, "amount": 50.0}]},
        {"from": WALLET, "txid": "m", "fee": 0.001, "inputs": [{"txHash": "a", "outputIndex": 0}],
         "outputs": [{"address": WALLET, "amount": 12.5}, {"address": WALLET, "amount": 0.009}]},
        {"from": WALLET, "txid": "p", "fee": 0.001, "inputs": [{"txHash": "b", "outputIndex": 1}],
         "outputs": [{"address": address(1), "amount": 2.0}, {"address": WALLET, "amount": 1.0}]}]}
    found = [(p.recipient, p.amount, p.input_txid) for p in payments_in_block(block, WALLET)]
    assert found == [(WALLET, 1_250_000_000, "a"), (address(1), 200_000_000, "b")]
