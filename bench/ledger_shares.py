"""Share writes per second on SQLite (or --database-url), printed as JSON.

Feeds ShareWriter like Stratum does (add_share from the reactor thread) with
realistic variety (1,000 miners x 4 workers, three algorithms) and waits
until every share is committed.  A figure, not a pass/fail test.
"""
import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet import defer, task  # noqa: E402

from gxcpoold.ledger import migrate  # noqa: E402
from gxcpoold.ledger.db import Database  # noqa: E402
from gxcpoold.ledger.sharewriter import ShareWriter  # noqa: E402
from gxcpoold.shares import ShareRecord  # noqa: E402

ALGORITHMS = ("sha256d", "ethash", "gxhash")


def make_shares(count, start):
    return [ShareRecord(time=start + i / 20_000, algorithm=ALGORITHMS[i % 3],
                        address="tGXC%034x" % (i % 1000), worker="rig%d" % (i % 4),
                        difficulty=64.0, work=(2 ** 32) * 64 if i % 3 == 0 else 64,
                        height=100 + i // 50_000, hash="%064x" % i, instance_id=0)
            for i in range(count)]


@defer.inlineCallbacks
def run(reactor, args):
    tmp = tempfile.mkdtemp(prefix="gxcbench-")
    url = args.database_url or "sqlite:///%s/bench.sqlite3" % tmp
    db = Database(url, reactor=reactor)
    migrate.upgrade(db.engine)
    writer = ShareWriter(db, spill_path=os.path.join(tmp, "spill"), batch_size=args.batch,
                         flush_interval=0.5)
    writer.startService()
    records = make_shares(args.shares, time.time())
    yield writer.flush()
    started = time.perf_counter()
    for start in range(0, len(records), 1000):      # arrive in bursts, like the network
        for r in records[start:start + 1000]:
            writer.add_share(r)
        yield task.deferLater(reactor, 0, lambda: None)
    yield writer.stopService()
    elapsed = time.perf_counter() - started
    db.close()
    print(json.dumps({"benchmark": "ledger_shares", "database": db.dialect,
                      "shares": args.shares, "batch_size": args.batch,
                      "seconds": round(elapsed, 3), "shares_per_second": round(args.shares / elapsed),
                      "written": writer.written, "spilled": writer.spilled}))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shares", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    task.react(run, [args])


if __name__ == "__main__":
    main()
