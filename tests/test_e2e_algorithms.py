"""End to end on loopback, one algorithm per test (issue 11, "Must show"):
the real daemon (`twistd gxcpool --devnet`, devnet at difficulty 1.0, demo
miner off, SQLite in a temporary directory) and the reference miner
(`gxcpool-miner`) as separate processes, until the devnet node has accepted
at least two blocks; then both stop with SIGTERM and the test checks

- every block the node accepted is in the ledger once, with the port's
  algorithm and the miner's worker, credited: its credit rows (shares, fee,
  remainder) add up to its reward exactly, in base units, and the work they
  credit is every share up to and including the block's own;
- the port's shares are in the shares table, each with the work its
  difficulty is worth (> 0), the block shares among them;
- the pool logged no traceback, critical or error line;
- the block hash is what the algorithm gives for the block the node stored:
  gxhash of GXC's header text (rebuilt from getblock, with the published
  vectors' method, itself checked against a published vector), ethash light
  hashing of the stored header hash and nonce (the header hash rebuilt from
  the node's block), sha256d of the stored 80-byte header.

One pool per test (each starts in about a second; a shared run would let one
algorithm's blocks make another's jobs stale).  The machinery is in
tests/e2e_pool.py.
"""
import hashlib
import json
import os
import signal

import pytest

from gxcpoold.algorithms import ethash as ethash_algorithm
from gxcpoold.algorithms import module as algorithm_module
from gxcpoold.amounts import gxc_to_base_units
from gxcpoold.hashers.ethash import ethash_light
from gxcpoold.hashers.gxhash import gxhash
from gxcpoold.hashers.keccak import keccak256
from gxcpoold.hashers.legacy import gxc_merkle_root
from tests.e2e_pool import ADDRESS, PoolRun

VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors")
BLOCK_REWARD = 50 * 10**8            # the devnet's reward at these heights, base units
FEE = 50 * 10**8 // 100              # the pool's default 1 % fee


def gxc_header_text(height, previousblockhash, timestamp, merkleroot, nonce):
    """GXC's Block::calculateHash input: decimal height, previous hash,
    decimal timestamp, merkle root and decimal nonce, as one ASCII text."""
    return "%d%s%d%s%d" % (height, previousblockhash, timestamp, merkleroot, nonce)


def txids(node_block):
    return [tx["txid"] for tx in node_block["tx"]]


# ---------------------------------------------------------------- what every run shows

def check_run(run):
    """The checks every algorithm shares; returns [(node block, ledger row)]."""
    context = "--- pool:\n%s\n--- miner:\n%s" % (run.pool_output()[-6000:],
                                                 run.miner_output()[-2000:])
    # Twisted re-raises the stopping signal; both count as a clean stop.
    assert run.pool_exit in (0, -signal.SIGTERM), context
    for name, count in run.pool.counts.items():
        assert count == 0, ("%d %s in the pool's log" % (count, name), context)

    assert len(run.chain) >= 2, context
    ledger = run.ledger_blocks()
    shares = run.shares()
    mine = [s for s in shares if s["algorithm"] == run.algorithm]
    assert mine and len(mine) == len(shares), ("shares of other algorithms?", context)
    assert len(shares) < 1000000, "the config counts every share whole (pplns_min_shares)"
    share_work = algorithm_module(run.algorithm).share_work
    for share in mine:
        assert share["address"] == ADDRESS, share
        assert share["work"] > 0 and share["work"] == share_work(share["difficulty"]), share

    found = []
    for node_block in run.chain:
        key = (node_block["height"], node_block["hash"])
        rows = ledger.get(key, [])
        assert len(rows) == 1, ("block not in the ledger once", key, rows, context)
        row = rows[0]
        assert row["algorithm"] == run.algorithm and row["address"] == ADDRESS \
            and row["worker"] == run.worker, row
        assert row["credited"] == 1 and row["status"] in ("immature", "mature"), (row, context)
        assert row["reward"] == gxc_to_base_units(node_block["reward"], exact=False) \
            == BLOCK_REWARD, row
        stored = row["candidate"]["block"]
        assert (stored["previousblockhash"], stored["timestamp"], stored["nonce"]) == (
            node_block["previousblockhash"], node_block["time"], node_block["nonce"]), row

        credits = run.credits(row["id"])
        assert sum(c["amount"] for c in credits) == row["reward"], credits
        assert [c["amount"] for c in credits if c["kind"] == "fee"] == [FEE], credits
        ours = [c for c in credits if c["kind"] == "share"]
        assert [c["account"] for c in ours] == [ADDRESS] and ours[0]["amount"] > 0, credits

        # The block's own share, and the work credited for it: every share
        # up to and including that one (all whole, see the config).
        own = [s for s in mine if s["hash"] == node_block["hash"] and s["is_block"]]
        assert len(own) == 1, ("the block's share is not in the shares table", key, context)
        upto = [s for s in mine if s["id"] <= own[0]["id"]]
        assert int(ours[0]["work"]) == sum(s["work"] for s in upto), (
            "block %d credits work %s, the shares up to its own have %d"
            % (key[0], ours[0]["work"], sum(s["work"] for s in upto)), credits)
        found.append((node_block, row))
    return found


