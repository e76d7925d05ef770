"""The real daemon (twistd --devnet) and a reference miner send block.found and
block.accepted to a webhook receiver; the pool's log stays free of errors."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.web.livepool import LivePool, Rig

MINER = "tGXC" + "a7" * 17


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append((dict(self.headers), json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_live_pool_posts_block_alerts():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = "http://127.0.0.1:%d/gxcpool-alerts" % server.server_address[1]
    try:
        with LivePool(("sha256d",), miners=[Rig("sha256d", MINER, "rig1")],
                      config={"alerts": {"webhooks": [url], "secret": "shh"}}) as pool:
            def kinds():
                return [payload["kind"] for _, payload in server.received]
            pool.wait(lambda: "block.found" in kinds() and "block.accepted" in kinds(),
                      "block.found and block.accepted at the receiver", 15)
            pool.wait_for_log("alerts: 1 webhook(s) at http://127.0.0.1:%d"
                              % server.server_address[1], 5)
            assert "gxcpool-alerts" not in pool.log()           # the URL's path never logged
        headers, accepted = next((h, p) for h, p in server.received
                                 if p["kind"] == "block.accepted")
        assert headers["Content-Type"] == "application/json"
        assert headers["X-Gxcpool-Signature"].startswith("sha256=")
        assert accepted["pool"] == "gxcpool" and accepted["network"] == "testnet"
        assert accepted["details"]["address"] == MINER
        assert accepted["details"]["worker"] == "rig1"
        heights = [p["details"]["height"] for _, p in server.received
                   if p["kind"] == "block.found"]
        assert len(heights) == len(set(heights))          # one block.found per height
    finally:
        server.shutdown()
        server.server_close()
