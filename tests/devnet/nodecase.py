"""Base test case: a DevNodeService on a loopback port with a fixed clock."""
import json

from twisted.internet import defer
from twisted.trial import unittest

from gxcpoold.devnet import DevNodeService, DevNodeSettings

from .rawhttp import compact, get_bytes, post_bytes, send_raw

NOW = 1795519614            # the node clock in these tests (spec §2.1 example curtime)


class FakeClock:
    def __init__(self, now: float = NOW):
        self.now = now

    def __call__(self) -> float:
        return self.now


class NodeCase(unittest.TestCase):
    """Starts a devnet node per test; `settings` overrides DevNodeSettings defaults."""

    settings: dict = {}

    def make_settings(self) -> DevNodeSettings:
        return DevNodeSettings(**{"genesis_seed": "tests", **self.settings})

    def setUp(self):
        self.clock = FakeClock()
        self.service = DevNodeService(self.make_settings(), "tcp:0:interface=127.0.0.1",
                                      clock=self.clock)
        self.node = self.service.node
        self.service.startService()
        return self.service.whenListening().addCallback(self._listening)

    def _listening(self, port):
        self.port = port.getHost().port

    def tearDown(self):
        return self.service.stopService()

    # -- client helpers ---------------------------------------------------------

    def raw(self, chunks, gap: float = 0.1):
        return send_raw(self.port, chunks, gap)

    @defer.inlineCallbacks
    def post(self, body: bytes, path: str = "/"):
        response = yield self.raw(post_bytes(body, path))
        return response

    @defer.inlineCallbacks
    def rpc(self, method: str, params=None, request_id=1):
        """Full envelope (dict) of one JSON-RPC call over real HTTP."""
        request = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            request["params"] = params
        response = yield self.post(compact(request))
        self.assertEqual(response.status_line, b"HTTP/1.1 200 OK")
        return json.loads(response.body)

    @defer.inlineCallbacks
    def result(self, method: str, params=None):
        envelope = yield self.rpc(method, params)
        self.assertNotIn("error", envelope, envelope)
        return envelope["result"]

    @defer.inlineCallbacks
    def error(self, method: str, params=None):
        """(code, message) of a call that must fail."""
        envelope = yield self.rpc(method, params)
        self.assertNotIn("result", envelope, envelope)
        return envelope["error"]["code"], envelope["error"]["message"]

    def get(self, path: str):
        return self.raw(get_bytes(path))

    # -- mining helpers ---------------------------------------------------------

    @defer.inlineCallbacks
    def block_from_template(self, address=None, zeros=None, **changes):
        """A valid submitblock object built from a fresh template (§3.13 step 4)."""
        params = [{"minerAddress": address}] if address else None
        template = yield self.result("getblocktemplate", params)
        if zeros is None:
            zeros = int(template["difficulty"])
        block = {"height": template["height"],
                 "hash": ("0" * zeros + "ab" * 32)[:64],
                 "previousblockhash": template["previousblockhash"], "nonce": 12345,
                 "miner": address or self.node.wallet.address,
                 "timestamp": template["curtime"], "difficulty": template["difficulty"],
                 "transactions": template["transactions"]}
        block.update(changes)
        return block

    @defer.inlineCallbacks
    def mine(self, count: int = 1, address=None, **changes):
        """Submit `count` blocks like a pool (coinbase to `address`, default the wallet)."""
        hashes = []
        for i in range(count):
            block = yield self.block_from_template(address, **changes)
            block["hash"] = block["hash"][:-8] + f"{self.node.chain.n:08x}"
            outcome = yield self.rpc("submitblock", [block])
            self.assertEqual(outcome.get("result", "missing"), None, outcome)
            hashes.append(block["hash"])
        return hashes
