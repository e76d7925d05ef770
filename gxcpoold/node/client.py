"""JSON-RPC 2.0 client for the GXC node (spec/gxc-node.md sections 1 and 2).

The node reads each connection once (one recv of at most 8191 bytes) and
answers once, so every request is one compact buffer written in one call on
a fresh connection, kept under a configured limit (8000 bytes by default).
Twisted's HTTP client is not used because it may write headers and body
separately.  Calls go through a CallQueue: a bounded number in flight, block
submission ahead of templates ahead of everything else (callqueue.py).
"""
import itertools
import json
from collections import Counter
from urllib.parse import urlsplit

from twisted.internet import defer, error as inet_error
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater
from twisted.logger import Logger

from gxcpoold import metrics
from gxcpoold.amounts import base_units_to_gxc
from gxcpoold.node.callqueue import CallQueue, priority_of
from gxcpoold.node.errors import (NodeProtocolError, NodeRPCError, NodeRequestTooLarge,
                                  NodeTransportError)

# Never retried automatically: a resend after a lost answer could pay twice.
NOT_RETRIABLE = frozenset({"sendtoaddress", "sendfrom", "gxc_sendToAddress"})
# A request the node saw only part of (arrived in pieces): the call had no
# effect, so it is a transport problem, not an answer (spec 1.2, defect 15).
_PARTIAL_READ_MESSAGES = ("Empty POST body", "Parse error")
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class _OneExchange(Protocol):
    """Write one request, read the whole answer until the node closes."""

    def __init__(self, request: bytes):
        self.request = request
        self.chunks = []
        self.size = 0
        self.failure = None
        self.done = defer.Deferred(canceller=self._cancel)

    def _cancel(self, done):
        if self.transport is not None:
            self.transport.abortConnection()

    def connectionMade(self):
        self.transport.write(self.request)

    def dataReceived(self, data):
        self.size += len(data)
        if self.size > MAX_RESPONSE_BYTES:
            self.abort(NodeProtocolError("answer larger than %d bytes" % MAX_RESPONSE_BYTES))
            return
        self.chunks.append(data)

    def abort(self, failure):
        """Give up on this exchange with the given error."""
        self.failure = failure
        self.transport.abortConnection()

    def connectionLost(self, reason):
        if self.done.called:
            return                     # cancelled: nobody waits for this answer
        if self.failure is not None:
            self.done.errback(self.failure)
        elif not self.chunks:
            self.done.errback(NodeTransportError("connection closed without an answer: %s"
                                                 % reason.getErrorMessage()))
        else:
            # A reset after a complete answer (the node does that after an
            # oversized request) still leaves a usable answer.
            self.done.callback(b"".join(self.chunks))


class _QuietFactory(Factory):
    # One connection per call: Twisted's start/stop lines would flood the log.
    noisy = False


