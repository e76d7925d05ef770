"""Refusing a connection cheaply, and saying why.

A banned or over-cap peer gets no session: one pre-encoded
`client.show_message` line, then the socket is closed.  The close waits a
second (for a bounded number of sockets at a time), so a miner that
reconnects at once makes one attempt a second instead of a storm.  Refusals
are logged as one line when an IP is first refused and then one summary line
per IP per interval while it keeps trying, never one line per connection.
"""
from twisted.internet.protocol import Protocol
from twisted.logger import Logger

from gxcpoold.stratum.lineproto import encode

CLOSE_DELAY = 1.0             # seconds a refused socket stays open before the close
MAX_DELAYED_CLOSES = 256      # beyond this many waiting sockets, close at once
SUMMARY_INTERVAL = 60.0       # seconds between summary lines for an IP still refused


def message_line(text):
    """The one line a refused peer reads (miners display client.show_message)."""
    return encode({"id": None, "method": "client.show_message", "params": [text]})


def describe_ban(ip, reason, seconds_left):
    """What a banned miner is told: why, and for how long."""
    if seconds_left is None:
        return "%s is %s" % (ip, reason)
    minutes = int(-(-seconds_left // 60))             # rounded up: never says 0
    return "%s is banned for %d more minute%s (%s)" % (ip, minutes, "" if minutes == 1 else "s",
                                                      reason)


class RefusedConnection(Protocol):
    """Writes its line, then closes (after CLOSE_DELAY while few are waiting)."""

    def __init__(self, refusals, line):
        self.refusals = refusals
        self.line = line
        self._close_call = None

    def connectionMade(self):
        self.transport.write(self.line)
        self._close_call = self.refusals.close_later(self.transport)

    def dataReceived(self, data):
        pass                          # whatever it asks, the answer was the line

    def connectionLost(self, reason):
        if self._close_call is not None:
            self.refusals.close_done(self._close_call)
            self._close_call = None


class Refusals:
    """Builds refusal protocols, counts waiting closes and summarises the log."""
    log = Logger()

    def __init__(self, clock, algorithm, close_delay=CLOSE_DELAY,
                 max_delayed=MAX_DELAYED_CLOSES, interval=SUMMARY_INTERVAL):
        self.clock = clock
        self.algorithm = algorithm
        self.close_delay = close_delay
        self.max_delayed = max_delayed
        self.interval = interval
        self.delayed = set()          # pending delayed closes
        self._counts = {}             # ip -> [why, refusals not yet logged]
        self._summary_call = None
        self._lines = {}              # ip -> (text, encoded line), reused while unchanged

    # ------------------------------------------------------------ protocols

    def refuse(self, ip, text, why):
        """A protocol that tells ip `text` and closes; `why` is the short log reason."""
        self._count(ip, why)
        cached = self._lines.get(ip)
        if cached is None or cached[0] != text:
            if len(self._lines) > 4 * self.max_delayed:
                self._lines.clear()   # a cache, not a record: bounded
            cached = self._lines[ip] = (text, message_line(text))
        return RefusedConnection(self, cached[1])

    def close_later(self, transport):
        if len(self.delayed) >= self.max_delayed:
            transport.loseConnection()
            return None
        call = self.clock.callLater(self.close_delay, self._close, transport)
        self.delayed.add(call)
        return call

    def _close(self, transport):
        transport.loseConnection()

    def close_done(self, call):
        self.delayed.discard(call)
        if call.active():
            call.cancel()

    # ------------------------------------------------------------ log summary

    def _count(self, ip, why):
        entry = self._counts.get(ip)
        if entry is None:
            self._counts[ip] = [why, 0]
            self.log.info("{algorithm} stratum: refusing {ip}: {why} (further refusals are "
                          "summarised every {interval:.0f}s)", algorithm=self.algorithm,
                          ip=ip, why=why, interval=self.interval)
            if self._summary_call is None:
                self._summary_call = self.clock.callLater(self.interval, self._summarise)
        else:
            entry[0] = why
            entry[1] += 1

    def _summarise(self):
        self._summary_call = None
        counts = self._counts
        # an IP refused again during the interval stays counted silently; a quiet one is dropped
        self._counts = {ip: [why, 0] for ip, (why, n) in counts.items() if n}
        self._log_counts(counts)
        if self._counts:
            self._summary_call = self.clock.callLater(self.interval, self._summarise)

    def _log_counts(self, counts):
        for ip, (why, n) in counts.items():
            if n:
                self.log.info("{algorithm} stratum: refused {n} more connection(s) from {ip} "
                              "in the last {interval:.0f}s: {why}", algorithm=self.algorithm,
                              n=n, ip=ip, interval=self.interval, why=why)

    def stop(self):
        """Service stop: log what is still counted, close waiting sockets now."""
        if self._summary_call is not None:
            self._summary_call.cancel()
            self._summary_call = None
        counts, self._counts = self._counts, {}
        self._log_counts(counts)
        for call in list(self.delayed):
            if call.active():
                transport = call.args[0]
                call.cancel()
                transport.loseConnection()
        self.delayed.clear()
