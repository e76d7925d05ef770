"""submitblock: ordered checks, exact messages, -32603 flattening (spec §2.2; §5 items 6-9, 16)."""
import json

from twisted.internet import defer

from .nodecase import NOW, NodeCase

PREFIX = "Failed to submit block: "
VALIDATION = PREFIX + "Block validation failed"
MISSING_COINBASE = (PREFIX + "Block missing coinbase transaction. Every block must have exactly "
                    "one coinbase at index 0.")


class SubmitChecks(NodeCase):
    @defer.inlineCallbacks
    def rejected(self, block) -> str:
        code, message = yield self.error("submitblock", [block])
        self.assertEqual(code, -32603, message)
        return message

    @defer.inlineCallbacks
    def test_check0_missing_parameter_is_the_only_minus8(self):
        for params in (None, [], {}):
            self.assertEqual((yield self.error("submitblock", params)),
                             (-8, "Missing block data parameter"))

    @defer.inlineCallbacks
    def test_check1_block_must_be_object_or_string(self):
        for value in (5, True, None, [1], 1.5):
            self.assertEqual((yield self.rejected(value)),
                             PREFIX + "Invalid block data format - must be JSON object or string")

    @defer.inlineCallbacks
    def test_check1b_string_that_is_not_an_object(self):
        for text, kind in (("0100000000ab", "string"), ("{broken", "string"), ("123", "number"),
                           ("[1]", "array"), ('"x"', "string"), ("null", "null")):
            self.assertEqual((yield self.rejected(text)), PREFIX + (
                f"[json.exception.type_error.306] cannot use value() with {kind}"), text)

    @defer.inlineCallbacks
    def test_string_parameter_with_the_block_json_is_accepted(self):
        block = yield self.block_from_template()
        self.assertEqual((yield self.result("submitblock", [json.dumps(block)])), None)
        self.assertEqual((yield self.result("getblockcount")), 2)

    @defer.inlineCallbacks
    def test_check2_types_in_read_order(self):
        block = yield self.block_from_template()
        cases = [({"blockNumber": "1", "hash": 5}, "number, but is string"),
                 ({"height": 1.0, "blockHash": 5}, "string, but is number"),
                 ({"previousHash": 1, "nonce": "x"}, "string, but is number"),
                 ({"nonce": "12345"}, "number, but is string"),
                 ({"nonce": None}, "number, but is null"),
                 ({"miner_address": 7, "timestamp": "x"}, "string, but is number"),
                 ({"timestamp": "1795519614"}, "number, but is string"),
                 ({"difficulty": "1.0"}, "number, but is string"),
                 ({"difficulty": True}, "number, but is boolean")]
        for changes, text in cases:
            self.assertEqual((yield self.rejected({**block, **changes})),
                             PREFIX + "[json.exception.type_error.302] type must be " + text,
                             changes)

    @defer.inlineCallbacks
    def test_checks_3_to_13_in_order(self):
        block = yield self.block_from_template()
        n = 1
        cases = [
            ({"hash": ""}, "Block hash is required"),
            ({"hash": "0" * 63}, "Invalid hash length: expected 64 hex characters, got 63"),
            ({"hash": "0" * 65}, "Invalid hash length: expected 64 hex characters, got 65"),
            ({"hash": "0" * 63 + "g"}, "Invalid hash format: contains non-hexadecimal characters"),
            ({"previousblockhash": "abc"},
             "Invalid previous hash length: expected 64 hex characters"),
            ({"height": n + 1001}, f"Block height too far in future: {n + 1001} (current: {n})"),
            ({"hash": "f" * 64},
             "Block does not meet difficulty target. Hash has 0 leading zeros, requires 1"),
            ({"difficulty": 1.5}, "Block difficulty mismatch. Network requires 1.000000"),
            ({"difficulty": 1.00011}, "Block difficulty mismatch. Network requires 1.000000"),
            ({"height": 0}, "Stale block"),
            ({"timestamp": NOW + 7201}, "Block timestamp too far in future"),
            ({"timestamp": NOW - 86401}, "Block timestamp too far in past"),
            ({"miner": "tGXCshort"}, "Invalid miner address length"),
            ({"miner": "t" * 63}, "Invalid miner address length"),
            ({"consensus_type": 5}, "[json.exception.type_error.302] type must be string, "
                                    "but is number"),
        ]
        for changes, reason in cases:
            self.assertEqual((yield self.rejected({**block, **changes})), PREFIX + reason, changes)
        # order: several faults at once report the earliest check
        self.assertEqual((yield self.rejected({**block, "hash": "f" * 64, "height": 0,
                                               "difficulty": 3.0})),
                         PREFIX + "Block does not meet difficulty target. Hash has 0 leading "
                                  "zeros, requires 1")
        self.assertEqual((yield self.rejected({**block, "difficulty": 3.0, "height": 0})),
                         PREFIX + "Block difficulty mismatch. Network requires 1.000000")
        self.assertEqual((yield self.rejected({**block, "height": 0, "timestamp": 0})),
                         PREFIX + "Stale block")

    @defer.inlineCallbacks
    def test_check14_transaction_field_types(self):
        block = yield self.block_from_template()
        coinbase = block["transactions"][0]
        for changes, text in (({"block_height": "1"}, "number, but is string"),
                              ({"is_coinbase": 1}, "boolean, but is number"),
                              ({"hash": 5}, "string, but is number"),
                              ({"type": 5}, "string, but is number")):
            self.assertEqual((yield self.rejected({**block, "transactions": [
                {**coinbase, **changes}]})),
                PREFIX + "[json.exception.type_error.302] type must be " + text, changes)

    @defer.inlineCallbacks
    def test_check15_missing_coinbase(self):
        block = yield self.block_from_template()
        coinbase = block["transactions"][0]
        without = {k: v for k, v in block.items() if k != "transactions"}
        for transactions in (None, [], [5, "x"], "notalist",
                             [{**coinbase, "is_coinbase": False, "coinbase": True, "type": "NORMAL"}]):
            candidate = dict(without) if transactions is None else {
                **without, "transactions": transactions}
            self.assertEqual((yield self.rejected(candidate)), MISSING_COINBASE, transactions)
        # "type":"coinbase" alone passes check 15, but is not rebuilt as a coinbase
        only_type = {k: v for k, v in coinbase.items() if k not in ("is_coinbase", "coinbase")}
        only_type["type"] = "coinbase"
        self.assertEqual((yield self.rejected({**block, "transactions": [only_type]})), VALIDATION)

    @defer.inlineCallbacks
    def test_check16_block_validation_failed(self):
        block = yield self.block_from_template()
        coinbase = block["transactions"][0]
        template = yield self.result("getblocktemplate", [{"minerAddress": "abc"}])
        mainnet = yield self.result("getblocktemplate", [{"minerAddress": "GXC" + "a" * 34}])
        cases = {
            "two coinbases": {"transactions": [coinbase, coinbase]},
            "coinbase not first": {"transactions": [
                {"type": "NORMAL", "hash": "ab" * 32, "from": "x", "to": "y", "fee": 0.001},
                coinbase]},
            "amount above the maximum": {"transactions": [
                {**coinbase, "outputs": [{**coinbase["outputs"][0], "amount": 1000.0}]}]},
            "zero amount": {"transactions": [
                {**coinbase, "outputs": [{**coinbase["outputs"][0], "amount": 0.0}]}]},
            "future height": {"height": 2},
            "wrong parent": {"previousblockhash": "1" * 64},
            "empty parent": {"previousblockhash": ""},
            "pos label": {"consensus_type": "pos"},
            "coinbase height": {"transactions": [{**coinbase, "block_height": 2}]},
            "address without prefix": {"transactions": template["transactions"][:1]},
            "other network's address": {"transactions": mainnet["transactions"][:1]},
            "empty coinbase txid": {"transactions": [{**coinbase, "hash": "", "txid": ""}]},
        }
        for name, changes in cases.items():
            self.assertEqual((yield self.rejected({**block, **changes})), VALIDATION, name)
        # a failed submission leaves no trace: the same block is accepted afterwards
        self.assertEqual((yield self.result("submitblock", [block])), None)

    @defer.inlineCallbacks
    def test_stale_after_acceptance(self):
        block = yield self.block_from_template()
        yield self.result("submitblock", [block])
        self.assertEqual((yield self.rejected(block)), PREFIX + "Stale block")

    @defer.inlineCallbacks
    def test_difficulty_check_uses_the_floor(self):
        # §2.2 checks 8/9 compare with max(D, F)
        self.node.set_difficulty(0.5)
        block = yield self.block_from_template(zeros=1, difficulty=0.5)
        self.assertEqual((yield self.rejected(block)),
                         PREFIX + "Block difficulty mismatch. Network requires 1.000000")


