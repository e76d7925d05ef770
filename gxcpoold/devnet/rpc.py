"""JSON-RPC 2.0 dispatch with the real node's envelope rules (spec §1.4, §1.5, §2).

``Dispatcher.handle_body(body)`` turns one POST body into the response object;
``Dispatcher.call(method, params, id)`` is shared with the GET wrappers.
Parameters are positional and read with the node's JSON-library accessors, so
wrongly typed parameters produce the library's type-error texts, flattened to
-32603 with the method's prefix (§2.0, §5 item 3).
"""
import re

from . import nodejson as nj
from . import views
from .errors import (INTERNAL_ERROR, INVALID_PARAMETER, INVALID_REQUEST, METHOD_NOT_FOUND,
                     PARSE_ERROR, RpcError)
from .submission import Rejected

EMPTY_BODY = ("Empty POST body. Use GET endpoints: /api/getinfo, /api/getblockcount, "
              "/api/getbalance?address=xxx, /api/listunspent?address=xxx, "
              "/api/getblock?hash=xxx, /api/gettransaction?txid=xxx")
BAD_JSONRPC = "Invalid Request: missing or invalid jsonrpc field"
BAD_METHOD = "Invalid Request: missing or invalid method field"
GENERIC_PREFIX = "Internal error: "
SEND_USAGE = "Missing parameters. Usage: sendtoaddress <to_address> <amount> [from_address]"
_DECIMAL = re.compile(r"[0-9]+\Z")
_AMOUNT_PREFIX = re.compile(r"\s*[+-]?(?:inf(?:inity)?|(?:[0-9]+\.?[0-9]*|\.[0-9]+)"
                            r"(?:[eE][+-]?[0-9]+)?)", re.IGNORECASE)


def error_envelope(code: int, message: str, request_id) -> dict:
    return {"error": {"code": code, "message": message}, "id": request_id, "jsonrpc": "2.0"}


def result_envelope(result, request_id) -> dict:
    return {"id": request_id, "jsonrpc": "2.0", "result": result}


# -- parameter helpers ----------------------------------------------------------

def _param(params, i: int):
    return nj.index(params, i)


def _address(params) -> str:
    """[address] required and non-empty (§2.10, §2.11)."""
    if nj.size(params) == 0:
        raise RpcError(INVALID_PARAMETER, "Missing address parameter")
    address = nj.get_string(_param(params, 0))
    if not address:
        raise RpcError(INVALID_PARAMETER, "Missing address parameter")
    return address


def _optional_bool(params, i: int, default: bool) -> bool:
    return nj.get_bool(_param(params, i)) if nj.size(params) > i else default


def parse_amount(raw) -> float:
    """sendtoaddress amount: a number, or a string read like std::stod ("1.5abc" -> 1.5)."""
    if nj.is_number(raw):
        return float(raw)
    if isinstance(raw, str):
        match = _AMOUNT_PREFIX.match(raw)
        if match:
            try:
                return float(match.group().strip())
            except ValueError:
                pass
    raise RpcError(INVALID_PARAMETER, "Invalid amount type or format")


# -- methods (each takes the node and the raw params value) -----------------------

def getblocktemplate(node, params):
    """§2.1: optional [{"minerAddress"|"miner_address"|"address": A}], not validated."""
    address = node.wallet.address
    if nj.size(params) > 0:
        options = _param(params, 0)
        if isinstance(options, dict):
            for key in ("minerAddress", "miner_address", "address"):
                if key in options:
                    address = nj.get_string(options[key]) or address
                    break
    return views.block_template(node, node.coinbase_for(address))


def submitblock(node, params):
    node.submit(params)
    return None


def getblockhash(node, params):
    if nj.size(params) == 0:
        raise RpcError(INVALID_PARAMETER, "Missing block height parameter")
    height = nj.get_uint64(_param(params, 0))      # negative numbers wrap (§2.5)
    if height >= node.chain.n:
        raise RpcError(INVALID_PARAMETER, "Block height out of range")
    return node.chain.blocks[height].hash


