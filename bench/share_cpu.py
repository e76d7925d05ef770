"""CPU cost of one sha256d share through a Stratum session, no sockets.

One in-memory connection (tests/stratum/helpers.py) submits N valid shares
(password d=1e-10 makes every hash a share): the whole share path runs --
line parsing, dialect, duplicate key, header rebuild and sha256d, credit,
the share record, the JSON answer -- and nothing else, so the figure is the
pool's own cost per share, free of the load client and the kernel.

Prints JSON: microseconds of process time per share (best of 3 rounds; noisy
on a busy machine) and, with --instructions, instructions per share counted
by valgrind's callgrind (the same on a busy machine: two runs of different
N, so start-up cancels out).  --baseline DIR measures another checkout the
same way (e.g. `git worktree add /tmp/before <commit>`, with the compiled
gxcpoold/_native*.so copied in) and prints this tree's figures as ratios to it.

    .venv/bin/python bench/share_cpu.py --instructions --baseline /tmp/before
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(shares, connections=1):
    """Run in the checkout being measured (cwd): microseconds per share, the
    shares sent round-robin over `connections` sessions (many sessions show
    what a share costs when its session is not in the CPU's caches)."""
    sys.path.insert(0, os.getcwd())
    from tests.stratum.helpers import MINER_ADDRESS, Pool, gxc_template
    pool = Pool(min_difficulty=1e-12, requests_per_second=1e9,
                max_connections_per_ip=connections)
    pool.node.push(gxc_template(difficulty=60.0), True)
    peers = [pool.connect(port=1000 + i) for i in range(connections)]
    for peer in peers:
        peer.login(password="d=1e-10")
    job = [m for m in peers[0].received if m.get("method") == "mining.notify"][-1]["params"]
    lines = [json.dumps({"id": i, "method": "mining.submit",
                         "params": [MINER_ADDRESS + ".rig1", job[0], "%08x" % i, job[7],
                                    "%08x" % i]}).encode() + b"\n" for i in range(shares)]
    best, per_round = float("inf"), max(1, shares // 3)
    for start in range(0, per_round * 3, per_round):
        began = time.process_time()
        for i in range(start, start + per_round):
            peer = peers[i % connections]
            peer.protocol.dataReceived(lines[i])
            peer.transport.clear()
        best = min(best, (time.process_time() - began) / per_round)
    accepted = len(pool.sink.shares)
    if accepted != per_round * 3:
        raise SystemExit("only %d of %d shares accepted" % (accepted, per_round * 3))
    return best * 1e6


def child(tree, shares, under_valgrind=False, connections=1):
    command = [sys.executable, os.path.abspath(__file__), "--child", str(shares),
               "--connections", str(connections)]
    out = None
    if under_valgrind:
        out = tempfile.NamedTemporaryFile(suffix=".callgrind", delete=False).name
        command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + command
    run = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=True)
    if not under_valgrind:
        return float(run.stdout.strip())
    os.unlink(out)
    return int(re.search(r"I\s+refs:\s+([\d,]+)", run.stderr).group(1).replace(",", ""))


def figures(tree, shares, instructions, connections):
    result = {"tree": tree, "connections": connections,
              "us_per_share": round(child(tree, shares, connections=connections), 2)}
    if instructions:
        small, large = 1500, 4500
        result["instructions_per_share"] = round(
            (child(tree, large, True, connections) - child(tree, small, True, connections))
            / (large - small))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shares", type=int, default=30000)
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions per share with valgrind (a minute or two)")
    parser.add_argument("--baseline", metavar="DIR", help="another checkout to compare with")
    parser.add_argument("--connections", type=int, default=1,
                        help="sessions the shares go round (default %(default)s)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(measure(args.child, args.connections))
        return
    report = {"this": figures(ROOT, args.shares, args.instructions, args.connections)}
    if args.baseline:
        report["baseline"] = figures(os.path.abspath(args.baseline), args.shares,
                                     args.instructions, args.connections)
        report["ratio"] = {key: round(report["this"][key] / report["baseline"][key], 3)
                           for key in report["this"] if key not in ("tree", "connections")}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