def parse_http_response(raw: bytes) -> bytes:
    """The body of a complete HTTP/1.1 response, or NodeProtocolError."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise NodeProtocolError("answer is not HTTP: %r" % raw[:80])
    lines = head.split(b"\r\n")
    status = lines[0].split(None, 2)
    # a status code is three digits; int() of a longer run could exceed
    # Python's 4300-digit limit and raise ValueError instead (found by fuzz/)
    if len(status) < 2 or not status[0].startswith(b"HTTP/") or not status[1].isdigit() \
            or len(status[1]) != 3:
        raise NodeProtocolError("answer is not HTTP: %r" % lines[0][:80])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            if len(value.strip()) > 18:        # past any answer we read, and past int()'s limit
                raise NodeProtocolError("answer Content-Length is not a usable length: %r"
                                        % value.strip()[:40])
            length = int(value.strip())
    if length is not None:
        if len(body) < length:
            raise NodeTransportError("answer cut short: %d of %d bytes" % (len(body), length))
        body = body[:length]
    code = int(status[1])
    if code != 200:
        raise NodeProtocolError("HTTP %d: %r" % (code, body[:200]))
    return body


class NodeClient:
    """Calls the GXC node.  All methods return Deferreds."""

    log = Logger()

    def __init__(self, reactor, url, *, timeout=10.0, retries=3, retry_backoff=0.25,
                 max_request_bytes=8000, max_in_flight=1, queue_limit=64):
        self.reactor = reactor
        self.queue = CallQueue(max_in_flight, queue_limit)
        self.calls = 0                    # exchanges attempted (figures for benchmarks)
        self._open = set()                # Deferreds of calls not answered yet
        self.timeout = timeout
        self.retries = retries
        self.retry_backoff = retry_backoff
        self.max_request_bytes = max_request_bytes
        self._ids = itertools.count(1)
        self.last_latency = None
        # metrics: seconds per answered exchange, and exchanges without an answer, by method
        self.rpc_times = metrics.TimingsByKey(metrics.RPC_BUCKETS)
        self.rpc_failures = Counter()
        self.url = None
        if url is not None:
            self.set_url(url)

    def set_url(self, url):
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or parts.port is None:
            raise ValueError("node URL must be http://HOST:PORT, got %r" % (url,))
        self.url = url
        self._host, self._port = parts.hostname, parts.port
        self._host_header = parts.netloc.encode("idna")

    # ------------------------------------------------------------ encoding

    def encode(self, method, params, request_id) -> bytes:
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method,
                           "params": list(params)},
                          separators=(",", ":"), allow_nan=False).encode()
        head = (b"POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                % (self._host_header, len(body)))
        return head + body

    # ------------------------------------------------------------ calls

    def call(self, method, *params, retry=None, priority=None):
        """Call a method; fires with its result or fails with a NodeError.
        priority: callqueue.SUBMIT/TEMPLATE/OTHER, default by method."""
        if self.url is None:
            return defer.fail(NodeTransportError("node URL is not known yet"))
        request_id = next(self._ids)
        request = self.encode(method, params, request_id)
        if len(request) > self.max_request_bytes:
            return defer.fail(NodeRequestTooLarge(
                "%s request is %d bytes; the node reads at most %d"
                % (method, len(request), self.max_request_bytes)))
        if retry is None:
            retry = method not in NOT_RETRIABLE
        attempts = 1 + (self.retries if retry else 0)
        if priority is None:
            priority = priority_of(method)
        d = self._call_with_retries(method, request, request_id, attempts, priority)
        if not d.called:
            self._open.add(d)
            d.addBoth(self._closed, d)
        return d

    def _closed(self, result, d):
        self._open.discard(d)
        return result

    def cancel_all(self):
        """Abandon every call in flight or waiting (the node link is stopping)."""
        for d in list(self._open):
            d.cancel()

    @defer.inlineCallbacks
    def _call_with_retries(self, method, request, request_id, attempts, priority):
        pause = self.retry_backoff
        for attempt in range(1, attempts + 1):
            try:
                result = yield self._exchange(method, request, request_id, priority)
                return result
            except NodeTransportError as e:
                if attempt == attempts:
                    raise
                self.log.debug("node {method} attempt {attempt} failed ({error}); retrying in "
                               "{pause:.2f}s", method=method, attempt=attempt, error=e, pause=pause)
                yield deferLater(self.reactor, pause)
                pause = min(pause * 2, 5.0)

    @defer.inlineCallbacks
    def _exchange(self, method, request, request_id, priority):
        yield self.queue.acquire(method, priority)
        try:
            result = yield self._one_exchange(method, request, request_id)
        finally:
            self.queue.release()
        return result

    @defer.inlineCallbacks
    def _one_exchange(self, method, request, request_id):
        self.calls += 1
        started = self.reactor.seconds()
        protocol = _OneExchange(request)
        endpoint = HostnameEndpoint(self.reactor, self._host, self._port, timeout=self.timeout)
        # Cancelled while resolving, HostnameEndpoint fails with a DNS error:
        # remember that it was a cancel, so it is not retried as a transport error.
        cancelled = []
        connecting = endpoint.connect(_QuietFactory.forProtocol(lambda: protocol))
        connected = defer.Deferred(lambda _: (cancelled.append(True), connecting.cancel()))
        connecting.chainDeferred(connected)
        try:
            yield connected
        except (inet_error.ConnectError, inet_error.ConnectingCancelledError, OSError) as e:
            if cancelled or isinstance(e, inet_error.ConnectingCancelledError):
                raise defer.CancelledError() from None     # the caller cancelled the call
            self.rpc_failures[method] += 1                 # metrics
            raise NodeTransportError("%s: cannot connect to %s: %s" % (method, self.url, e))
        remaining = max(0.0, self.timeout - (self.reactor.seconds() - started))
        timer = self.reactor.callLater(remaining, protocol.abort, NodeTransportError(
            "%s: no answer from %s within %.1fs" % (method, self.url, self.timeout)))
        try:
            raw = yield protocol.done
        except (NodeTransportError, NodeProtocolError):
            self.rpc_failures[method] += 1                 # metrics: no usable answer
            raise
        finally:
            if timer.active():
                timer.cancel()
        self.last_latency = self.reactor.seconds() - started
        self.rpc_times.observe(method, self.last_latency)  # metrics
        return self._interpret(method, raw, request_id)

    def _interpret(self, method, raw, request_id):
        body = parse_http_response(raw)
        try:
            answer = json.loads(body)
        except (ValueError, RecursionError):     # too deeply nested is not JSON to us either
            raise NodeProtocolError("%s: answer is not JSON: %r" % (method, body[:200])) from None
        if not isinstance(answer, dict) or answer.get("jsonrpc") != "2.0":
            raise NodeProtocolError("%s: answer is not a JSON-RPC 2.0 object: %r"
                                    % (method, body[:200]))
        error = answer.get("error")
        if error is not None:
            if (not isinstance(error, dict) or not isinstance(error.get("code"), int)
                    or not isinstance(error.get("message"), str)):
                raise NodeProtocolError("%s: malformed error object: %r" % (method, error))
            if error["code"] == -32700 and error["message"].startswith(_PARTIAL_READ_MESSAGES):
                raise NodeTransportError("%s: the node saw only part of the request: %s"
                                         % (method, error["message"][:120]))
            raise NodeRPCError(method, error["code"], error["message"])
        if answer.get("id") != request_id:
            raise NodeProtocolError("%s: answer id %r does not match request id %r"
                                    % (method, answer.get("id"), request_id))
        if "result" not in answer:
            raise NodeProtocolError("%s: answer has neither result nor error" % method)
        return answer["result"]

    # ------------------------------------------------------------ methods a pool uses

    def getblocktemplate(self, miner_address=None):
        if miner_address:
            return self.call("getblocktemplate", {"minerAddress": miner_address})
        return self.call("getblocktemplate")

    def getbestblockhash(self, retry=True):
        return self.call("getbestblockhash", retry=retry)

    def getblockcount(self):
        return self.call("getblockcount")

    def getblockhash(self, height: int, priority=None):
        return self.call("getblockhash", int(height), priority=priority)

    def getblock(self, selector, verbose: bool = True):
        # Numeric verbosity crashes the node's handler (defect 12): booleans only.
        return self.call("getblock", selector, bool(verbose))

    def getblockchaininfo(self):
        return self.call("getblockchaininfo")

    def getnewaddress(self):
        return self.call("getnewaddress")

    def validateaddress(self, address):
        return self.call("validateaddress", address)

    def getbalance(self, address):
        return self.call("getbalance", address)

    def getrawmempool(self):
        return self.call("getrawmempool")

    def listunspent(self, address):
        # Always with an address: `listunspent []` fails once a fee-paying
        # transaction is mined (defect 13).
        if not address:
            raise ValueError("listunspent needs an address")
        return self.call("listunspent", address)

    def sendtoaddress(self, address, amount_base_units: int):
        """Pay from the node wallet.  Never retried: see NOT_RETRIABLE."""
        return self.call("sendtoaddress", address, base_units_to_gxc(amount_base_units))

    def fit_block(self, block: dict) -> dict:
        """The block trimmed to the request limit: mempool transactions after
        the coinbase are kept in order while the submitblock request fits
        (spec 1.2: ~7 fit); one too large for the room left is left out, and
        those after it still get their chance (a payout with too many inputs
        must not keep every later transaction out, spec 6.3).  Raises
        NodeRequestTooLarge if even the coinbase-only block does not fit."""
        txs = list(block.get("transactions", []))
        kept = txs[:1]
        room = self.max_request_bytes - len(self.encode("submitblock",
                                                        [dict(block, transactions=kept)], 2**31))
        if room < 0:
            raise NodeRequestTooLarge("submitblock with the coinbase only is still larger "
                                      "than %d bytes" % self.max_request_bytes)
        for tx in txs[1:]:
            size = len(json.dumps(tx, separators=(",", ":"), allow_nan=False).encode()) + 1
            if size <= room:
                kept.append(tx)
                room -= size
        # Content-Length may have gained a digit
        while len(kept) > 1 and len(self.encode("submitblock", [dict(block, transactions=kept)],
                                                2**31)) > self.max_request_bytes:
            kept.pop()
        return dict(block, transactions=kept)

    @defer.inlineCallbacks
    def submitblock(self, block: dict):
        """Submit a block; fires with the block actually sent (it may have
        fewer mempool transactions, see fit_block) when the node accepts it,
        fails with NodeRPCError carrying the node's reason otherwise."""
        sent = self.fit_block(block)
        result = yield self.call("submitblock", sent)
        if result is not None:
            raise NodeProtocolError("submitblock: unexpected result %r (the node answers null "
                                    "on success)" % (result,))
        return sent