def _block_lookup(node, selector, verbose: bool):
    """§2.6 selectors: hash | height | decimal string | "latest" | "best" | "-1" | -1."""
    chain = node.chain
    if isinstance(selector, str):
        if selector in ("latest", "best", "-1"):
            return views.block_result(node, chain.tip, verbose)
        if len(selector) != 64 and _DECIMAL.match(selector):
            height = int(selector) % 2**64
        else:
            block = chain.find(selector)
            if block is None:
                return _unknown_block(node, 0)
            return views.block_result(node, block, verbose)
    elif nj.is_number(selector):
        if selector == -1:
            return views.block_result(node, chain.tip, verbose)
        height = nj.get_uint64(selector)
    else:
        raise RpcError(INVALID_PARAMETER, "Invalid block parameter type")
    if height < chain.n:
        return views.block_result(node, chain.blocks[height], verbose)
    return _unknown_block(node, height)


def _unknown_block(node, height: int):
    """Unknown hash (height 0) or height >= N: the node invents a block (§6 #11)."""
    if not node.settings.fabricated_getblock:
        raise RpcError(INVALID_PARAMETER, "Block not found")
    return views.fabricated_block(node, height)


def getblock(node, params):
    if nj.size(params) == 0:
        raise RpcError(INVALID_PARAMETER, "Missing block hash/height parameter")
    verbose = _optional_bool(params, 1, True)     # a number -> type error (§2.6, §6 #12)
    return _block_lookup(node, _param(params, 0), verbose)


def getlatestblock(node, params):
    return _block_lookup(node, "latest", _optional_bool(params, 0, True))


def getbalance(node, params):
    return node.balance(_address(params))


def getpendingbalance(node, params):
    return node.pending_balance(_address(params))


def getaddressbalance(node, params):
    address = _address(params)
    balance, pending = node.balance(address), node.pending_balance(address)
    return {"address": address, "balance": balance, "pending": pending,
            "total": balance + pending}


def listunspent(node, params):
    address = None
    if nj.size(params) > 0:
        address = nj.get_string(_param(params, 0)) or None   # [] or [""]: every address
    entries = []
    for utxo in node.unspent(address):
        if not utxo.index.isdigit():
            # §2.12: the node parses "<txid>_pool_fee" with stoul and throws
            if node.settings.listunspent_crash:
                raise RpcError(INTERNAL_ERROR, "Internal error: stoul")
            continue
        entries.append(views.utxo_entry(node, utxo))
    return entries


def sendtoaddress(node, params):
    """§2.13, errors in the node's order."""
    if nj.size(params) < 2:
        raise RpcError(INVALID_PARAMETER, SEND_USAGE)
    to = nj.get_string(_param(params, 0))
    sender = None
    if nj.size(params) > 2 and _param(params, 2) is not None:
        sender = nj.get_string(_param(params, 2))
    amount = parse_amount(_param(params, 1))
    if not amount > 0:
        raise RpcError(INVALID_PARAMETER, "Invalid amount: must be positive")
    return node.send(to, amount, sender)


def sendfrom(node, params):
    """sendfrom [from, to, amount] is sendtoaddress [to, amount, from]."""
    if isinstance(params, list) and len(params) >= 3:
        params = [params[1], params[2], params[0]]
    return sendtoaddress(node, params)


def validateaddress(node, params):
    """§2.14: length 26-62 and ASCII alphanumeric; no prefix or checksum check."""
    if nj.size(params) == 0:
        raise RpcError(INVALID_PARAMETER, "Missing address parameter")
    address = nj.get_string(_param(params, 0))
    if not (26 <= len(address) <= 62 and address.isascii() and address.isalnum()):
        return {"isvalid": False}
    return {"address": address, "ismine": False, "isscript": False, "isvalid": True,
            "iswatchonly": False}


def gettransaction(node, params):
    """§2.15: blocks only, newest first; mempool txs are "not found"."""
    if nj.size(params) == 0:
        raise RpcError(INVALID_PARAMETER, "Missing transaction hash parameter")
    txid = nj.get_string(_param(params, 0))
    verbose = _optional_bool(params, 1, True)
    for block in reversed(node.chain.blocks):
        for tx in block.transactions:
            if tx.txid == txid:
                return views.transaction_result(node, block, tx, verbose)
    raise RpcError(INVALID_PARAMETER, "Transaction not found")