# ---------------------------------------------------------------- one test per port

@pytest.mark.timeout(200)
def test_sha256d_stratum_v1():
    with PoolRun("sha256d", "-t", "1") as run:
        run.run(blocks=2, timeout=90.0)
        for node_block, row in check_run(run):
            solution = row["candidate"]["solution"]
            header = bytes.fromhex(solution["header"])
            assert len(header) == 80
            assert hashlib.sha256(hashlib.sha256(header).digest()).digest()[::-1].hex() \
                == node_block["hash"]


def check_ethash_blocks(run, nicehash):
    for node_block, row in check_run(run):
        solution = row["candidate"]["solution"]
        height = node_block["height"]
        header_hash = bytes.fromhex(solution["header_hash"])
        nonce = int(solution["nonce"], 16)
        # The header hash commits to the block the node stored, for this connection.
        commitment = ethash_algorithm.job_commitment(
            height=height, previousblockhash=node_block["previousblockhash"],
            coinbase_txid=txids(node_block)[0], txids=txids(node_block)[1:],
            ntime=node_block["time"], pool_address=node_block["miner"])
        assert keccak256(commitment + bytes.fromhex(solution["extranonce1"])) == header_hash
        mix, final = ethash_light(height, header_hash, nonce)
        assert final.hex() == node_block["hash"], (height, solution)
        assert mix.hex() == solution["mix_hash"]
        assert node_block["nonce"] == nonce & 0x7FFFFFFF
        if nicehash:
            # EthereumStratum/1.0.0: the connection's prefix, then the miner's digits
            assert solution["nonce"][:4] == ethash_algorithm.nicehash_extranonce(
                bytes.fromhex(solution["extranonce1"])), solution


@pytest.mark.timeout(200)
def test_ethash_nicehash():
    with PoolRun("ethash", "-t", "1") as run:
        run.run(blocks=2, timeout=90.0)
        check_ethash_blocks(run, nicehash=True)


@pytest.mark.timeout(200)
def test_ethash_ethproxy():
    with PoolRun("ethash", "-t", "1", "--ethash-dialect", "ethproxy") as run:
        run.run(blocks=2, timeout=90.0)
        check_ethash_blocks(run, nicehash=False)


@pytest.mark.timeout(200)
def test_gxhash():
    # The recomputation below is the published vectors' method: A3-S2 is a
    # block header text (height 1, zero previous hash, no transactions).
    with open(os.path.join(VECTORS, "gxhash.json")) as f:
        vector = {v["name"]: v for v in json.load(f)["gxhash"]}["A3-S2"]
    assert gxc_header_text(1, "0" * 64, 1700000000, "", 12345) == vector["data_text"]
    assert gxhash(vector["data_text"].encode(), int(vector["nonce"])).hex() == vector["gxhash"]

    with PoolRun("gxhash", "-t", "1") as run:
        run.run(blocks=2, timeout=90.0)
        for node_block, row in check_run(run):
            text = gxc_header_text(node_block["height"], node_block["previousblockhash"],
                                   node_block["time"], gxc_merkle_root(txids(node_block)),
                                   node_block["nonce"])
            assert gxhash(text.encode("ascii"), node_block["nonce"]).hex() \
                == node_block["hash"], (text, row["candidate"]["solution"])
            assert row["candidate"]["solution"]["header_text"] == text
