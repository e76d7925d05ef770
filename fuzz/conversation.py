"""One miner connection driven by a fuzz input, and the checks it must pass.

Invariants, checked by finish():
- no exception escapes dataReceived, the clock, the share checks or the close;
- nothing peer input causes is logged at error or critical level or with a
  traceback (the pool's "this is a bug" path);
- every line the pool writes is one JSON object; notifications have a string
  method and list params; every other line is an answer whose id is one the
  peer sent (or null), and once the connection has read all it was sent, each
  request line got exactly one answer with its id (a closed connection may
  have left some unanswered, and adds at most null-id errors);
- the connection is open and registered, or closing; once closed the service
  holds no session, connection count, extranonce or timer of it.
"""
import collections
import json

from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.python.failure import Failure

from gxcpoold.stratum.dialects.ethproxy import EthProxy

# the longest the clock is run to let a throttled or checking connection read on
DRAIN_STEPS = 600
_NO_ANSWER = object()


class InvariantBroken(AssertionError):
    """A fuzz input made the pool break one of the invariants above."""


class _LogAlarm:
    """Error-level and traceback events, from any logger, while installed."""

    def __init__(self):
        self.events = []
        globalLogPublisher.addObserver(self)

    def __call__(self, event):
        level = event.get("log_level")
        if event.get("log_failure") is not None or level in (LogLevel.error, LogLevel.critical):
            try:
                text = formatEvent(event)
            except Exception as e:          # a broken format is a finding too
                text = "unformattable event %r: %r" % (event.get("log_format"), e)
            failure = event.get("log_failure")
            if failure is not None:
                text += "\n" + failure.getTraceback()
            self.events.append(text)


_alarm = None


def log_alarm():
    global _alarm
    if _alarm is None:
        _alarm = _LogAlarm()
    return _alarm


def expected_answer(line):
    """The id the pool must answer a line it read with, or _NO_ANSWER (a blank
    line, or a response object from the miner)."""
    line = line.strip()
    if not line:
        return _NO_ANSWER
    try:
        message = json.loads(line)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(message, dict):
        return None
    request_id = message.get("id")
    if not isinstance(request_id, (int, str, type(None))) or isinstance(request_id, bool):
        request_id = None
    if message.get("method") is None and ("result" in message or "error" in message):
        return _NO_ANSWER
    return request_id


