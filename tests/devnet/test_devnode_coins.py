"""Coin selection of sendtoaddress (spec §6.2) and transaction JSON sizes (spec §6.3),
over loopback HTTP."""
import json

from twisted.internet import defer

from .rawhttp import compact
from .test_devnode_persistence import StatefulCase
from .test_devnode_wallet import WalletCase

RECIPIENT = "tGXC" + "ab" * 17
REQUEST_LIMIT = 8191          # §1.2


def key(entry: dict) -> str:
    """The wallet's sort key "<txHash>_<outputIndex>" of a listunspent entry or an input."""
    return f"{entry['txHash']}_{entry['outputIndex']}"


def tx_size(tx: dict) -> int:
    """Bytes of a transaction's compact JSON, as it travels in getblocktemplate/submitblock."""
    return len(compact(tx))


class CoinCase(WalletCase):
    @defer.inlineCallbacks
    def fund(self, count: int, amount: float = 50.0):
        for _ in range(count):
            yield self.result("devnet_fund", [self.wallet, amount])

    @defer.inlineCallbacks
    def listed(self, txid: str) -> dict:
        """The mempool tx `txid` as the template lists it."""
        template = yield self.result("getblocktemplate")
        [tx] = [t for t in template["transactions"] if t["txid"] == txid]
        return tx

    @defer.inlineCallbacks
    def send_and_inspect(self, amount: float):
        """(candidate keys in the wallet's sort order before the send, keys of the inputs used)."""
        unspent = yield self.result("listunspent", [self.wallet])
        t = yield self.result("sendtoaddress", [RECIPIENT, amount])
        tx = yield self.listed(t)
        return t, sorted(key(u) for u in unspent), [key(i) for i in tx["inputs"]], tx

    @defer.inlineCallbacks
    def mine_mempool(self):
        """A pool block carrying the mempool txs; returns its txs as getblock shows them."""
        outcome, block = yield self.submit_with(lambda tx: True)
        self.assertEqual(outcome.get("result", "missing"), None, outcome)
        mined = yield self.result("getblock", [block["hash"]])
        return mined["tx"]


class SortedSelection(CoinCase):
    @defer.inlineCallbacks
    def test_inputs_are_the_smallest_keys_until_amount_plus_fee(self):
        yield self.fund(8, 10.0)
        _, order, inputs, tx = yield self.send_and_inspect(35.0)     # 35.001 needs 4 x 10
        self.assertEqual(inputs, order[:4])
        self.assertEqual([o["address"] for o in tx["outputs"]], [RECIPIENT, self.wallet])
        self.assertEqual([o["amount"] for o in tx["outputs"]], [35.0, 40.0 - 35.0 - 0.001])

    @defer.inlineCallbacks
    def test_exact_sum_stops_there(self):
        yield self.fund(3, 10.0)
        _, order, inputs, _ = yield self.send_and_inspect(20.0 - 0.001)
        self.assertEqual(inputs, order[:2])

    @defer.inlineCallbacks
    def test_immature_coinbase_outputs_are_not_candidates(self):
        yield self.fund(2, 10.0)
        yield self.mine(1, self.wallet)          # 50 GXC, immature for one more block
        self.assertEqual((yield self.result("getbalance", [self.wallet])), 20.0)
        coinbase = self.node.chain.blocks[-1].transactions[0].txid
        _, order, inputs, _ = yield self.send_and_inspect(15.0)
        self.assertEqual(inputs, order)
        self.assertNotIn(coinbase, [i.partition("_")[0] for i in inputs])

    @defer.inlineCallbacks
    def test_outputs_spent_in_the_mempool_are_chosen_again(self):
        # §6.2 step 1 / defect 8: the chain's UTXO set, not the mempool's view
        yield self.fund(4, 10.0)
        _, order, first, _ = yield self.send_and_inspect(15.0)
        _, _, second, _ = yield self.send_and_inspect(5.0)
        self.assertEqual(first, order[:2])
        self.assertEqual(second, order[:1])


class LastTransactionFirst(CoinCase):
    # with the node's txid rewrite off, the mined change keeps the id sendtoaddress returned
    settings = {"maturity": 2, "txid_rewrite": False}

    @defer.inlineCallbacks
    def test_change_of_the_last_send_is_spent_first(self):
        yield self.fund(12, 10.0)
        t, order, inputs, _ = yield self.send_and_inspect(15.0)
        self.assertEqual(inputs, order[:2])
        yield self.mine_mempool()
        change = f"{t}_1"
        unspent = yield self.result("listunspent", [self.wallet])
        others = sorted(key(u) for u in unspent if key(u) != change)
        self.assertIn(change, [key(u) for u in unspent])
        self.assertLess(others[0], change, "fixture: some output must sort before the change")
        # 4.999 of change first, then the smallest other keys: 4.999 + 10 + 10 >= 20.001
        _, _, inputs, _ = yield self.send_and_inspect(20.0)
        self.assertEqual(inputs, [change] + others[:2])

    @defer.inlineCallbacks
    def test_change_still_in_the_mempool_is_not_spendable(self):
        yield self.fund(3, 10.0)
        t, _, _, _ = yield self.send_and_inspect(5.0)
        _, order, inputs, _ = yield self.send_and_inspect(5.0)
        self.assertNotIn(f"{t}_1", inputs)
        self.assertEqual(inputs, order[:1])