class SubmitAccepted(NodeCase):
    @defer.inlineCallbacks
    def test_aliases_are_accepted(self):
        # §2.2: blockNumber, blockHash, prevHash/previousHash, miner_address
        block = yield self.block_from_template()
        aliased = {"blockNumber": block["height"], "blockHash": block["hash"],
                   "prevHash": block["previousblockhash"], "nonce": 1,
                   "miner_address": block["miner"], "timestamp": block["timestamp"],
                   "difficulty": block["difficulty"], "transactions": block["transactions"]}
        self.assertEqual((yield self.result("submitblock", [aliased])), None)
        stored = yield self.result("getblock", [1])
        self.assertEqual(stored["miner"], block["miner"])
        block2 = yield self.block_from_template()
        del block2["previousblockhash"]
        block2["previousHash"] = self.node.chain.tip.hash
        block2["hash"] = "0" + "c" * 63
        self.assertEqual((yield self.result("submitblock", [block2])), None)

    @defer.inlineCallbacks
    def test_main_key_wins_over_alias(self):
        block = yield self.block_from_template()
        block["blockHash"] = "f" * 64     # would fail check 8 if it were used
        block["blockNumber"] = 999
        self.assertEqual((yield self.result("submitblock", [block])), None)
        self.assertEqual((yield self.result("getbestblockhash")), block["hash"])

    @defer.inlineCallbacks
    def test_nonce_stored_as_signed_32_bit_and_hash_case_kept(self):
        # §5 item 7
        block = yield self.block_from_template()
        block["hash"] = "0" + "AbCdEf" * 10 + "abc"
        block["nonce"] = 5000000000
        yield self.result("submitblock", [block])
        self.assertEqual((yield self.result("getbestblockhash")), block["hash"])
        stored = yield self.result("getblock", [block["hash"]])
        self.assertEqual(stored["nonce"], 705032704)
        self.assertEqual((yield self.result("getblockhash", [1])), block["hash"])
        # case-sensitive parent check
        nxt = yield self.block_from_template()
        nxt["previousblockhash"] = block["hash"].lower()
        self.assertEqual((yield self.error("submitblock", [nxt]))[1], VALIDATION)

    @defer.inlineCallbacks
    def test_difficulty_stored_as_submitted(self):
        block = yield self.block_from_template(difficulty=1.00009)
        yield self.result("submitblock", [block])
        self.assertEqual((yield self.result("getblock", [1]))["difficulty"], 1.00009)

    @defer.inlineCallbacks
    def test_no_pow_recomputation(self):
        # §5 item 8: any hash with enough leading zeros passes
        block = yield self.block_from_template()
        block["hash"] = "0" + "f" * 63
        block["transactions"][0]["outputs"][0]["script"] = "ignored"
        block.update({"merkleroot": "nonsense", "version": 99, "bits": "ffffffff"})
        self.assertEqual((yield self.result("submitblock", [block])), None)

    @defer.inlineCallbacks
    def test_timestamp_window_edges_and_no_ordering(self):
        # §3.4: [now - 86400, now + 7200], no ordering against the parent
        for timestamp in (NOW + 7200, NOW - 86400, NOW):   # the 2nd is older than its parent
            block = yield self.block_from_template(timestamp=timestamp)
            block["hash"] = block["hash"][:-4] + f"{self.node.chain.n:04x}"
            self.assertEqual((yield self.result("submitblock", [block])), None, timestamp)
        self.clock.now += 10_000       # the window follows the node clock
        block = yield self.block_from_template(timestamp=NOW + 7200)
        block["hash"] = "0" * 64
        self.assertEqual((yield self.result("submitblock", [block])), None)

    @defer.inlineCallbacks
    def test_coinbase_rebuilt_from_first_output_txid_kept(self):
        # §5 item 9
        block = yield self.block_from_template()
        coinbase = block["transactions"][0]
        extra = {"address": self.node.other_miner_address(), "amount": 1.0, "script": ""}
        coinbase["outputs"].append(extra)
        yield self.result("submitblock", [block])
        stored = (yield self.result("getblock", [1]))["tx"][0]
        self.assertEqual(stored["txid"], coinbase["txid"])
        self.assertEqual(len(stored["outputs"]), 1)
        self.assertEqual(stored["outputs"][0]["amount"], 50.0)
        self.assertEqual(stored["time"], NOW)    # the moment the node accepted the block

    @defer.inlineCallbacks
    def test_coinbase_without_outputs_uses_to_and_value(self):
        block = yield self.block_from_template()
        coinbase = block["transactions"][0]
        del coinbase["outputs"]
        coinbase["value"] = 25.0
        yield self.result("submitblock", [block])
        stored = (yield self.result("getblock", [1]))["tx"][0]
        self.assertEqual(stored["outputs"][0]["amount"], 25.0)    # less than the reward is fine
        self.assertEqual(stored["outputs"][0]["address"], coinbase["to"])

    @defer.inlineCallbacks
    def test_non_object_transactions_are_skipped(self):
        block = yield self.block_from_template()
        block["transactions"] = block["transactions"] + [5, "x", None, []]
        yield self.result("submitblock", [block])
        self.assertEqual((yield self.result("getblock", [1]))["nTx"], 1)

    @defer.inlineCallbacks
    def test_ethash_label_and_default_label(self):
        block = yield self.block_from_template(consensus_type="pow_ethash")
        yield self.result("submitblock", [block])
        self.assertEqual((yield self.result("getblock", [1]))["consensustype"], "pow_ethash")
        block = yield self.block_from_template(block_type="whatever")
        block["hash"] = "0" * 64
        yield self.result("submitblock", [block])
        self.assertEqual((yield self.result("getblock", [2]))["consensustype"], "pow_sha256")


class NonceWithoutTruncation(NodeCase):
    settings = {"nonce_truncation": False}

    @defer.inlineCallbacks
    def test_nonce_kept_whole(self):
        block = yield self.block_from_template(nonce=5000000000)
        yield self.result("submitblock", [block])
        self.assertEqual((yield self.result("getblock", [1]))["nonce"], 5000000000)
