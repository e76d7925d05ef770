"""BlockSubmitter with the real NodeClient while the devnet node is down, then back.

Issue 10, hostile testing: during a node outage every candidate of one height
was retried and logged at critical level.  Now: one warning line per height,
every candidate recorded, and a candidate found after the node returns gets in.
"""
import secrets

from twisted.internet import reactor
from twisted.logger import globalLogPublisher
from twisted.trial import unittest

from gxcpoold.node.client import NodeClient
from gxcpoold.node.submitter import BlockSubmitter
from gxcpoold.shares import ACCEPTED, SUBMITTED, BlockCandidate, MemoryBlockRecorder
from tests.devnet.loopback import start_devnode
from tests.node.fakes import free_port


def candidate(template, address):
    zeros = int(template["difficulty"])
    block_hash = "0" * zeros + secrets.token_hex(32)[zeros:]
    block = {"height": template["height"], "hash": block_hash,
             "previousblockhash": template["previousblockhash"], "nonce": 1, "miner": address,
             "timestamp": template["curtime"], "difficulty": template["difficulty"],
             "transactions": template["transactions"][:1]}
    return BlockCandidate(time=0.0, algorithm="sha256d", height=template["height"],
                          hash=block_hash, previousblockhash=template["previousblockhash"],
                          address=address, worker="w", work=1, block=block)


class NodeOutage(unittest.TestCase):
    timeout = 60

    async def test_one_warning_per_height_and_the_block_gets_in_once_the_node_is_back(self):
        endpoint = "tcp:%d:interface=127.0.0.1" % free_port()
        devnode = await start_devnode(self, endpoint=endpoint, difficulty=1.0)
        client = NodeClient(reactor, devnode.url, timeout=1.0, retries=0)
        address = await client.getnewaddress()
        template = await client.getblocktemplate(address)
        cands = [candidate(template, address) for _ in range(3)]

        await devnode.stopService()                     # the node goes away
        recorder = MemoryBlockRecorder()
        submitter = BlockSubmitter(client, recorder, clock=reactor, retries=1,
                                   retry_pause=0.02)
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        results = [submitter.submit(c) for c in cands]
        outage = [await d for d in results]
        assert outage == [SUBMITTED] * 3                # outcome open, not rejected
        assert [c.hash for c in recorder.candidates] == [c.hash for c in cands]  # all durable

        devnode.startService()                          # the node is back, same chain
        await devnode.whenListening()
        late = candidate(template, address)
        assert await submitter.submit(late) == ACCEPTED
        assert await client.getblockhash(template["height"]) == late.hash

        mine = [e for e in events if e.get("log_namespace", "").endswith("BlockSubmitter")]
        levels = [e["log_level"].name for e in mine]
        assert levels == ["warn", "info"], [(e["log_level"].name, e["log_format"]) for e in mine]
        assert mine[0]["height"] == template["height"]
        assert not any(e.get("log_failure") for e in events)
