"""Refused connections (banned IP, per-IP cap): one readable line, then the
close a second later; the log summarises instead of one line per refusal.
Also the listen backlog and the line timeout, over real sockets."""
import json
import shutil
import subprocess

from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock, deferLater
from twisted.internet.testing import StringTransport
from twisted.logger import globalLogPublisher
from twisted.trial import unittest

from gxcpoold.stratum.refusals import RefusedConnection, Refusals, describe_ban
from gxcpoold.stratum.service import with_backlog
from tests.stratum.helpers import Pool, gxc_template
from tests.waiting import wait_for


class LogCapture:
    def __init__(self):
        self.events = []

    def __call__(self, event):
        self.events.append(event)

    def texts(self, namespace_part=""):
        from twisted.logger import formatEvent
        return [formatEvent(e) for e in self.events
                if namespace_part in (e.get("log_namespace") or "")]

    def __enter__(self):
        globalLogPublisher.addObserver(self)
        return self

    def __exit__(self, *exc):
        globalLogPublisher.removeObserver(self)


# ---------------------------------------------------------------- in memory

def test_describe_ban_says_why_and_how_long():
    assert describe_ban("10.0.0.1", "25 malformed messages", 61) == (
        "10.0.0.1 is banned for 2 more minutes (25 malformed messages)")
    assert "for 1 more minute " in describe_ban("10.0.0.1", "x", 0.5)
    assert describe_ban("10.0.0.1", "banned by the pool operator", None) == (
        "10.0.0.1 is banned by the pool operator")


def test_a_storm_of_refusals_is_logged_as_one_line_per_ip_per_interval():
    clock = Clock()
    refusals = Refusals(clock, "sha256d", interval=60.0)
    with LogCapture() as log:
        for _ in range(4744):
            protocol = refusals.refuse("10.0.0.1", "gxcpool: connection refused", "banned (x)")
            protocol.makeConnection(StringTransport())
            protocol.connectionLost(None)
        refusals.refuse("10.0.0.2", "gxcpool: connection refused", "256 connections already")
        clock.advance(60)
        clock.advance(60)                  # quiet now: no line, and the IPs are forgotten
        refusals.refuse("10.0.0.1", "gxcpool: connection refused", "banned (x)")
    lines = log.texts("refusals")
    assert len(lines) == 4, lines
    assert "refusing 10.0.0.1: banned (x)" in lines[0]
    assert "refusing 10.0.0.2: 256 connections already" in lines[1]
    assert "refused 4743 more connection(s) from 10.0.0.1 in the last 60s: banned (x)" \
        in lines[2]
    assert "refusing 10.0.0.1" in lines[3]
    refusals.stop()


def test_the_close_waits_a_second_for_a_bounded_number_of_sockets():
    clock = Clock()
    refusals = Refusals(clock, "sha256d", close_delay=1.0, max_delayed=3)
    transports = []
    for i in range(5):
        transport = StringTransport()
        refusals.refuse("10.0.0.%d" % i, "go away", "banned").makeConnection(transport)
        transports.append(transport)
    # every peer read its line; the first three wait a second, the others are closed at once
    assert all(json.loads(t.value())["params"] == ["go away"] for t in transports)
    assert [t.disconnecting for t in transports] == [False, False, False, True, True]
    clock.advance(1.0)
    assert all(t.disconnecting for t in transports)
    refusals.stop()


def test_stop_logs_what_is_counted_and_closes_waiting_sockets():
    clock = Clock()
    refusals = Refusals(clock, "sha256d")
    transports = [StringTransport() for _ in range(3)]
    with LogCapture() as log:
        for transport in transports:
            refusals.refuse("10.0.0.1", "go away", "banned").makeConnection(transport)
        refusals.stop()
    assert all(t.disconnecting for t in transports)
    assert "refused 2 more connection(s) from 10.0.0.1" in log.texts("refusals")[-1]
    assert clock.getDelayedCalls() == []


def test_the_line_is_encoded_once_per_ip_while_the_text_is_unchanged():
    refusals = Refusals(Clock(), "sha256d")
    first = refusals.refuse("10.0.0.1", "banned for 3 more minutes", "banned")
    again = refusals.refuse("10.0.0.1", "banned for 3 more minutes", "banned")
    later = refusals.refuse("10.0.0.1", "banned for 2 more minutes", "banned")
    assert isinstance(first, RefusedConnection)
    assert first.line is again.line and later.line != first.line
    refusals.stop()


def test_a_banned_ip_in_the_pool_gets_the_reason_and_the_minutes_left():
    pool = Pool(ban_seconds=600.0)
    pool.node.push(gxc_template(), True)
    pool.service.ban("10.5.5.5", "25 malformed messages")
    pool.clock.advance(100)
    peer = pool.connect(ip="10.5.5.5")
    (message,) = peer.read()
    assert message == {"id": None, "method": "client.show_message", "params": [
        "gxcpool: connection refused: 10.5.5.5 is banned for 9 more minutes "
        "(25 malformed messages)"]}
    assert not peer.closed
    pool.clock.advance(1.0)
    assert peer.closed
    assert pool.service.sessions == set()       # no session was made for it


def test_operator_bans_are_explained_too():
    pool = Pool()
    pool.node.push(gxc_template(), True)
    connected = pool.connect(ip="10.6.6.6")
    connected.login()
    pool.service.apply_operator_bans(["10.6.6.6"], [])
    connected.read()
    assert connected.closed
    assert connected.notifications("client.show_message") == [[
        "gxcpool: disconnected: banned by the pool operator"]]
    (message,) = pool.connect(ip="10.6.6.6").read()
    assert message["params"] == ["gxcpool: connection refused: 10.6.6.6 is banned by the "
                                 "pool operator"]


