"""A second `make run` continues the devnet chain from the state directory, calmly
(issue 10, deliverable 8): real twistd processes, one state directory, free ports."""
import json
import re
import signal
import socket
import subprocess
import time

from gxcpoold.devnet import state
from tests.test_twistd import DEVNET_ENV, TWISTD, assert_one_line, twistd

ACCEPTED = re.compile(r"BlockSubmitter#info\] block (\d+) [0-9a-f]{64} .*accepted by the node")
MINED = re.compile(r"devnode: block (\d+) accepted")
LISTENING = re.compile(r"devnode: testnet node listening on \S+ \(N=(\d+),")
TEMPLATE = re.compile(r"new template height=(\d+) ")


def run_until_blocks(cwd, blocks: int, timeout: float = 120.0) -> str:
    """The run command until `blocks` blocks are accepted, then Ctrl-C; its whole output."""
    proc = subprocess.Popen(TWISTD + ["--nodaemon", "--pidfile=", "gxcpool", "--devnet"],
                            cwd=cwd, env=DEVNET_ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines, accepted = [], 0
    try:
        deadline = time.monotonic() + timeout
        while accepted < blocks and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            accepted += bool(ACCEPTED.search(line))
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    output = "".join(lines) + rest
    assert accepted >= blocks, output
    return output


def assert_calm(output: str):
    """No traceback, nothing critical or error, no debug line at the default level."""
    for marker in ("Traceback", "#critical]", "#error]", "#debug]", "payouts halted",
                   "chain replaced"):
        assert marker not in output, (marker, output)


def test_second_run_continues_the_chain(tmp_path):
    first = run_until_blocks(tmp_path, 2)
    assert_calm(first)
    state_file = tmp_path / "gxcpool-data" / "devnode.json"
    saved = state.load(str(state_file))
    genesis, count = saved["blocks"][0]["hash"], len(saved["blocks"])
    assert count == max(int(h) for h in MINED.findall(first)) + 1   # all saved on stop

    second = run_until_blocks(tmp_path, 1)
    assert_calm(second)
    assert [int(n) for n in LISTENING.findall(second)] == [count]
    assert int(TEMPLATE.search(second).group(1)) == count      # no restart at height 1
    assert min(int(h) for h in ACCEPTED.findall(second)) >= count
    reopened = state.load(str(state_file))
    assert reopened["blocks"][0]["hash"] == genesis
    assert len(reopened["blocks"]) > count


def test_an_unreadable_devnet_state_stops_with_one_line(tmp_path):
    (tmp_path / "gxcpool-data").mkdir()
    (tmp_path / "gxcpool-data" / "devnode.json").write_text('{"format":2,')
    result = twistd("--nodaemon", "--pidfile=", "gxcpool", "--devnet", cwd=tmp_path,
                    env=DEVNET_ENV)
    assert_one_line(result, "gxcpool: devnet setting 'state_file': cannot read ")


def rpc(port: int, method: str, params: list):
    """One JSON-RPC call to the devnet node, in one write, as the pool makes them."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
                      separators=(",", ":")).encode()
    request = b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request)
        answer = b"".join(iter(lambda: connection.recv(65536), b""))
    return json.loads(answer.partition(b"\r\n\r\n")[2])


def test_an_accepted_block_survives_sigkill_of_the_devnet(tmp_path):
    state_file = tmp_path / "devnode.json"
    proc = subprocess.Popen(
        TWISTD + ["--nodaemon", "--pidfile=", "gxcdevnode", "--endpoint",
                  "tcp:0:interface=127.0.0.1", "--state-file", str(state_file)],
        cwd=tmp_path, env=DEVNET_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    try:
        deadline, port = time.monotonic() + 60, None
        while port is None and time.monotonic() < deadline:
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", proc.stdout.readline())
            port = int(found.group(1)) if found else None
        assert port is not None
        hashes = []
        for _ in range(3):
            template = rpc(port, "getblocktemplate", [])["result"]
            block = {"height": template["height"], "hash": "0" + "%063x" % template["height"],
                     "previousblockhash": template["previousblockhash"], "nonce": 1,
                     "timestamp": template["curtime"], "difficulty": template["difficulty"],
                     "transactions": template["transactions"][:1]}
            assert rpc(port, "submitblock", [block]) == {"id": 1, "jsonrpc": "2.0",
                                                        "result": None}
            hashes.append(block["hash"])
        proc.kill()                      # right after the last answer: no checkpoint, no stop
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
    saved = state.load(str(state_file))
    assert [b["hash"] for b in saved["blocks"][1:]] == hashes