def listtransactions(node, params):
    """§2.17: oldest first (the node's sort key does not exist), then skip/count."""
    address = _address(params)
    count = nj.get_int64(_param(params, 1)) if nj.size(params) > 1 else 10
    skip = nj.get_int64(_param(params, 2)) if nj.size(params) > 2 else 0
    found = []
    for block in node.chain.blocks:
        for tx in block.transactions:
            if tx.sender == address or any(o.address == address for o in tx.outputs):
                found.append(views.history_entry(node, block, tx, address))
    skip = max(skip, 0)
    return found[skip:skip + max(count, 0)]


def getnewaddress(node, params):
    if nj.size(params) > 0:
        nj.get_string(_param(params, 0))   # the label is ignored but must be a string
    return node.wallet.address


def _params_ignored(result_of):
    return lambda node, params: result_of(node)


# -- test-only control methods (the real node answers -32601) ----------------------

def devnet_mine(node, params):
    """[count = 1, {"address": A, "mempool": bool}] -> hashes of the appended blocks."""
    count = nj.get_int64(_param(params, 0)) if nj.size(params) > 0 else 1
    options = _param(params, 1) if nj.size(params) > 1 else {}
    address = nj.value(options, "address", None, nj.get_string)
    include_mempool = nj.value(options, "mempool", False, nj.get_bool)
    return [node.mine_other(address, include_mempool) for _ in range(max(count, 0))]


def devnet_setdifficulty(node, params):
    node.set_difficulty(nj.get_number(_param(params, 0)))
    return node.chain.difficulty


def devnet_advancetime(node, params):
    return node.advance_time(nj.get_number(_param(params, 0)))


def devnet_restart(node, params):
    return node.restart()


def devnet_fund(node, params):
    return node.fund(nj.get_string(_param(params, 0)), nj.get_number(_param(params, 1)))


def devnet_info(node, params):
    return {"wallet": node.wallet.address, "other_miner": node.other_miner_address(),
            "fee_pool": node.chain.fee_pool, "genesis": node.chain.blocks[0].hash,
            "now": node.now(), "mempool": list(node.mempool.txs)}


_TEMPLATE_PREFIX = "Failed to get block template: "
_SUBMIT_PREFIX = "Failed to submit block: "