class Conversation:
    def __init__(self, port):
        self.port = port
        self.alarm = log_alarm()
        del self.alarm.events[:]
        self.fed = []                     # the chunks, for the report
        self.lines = []                   # (line, whether the pool was already closing)
        self.protocol = port.connect()
        self.transport = StringTransport()
        self._guard("connectionMade", self.protocol.makeConnection, self.transport)
        read_line = self.protocol.lineReceived

        def recording(line):
            self.lines.append((line, self.transport.disconnecting))
            return read_line(line)
        self.protocol.lineReceived = recording

    @property
    def session(self):
        return self.protocol

    def _guard(self, what, f, *args):
        try:
            return f(*args)
        except InvariantBroken:
            raise
        except Exception as e:
            raise InvariantBroken("%s raised %r\n%s" % (what, e, self.report())) from e

    def report(self):
        return "input chunks: %r" % (self.fed,)

    def fail(self, why):
        raise InvariantBroken("%s\n%s" % (why, self.report()))

    # ------------------------------------------------------------ driving

    def feed(self, data):
        self.fed.append(data)
        if self.transport.disconnecting:
            return                          # a closed socket reads nothing more
        self._guard("dataReceived", self.protocol.dataReceived, data)

    def wait(self, seconds):
        """Time passes (timers fire: idle, line timeout, rate limit, vardiff)."""
        self.fed.append(("wait", seconds))
        self._guard("clock.advance", self.port.clock.advance, seconds)

    def new_job(self, new_tip):
        self.fed.append(("job", new_tip))
        self._guard("a new job", self.port.push, new_tip)

    def run_checks(self):
        self.fed.append(("checks",))
        self._guard("share checks", self.port.drain_checks)

    def _reading_held(self):
        session = self.protocol
        return (session.paused or session._checks_paused or session.checks_in_flight
                or self.port.checks_waiting())

    def drain(self):
        """Let the connection read and answer all it was sent."""
        for _ in range(DRAIN_STEPS):
            if self.transport.disconnecting or not self._reading_held():
                return
            self._guard("share checks", self.port.drain_checks)
            if self._reading_held():
                self._guard("clock.advance", self.port.clock.advance, 1.0)

    # ------------------------------------------------------------ checking

    def finish(self):
        self.drain()
        self.check_answers()
        self.check_log()
        self.close()
        self.check_log()

    def check_log(self):
        if self.alarm.events:
            events, self.alarm.events[:] = list(self.alarm.events), []
            self.fail("logged at error level for peer input:\n" + "\n".join(events))

    def written(self):
        messages = []
        for raw in self.transport.value().split(b"\n"):
            if not raw:
                continue
            try:
                message = json.loads(raw)
            except ValueError as e:
                self.fail("the pool wrote a line that is not JSON (%s): %r" % (e, raw[:200]))
            if not isinstance(message, dict):
                self.fail("the pool wrote a line that is not an object: %r" % raw[:200])
            messages.append(message)
        if self.transport.value() and not self.transport.value().endswith(b"\n"):
            self.fail("the pool's last line has no newline")
        return messages

    def check_answers(self):
        proxy = isinstance(self.protocol.dialect, EthProxy)
        expected = collections.Counter()
        for line, closing in self.lines:
            if closing:
                continue
            answer = expected_answer(line)
            if answer is not _NO_ANSWER and not (proxy and answer == 0):
                expected[_key(answer)] += 1
        answered = collections.Counter()
        for message in self.written():
            if "method" in message:
                if message.get("id") is not None or not isinstance(message["method"], str) \
                        or not isinstance(message.get("params"), list):
                    self.fail("malformed notification: %r" % (message,))
                continue
            if "id" not in message or not ("result" in message or "error" in message):
                self.fail("an answer without id, result or error: %r" % (message,))
            if proxy and message["id"] == 0:
                continue                    # eth-proxy pushes work as an answer to id 0
            answered[_key(message["id"])] += 1
        unasked = answered - expected
        closed = self.transport.disconnecting
        if closed:
            # closing errors (line too long, idle, unfinished line) carry a null id
            unasked.pop(_key(None), None)
        if unasked:
            self.fail("answers to requests never sent (or answered twice): %r; expected %r"
                      % (dict(unasked), dict(expected)))
        if not closed and not self._reading_held():
            missing = expected - answered
            if missing:
                self.fail("requests left unanswered on an open connection: %r"
                          % (dict(missing),))

    def close(self):
        """The peer goes (or the pool's close completes): nothing of it stays."""
        service, session = self.port.service, self.protocol
        if not self.transport.disconnecting and session not in service.sessions:
            self.fail("an open connection the service does not know")
        self._guard("connectionLost", session.connectionLost, Failure(ConnectionDone()))
        self._guard("share checks", self.port.drain_checks)
        if session in service.sessions:
            self.fail("the service still holds a closed session")
        if service.connections.counts.get(session.ip):
            self.fail("the closed connection still counts against its IP")
        if service.extranonces.in_use:
            self.fail("the closed connection's extranonce1 was not released")
        for call in self.port.clock.getDelayedCalls():
            if call.active() and getattr(call.func, "__self__", None) is session:
                self.fail("a timer of the closed session is still set: %r" % (call,))


def _key(request_id):
    """Counter key: 1 and 1.0 and True would otherwise be one id."""
    return (type(request_id).__name__, request_id)


def replay(port_name, fed):
    """Run a recorded input (Conversation.fed) again on a fresh port: what
    the regression tests call; raises InvariantBroken as the fuzzer saw it."""
    from fuzz.ports import PORTS
    conversation = Conversation(PORTS[port_name]())
    for step in fed:
        if isinstance(step, bytes):
            conversation.feed(step)
        elif step[0] == "wait":
            conversation.wait(step[1])
        elif step[0] == "job":
            conversation.new_job(step[1])
        else:
            conversation.run_checks()
    conversation.finish()
    return conversation
