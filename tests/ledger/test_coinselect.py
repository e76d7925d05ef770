"""The payout planner against the node's coin selection and transaction sizes (spec 6.2, 6.3)."""
import pytest

from gxcpoold.devnet import coins as devnet_coins
from gxcpoold.devnet.model import Utxo
from gxcpoold.ledger import coinselect as cs
from gxcpoold.node.client import NodeClient

GXC = 100_000_000


def coin(txid, amount_gxc, index=0):
    return cs.Coin(txid, index, round(amount_gxc * GXC))


def test_listunspent_entries_become_coins_of_that_address_only():
    entries = [
        {"address": "P", "amount": 50.0, "outputIndex": 0, "txHash": "bb", "confirmations": 7},
        {"address": "P", "amount": 0.12345678, "outputIndex": 1, "txHash": "aa"},
        {"address": "Q", "amount": 50.0, "outputIndex": 0, "txHash": "cc"},
        {"address": "P", "amount": "x", "outputIndex": 0, "txHash": "dd"},
        {"address": "P", "amount": 1.0, "outputIndex": True, "txHash": "ee"},
        "junk"]
    assert cs.coins_from_listunspent(entries, "P") == [cs.Coin("bb", 0, 50 * GXC),
                                                        cs.Coin("aa", 1, 12_345_678)]
    assert cs.coins_from_listunspent({"error": 1}, "P") == []


def test_the_sort_key_is_the_string_txhash_underscore_index():
    # "ab_10" < "ab_2" as strings: the node compares keys, not numbers
    coins = [coin("ab", 1, 2), coin("ab", 1, 10), coin("0f", 1, 5)]
    [order] = cs.selection_orders(coins)
    assert [c.key for c in order] == ["0f_5", "ab_10", "ab_2"]


def test_orders_agree_with_the_devnet_wallet():
    """The simulator implements spec 6.2 independently: same walk, same inputs."""
    utxos = [Utxo("%02x" % (i * 37 % 256), str(i % 3), "P", 1.0 + i % 5, 1, True)
             for i in range(40)]
    last = utxos[7].txid
    coins = [cs.Coin(u.txid, int(u.index), round(u.amount * GXC)) for u in utxos]
    node_order = [u.key for u in devnet_coins.selection_order(utxos, last)]
    orders = cs.selection_orders(coins, {last})
    assert [c.key for c in orders[1]] == node_order
    assert [c.key for c in orders[0]] == [u.key for u in devnet_coins.selection_order(utxos, "")]
    for target_gxc in (0.5, 3.0, 17.25, 60.0):
        chosen, _ = devnet_coins.select(utxos, last, target_gxc)
        assert [c.key for c in cs.walk(orders[1], round(target_gxc * GXC))] == \
            [u.key for u in chosen]


def test_inputs_needed_takes_the_worse_order_and_the_largest_fee():
    coins = [coin("a%d" % i, 1) for i in range(10)] + [coin("ff", 9)]
    orders = cs.selection_orders(coins, {"ff"})
    # change first: 9 GXC covers 8.5; sorted: nine coins of 1 GXC
    assert cs.inputs_needed(orders, int(8.5 * GXC)) == 9
    assert cs.inputs_needed([orders[1]], int(8.5 * GXC)) == 1
    # 9 GXC exactly needs a tenth coin once the fee is added
    assert cs.inputs_needed([orders[0]], 9 * GXC) == 10
    assert cs.inputs_needed(orders, 100 * GXC) is None


def test_capacity_is_what_max_inputs_carry_in_every_order_less_the_largest_fee():
    coins = [coin("a%d" % i, 1) for i in range(10)] + [coin("ff", 9)]
    orders = cs.selection_orders(coins, {"ff"})
    assert cs.capacity(orders, 3) == 3 * GXC - cs.MAX_NODE_FEE       # sorted order is worse
    assert cs.capacity([orders[1]], 3) == 11 * GXC - cs.MAX_NODE_FEE
    assert cs.inputs_needed(orders, cs.capacity(orders, 3)) == 3
    assert cs.inputs_needed(orders, cs.capacity(orders, 3) + 1) == 4
    assert cs.capacity(orders, 0) == 0