def test_backlog_is_added_unless_the_endpoint_has_one():
    assert with_backlog("tcp:3333", 1024) == "tcp:3333:backlog=1024"
    assert with_backlog("tcp:3333:interface=127.0.0.1", 7) == \
        "tcp:3333:interface=127.0.0.1:backlog=7"
    assert with_backlog("tcp:3333:backlog=99", 1024) == "tcp:3333:backlog=99"
    assert with_backlog("ssl:3443:privateKey=k.pem", 5) == "ssl:3443:privateKey=k.pem:backlog=5"
    assert with_backlog("tcp6:3333", 5) == "tcp6:3333:backlog=5"
    assert with_backlog("systemd:domain=INET:index=0", 5) == "systemd:domain=INET:index=0"


# ---------------------------------------------------------------- real sockets

class Reader(Protocol):
    def __init__(self):
        self.data = b""
        self.lost = defer.Deferred()

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason):
        self.lost.callback(self.data)


class RealSocketTests(unittest.TestCase):
    timeout = 60

    def start(self, **settings):
        pool = Pool(clock=reactor, **settings)
        pool.node.push(gxc_template(), True)
        pool.service.startService()
        self.addCleanup(pool.service.stopService)
        self.pool = pool
        return pool.service.whenListening()

    async def connect(self):
        port = self.pool.service.port.getHost().port
        reader = Reader()
        await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), reader)
        return reader

    @defer.inlineCallbacks
    def test_a_banned_ip_reads_why_before_the_close(self):
        yield self.start()
        self.pool.service.ban("127.0.0.1", "9 of 10 shares invalid")
        with LogCapture() as log:
            readers = []
            for _ in range(5):               # a miner reconnecting without delay
                readers.append((yield defer.ensureDeferred(self.connect())))
            texts = yield defer.gatherResults([r.lost for r in readers])
        for text in texts:
            (line,) = text.splitlines()
            message = json.loads(line)
            assert message["method"] == "client.show_message"
            assert message["params"][0] == ("gxcpool: connection refused: 127.0.0.1 is banned "
                                            "for 10 more minutes (9 of 10 shares invalid)")
        refusing = [t for t in log.texts("refusals") if "127.0.0.1" in t]
        assert len(refusing) == 1, refusing      # the rest wait for the summary line
        assert self.pool.service.sessions == set()

    @defer.inlineCallbacks
    def test_a_partial_line_left_unfinished_closes_the_connection(self):
        yield self.start(line_timeout=0.3, idle_timeout=600.0)
        reader = yield defer.ensureDeferred(self.connect())
        reader.transport.write(b'{"id": 1, "method": "mining.subscribe", "params": []}\n')
        yield defer.ensureDeferred(wait_for(lambda: b"\n" in reader.data, "subscribe answer"))
        with LogCapture() as log:
            reader.transport.write(b'{"id": 2, "method": "mining.ping", "par')
            text = yield reader.lost
        last = json.loads(text.splitlines()[-1])
        assert last["error"][1] == "Request line not finished within 0.3 seconds; closing"
        assert any("a request line unfinished for 0.3s" in t for t in log.texts("stratum"))

    @defer.inlineCallbacks
    def test_lines_that_keep_coming_in_pieces_are_not_cut(self):
        yield self.start(line_timeout=0.5, idle_timeout=600.0)
        reader = yield defer.ensureDeferred(self.connect())
        request = b'{"id": 1, "method": "mining.ping", "params": []}\n'
        for n in range(1, 9):
            # each line is split in two and finished within the timeout
            reader.transport.write(request[:20])
            yield deferLater(reactor, 0.2)
            reader.transport.write(request[20:])
            yield defer.ensureDeferred(wait_for(
                lambda n=n: reader.data.count(b"\n") >= n, "ping answer %d" % n))
        assert not reader.lost.called

    @defer.inlineCallbacks
    def test_the_listen_backlog_reaches_the_socket(self):
        ss = shutil.which("ss")
        if ss is None:
            raise unittest.SkipTest("ss (iproute2) is not installed")
        yield self.start(listen_backlog=77)
        port = self.pool.service.port.getHost().port
        out = subprocess.run([ss, "-Hltn", "sport = :%d" % port], capture_output=True,
                             text=True, timeout=10).stdout
        # for a listening socket ss shows the backlog in Send-Q (4th column)
        (line,) = out.strip().splitlines()
        assert line.split()[2] == "77", out


def test_an_ip_banned_on_one_port_is_refused_on_every_port(tmp_path):
    from twisted.application.service import MultiService
    from twisted.internet.address import IPv4Address

    from gxcpoold.config import load_config
    from gxcpoold.shares import MemoryBlockRecorder, MemoryShareSink
    from gxcpoold.stratum.compose import add_mining
    from tests.stratum.helpers import FakeNode
    config = load_config(None, environ={"GXCPOOL_POOL_STATE_DIR": str(tmp_path)})
    ports = add_mining(MultiService(), config, FakeNode(), Clock(),
                       share_sink=MemoryShareSink(), block_recorder=MemoryBlockRecorder())
    sha256d, ethash, gxhash = (ports[name] for name in ("sha256d", "ethash", "gxhash"))
    assert sha256d.bans is ethash.bans is gxhash.bans
    with LogCapture() as log:
        gxhash.ban("10.6.6.6", "20 malformed messages")
    assert any("banning 10.6.6.6 for 600s (gxhash port): 20 malformed messages" in line
               for line in log.texts("bans"))
    refused = sha256d.factory.buildProtocol(IPv4Address("TCP", "10.6.6.6", 4000))
    assert isinstance(refused, RefusedConnection)
    assert "banned for 10 more minutes (20 malformed messages)" in refused.line.decode()
    assert sha256d.sessions == set()
    for port in ports.values():
        port.refusals.stop()
