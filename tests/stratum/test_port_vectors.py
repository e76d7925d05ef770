"""Published vectors through the whole share path of each slow-hash port.

A vector's header and nonce are put on a real job and a real connection
(its header hash, its extranonce), the miner submits exactly the vector's
nonce in the dialect's own message, and the pool's real verify recomputes
the hash: the share record and the block candidate carry the vector's hash.
submit -> verify -> share record -> block candidate, nothing stubbed but
where the job's header comes from.
"""
import dataclasses
import json
import os

from twisted.trial import unittest

from gxcpoold.stratum.extranonce import ExtranonceAllocator
from tests.stratum.ethash_pool import USERNAME, EthashPool
from tests.stratum.test_gxhash_dialect import GxhashPool
from tests.waiting import wait_for

VECTORS = os.path.join(os.path.dirname(__file__), "..", "vectors")


def vectors(name):
    with open(os.path.join(VECTORS, name)) as f:
        return json.load(f)


def ethash_case(nonce):
    [case] = [c for c in vectors("ethash.json")["hash_cases"]["cases"]
              if c["epoch"] == 0 and c["nonce"] == nonce]
    return case


def ethash_pool_with_vector_header(case):
    """An ethash port at block difficulty 0.5 (every share a block) whose
    current job hands out the vector's header hash, and whose next
    connection gets the vector nonce's first 16 bits as its extranonce."""
    pool = EthashPool(start_difficulty=1.0)
    job = pool.push(difficulty=0.5)
    header = bytes.fromhex(case["header_hash"])
    job.header_hash = lambda extranonce1: header
    prefix = int(case["nonce"][:4], 16)
    pool.service.extranonces = ExtranonceAllocator(0, start=prefix)
    return pool, job


def test_a_published_ethash_share_through_the_nicehash_port():
    case = ethash_case("4242424242424242")
    pool, job = ethash_pool_with_vector_header(case)
    try:
        peer = pool.connect()
        peer.send({"id": 1, "method": "mining.subscribe",
                   "params": ["vector/1.0", "EthereumStratum/1.0.0"]})
        assert peer.received[-1]["result"][1] == case["nonce"][:4]
        peer.send({"id": 2, "method": "mining.authorize", "params": [USERNAME, "x"]})
        notify = [m for m in peer.received if m.get("method") == "mining.notify"][-1]
        assert notify["params"][1:3] == [case["seed_hash"], case["header_hash"]]
        peer.send({"id": 3, "method": "mining.submit",
                   "params": [USERNAME, job.job_id, case["nonce"][4:]]})
        pool.run_checks()
        assert peer.read() == [{"id": 3, "result": True, "error": None}]
    finally:
        pool.stop()
    [share] = pool.sink.shares
    assert share.hash == case["final_hash"] and share.is_block and share.work == 1
    [candidate] = pool.blocks
    assert candidate.hash == candidate.block["hash"] == case["final_hash"]
    assert candidate.solution["mix_hash"] == case["mix_hash"]
    assert candidate.solution["nonce"] == case["nonce"]
    assert candidate.block["nonce"] == int(case["nonce"], 16) & 0x7FFFFFFF


def test_a_published_ethash_share_through_the_eth_proxy_port():
    case = ethash_case("0000000000001a0a")
    pool, job = ethash_pool_with_vector_header(case)
    try:
        peer = pool.connect()
        peer.send({"id": 1, "jsonrpc": "2.0", "method": "eth_submitLogin",
                   "params": [USERNAME, "x"]})
        work = [m for m in peer.received if m.get("id") == 0][-1]["result"]
        assert work[:2] == ["0x" + case["header_hash"], "0x" + case["seed_hash"]]
        peer.send({"id": 40, "jsonrpc": "2.0", "method": "eth_submitWork",
                   "params": ["0x" + case["nonce"], "0x" + case["header_hash"],
                              "0x" + case["mix_hash"]]})
        pool.run_checks()
        assert peer.read() == [{"id": 40, "jsonrpc": "2.0", "result": True}]
    finally:
        pool.stop()
    [share] = pool.sink.shares
    assert share.hash == case["final_hash"] and share.is_block
    [candidate] = pool.blocks
    assert candidate.block["hash"] == case["final_hash"]
    assert candidate.block["nonce"] == 0x1a0a


class GxhashPortVector(unittest.TestCase):
    timeout = 60

    async def test_a_published_gxc_header_through_the_gxhash_port(self):
        # A3-S2 is a GXC block header: height 1, a zero prevhash, timestamp
        # 1700000000, an empty merkle root, nonce 12345 (extranonce1 0, n 0x3039)
        [case] = [c for c in vectors("gxhash.json")["gxhash"] if c["name"] == "A3-S2"]
        pool = GxhashPool(self, difficulty=0.5)
        pool.service.extranonces = ExtranonceAllocator(0, start=0, bits=15, size=2)
        await pool.start()
        built = pool.push(height=1, prev="0" * 64, curtime=1_700_000_000)
        # the vector's header has an empty merkle root (no transaction at all)
        job = dataclasses.replace(built, job_id=pool.jobs.next_job_id(), merkleroot="",
                                  seen_hashes=set())
        pool.jobs.install(job)
        assert job.header_text(12345).decode() == case["data_text"]
        client, en1 = await pool.login(password="x,d=1")
        assert en1 == "0000"
        notify = client.notifies()[-1]
        assert notify[1:5] == [1, "0" * 64, 1_700_000_000, ""]
        answer = await client.submit(notify[0], 0x3039)
        self.assertIs(answer["result"], True)
        await wait_for(lambda: pool.blocks, "the block candidate")
        [share] = pool.sink.shares
        self.assertEqual(share.hash, case["gxhash"])
        self.assertTrue(share.is_block)
        [candidate] = pool.blocks
        self.assertEqual(candidate.block["hash"], case["gxhash"])
        self.assertEqual(candidate.block["nonce"], 12345)
        self.assertEqual(candidate.solution["header_text"], case["data_text"])
