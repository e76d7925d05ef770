"""Writes the committed seed corpora, fuzz/corpus/<target>/, from the
published vectors and the recorded Bitaxe session (tests/vectors/): run it
again after changing them (python -m fuzz.seeds).  Seeds of the structured
targets (rpc, node_template) are provider bytes, kept from fuzz runs."""
import hashlib
import json
import os

from fuzz.lines import PORT_NAMES

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(os.path.dirname(HERE), "tests", "vectors")
USER = "tGXC0123456789abcdef01234567890abc.rig1"


def vectors(name):
    with open(os.path.join(VECTORS, name)) as f:
        return json.load(f)


def line(method, params, request_id):
    return json.dumps({"id": request_id, "method": method, "params": params}).encode() + b"\n"


def lines_seeds():
    """(port, bytes) of whole sessions: the recorded one, and one per dialect."""
    session = vectors("sha256d-stratum.json")["public_pool_session"]
    bitcoin_user = session["client_messages"]["mining_authorize"]["params"][0]
    recorded = b"".join(text.replace(bitcoin_user, USER).encode() + b"\n"
                        for text in session["client_lines"].values())
    yield "sha256d", recorded
    case = vectors("ethash.json")["hash_cases"]["cases"][0]
    yield "ethash", (line("mining.subscribe", ["seed/1.0", "EthereumStratum/1.0.0"], 1)
                     + line("mining.authorize", [USER, "x"], 2)
                     + line("mining.submit", [USER, "1", case["nonce"][4:]], 3)
                     + line("eth_submitHashrate", ["0x10", "0x" + "ab" * 32], 4))
    yield "ethash", (json.dumps({"id": 1, "method": "eth_submitLogin", "params": [USER, "x"],
                                 "worker": "rig1"}).encode() + b"\n"
                     + line("eth_getWork", [], 2)
                     + line("eth_submitWork", ["0x" + case["nonce"], "0x" + case["header_hash"],
                                               "0x" + case["mix_hash"]], 3))
    yield "gxhash", (line("mining.subscribe", ["seed/1.0"], 1)
                     + line("mining.authorize", [USER, "d=1"], 2)
                     + line("mining.submit", [USER, "1", "00ff"], 3)
                     + line("mining.ping", [], 4))


def node_http_seeds():
    result = {"version": 1, "previousblockhash": "ab" * 32, "height": 5, "difficulty": 6.0,
              "transactions": [{"txid": "cd" * 32, "is_coinbase": True, "block_height": 5}],
              "coinbasevalue": 5_000_000_000, "curtime": 1_800_000_000, "bits": "1d00ffff"}
    for body in ({"jsonrpc": "2.0", "id": 7, "result": result},
                 {"jsonrpc": "2.0", "id": 7, "result": None,
                  "error": {"code": -32700, "message": "Parse error"}},
                 {"jsonrpc": "2.0", "id": 7, "result": 12}):
        text = json.dumps(body).encode()
        yield (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
               b"Connection: close\r\n\r\n%s" % (len(text), text))


def write(target, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def main():
    for port, data in lines_seeds():
        write("lines", bytes([PORT_NAMES.index(port), 7]) + data)
    for data in node_http_seeds():
        write("node_http", b"\0" + data)


if __name__ == "__main__":
    main()