def test_certain_inputs_hold_for_every_fee_and_order():
    coins = [coin("a%d" % i, 1) for i in range(5)]
    orders = cs.selection_orders(coins)
    assert cs.certain_inputs(orders, 2 * GXC) == {"a0_0", "a1_0", "a2_0"}
    assert cs.certain_inputs(orders, int(1.5 * GXC)) == {"a0_0", "a1_0"}


def test_max_inputs_from_the_request_limit():
    # spec 6.3: with the real node's limit and a ~1 kB coinbase block, about 13 inputs
    assert cs.max_inputs_for(8000 - 1000) == 13
    assert cs.max_inputs_for(8191 - 1000) == 13
    assert cs.max_inputs_for(4000 - 1000) == 4
    assert cs.max_inputs_for(500) == 0
    # the planned size stays under the observed size of 16 (7,404 B) and 32 inputs (14,286 B)
    for inputs, observed in ((16, 7404), (32, 14286)):
        assert cs.TX_BASE_BYTES + inputs * cs.INPUT_BYTES > observed


@pytest.mark.parametrize("balance_gxc, parts", [(40, 1), (400, 1), (649.98, 1), (649.99, 1), (650, 2), (2000, 4)])
def test_a_balance_is_paid_in_parts_that_fit(balance_gxc, parts):
    coins = [coin("%04x" % i, 50) for i in range(60)]
    orders = cs.selection_orders(coins)
    balance, paid, plans = round(balance_gxc * GXC), 0, []
    while balance:
        plan = cs.plan_send(orders, balance=balance, minimum=GXC, max_inputs=13,
                            wallet=60 * 50 * GXC)
        assert plan.action == cs.PAY and plan.inputs <= 13
        plans.append(plan)
        balance -= plan.amount
        paid += plan.amount
    assert len(plans) == parts
    assert paid == round(balance_gxc * GXC)


def test_the_rest_of_a_part_is_never_left_below_the_minimum():
    coins = [coin("%04x" % i, 1) for i in range(30)]
    orders = cs.selection_orders(coins)
    fits = cs.capacity(orders, 13)
    plan = cs.plan_send(orders, balance=fits + GXC // 2, minimum=GXC, max_inputs=13,
                        wallet=30 * GXC)
    assert plan.action == cs.PAY
    assert plan.amount == fits + GXC // 2 - GXC           # leaves exactly the minimum
    # when leaving the minimum would make this part too small, the rest just waits
    plan = cs.plan_send(orders, balance=fits + GXC // 2, minimum=8 * GXC, max_inputs=13,
                        wallet=30 * GXC)
    assert plan.amount == fits


def test_small_coins_are_consolidated_when_not_even_the_minimum_fits():
    coins = [coin("%04x" % i, 0.05) for i in range(60)]
    orders = cs.selection_orders(coins)
    plan = cs.plan_send(orders, balance=2 * GXC, minimum=GXC, max_inputs=13, wallet=3 * GXC)
    assert plan.action == cs.CONSOLIDATE
    assert plan.amount == 13 * 5_000_000 - cs.MAX_NODE_FEE
    assert plan.inputs == 13
    # coins smaller than the fee cannot be merged into anything useful
    dust = [coin("%04x" % i, 0.0005) for i in range(60)]
    plan = cs.plan_send(cs.selection_orders(dust), balance=2 * GXC, minimum=GXC, max_inputs=13,
                        wallet=3 * GXC)
    assert plan.action == cs.WAIT


def test_a_short_wallet_waits():
    coins = [coin("a", 50)]
    plan = cs.plan_send(cs.selection_orders(coins), balance=80 * GXC, minimum=60 * GXC,
                        max_inputs=13, wallet=50 * GXC)
    assert plan.action == cs.WAIT


def test_fit_block_leaves_out_a_transaction_too_large_and_keeps_the_later_ones():
    client = NodeClient(None, "http://127.0.0.1:1")
    coinbase = {"txid": "c" * 64, "is_coinbase": True, "pad": "p" * 900}
    huge = {"txid": "1" * 64, "inputs": [{"signature": "30" * 200}] * 16}
    small = [{"txid": "%064x" % i, "pad": "s" * 500} for i in range(2, 5)]
    fitted = client.fit_block({"height": 1, "hash": "0" * 64,
                               "transactions": [coinbase, huge] + small})
    assert [tx["txid"] for tx in fitted["transactions"]] == ["c" * 64] + [t["txid"] for t in small]
    assert len(client.encode("submitblock", [fitted], 2**31)) <= client.max_request_bytes
