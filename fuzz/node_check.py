"""What the node's answers must never do: raise anything but the documented
node errors (gxcpoold/node/errors.py) out of the client's parsing, or give a
template that the jobs of any algorithm cannot be built from.

Invariants:
- NodeClient._interpret (parse_http_response, then the JSON-RPC 2.0 answer)
  returns a result or raises NodeTransportError, NodeProtocolError or
  NodeRPCError, nothing else;
- BlockTemplate.from_rpc returns a template or raises NodeProtocolError;
- a template it accepts builds a job for sha256d, ethash and gxhash
  (template.py promises that every field a job uses is checked there).
"""
import json

from gxcpoold.algorithms import ethash, gxhash, sha256d
from gxcpoold.hashers.ethash import ETHASH_EPOCH_LENGTH, ETHASH_MAX_EPOCH
from gxcpoold.node.client import NodeClient
from gxcpoold.node.errors import NodeProtocolError, NodeRPCError, NodeTransportError
from gxcpoold.node.template import BlockTemplate
from fuzz.conversation import InvariantBroken

DOCUMENTED = (NodeTransportError, NodeProtocolError, NodeRPCError)
POOL_ADDRESS = "tGXC" + "ab" * 17
REQUEST_ID = 7
ETHASH_LAST_BLOCK = (ETHASH_MAX_EPOCH + 1) * ETHASH_EPOCH_LENGTH - 1
_client = NodeClient(None, "http://127.0.0.1:1")       # parses only: never connects


def interpret(raw, method="getblocktemplate"):
    """The node client's reading of a raw answer: its result, or None for a
    documented refusal.  A result of getblocktemplate goes on to template()."""
    try:
        result = _client._interpret(method, raw, REQUEST_ID)
    except DOCUMENTED:
        return None
    except Exception as e:
        raise InvariantBroken("NodeClient._interpret raised %r for the answer %.300r" % (e, raw)) \
            from e
    if method == "getblocktemplate":
        template(result)
    return result


def template_text(text):
    """A getblocktemplate result as the node writes it (JSON text)."""
    try:
        result = json.loads(text)
    except (ValueError, RecursionError):
        return None                 # the client refuses such an answer before from_rpc
    return template(result)


def template(result):
    try:
        parsed = BlockTemplate.from_rpc(result)
    except NodeProtocolError:
        return None
    except Exception as e:
        raise InvariantBroken("BlockTemplate.from_rpc raised %r for %.300r" % (e, result)) from e
    if not all(_hex(txid) for txid in parsed.txids):
        raise InvariantBroken("from_rpc accepted a txid that is not hex: %.300r" % (result,))
    for algorithm in (sha256d, ethash, gxhash):
        if algorithm is ethash and parsed.height > ETHASH_LAST_BLOCK:
            continue        # ethash defines no epoch past this height: its limit, not parsing's
        try:
            algorithm.build_job(parsed, "1", pool_address=POOL_ADDRESS, extranonce2_size=4)
        except Exception as e:
            raise InvariantBroken("a template from_rpc accepted breaks %s.build_job: %r\n"
                                  "template: %.300r" % (algorithm.NAME, e, result)) from e
    return parsed


def _hex(text):
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True
