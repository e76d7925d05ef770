"""Mempool quirks, balances, maturity, fees and the wallet methods
(spec §2.10-§2.19, §3.7-§3.9; §5 items 11, 12, 15)."""
from twisted.internet import defer

from .nodecase import NOW, NodeCase

FEE_POOL = "tGXC2a9d9ddb2e9ee658bca1c2ff41ffed99"
RECIPIENT = "tGXC" + "ab" * 17
VALIDATION = "Failed to submit block: Block validation failed"
NOT_CONTROLLED = (
    "Wallet does not control address: {}. RECOMMENDED: Use 'sendrawtransaction' with a "
    "client-signed transaction for decentralized operation. See THIRD_PARTY_WALLET_GUIDE.md. "
    "Alternative: Import private key using 'importprivkey' (not recommended for security).")


class WalletCase(NodeCase):
    settings = {"maturity": 2}

    @property
    def wallet(self) -> str:
        return self.node.wallet.address

    @defer.inlineCallbacks
    def mature_rewards(self, count: int = 1):
        """`count` pool blocks paying the wallet, then enough other-miner blocks to mature them."""
        yield self.mine(count, self.wallet)
        yield self.result("devnet_mine", [2])

    @defer.inlineCallbacks
    def submit_with(self, transactions_filter):
        """Submit a block built from the template, keeping the mempool txs chosen by the filter."""
        block = yield self.block_from_template(self.wallet)
        block["transactions"] = block["transactions"][:1] + [
            tx for tx in block["transactions"][1:] if transactions_filter(tx)]
        block["hash"] = block["hash"][:-8] + f"{self.node.chain.n:08x}"
        envelope = yield self.rpc("submitblock", [block])
        return envelope, block


class Maturity(NodeCase):
    @defer.inlineCallbacks
    def test_default_maturity_six(self):
        # §3.7: block 1's reward appeared when getblockcount = 7
        wallet = self.node.wallet.address
        yield self.mine(1, wallet)
        yield self.result("devnet_mine", [4])
        self.assertEqual((yield self.result("getblockcount")), 6)
        self.assertEqual((yield self.result("getbalance", [wallet])), 0.0)
        self.assertEqual((yield self.result("listunspent", [wallet])), [])
        yield self.result("devnet_mine")
        self.assertEqual((yield self.result("getbalance", [wallet])), 50.0)
        [utxo] = yield self.result("listunspent", [wallet])
        coinbase_txid = self.node.chain.blocks[1].transactions[0].txid
        self.assertEqual(utxo, {
            "address": wallet, "amount": 50.0, "confirmations": 6, "outputIndex": 0,
            "script": f"OP_DUP OP_HASH160 {wallet} OP_EQUALVERIFY OP_CHECKSIG",
            "spendable": True, "txHash": coinbase_txid})


