"""Replay of a recorded Bitaxe <-> public-pool session (vectors public_pool_session).

The client's lines go in verbatim (the Bitcoin username replaced by a GXC
address, since the pool validates addresses for its own network); the
server must send the recorded notify, grant the recorded version mask,
accept the version-rolled submit and compute the recorded header hash.
"""
import json

from gxcpoold.algorithms import sha256d
from gxcpoold.hashers.sha256d import sha256d_merkle_branch
from gxcpoold.stratum.extranonce import ExtranonceAllocator
from tests.stratum.helpers import MINER_ADDRESS, Pool, vectors

SESSION = vectors()["public_pool_session"]
BITCOIN_USER = SESSION["client_messages"]["mining_authorize"]["params"][0]
GXC_USER = MINER_ADDRESS + ".bitaxe3"


def recorded_job():
    """The recorded job, with its merkle branch rebuilt from the template txids."""
    template = SESSION["block_template"]
    notify = SESSION["notify_params"]
    txids = [bytes.fromhex(tx["txid"])[::-1] for tx in template["transactions"]]
    return sha256d.Sha256dJob(
        job_id=notify["job_id"], height=template["height"],
        previousblockhash=template["previousblockhash"],
        coinb1=bytes.fromhex(notify["coinb1"]), coinb2=bytes.fromhex(notify["coinb2"]),
        merkle_branch=tuple(sha256d_merkle_branch(txids)), version=template["version"],
        nbits=int(template["bits"], 16), ntime=int(notify["ntime"], 16),
        required_zeros=14, clean_jobs=notify["clean_jobs"])


def client_line(name):
    return SESSION["client_lines"][name].replace(BITCOIN_USER, GXC_USER).encode() + b"\n"


def expected(name):
    return json.loads(SESSION["expected_server_lines"][name])


def replay():
    pool = Pool()
    en1 = int(SESSION["extranonce1"], 16)
    pool.service.extranonces = ExtranonceAllocator(en1 >> 24, start=en1 & 0xFFFFFF)
    pool.jobs.install(recorded_job())
    peer = pool.connect()
    out = {name: peer.send_line(client_line(name))
           for name in ("mining_subscribe", "mining_configure", "mining_authorize",
                        "mining_suggest_difficulty")}
    return pool, peer, out


def test_subscribe_gives_the_recorded_extranonce():
    _, _, out = replay()
    (answer,) = out["mining_subscribe"]
    want = expected("mining.subscribe")
    assert answer["id"] == want["id"] and answer["error"] is None
    assert answer["result"][1:] == want["result"][1:] == [SESSION["extranonce1"], 4]
    assert want["result"][0][0] in answer["result"][0]


def test_configure_grants_the_recorded_mask():
    _, _, out = replay()
    assert out["mining_configure"] == [expected("mining.configure")]


def test_same_notify_as_recorded():
    _, peer, out = replay()
    (authorized, set_difficulty, notify) = out["mining_authorize"]
    assert authorized == expected("mining.authorize")
    assert set_difficulty["method"] == "mining.set_difficulty"
    want = expected("mining.notify (after subscribe, suggest_difficulty 512, authorize)")
    assert notify == want


def test_suggest_difficulty_pushes_set_difficulty_512():
    _, _, out = replay()
    pushes = [m for m in out["mining_suggest_difficulty"] if m.get("method")]
    assert pushes[0] == expected("mining.suggest_difficulty -> set_difficulty")


def test_recorded_submit_with_version_rolling_is_accepted_with_the_recorded_hash():
    pool, peer, _ = replay()
    assert peer.send_line(client_line("mining_submit")) == [expected("mining.submit")]
    (share,) = pool.sink.shares
    recomputed = SESSION["recomputed"]
    assert share.hash == recomputed["block_hash_display"]
    assert share.difficulty == SESSION["session_difficulty_at_submit"] == 512
    assert share.work == 512 * 2**32
    assert share.address == MINER_ADDRESS and share.worker == "bitaxe3"
    assert share.is_block is recomputed["is_block"]


def test_recorded_header_is_rebuilt_exactly():
    job = recorded_job()
    sub = SESSION["submit_params"]
    version = sha256d.rolled_version(job.version, int(sub["version_bits"], 16),
                                     sha256d.VERSION_ROLLING_MASK)
    submission = sha256d.Submission(
        extranonce1=bytes.fromhex(SESSION["extranonce1"]),
        extranonce2=bytes.fromhex(sub["extranonce2"]), ntime=int(sub["ntime"], 16),
        nonce=int(sub["nonce"], 16), version=version)
    result = sha256d.verify(job, submission, 512)
    recomputed = SESSION["recomputed"]
    assert result.coinbase.hex() == recomputed["coinbase_hex"]
    assert result.header.hex() == recomputed["header_hex"]
    assert result.hash_hex == recomputed["block_hash_display"]
    assert result.share_ok and not result.block_ok
    assert abs(sha256d.hash_difficulty(result.hash_int) - recomputed["share_difficulty"]) < 1e-9


def test_submit_without_the_version_bits_is_low_difficulty():
    pool, peer, _ = replay()
    params = list(SESSION["client_messages"]["mining_submit"]["params"][:5])
    params[0] = GXC_USER
    answer, _ = peer.call("mining.submit", *params)
    assert answer["error"][0] == 23
    assert not pool.sink.shares


def test_version_bits_outside_the_mask_are_refused():
    _, peer, _ = replay()
    params = list(SESSION["client_messages"]["mining_submit"]["params"])
    params[0], params[5] = GXC_USER, "e0000000"
    answer, _ = peer.call("mining.submit", *params)
    assert answer["error"][0] == 20 and "version" in answer["error"][1].lower()


def test_the_same_submit_twice_is_a_duplicate():
    pool, peer, _ = replay()
    peer.send_line(client_line("mining_submit"))
    (answer,) = peer.send_line(client_line("mining_submit"))
    assert answer["error"][0] == 22 and answer["result"] is None
    assert len(pool.sink.shares) == 1
