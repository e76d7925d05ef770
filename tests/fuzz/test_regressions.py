"""Inputs the fuzzer (fuzz/, docs/fuzzing.md) broke the pool with, replayed
without atheris, and the committed seed corpora through the same checks."""
import glob
import json
import os

import pytest

from fuzz import lines, node_check
from fuzz.conversation import replay
from gxcpoold.node.client import NodeClient, parse_http_response
from gxcpoold.node.errors import NodeProtocolError
from gxcpoold.node.template import BlockTemplate

CORPUS = os.path.join(os.path.dirname(__file__), "..", "..", "fuzz", "corpus")


def test_a_content_length_of_5000_digits_is_a_protocol_error():
    # node_http crash: int() of more than 4300 digits raised ValueError
    raw = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: " + b"9" * 5000 + \
        b"\r\nConnection: close\r\n\r\n-111"
    with pytest.raises(NodeProtocolError, match="Content-Length"):
        parse_http_response(raw)
    with pytest.raises(NodeProtocolError):
        NodeClient(None, "http://127.0.0.1:1")._interpret("getblocktemplate", raw, 7)


def test_a_status_code_of_5000_digits_is_not_http():
    with pytest.raises(NodeProtocolError, match="not HTTP"):
        parse_http_response(b"HTTP/1.1 " + b"2" * 5000 + b" OK\r\n\r\n{}")


def test_a_usual_answer_still_parses():
    assert parse_http_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}xx") == b"{}"


def test_a_template_difficulty_beyond_float_range_is_refused():
    # node_template crash: math.isfinite(9 * 10**400) raised OverflowError
    result = json.loads('{"version": 1, "previousblockhash": "%s", "height": 5, '
                        '"difficulty": 9%s, "transactions": [{"txid": "ab", '
                        '"is_coinbase": true}], "coinbasevalue": 1, "curtime": 1}'
                        % ("f" * 64, "0" * 400))
    with pytest.raises(NodeProtocolError, match="difficulty"):
        BlockTemplate.from_rpc(result)


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(CORPUS, "lines", "*"))))
def test_lines_corpus(path):
    with open(path, "rb") as f:
        lines.run(f.read())


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(CORPUS, "node_http", "*"))))
def test_node_http_corpus(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[0] % 2 == 0:                    # raw answers; the others are provider bytes
        node_check.interpret(data[1:])


def test_a_recorded_conversation_replays():
    user = "tGXC0123456789abcdef01234567890abc.rig1"
    fed = [b'{"id":1,"method":"mining.subscribe","params":["x"]}\n',
           b'{"id":2,"method":"mining.authorize","params":["%s","x"]}\n' % user.encode(),
           ("job", True), ("wait", 61.0),
           b'{"id":3,"method":"mining.submit","params":["%s","1","00000000","00000000",'
           b'"00000000"]}\n' % user.encode()]
    conversation = replay("sha256d", fed)
    assert conversation.lines


@pytest.mark.parametrize("port", ["sha256d", "ethash", "gxhash"])
@pytest.mark.parametrize("method", [b"[]", b"{}", b"[\"mining.submit\"]"])
def test_an_unhashable_method_is_answered_as_malformed(port, method):
    # lines crash: malformed() looked the method up in a frozenset, and a list
    # method raised TypeError out of dataReceived (Twisted drops the connection
    # with a traceback)
    conversation = replay(port, [b'{"id": 2, "method": %s}\n' % method])
    assert conversation.protocol.malformed_count == 1
    [answer] = conversation.written()
    assert answer["id"] == 2 and "'method' must be a string" in json.dumps(answer)


def test_an_answer_nested_past_the_recursion_limit_is_a_protocol_error():
    # node_http crash: json.loads raised RecursionError, which only ValueError was caught as
    body = b'{"jsonrpc":"2.0","id":' + b"[" * 100000 + b"]" * 100000 + b"}"
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    with pytest.raises(NodeProtocolError, match="not JSON"):
        NodeClient(None, "http://127.0.0.1:1")._interpret("getblocktemplate", raw, 7)


@pytest.mark.parametrize("field, value", [("height", 198343273775), ("height", 2**31),
                                          ("curtime", 2**32), ("coinbasevalue", 2**63)])
def test_template_numbers_beyond_the_jobs_binary_fields_are_refused(field, value):
    # node_template crash: from_rpc took height 198343273775 and sha256d.build_job
    # failed with struct.error; every algorithm must build a job from what it accepts
    def template(number):
        result = {"version": 1, "previousblockhash": "ab" * 32, "height": 5,
                  "difficulty": 6.0, "transactions": [{"txid": "cd" * 32, "is_coinbase": True}],
                  "coinbasevalue": 1, "curtime": 1_800_000_000}
        result[field] = number
        return result
    with pytest.raises(NodeProtocolError, match=field):
        BlockTemplate.from_rpc(template(value))
    if value & (value - 1) == 0:             # a power of two: one less is the largest allowed
        assert node_check.template(template(value - 1)) is not None


def test_a_template_txid_that_is_not_64_hex_digits_is_refused():
    from gxcpoold.node.errors import NodeProtocolError
    from gxcpoold.node.template import BlockTemplate
    for bad in ("cd" * 31 + "c&", "cb5", "\ud800" * 64, "ab" * 33):
        result = {"height": 3, "previousblockhash": "ab" * 32, "difficulty": 1.0,
                  "coinbasevalue": 5_000_000_000, "curtime": 1_800_000_000,
                  "transactions": [{"txid": "cd" * 32, "is_coinbase": True, "block_height": 3},
                                   {"txid": bad}]}
        try:
            BlockTemplate.from_rpc(result)
        except NodeProtocolError as e:
            assert "64 hex digits" in str(e)
        else:
            raise AssertionError("accepted txid %r" % bad)