class MempoolQuirks(WalletCase):
    @defer.inlineCallbacks
    def test_payment_lifecycle(self):
        yield self.mature_rewards()
        coinbase_txid = self.node.chain.blocks[1].transactions[0].txid
        self.assertEqual((yield self.result("getbalance", [self.wallet])), 50.0)

        # §3.9 point 1
        t = yield self.result("sendtoaddress", [RECIPIENT, 10.0])
        self.assertRegex(t, r"^[0-9a-f]{64}$")
        self.assertEqual((yield self.result("getrawmempool")), [t])
        self.assertEqual((yield self.result("getbalance", [self.wallet])), 0.0)
        self.assertEqual((yield self.result("getpendingbalance", [self.wallet])), 39.999)
        self.assertEqual((yield self.result("getpendingbalance", [RECIPIENT])), 10.0)
        self.assertEqual(len((yield self.result("listunspent", [self.wallet]))), 1)
        self.assertEqual((yield self.error("gettransaction", [t])),
                         (-8, "Transaction not found"))
        self.assertEqual((yield self.result("getaddressbalance", [self.wallet])), {
            "address": self.wallet, "balance": 0.0, "pending": 39.999, "total": 39.999})

        # §3.9 point 2 / §2.1 mempool tx object
        template = yield self.result("getblocktemplate")
        listed = template["transactions"][1]
        public_key = listed["inputs"][0]["publicKey"]
        signature = listed["inputs"][0]["signature"]
        self.assertRegex(public_key, r"^0[23][0-9a-f]{64}$")
        self.assertRegex(signature, r"^3045[0-9a-f]+$")
        self.assertEqual(listed, {
            "hash": t, "txid": t, "type": "NORMAL", "from": self.wallet, "to": RECIPIENT,
            "amount": 50.0, "fee": 0.001, "timestamp": NOW, "is_coinbase": False,
            "coinbase": False,
            "inputs": [{"amount": 50.0, "outputIndex": 0, "publicKey": public_key,
                        "signature": signature, "txHash": coinbase_txid,
                        "txid": coinbase_txid, "vout": 0}],
            "outputs": [{"address": RECIPIENT, "amount": 10.0, "script": ""},
                        {"address": self.wallet, "amount": 39.999, "script": ""}]})

        # §3.9 point 3: accepted, stored under a new txid t'
        envelope, block = yield self.submit_with(lambda tx: True)
        self.assertEqual(envelope["result"], None, envelope)
        mined = (yield self.result("getblock", [block["hash"]]))["tx"][1]
        t_prime = mined["txid"]
        self.assertNotEqual(t_prime, t)
        self.assertEqual(mined["inputs"][0]["txHash"], coinbase_txid)
        self.assertEqual((mined["from"], mined["to"], mined["type"]),
                         (self.wallet, RECIPIENT, "transfer"))
        self.assertEqual((mined["amount"], mined["fee"]), (49.999, 0.001))
        self.assertEqual((mined["prevtxhash"], mined["referencedamount"]), (coinbase_txid, 50.0))
        self.assertEqual([o["amount"] for o in mined["vout"]], [10.0, 39.999])
        self.assertEqual((yield self.error("gettransaction", [t])),
                         (-8, "Transaction not found"))
        found = yield self.result("gettransaction", [t_prime])
        self.assertEqual((found["confirmations"], found["blockindex"]), (1, block["height"]))
        self.assertEqual((found["blocktime"], found["timereceived"]), (NOW, NOW))
        self.assertEqual((found["hex"], found["details"]), ("", []))
        self.assertNotIn("details", (yield self.result("gettransaction", [t_prime, False])))
        self.assertEqual((yield self.result("getbalance", [RECIPIENT])), 10.0)
        self.assertEqual((yield self.result("getbalance", [self.wallet])), 39.999)

        # §3.9 point 4: not purged; poisons every later block that includes it
        self.assertEqual((yield self.result("getrawmempool")), [t])
        self.assertEqual((yield self.result("getpendingbalance", [RECIPIENT])), 10.0)
        template = yield self.result("getblocktemplate")
        self.assertEqual([tx["txid"] for tx in template["transactions"][1:]], [t])
        envelope, block = yield self.submit_with(lambda tx: True)
        self.assertEqual(envelope["error"]["message"], VALIDATION)
        block["transactions"] = block["transactions"][:1]     # coinbase-only resubmission
        self.assertEqual((yield self.result("submitblock", [block])), None)

        # §3.8 / §2.12: the fee-pool UTXO and the stoul crash
        self.assertEqual((yield self.result("getbalance", [FEE_POOL])), 0.15 * 0.001)
        for params in ([], [""], [FEE_POOL]):
            self.assertEqual((yield self.error("listunspent", params)),
                             (-32603, "Internal error: stoul"))
        unspent = yield self.result("listunspent", [self.wallet])
        self.assertEqual(sorted(u["amount"] for u in unspent), [39.999, 50.0])  # + block 4

        # expiry (3600 s after creation) on the node clock
        self.clock.now += 3599
        self.assertEqual((yield self.result("getrawmempool")), [t])
        self.clock.now += 1
        self.assertEqual((yield self.result("getrawmempool")), [])
        self.assertEqual((yield self.result("getpendingbalance", [RECIPIENT])), 0.0)

    @defer.inlineCallbacks
    def test_expiry_by_advancetime(self):
        yield self.mature_rewards()
        yield self.result("sendtoaddress", [RECIPIENT, 1.0])
        self.assertEqual((yield self.result("devnet_advancetime", [3599])), NOW + 3599)
        self.assertEqual(len((yield self.result("getrawmempool"))), 1)
        yield self.result("devnet_advancetime", [1])
        self.assertEqual((yield self.result("getrawmempool")), [])
        self.assertEqual((yield self.result("getbalance", [self.wallet])), 50.0)

    @defer.inlineCallbacks
    def test_double_spend_in_one_block_creates_coins(self):
        # §3.9 point 5: coin selection ignores the mempool
        yield self.mature_rewards(2)
        first = yield self.result("sendtoaddress", [RECIPIENT, 10.0])
        self.assertEqual((yield self.result("getbalance", [self.wallet])), 50.0)
        second = yield self.result("sendtoaddress", [RECIPIENT, 10.0])
        template = yield self.result("getblocktemplate")
        inputs = [tx["inputs"] for tx in template["transactions"][1:]]
        self.assertEqual([tx["txid"] for tx in template["transactions"][1:]], [first, second])
        self.assertEqual(inputs[0][0]["txHash"], inputs[1][0]["txHash"])
        self.assertEqual(template["transactions"][2]["fee"], 0.00101)
        envelope, _ = yield self.submit_with(lambda tx: True)
        self.assertEqual(envelope["result"], None, envelope)
        self.assertEqual((yield self.result("getbalance", [RECIPIENT])), 20.0)

    @defer.inlineCallbacks
    def test_double_spend_in_later_block_is_invalid_forever(self):
        yield self.mature_rewards(2)
        first = yield self.result("sendtoaddress", [RECIPIENT, 10.0])
        second = yield self.result("sendtoaddress", [RECIPIENT, 5.0])
        envelope, _ = yield self.submit_with(lambda tx: tx["txid"] == first)
        self.assertEqual(envelope["result"], None, envelope)
        envelope, _ = yield self.submit_with(lambda tx: tx["txid"] == second)
        self.assertEqual(envelope["error"]["message"], VALIDATION)

    @defer.inlineCallbacks
    def test_tampered_transaction_fails_validation(self):
        yield self.mature_rewards()
        yield self.result("sendtoaddress", [RECIPIENT, 10.0])
        block = yield self.block_from_template(self.wallet)
        tampered = dict(block["transactions"][1])
        tampered["outputs"] = [dict(tampered["outputs"][0], amount=11.0),
                               tampered["outputs"][1]]
        for tx in (tampered, dict(block["transactions"][1], amount=49.0),
                   dict(block["transactions"][1], fee=0.0005)):
            block["transactions"] = block["transactions"][:1] + [tx]
            self.assertEqual((yield self.error("submitblock", [block]))[1], VALIDATION)

    @defer.inlineCallbacks
    def test_spending_an_immature_coinbase_fails(self):
        yield self.mine(1, self.wallet)
        self.node.fund(self.wallet, 5.0)           # so sendtoaddress passes its balance check
        coinbase = self.node.chain.blocks[1].transactions[0]
        yield self.result("sendtoaddress", [RECIPIENT, 1.0])
        block = yield self.block_from_template(self.wallet)
        forged = dict(block["transactions"][1])
        forged["inputs"] = [dict(forged["inputs"][0], txHash=coinbase.txid, txid=coinbase.txid,
                                 amount=50.0)]
        block["transactions"] = block["transactions"][:1] + [forged]
        self.assertEqual((yield self.error("submitblock", [block]))[1], VALIDATION)


