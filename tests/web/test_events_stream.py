"""/api/events over a real socket: the hub's events and the live figures as
Server-Sent Events, the cap on open streams, clean-up when a reader leaves."""
import json
import socket

from twisted.internet.threads import deferToThread
from twisted.trial import unittest

from tests.waiting import wait_for
from tests.web.webpool import WebPool


def read_events(port, count, timeout=10.0):
    """Open /api/events, read `count` events (kind, data), close."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Accept: text/event-stream\r\n\r\n")
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            buffer += s.recv(4096)
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        events, text = [], ""
        while len(events) < count:
            chunk = s.recv(4096)
            if not chunk:
                break
            buffer += chunk
            # chunked transfer: keep only the payload lines (the size lines are hex)
            text = b"".join(_unchunk(buffer)).decode()
            events = _frames(text)
        return head.decode(), events[:count], text


def _unchunk(data):
    while data:
        size_line, sep, rest = data.partition(b"\r\n")
        if not sep:
            return
        size = int(size_line, 16)
        if len(rest) < size + 2:
            return
        yield rest[:size]
        data = rest[size + 2:]


def _frames(text):
    found = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        if "event" in fields:
            found.append((fields["event"], json.loads(fields["data"])))
    return found


class EventStream(unittest.TestCase):
    timeout = 30

    async def test_stats_then_hub_events_as_they_happen(self):
        pool = await WebPool.start(self, web={"live_interval": 0.2})
        miner = pool.address(1)
        pool.add_share(miner, worker="rig1", work=6000, age=90)
        await pool.flush()
        reading = deferToThread(read_events, pool.port, 3)
        streams = pool.ctx.event_streams
        await wait_for(lambda: streams.streams, "the stream to open", timeout=10)
        await wait_for(lambda: streams._last_stats is not None, "live figures", timeout=10)
        pool.events.publish("block.found", height=12, hash="00ab", algorithm="sha256d",
                            address=miner, worker="rig\n1</script>")
        pool.events.publish("shares.written", count=5, seconds=0.01)    # not forwarded
        pool.events.publish("block.submitted", height=12, hash="00ab", algorithm="sha256d",
                            address=miner, worker="rig1", status="accepted", reason="")
        head, events, text = await reading
        self.assertIn("200 OK", head.split("\r\n")[0])
        self.assertIn("content-type: text/event-stream", head.lower())
        self.assertIn("retry: 5000", text)
        kinds = [kind for kind, _ in events]
        self.assertEqual(kinds[0], "stats")
        stats = events[0][1]
        self.assertEqual(stats["active_miners"], 1)
        self.assertEqual(stats["active_workers"], 1)
        self.assertEqual(stats["height"], pool.node.current_template.height)
        self.assertEqual(stats["node_state"], "connected")
        rest = [e for e in events[1:] if e[0] != "stats"]
        self.assertEqual([kind for kind, _ in rest], ["block.found", "block.submitted"][:len(rest)])
        found = dict(events)["block.found"]
        # a newline in a field stays inside the JSON string: one data line per event
        self.assertEqual(found["worker"], "rig\n1</script>")
        self.assertEqual(found["height"], 12)
        self.assertNotIn("shares.written", kinds)
        # the reader left: the stream is dropped and the hub subscription ends
        await wait_for(lambda: not streams.streams, "the stream to close", timeout=10)
        self.assertIsNone(streams._unsubscribe)
        self.assertIsNone(streams._timer)

    async def test_streams_beyond_the_cap_get_503(self):
        pool = await WebPool.start(self, web={"max_event_streams": 1, "live_interval": 60})
        first = deferToThread(read_events, pool.port, 2)       # stats, then height.new
        await wait_for(lambda: pool.ctx.event_streams.streams, "the first stream", timeout=10)
        second = await pool.get("/api/events")
        self.assertEqual(second.status, 503)
        self.assertEqual(second.json()["error"]["status"], 503)
        self.assertIn("too many event streams", second.json()["error"]["message"])
        pool.events.publish("height.new", height=99, previousblockhash="aa" * 32,
                            difficulty=1.0)
        _, events, _ = await first
        self.assertEqual([kind for kind, _ in events], ["stats", "height.new"])
        self.assertEqual(events[1][1]["height"], 99)

    async def test_stopping_the_web_ends_open_streams(self):
        pool = await WebPool.start(self, web={"live_interval": 60})
        reading = deferToThread(read_events, pool.port, 5, 10.0)
        await wait_for(lambda: pool.ctx.event_streams.streams, "the stream", timeout=10)
        await pool.web.stopService()
        _, events, _ = await reading          # the server closed it: no hang
        self.assertLessEqual({kind for kind, _ in events}, {"stats"})
        self.assertFalse(pool.ctx.event_streams.streams)


class SlowReader(unittest.TestCase):
    timeout = 30

    async def test_a_reader_that_stops_reading_is_dropped_not_buffered_forever(self):
        pool = await WebPool.start(self, web={"live_interval": 60})
        reader = socket.socket()
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.connect(("127.0.0.1", pool.port))
        self.addCleanup(reader.close)
        reader.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        streams = pool.ctx.event_streams
        await wait_for(lambda: streams.streams, "the stream", timeout=10)
        # the reader never reads: events pile up in the kernel, then in the
        # pool's transport, until the pool gives up on it
        blob = "x" * 8192
        for i in range(2000):
            pool.events.publish("block.found", height=i, hash=blob, algorithm="sha256d",
                                address="a", worker="w")
            if not streams.streams:
                break
        self.assertFalse(streams.streams)
        self.assertIsNone(streams._unsubscribe)       # nobody left: the hub is let go
        # a new reader is served as usual
        other = await pool.get("/api/health")
        self.assertIn(other.status, (200, 503))
