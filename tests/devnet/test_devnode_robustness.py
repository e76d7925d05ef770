"""The simulator never crashes on a client's input (property tests, no network)."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial import unittest

from gxcpoold.devnet import DevNode, DevNodeSettings
from gxcpoold.devnet import nodejson as nj
from gxcpoold.devnet import routes
from gxcpoold.devnet.rpc import METHODS, Dispatcher

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False,
                                                                      allow_infinity=False)
    | st.text(max_size=20) | st.sampled_from(["", "latest", "0" * 64, "tGXC" + "a" * 34]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["hash", "height", "transactions", "outputs", "amount",
                                       "is_coinbase", "minerAddress", "address", "nonce",
                                       "difficulty", "x"]), children, max_size=5),
    max_leaves=12)

# the node's rules stay the same; only the test's chosen methods are excluded
PUBLIC_METHODS = sorted(name for name in METHODS if not name.startswith("devnet_"))


def shared_dispatcher() -> Dispatcher:
    """One node for all examples (building a node costs milliseconds); state may drift."""
    global _DISPATCHER
    if _DISPATCHER is None:
        _DISPATCHER = Dispatcher(DevNode(DevNodeSettings(genesis_seed="fuzz", maturity=1),
                                         clock=lambda: 1795519614))
    return _DISPATCHER


_DISPATCHER = None


class NeverCrashes(unittest.TestCase):
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(method=st.sampled_from(PUBLIC_METHODS), params=json_values, request_id=json_values)
    def test_any_params_give_a_node_answer(self, method, params, request_id):
        reply = shared_dispatcher().call(method, params, request_id)
        self.assertEqual(reply["jsonrpc"], "2.0")
        self.assertEqual(set(reply) - {"id", "jsonrpc"} in ({"result"}, {"error"}), True)
        if "error" in reply:
            self.assertIn(reply["error"]["code"], (-32700, -32600, -32601, -32603, -8, -6, -4))
        nj.dumps(reply)

    @settings(max_examples=300, deadline=None)
    @given(raw=st.binary(max_size=300))
    def test_any_bytes_give_an_http_answer(self, raw):
        response = routes.answer(shared_dispatcher(), raw)
        self.assertTrue(response.startswith(b"HTTP/1.1 "))
        self.assertIn(b"\r\nConnection: close\r\n\r\n", response)

    @settings(max_examples=200, deadline=None)
    @given(body=json_values)
    def test_any_json_body_gives_a_json_rpc_answer(self, body):
        response = routes.answer(shared_dispatcher(), b"POST / HTTP/1.1\r\n\r\n" + nj.dumps(body))
        self.assertTrue(response.startswith(b"HTTP/1.1 200 OK\r\n"), response)