class SaneNode(WalletCase):
    settings = {"maturity": 2, "txid_rewrite": False, "stale_mempool": False,
                "double_spend": False, "listunspent_crash": False}

    @defer.inlineCallbacks
    def test_quirks_switched_off(self):
        yield self.mature_rewards(2)
        first = yield self.result("sendtoaddress", [RECIPIENT, 10.0])
        second = yield self.result("sendtoaddress", [RECIPIENT, 10.0])
        template = yield self.result("getblocktemplate")
        spent = [tx["inputs"][0]["txHash"] for tx in template["transactions"][1:]]
        self.assertNotEqual(spent[0], spent[1])             # no double spend
        envelope, _ = yield self.submit_with(lambda tx: tx["txid"] == first)
        self.assertEqual(envelope["result"], None)
        self.assertEqual((yield self.result("gettransaction", [first]))["txid"], first)
        self.assertEqual((yield self.result("getrawmempool")), [second])   # purged
        unspent = yield self.result("listunspent", [])
        self.assertNotIn(FEE_POOL, [u["address"] for u in unspent])


class SendToAddressErrors(WalletCase):
    @defer.inlineCallbacks
    def test_error_table_in_order(self):
        # §2.13
        usage = "Missing parameters. Usage: sendtoaddress <to_address> <amount> [from_address]"
        type_error = ("Internal error: [json.exception.type_error.302] type must be string, "
                      "but is number")
        cases = [
            (None, (-8, usage)), ([], (-8, usage)), ([RECIPIENT], (-8, usage)),
            ([5, 1.0], (-32603, type_error)),
            ([RECIPIENT, 1.0, 5], (-32603, type_error)),
            ([RECIPIENT, "abc"], (-8, "Invalid amount type or format")),
            ([RECIPIENT, True], (-8, "Invalid amount type or format")),
            ([RECIPIENT, None], (-8, "Invalid amount type or format")),
            ([RECIPIENT, {}], (-8, "Invalid amount type or format")),
            ([RECIPIENT, ""], (-8, "Invalid amount type or format")),
            ([RECIPIENT, 0], (-8, "Invalid amount: must be positive")),
            ([RECIPIENT, -1.5], (-8, "Invalid amount: must be positive")),
            ([RECIPIENT, "-2"], (-8, "Invalid amount: must be positive")),
            ([RECIPIENT, 1.0, RECIPIENT], (-8, NOT_CONTROLLED.format(RECIPIENT))),
            ([RECIPIENT, 1.0], (-6, (
                "Insufficient funds. Required: 1.001000 GXC (amount: 1.000000 + fee: 0.001000), "
                f"Available at {self.wallet[:20]}...: 0.000000 GXC"))),
            ([RECIPIENT, "1.5abc", None], (-6, (
                "Insufficient funds. Required: 1.501000 GXC (amount: 1.500000 + fee: 0.001000), "
                f"Available at {self.wallet[:20]}...: 0.000000 GXC"))),
        ]
        for params, expected in cases:
            self.assertEqual((yield self.error("sendtoaddress", params)), expected, params)

    @defer.inlineCallbacks
    def test_recipient_without_network_prefix_is_refused_by_the_mempool(self):
        yield self.mature_rewards()
        for recipient in ("abc", "GXC" + "ab" * 17):
            self.assertEqual((yield self.error("sendtoaddress", [recipient, 1.0])),
                             (-32603, "Failed to add transaction to pool"))
        self.assertEqual((yield self.result("getrawmempool")), [])

    @defer.inlineCallbacks
    def test_aliases_string_amount_and_dust(self):
        yield self.mature_rewards(3)      # getbalance drops by the spent output after each send
        t1 = yield self.result("gxc_sendToAddress", [RECIPIENT, "1.5abc"])
        t2 = yield self.result("sendfrom", [self.wallet, RECIPIENT, 1e-9])
        t3 = yield self.result("sendtoaddress", [RECIPIENT, 2, self.wallet])
        self.assertEqual((yield self.result("getrawmempool")), [t1, t2, t3])
        template = yield self.result("getblocktemplate")
        self.assertEqual(template["transactions"][1]["outputs"][0]["amount"], 1.5)
        self.assertEqual(template["transactions"][2]["outputs"][0]["amount"], 1e-9)


