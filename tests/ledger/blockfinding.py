"""Finding blocks on the devnet node as the pool does; the ledger checked against the chain."""
import math
import os
import time

from sqlalchemy import func, select
from twisted.logger import LogLevel, globalLogPublisher

from gxcpoold.amounts import gxc_to_base_units
from gxcpoold.ledger.schema import blocks, credits
from gxcpoold.shares import BlockCandidate
from tests.ledger.factories import address

FINDER = address(77)


async def pool_block(client, pool_address):
    """(submitblock object, BlockCandidate) for the node's next height, paying
    pool_address.  The node checks only the hash's leading zeros (spec 3.3)."""
    template = await client.getblocktemplate(pool_address)
    zeros = math.floor(template["difficulty"])
    block_hash = ("0" * zeros + os.urandom(32).hex())[:64]
    block = {"height": template["height"], "hash": block_hash,
             "previousblockhash": template["previousblockhash"], "nonce": 1,
             "miner": pool_address, "timestamp": template["curtime"],
             "difficulty": template["difficulty"],
             "transactions": [template["transactions"][0]]}
    candidate = BlockCandidate(time=time.time(), algorithm="sha256d", height=block["height"],
                               hash=block_hash, previousblockhash=block["previousblockhash"],
                               address=FINDER, worker="rig", work=16, block=block)
    return block, candidate


def chain_blocks_paying(node, pool_address):
    """{(height, hash): reward in base units} of the devnet chain's blocks paying the pool."""
    found = {}
    for block in node.chain.blocks[1:]:
        coinbase = block.transactions[0]
        if coinbase.outputs and coinbase.outputs[0].address == pool_address:
            found[(block.height, block.hash)] = gxc_to_base_units(coinbase.outputs[0].amount,
                                                                  exact=False)
    return found


def ledger_blocks(db):
    """[(height, hash, credited, reward, sum of its credits)] from the ledger."""
    def read(connection):
        credited = dict(connection.execute(
            select(credits.c.block_id, func.sum(credits.c.amount))
            .group_by(credits.c.block_id)).all())
        return [(r.height, r.hash, bool(r.credited), r.reward, int(credited.get(r.id, 0)))
                for r in connection.execute(select(blocks))]
    return db.run_sync(read, write=False)


def assert_each_credited_once(test, db, expected):
    """Every block in `expected` ({(height, hash): reward}) is in the ledger once,
    credited, with credits summing exactly to its reward."""
    rows = ledger_blocks(db)
    keys = [(h, x) for h, x, _, _, _ in rows]
    test.assertEqual(len(keys), len(set(keys)))
    by_key = {(h, x): (credited, reward, paid) for h, x, credited, reward, paid in rows}
    for key, reward in expected.items():
        test.assertIn(key, by_key, "block %d %s is not in the ledger" % key)
        credited, stored_reward, paid = by_key[key]
        test.assertTrue(credited, "block %d %s not credited" % key)
        test.assertEqual((stored_reward, paid), (reward, reward), "block %d %s" % key)


class LogCapture:
    """Log events at info level and above while a test runs (debug lines are left out)."""

    def __init__(self, test):
        self.events = []
        globalLogPublisher.addObserver(self)
        test.addCleanup(globalLogPublisher.removeObserver, self)

    def __call__(self, event):
        if event.get("log_level", LogLevel.info) >= LogLevel.info:
            self.events.append(event)

    def lines(self, namespace_part, level=None):
        return [e for e in self.events if namespace_part in (e.get("log_namespace") or "")
                and (level is None or e.get("log_level") == level)]

    def tracebacks(self):
        return [e for e in self.events if "log_failure" in e]

    def criticals(self):
        return [e for e in self.events if e.get("log_level") == LogLevel.critical]