# method name -> (handler, prefix of flattened JSON-library errors)
METHODS = {
    "getblocktemplate": (getblocktemplate, _TEMPLATE_PREFIX),
    "gxc_getBlockTemplate": (getblocktemplate, _TEMPLATE_PREFIX),
    "submitblock": (submitblock, _SUBMIT_PREFIX),
    "gxc_submitBlock": (submitblock, _SUBMIT_PREFIX),
    "getblockcount": (_params_ignored(lambda node: node.chain.n), GENERIC_PREFIX),
    "getbestblockhash": (_params_ignored(lambda node: node.chain.tip.hash), GENERIC_PREFIX),
    "getblockhash": (getblockhash, GENERIC_PREFIX),
    "getblock": (getblock, GENERIC_PREFIX),
    "getblockbynumber": (getblock, GENERIC_PREFIX),
    "gxc_getBlockByNumber": (getblock, GENERIC_PREFIX),
    "getlatestblock": (getlatestblock, GENERIC_PREFIX),
    "gxc_getLatestBlock": (getlatestblock, GENERIC_PREFIX),
    "getdifficulty": (_params_ignored(lambda node: node.chain.difficulty), GENERIC_PREFIX),
    "getmininginfo": (_params_ignored(views.mining_info), GENERIC_PREFIX),
    "getblockchaininfo": (_params_ignored(views.blockchain_info), GENERIC_PREFIX),
    "getinfo": (_params_ignored(views.blockchain_info), GENERIC_PREFIX),
    "getbalance": (getbalance, GENERIC_PREFIX),
    "gxc_getBalance": (getbalance, GENERIC_PREFIX),
    "getaccountbalance": (getbalance, GENERIC_PREFIX),
    "getpendingbalance": (getpendingbalance, GENERIC_PREFIX),
    "getaddressbalance": (getaddressbalance, GENERIC_PREFIX),
    "listunspent": (listunspent, GENERIC_PREFIX),
    "gxc_listUnspent": (listunspent, GENERIC_PREFIX),
    "sendtoaddress": (sendtoaddress, GENERIC_PREFIX),
    "gxc_sendToAddress": (sendtoaddress, GENERIC_PREFIX),
    "sendfrom": (sendfrom, GENERIC_PREFIX),
    "validateaddress": (validateaddress, GENERIC_PREFIX),
    "gettransaction": (gettransaction, GENERIC_PREFIX),
    "gxc_getTransaction": (gettransaction, GENERIC_PREFIX),
    "gettx": (gettransaction, GENERIC_PREFIX),
    "getrawmempool": (_params_ignored(lambda node: [t.txid for t in node.mempool.listed()]),
                      GENERIC_PREFIX),
    "listtransactions": (listtransactions, GENERIC_PREFIX),
    "getaddresstransactions": (listtransactions, GENERIC_PREFIX),
    "getaddresshistory": (listtransactions, GENERIC_PREFIX),
    "gettransactions": (listtransactions, GENERIC_PREFIX),
    "searchrawtransactions": (listtransactions, GENERIC_PREFIX),
    "estimatefee": (_params_ignored(views.fee_estimate), GENERIC_PREFIX),
    "estimateFee": (_params_ignored(views.fee_estimate), GENERIC_PREFIX),
    "gxc_estimateFee": (_params_ignored(views.fee_estimate), GENERIC_PREFIX),
    "getnewaddress": (getnewaddress, GENERIC_PREFIX),
    # minimal stand-ins for the other GET wrappers of §1.6 (not used by a pool)
    "getnetworkinfo": (_params_ignored(lambda node: {
        "connections": 0, "networkactive": True, "subversion": "/GXC:devnet/"}), GENERIC_PREFIX),
    "getpeerinfo": (_params_ignored(lambda node: []), GENERIC_PREFIX),
    "getmempoolinfo": (_params_ignored(lambda node: {"bytes": 0, "size": 0}), GENERIC_PREFIX),
    "getstakinginfo": (_params_ignored(lambda node: {
        "enabled": False, "staking": False, "validators": 0}), GENERIC_PREFIX),
    "listvalidators": (_params_ignored(lambda node: []), GENERIC_PREFIX),
    # test-only controls
    "devnet_mine": (devnet_mine, GENERIC_PREFIX),
    "devnet_setdifficulty": (devnet_setdifficulty, GENERIC_PREFIX),
    "devnet_advancetime": (devnet_advancetime, GENERIC_PREFIX),
    "devnet_restart": (devnet_restart, GENERIC_PREFIX),
    "devnet_fund": (devnet_fund, GENERIC_PREFIX),
    "devnet_info": (devnet_info, GENERIC_PREFIX),
}


class Dispatcher:
    def __init__(self, node, after_call=None):
        self.node = node
        self.after_call = after_call    # run after every call, before its answer is sent

    def handle_body(self, body: bytes) -> dict:
        """One POST body -> the response object (§1.4 envelope rules, in order)."""
        if not body:
            return error_envelope(PARSE_ERROR, EMPTY_BODY, None)
        try:
            request = nj.parse(body)
        except nj.JsonError as exc:
            return error_envelope(PARSE_ERROR, f"Parse error: {exc}", None)
        if not isinstance(request, dict):          # batch arrays too: no batch support
            return error_envelope(INVALID_REQUEST, BAD_JSONRPC, None)
        request_id = request.get("id")
        if request.get("jsonrpc") != "2.0":
            return error_envelope(INVALID_REQUEST, BAD_JSONRPC, request_id)
        method = request.get("method")
        if not isinstance(method, str):
            return error_envelope(INVALID_REQUEST, BAD_METHOD, request_id)
        return self.call(method, request.get("params", []), request_id)

    def call(self, method: str, params, request_id) -> dict:
        entry = METHODS.get(method)
        if entry is None:
            return error_envelope(METHOD_NOT_FOUND, f"Method not found: {method}", request_id)
        handler, prefix = entry
        self.node.housekeeping()
        try:
            return result_envelope(handler(self.node, params), request_id)
        except RpcError as exc:
            return error_envelope(exc.code, exc.message, request_id)
        except nj.JsonError as exc:
            return error_envelope(INTERNAL_ERROR, f"{prefix}{exc}", request_id)
        except Rejected as exc:
            return error_envelope(INTERNAL_ERROR, f"{_SUBMIT_PREFIX}{exc}", request_id)
        finally:
            if self.after_call is not None:
                self.after_call()