class AddressesAndHistory(WalletCase):
    @defer.inlineCallbacks
    def test_validateaddress_weak_rule(self):
        # §2.14
        valid = {"address": None, "ismine": False, "isscript": False, "isvalid": True,
                 "iswatchonly": False}
        for address in ("notanaddressbutlongenoughxxxxxxxx", self.wallet, "a" * 26, "B" * 62,
                        "GXC" + "ab" * 17):
            self.assertEqual((yield self.result("validateaddress", [address])),
                             dict(valid, address=address))
        for address in ("a" * 25, "a" * 63, "tGXC-" + "a" * 30, "", "tGXC" + "é" * 30):
            self.assertEqual((yield self.result("validateaddress", [address])),
                             {"isvalid": False})
        self.assertEqual((yield self.error("validateaddress", [])),
                         (-8, "Missing address parameter"))

    @defer.inlineCallbacks
    def test_balance_parameter_errors(self):
        for method in ("getbalance", "gxc_getBalance", "getaccountbalance", "getpendingbalance",
                       "getaddressbalance"):
            for params in (None, [], [""]):
                self.assertEqual((yield self.error(method, params)),
                                 (-8, "Missing address parameter"), (method, params))
            self.assertEqual((yield self.error(method, [1]))[0], -32603)
        self.assertEqual((yield self.result("getbalance", ["nobody"])), 0.0)

    @defer.inlineCallbacks
    def test_listtransactions_oldest_first_with_categories(self):
        # §2.17
        yield self.mature_rewards(2)
        yield self.result("sendtoaddress", [RECIPIENT, 1.0])
        history = yield self.result("listtransactions", [self.wallet])
        self.assertEqual([e["category"] for e in history], ["generate", "generate"])
        self.assertEqual([e["blockheight"] for e in history], [1, 2])   # mempool not listed
        envelope, _ = yield self.submit_with(lambda tx: True)
        history = yield self.result("listtransactions", [self.wallet, 10, 0])
        self.assertEqual([e["category"] for e in history], ["generate", "generate", "generate",
                                                            "send"])
        self.assertEqual(history[-1]["confirmations"], 1)
        received = yield self.result("getaddresshistory", [RECIPIENT])
        self.assertEqual([e["category"] for e in received], ["receive"])
        window = yield self.result("listtransactions", [self.wallet, 2, 1])
        self.assertEqual([e["blockheight"] for e in window], [2, 5])

    @defer.inlineCallbacks
    def test_estimatefee_tiers(self):
        # §2.18: tier by mempool size
        for _ in range(10):
            self.node.fund(self.wallet, 1.0)
        for _ in range(10):
            yield self.result("sendtoaddress", [RECIPIENT, 0.1])
        estimate = yield self.result("estimateFee")
        self.assertEqual(estimate["current_tier"], "medium")
        self.assertEqual(estimate["pending_transactions"], 10)
        self.assertEqual(estimate["fee"], min(0.01, 0.001 + 0.00001 * 10))
        self.assertEqual((yield self.result("gxc_estimateFee")), estimate)


class OtherMinerTakesThePayout(WalletCase):
    @defer.inlineCallbacks
    def test_devnet_mine_with_mempool(self):
        yield self.mature_rewards()
        t = yield self.result("sendtoaddress", [RECIPIENT, 3.0])
        [block_hash] = yield self.result("devnet_mine", [1, {"mempool": True}])
        mined = yield self.result("getblock", [block_hash])
        self.assertEqual(mined["nTx"], 2)
        self.assertEqual(mined["tx"][1]["outputs"][0]["amount"], 3.0)
        self.assertEqual((yield self.result("getbalance", [RECIPIENT])), 3.0)
        # still in the mempool (§3.9 point 4); the other miner leaves it out from now on
        self.assertEqual((yield self.result("getrawmempool")), [t])
        [later] = yield self.result("devnet_mine", [1, {"mempool": True}])
        self.assertEqual((yield self.result("getblock", [later]))["nTx"], 1)
