"""One raw HTTP request (the bytes of the node's single read) -> response bytes.

spec §1.2 (framing), §1.3 (response framing), §1.6 (GET endpoints).  The node
never looks at headers: the request line gives the method and path, the body
is whatever follows the first CRLFCRLF, Content-Length is ignored.
"""
import json

from twisted.logger import Logger

from . import nodejson as nj
from .errors import INTERNAL_ERROR
from .views import health

log = Logger(namespace="gxcpoold.devnode")

REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           500: "Internal Server Error"}
NOT_ALLOWED = b'{"error":"Method not allowed"}'
NOT_FOUND_HINT = "Try /health, /api/getinfo, /api/admin/login, /api/fraud/report, /api/mm/apply"
# §1.6 OPTIONS: empty body and CORS headers (header set and order not published)
OPTIONS_RESPONSE = (b"HTTP/1.1 200 OK\r\n"
                    b"Access-Control-Allow-Origin: *\r\n"
                    b"Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
                    b"Access-Control-Allow-Headers: Content-Type\r\n"
                    b"Content-Length: 0\r\n"
                    b"Connection: close\r\n\r\n")

# GET path (without the optional /api prefix) -> method called with no params
SIMPLE_GETS = {
    "/getinfo": "getblockchaininfo", "/getblockcount": "getblockcount",
    "/getdifficulty": "getdifficulty", "/getbestblockhash": "getbestblockhash",
    "/getblocktemplate": "getblocktemplate", "/getblockchaininfo": "getblockchaininfo",
    "/getmininginfo": "getmininginfo", "/getnetworkinfo": "getnetworkinfo",
    "/getpeerinfo": "getpeerinfo", "/getmempoolinfo": "getmempoolinfo",
    "/getrawmempool": "getrawmempool", "/getstakinginfo": "getstakinginfo",
    "/listvalidators": "listvalidators",
}
HEALTH_PATHS = ("/", "/health", "/ping")


def http_response(status: int, body: bytes) -> bytes:
    """§1.3: status line and the four headers, in this order."""
    head = (f"HTTP/1.1 {status} {REASONS[status]}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Access-Control-Allow-Origin: *\r\n"
            "Connection: close\r\n\r\n")
    return head.encode("ascii") + body


def _query_value(query: str, name: str) -> str:
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == name:
            return value
    return ""


def answer(dispatcher, raw: bytes) -> bytes:
    """The node's connection handler; its catch-all gives HTTP 500 (§1.3)."""
    try:
        head, _, body = raw.partition(b"\r\n\r\n")
        words = head.split(b"\r\n", 1)[0].split()
        method = words[0] if words else b""
        target = words[1].decode("utf-8", "surrogateescape") if len(words) > 1 else "/"
        if method == b"POST":      # any path (§1.2)
            return http_response(200, nj.dumps(dispatcher.handle_body(body)))
        if method == b"GET":
            return _get(dispatcher, target)
        if method == b"OPTIONS":
            return OPTIONS_RESPONSE
        return http_response(405, NOT_ALLOWED)
    except nj.JsonError as exc:
        # e.g. type_error.316: the library refuses to print invalid UTF-8 echoed
        # from the request; the node's handler answers 500 (§1.3)
        log.info("devnode: HTTP 500 for a request: {error}", error=str(exc))
        return _internal_server_error(exc)
    except Exception as exc:   # a simulator bug: still answer like the node
        log.failure("devnode: request handler failed")
        return _internal_server_error(exc)


def _internal_server_error(exc: Exception) -> bytes:
    # raw request bytes inside the message are replaced so this answer always prints
    message = f"Internal server error: {exc}".encode("utf-8", "replace").decode("utf-8")
    body = {"error": {"code": INTERNAL_ERROR, "message": message}, "id": None, "jsonrpc": "2.0"}
    return http_response(500, nj.dumps(body))


def _envelope(dispatcher, method: str, params: list) -> bytes:
    return http_response(200, nj.dumps(dispatcher.call(method, params, 1)))


def _get(dispatcher, target: str) -> bytes:
    """§1.6 GET endpoints; each also works without the /api prefix."""
    path, _, query = target.partition("?")
    if path in HEALTH_PATHS:
        return http_response(200, nj.dumps(health(dispatcher.node)))
    name = path[4:] if path.startswith("/api/") else path
    if name in SIMPLE_GETS:
        return _envelope(dispatcher, SIMPLE_GETS[name], [])
    if name in ("/getbalance", "/listunspent"):
        address = _query_value(query, "address")
        return _envelope(dispatcher, name[1:], [address] if address else [])
    if name == "/gettransaction":
        txid = _query_value(query, "txid")
        if not txid:
            return http_response(400, nj.dumps({"error": "Missing txid parameter",
                                                "usage": "/api/gettransaction?txid=TXID"}))
        return _envelope(dispatcher, "gettransaction", [txid])
    if name.startswith("/getblock"):   # prefix match: /api/getblockhash is getblock too
        block_hash = _query_value(query, "hash")
        if not block_hash:
            return http_response(400, nj.dumps({"error": "Missing hash parameter",
                                                "usage": "/api/getblock?hash=BLOCKHASH"}))
        return _envelope(dispatcher, "getblock", [block_hash])
    # §1.6 prints this body with its keys in this (non-alphabetical) order
    body = ('{"error":"Not found","path":' + json.dumps(path, ensure_ascii=False)
            + ',"hint":"' + NOT_FOUND_HINT + '"}')
    return http_response(404, body.encode("utf-8", "surrogateescape"))
