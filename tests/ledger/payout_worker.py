"""A payout processor in its own process, for the SIGKILL fault tests.

python -m tests.ledger.payout_worker DATABASE_URL NODE_URL POOL_ADDRESS ROUNDS [--mine]
runs ROUNDS payout rounds (with --mine, asks the devnet node for a block
including its mempool after each round) and prints each round's result.
$GXCPOOL_FAULT_POINT makes it kill itself at that step of the protocol.
"""
import argparse
from types import SimpleNamespace

from twisted.internet import defer, task

from gxcpoold.ledger.db import Database
from gxcpoold.ledger.payouts import PayoutService
from gxcpoold.node.client import NodeClient


async def run(reactor, args):
    db = Database(args.database_url, reactor=reactor)
    client = NodeClient(reactor, args.node_url, retries=0, timeout=10)
    service = PayoutService(db, SimpleNamespace(client=client, pool_address=args.pool_address),
                            minimum=1, mempool_expiry=args.expiry, expiry_margin=args.margin)
    try:
        for _ in range(args.rounds):
            result = await service.run_once()
            print(result, flush=True)
            if args.mine:
                await client.call("devnet_mine", 1, {"mempool": True})
            if result == "nothing to pay":
                break
    finally:
        db.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("node_url")
    parser.add_argument("pool_address")
    parser.add_argument("rounds", type=int)
    parser.add_argument("--mine", action="store_true")
    parser.add_argument("--expiry", type=float, default=3600.0)
    parser.add_argument("--margin", type=float, default=600.0)
    args = parser.parse_args()
    task.react(lambda reactor: defer.ensureDeferred(run(reactor, args)))


if __name__ == "__main__":
    main()
