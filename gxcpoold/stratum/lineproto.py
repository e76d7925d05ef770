"""Newline-delimited JSON-RPC 1.0 framing for Stratum, with its own defences.

Turns each line into (id, method, params) for `dispatch`, answers broken
input with a readable error instead of raising, closes the connection on a
line longer than the limit, closes one whose partial line stays unfinished
longer than line_timeout (a half-sent request must not hold a connection
forever), and slows a client that sends too fast by pausing reads
(back-pressure) rather than answering errors it would ignore.
"""
import abc
import json

from twisted.internet import defer
from twisted.protocols.basic import LineReceiver

from twisted.logger import Logger

from gxcpoold.stratum.errors import OTHER, MalformedRequest, StratumError

NO_REPLY = object()     # dispatch result: the handler answered (or must not) itself


_DEFERRED_TYPES = {}


def is_deferred(value):
    """isinstance(value, Deferred), decided once per type: Deferred is an
    Awaitable, and the ABC check costs a microsecond on every share."""
    cls = type(value)
    answer = _DEFERRED_TYPES.get(cls)
    if answer is None:
        answer = _DEFERRED_TYPES[cls] = isinstance(value, defer.Deferred)
    return answer


def encode(message):
    """One compact JSON line."""
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


class JsonLineProtocol(LineReceiver, metaclass=abc.ABCMeta):
    log = Logger()
    delimiter = b"\n"
    MAX_LENGTH = 16384
    requests_per_second = 50.0
    burst = 100.0
    line_timeout = 60.0

    _tokens = None
    _last_refill = None
    _resume_call = None
    _partial_call = None
    _lines_seen = 0
    request = None

    # ------------------------------------------------------------ to override

    @abc.abstractmethod
    def clock(self):
        """The reactor (or a test clock) for timers."""

    @abc.abstractmethod
    def dispatch(self, request_id, method, params):
        """Handle one request; return its result (or NO_REPLY) or raise StratumError."""

    def handle_response(self, message):
        """A reply to a request we sent (e.g. client.get_version)."""

    def malformed(self, reason):
        """Called for each broken message (for ban accounting)."""

    def reply_sent(self):
        """Called after each answer: pushes that must follow it go here."""

    # ------------------------------------------------------------ sending

    def send(self, message):
        if self.transport is not None and self.connected:
            self.transport.write(encode(message))

    def send_raw(self, line):
        if self.transport is not None and self.connected:
            self.transport.write(line)

    def send_result(self, request_id, result):
        self.send({"id": request_id, "result": result, "error": None})

    def send_error(self, request_id, error):
        self.send({"id": request_id, "result": None, "error": error.as_json()})

    def send_notification(self, method, params):
        self.send({"id": None, "method": method, "params": params})

    # ------------------------------------------------------------ receiving

    def lineLengthExceeded(self, line):
        self.malformed("line longer than %d bytes" % self.MAX_LENGTH)
        self.send_error(None, MalformedRequest("Request line longer than %d bytes; closing"
                                               % self.MAX_LENGTH))
        self.transport.loseConnection()

    def dataReceived(self, data):
        seen = self._lines_seen
        super().dataReceived(data)
        self._watch_partial_line(restart=self._lines_seen != seen)

    def lineReceived(self, line):
        self._lines_seen += 1
        line = line.strip()
        if not line or getattr(self.transport, "disconnecting", False):
            return                      # closing: what else the peer sent is not read
        self._throttle()
        try:
            message = json.loads(line)
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            self._reject(None, MalformedRequest("Parse error: not a JSON object (%s)"
                                                % str(e)[:80]))
            return
        if not isinstance(message, dict):
            self._reject(None, MalformedRequest("Invalid request: expected a JSON object"))
            return
        # the whole request while it is handled, for dialects that read members
        # beside params (eth-proxy miners name their worker in "worker"); not
        # kept afterwards, or every idle connection would hold its last request
        self.request = message
        self.handle_message(message)
        self.request = None

    def handle_message(self, message):
        request_id = message.get("id")
        if not isinstance(request_id, (int, str, type(None))) or isinstance(request_id, bool):
            request_id = None       # echo only ids the client can match
        method = message.get("method")
        if method is None and ("result" in message or "error" in message):
            self.handle_response(message)
            return
        if not isinstance(method, str):
            self._reject(request_id, MalformedRequest("Invalid request: 'method' must be a string"))
            return
        params = message.get("params", [])
        if params is None:
            params = []
        if not isinstance(params, list):
            self._reject(request_id, MalformedRequest("Invalid params: expected a list"))
            return
        try:
            result = self.dispatch(request_id, method, params)
        except StratumError as e:
            self._reject(request_id, e)
        except Exception:
            # a bug must cost this request, never the daemon or other miners
            self.log.failure("stratum {method} failed", method=method)
            self.send_error(request_id, StratumError(OTHER, "Internal server error"))
        else:
            if is_deferred(result):
                # a share being checked: answer when it is (at once when it already is)
                result.addCallbacks(self._answer, self._answer_failure,
                                    callbackArgs=(request_id,), errbackArgs=(request_id, method))
                return
            if result is not NO_REPLY:
                self.send_result(request_id, result)
        self.reply_sent()

    def _answer(self, result, request_id):
        if result is not NO_REPLY:
            self.send_result(request_id, result)
        self.reply_sent()

    def _answer_failure(self, failure, request_id, method):
        if failure.check(StratumError):
            self._reject(request_id, failure.value)
        else:
            self.log.failure("stratum {method} failed", failure, method=method)
            self.send_error(request_id, StratumError(OTHER, "Internal server error"))
        self.reply_sent()

    def _reject(self, request_id, error):
        if isinstance(error, MalformedRequest):
            self.malformed(error.message)
        self.send_error(request_id, error)

    # ------------------------------------------------------------ line timeout

    def _watch_partial_line(self, restart):
        """Time the bytes waiting for their newline; each completed line restarts the clock."""
        if not self._buffer or not self.connected:
            self._cancel_partial_timer()
        elif restart or self._partial_call is None:
            self._cancel_partial_timer()
            self._partial_call = self.clock().callLater(self.line_timeout, self._partial_expired)

    def _partial_expired(self):
        self._partial_call = None
        if not self.connected or not self._buffer:
            return
        if self.paused:                 # our rate limit holds lines back, not the peer
            self._partial_call = self.clock().callLater(self.line_timeout, self._partial_expired)
            return
        self.log.info("closing {peer}: a request line unfinished for {seconds:g}s",
                      peer=getattr(self.transport.getPeer(), "host", "?"),
                      seconds=self.line_timeout)
        self.send_error(None, MalformedRequest("Request line not finished within %g seconds; "
                                               "closing" % self.line_timeout))
        self.transport.loseConnection()

    def _cancel_partial_timer(self):
        if self._partial_call is not None and self._partial_call.active():
            self._partial_call.cancel()
        self._partial_call = None

    # ------------------------------------------------------------ rate limit

    def _throttle(self):
        """Token bucket: over the rate, stop reading until a token is due."""
        now = self.clock().seconds()
        if self._tokens is None:
            self._tokens, self._last_refill = self.burst, now
        self._tokens = min(self.burst,
                           self._tokens + (now - self._last_refill) * self.requests_per_second)
        self._last_refill = now
        self._tokens -= 1
        if self._tokens < 0 and self._resume_call is None and self.connected:
            self.pauseProducing()
            self._resume_call = self.clock().callLater(
                -self._tokens / self.requests_per_second, self._resume)

    def _resume(self):
        self._resume_call = None
        if self.connected:
            self.resumeProducing()

    def cancel_timers(self):
        if self._resume_call is not None and self._resume_call.active():
            self._resume_call.cancel()
        self._resume_call = None
        self._cancel_partial_timer()