class RewrittenIds(CoinCase):
    @defer.inlineCallbacks
    def test_mined_change_is_sorted_with_the_others(self):
        # the wallet's lastTxHash is the mempool id t; the chain holds the change as t'_1
        yield self.fund(12, 10.0)
        t, _, _, _ = yield self.send_and_inspect(15.0)
        mined = yield self.mine_mempool()
        t_prime = mined[1]["txid"]
        self.assertNotEqual(t_prime, t)
        _, order, inputs, _ = yield self.send_and_inspect(45.0)
        self.assertIn(f"{t_prime}_1", order)
        total = 0.0
        expected = []
        amounts = {key(u): u["amount"] for u in (yield self.result("listunspent",
                                                                   [self.wallet]))}
        for k in order:
            if total >= 45.0 + 0.001:
                break
            expected.append(k)
            total += amounts[k]
        self.assertEqual(inputs, expected)


class LastTransactionPersists(StatefulCase):
    settings = {"maturity": 2, "txid_rewrite": False}

    @defer.inlineCallbacks
    def test_last_tx_hash_survives_a_restart(self):
        wallet = self.node.wallet.address
        for _ in range(12):
            yield self.result("devnet_fund", [wallet, 10.0])
        t = yield self.result("sendtoaddress", [RECIPIENT, 15.0])
        yield self.mine(1, wallet)
        self.assertEqual(self.node.last_tx_hash, t)
        yield self.restart_service()
        self.assertEqual(self.node.last_tx_hash, t)
        t2 = yield self.result("sendtoaddress", [RECIPIENT, 1.0])
        template = yield self.result("getblocktemplate")
        [tx] = [x for x in template["transactions"] if x["txid"] == t2]
        self.assertEqual(key(tx["inputs"][0]), f"{t}_1")


class TransactionSizes(CoinCase):
    """§6.3: about 430 bytes per input; 16 inputs 7,404 bytes, 32 inputs 14,286 bytes."""

    settings = {"maturity": 2, "double_spend": False}

    @defer.inlineCallbacks
    def tx_with_inputs(self, count: int) -> dict:
        """A payout that needs exactly `count` coinbase-sized (50 GXC) inputs."""
        yield self.fund(count, 50.0)
        t = yield self.result("sendtoaddress", [RECIPIENT, 50.0 * count - 1.0])
        tx = yield self.listed(t)
        self.assertEqual(len(tx["inputs"]), count)
        return tx

    @defer.inlineCallbacks
    def test_sizes_per_input_match_the_real_node(self):
        sizes = {}
        for count in (1, 16, 32):
            tx = yield self.tx_with_inputs(count)
            sizes[count] = tx_size(tx)
        per_input = (sizes[32] - sizes[16]) / 16
        for measured, observed in ((sizes[16], 7404), (sizes[32], 14286), (per_input, 430),
                                   (sizes[1] - per_input, 520)):
            self.assertLess(abs(measured / observed - 1), 0.02, (measured, observed, sizes))

    @defer.inlineCallbacks
    def submit_carrying(self, count: int):
        """Submit a block with the template coinbase and a `count`-input tx in one write."""
        tx = yield self.tx_with_inputs(count)
        block = yield self.block_from_template(self.wallet)
        block["transactions"] = block["transactions"][:1] + [tx]
        block["hash"] = block["hash"][:-8] + f"{self.node.chain.n:08x}"
        request = compact({"jsonrpc": "2.0", "id": 1, "method": "submitblock",
                           "params": [block]})
        response = yield self.post(request)
        return request, response

    @defer.inlineCallbacks
    def test_a_13_input_payout_fits_in_a_block(self):
        request, response = yield self.submit_carrying(13)
        self.assertLess(len(request), REQUEST_LIMIT)
        self.assertFalse(response.reset)
        self.assertEqual(json.loads(response.body)["result"], None)
        self.assertEqual(self.node.chain.tip.transactions[1].outputs[0].address, RECIPIENT)

    @defer.inlineCallbacks
    def test_a_16_input_payout_cannot_be_sent(self):
        n = self.node.chain.n
        request, response = yield self.submit_carrying(16)
        self.assertGreater(len(request), REQUEST_LIMIT)
        self.assertTrue(response.reset)
        if response.data:
            self.assertEqual(json.loads(response.body)["error"]["code"], -32700)
        self.assertEqual(self.node.chain.n, n)
