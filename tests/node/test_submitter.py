"""BlockSubmitter against a scripted node client (answers per spec/gxc-node.md 2.2)."""
import gc

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.logger import formatEvent
from twisted.python.failure import Failure

from gxcpoold.node.errors import NodeRequestTooLarge, NodeRPCError, NodeTransportError
from gxcpoold.node.submitter import BlockSubmitter
from gxcpoold.shares import (ACCEPTED, CANDIDATE, REJECTED, SUBMITTED, BlockCandidate,
                             MemoryBlockRecorder)

HASH = "00000" + "a" * 59


def txid(i):
    """The i-th mempool transaction's id (64 hex digits, as the node gives them)."""
    return "%064x" % (0x7000 + i)


def candidate(txs=2, height=10):
    transactions = [{"txid": "%064x" % 0xcb, "is_coinbase": True}] + [
        {"txid": txid(i), "is_coinbase": False} for i in range(txs)]
    block = {"height": height, "hash": HASH, "previousblockhash": "p" * 64, "nonce": 5,
             "miner": "m", "timestamp": 1, "difficulty": 5.0, "transactions": transactions}
    return BlockCandidate(time=1.0, algorithm="sha256d", height=height, hash=HASH,
                          previousblockhash="p" * 64, address="a", worker="w", work=1,
                          block=block)


class FakeClient:
    """submitblock answers come from a list (exceptions are raised); the
    chain is a dict height -> hash for getblockhash."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.sent = []
        self.chain = {}

    def submitblock(self, block):
        self.sent.append(block)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            return defer.fail(answer)
        if answer == "accept":
            self.chain[block["height"]] = block["hash"]
        return defer.succeed(block)

    def getblockhash(self, height, priority=None):
        if height in self.chain:
            return defer.succeed(self.chain[height])
        return defer.fail(NodeRPCError("getblockhash", -8, "Block height out of range"))


def rpc(message):
    return NodeRPCError("submitblock", -32603, "Failed to submit block: " + message)


def run(client, cand=None, retries=3):
    clock = Clock()
    recorder = MemoryBlockRecorder()
    refreshes = []
    submitter = BlockSubmitter(client, recorder, clock=clock, retries=retries,
                               retry_pause=1.0, refresh=lambda: refreshes.append(1))
    cand = cand or candidate()
    results = []
    submitter.submit(cand).addCallback(results.append)
    for _ in range(20):
        clock.advance(10)
    (status,) = results
    return status, recorder.statuses[(cand.height, cand.hash)], submitter, refreshes


def test_accepted_at_the_cost_of_one_node_call():
    client = FakeClient("accept")
    client.getblockhash = None          # a plain success needs no confirmation round trip
    status, statuses, submitter, refreshes = run(client)
    assert status == ACCEPTED
    assert [s for s, _ in statuses] == [CANDIDATE, ACCEPTED]
    assert submitter.mined_txids == {txid(0), txid(1)} and refreshes == [1]


def test_recorded_before_it_is_sent():
    order = []

    class Recorder(MemoryBlockRecorder):
        def record_candidate(self, c):
            order.append("recorded")
            return super().record_candidate(c)

    class Client(FakeClient):
        def submitblock(self, block):
            order.append("sent")
            return super().submitblock(block)

    submitter = BlockSubmitter(Client("accept"), Recorder(), clock=Clock())
    submitter.submit(candidate())
    assert order == ["recorded", "sent"]


def test_each_candidate_goes_out_once():
    client = FakeClient("accept")
    submitter = BlockSubmitter(client, MemoryBlockRecorder(), clock=Clock())
    submitter.submit(candidate())
    submitter.submit(candidate())
    assert len(client.sent) == 1


def test_stale_block_is_rejected_unless_it_is_ours():
    status, statuses, _, refreshes = run(FakeClient(rpc("Stale block")))
    assert status == REJECTED and "stale" in statuses[-1][1] and refreshes == [1]
    client = FakeClient(rpc("Stale block"))
    client.chain[10] = HASH                  # an earlier attempt landed after all
    assert run(client)[0] == ACCEPTED


def test_validation_failed_resubmits_with_the_coinbase_only():
    client = FakeClient(rpc("Block validation failed"), "accept")
    status, _, submitter, _ = run(client)
    assert status == ACCEPTED
    assert len(client.sent[0]["transactions"]) == 3 and len(client.sent[1]["transactions"]) == 1
    assert {txid(0), txid(1)} <= submitter.mined_txids     # kept out of later jobs


def test_validation_failed_after_losing_the_race():
    client = FakeClient(rpc("Block validation failed"))
    client.chain[10] = "f" * 64
    status, statuses, _, _ = run(client)
    assert status == REJECTED and "race" in statuses[-1][1] and len(client.sent) == 1


def test_validation_failed_coinbase_only_is_final():
    client = FakeClient(rpc("Block validation failed"))
    status, _, _, _ = run(client, candidate(txs=0))
    assert status == REJECTED and len(client.sent) == 1


def test_difficulty_mismatch_is_stale_and_refreshes_the_template():
    # at the retarget, a block for the old height gets this instead of "Stale block" (spec 6.1)
    status, statuses, _, refreshes = run(FakeClient(
        rpc("Block difficulty mismatch. Network requires 1.750000")))
    assert status == REJECTED and refreshes == [1]
    assert statuses[-1][1].startswith("stale") and "difficulty" in statuses[-1][1]


def test_transport_errors_are_retried():
    client = FakeClient(NodeTransportError("reset"), NodeTransportError("reset"), "accept")
    status, _, _, _ = run(client)
    assert status == ACCEPTED and len(client.sent) == 3


def test_lost_answer_is_found_in_the_chain():
    class Client(FakeClient):
        def submitblock(self, block):
            self.chain[block["height"]] = block["hash"]    # the node took it...
            self.sent.append(block)
            return defer.fail(NodeTransportError("reset"))  # ...but the answer was lost

    status, statuses, _, _ = run(Client())
    assert status == ACCEPTED and "lost answer" in statuses[-1][1]


def test_unreachable_node_leaves_the_outcome_open():
    client = FakeClient(*[NodeTransportError("refused")] * 4)
    status, statuses, _, _ = run(client, retries=3)
    assert status == SUBMITTED and "unreachable" in statuses[-1][1] and len(client.sent) == 4


def test_too_large_falls_back_to_the_coinbase_only():
    client = FakeClient(NodeRequestTooLarge("big"), "accept")
    status, _, _, _ = run(client)
    assert status == ACCEPTED and len(client.sent[1]["transactions"]) == 1


def test_pool_bug_answers_are_rejected():
    status, statuses, _, _ = run(FakeClient(rpc(
        "Block does not meet difficulty target. Hash has 0 leading zeros, requires 5")))
    assert status == REJECTED and "pool bug" in statuses[-1][1]


def test_stopping_waits_for_a_submission_in_flight():
    """SIGTERM during a submission: the stop completes only once its outcome is recorded."""
    answer = defer.Deferred()

    class SlowClient(FakeClient):
        def submitblock(self, block):
            self.sent.append(block)
            return answer.addCallback(lambda _: self.chain.update({block["height"]: block["hash"]})
                                      or block)

    recorder = MemoryBlockRecorder()
    submitter = BlockSubmitter(SlowClient(), recorder, clock=Clock())
    submitter.startService()
    results, stopped = [], []
    cand = candidate()
    submitter.submit(cand).addCallback(results.append)
    submitter.stopService().addCallback(stopped.append)
    assert stopped == [] and results == []
    answer.callback(None)                       # the node answers
    assert results == [ACCEPTED]
    assert stopped != []
    assert [s for s, _ in recorder.statuses[(cand.height, cand.hash)]][-1] == ACCEPTED


def failed_deferreds():
    """Every Deferred alive whose result is a failure (a leaked one logs
    "Unhandled error in Deferred" in whatever runs when it is collected)."""
    gc.collect()
    return [o for o in gc.get_objects()
            if isinstance(o, defer.Deferred) and isinstance(getattr(o, "result", None), Failure)]


def test_stopping_gives_up_on_a_hung_submission_after_the_timeout():
    from twisted.logger import globalLogPublisher

    class HungClient(FakeClient):
        def submitblock(self, block):
            return defer.Deferred()

    before = failed_deferreds()
    events = []
    globalLogPublisher.addObserver(events.append)
    try:
        clock = Clock()
        submitter = BlockSubmitter(HungClient(), MemoryBlockRecorder(), clock=clock)
        submitter.startService()
        submitter.submit(candidate())
        stopped = []
        submitter.stopService().addCallback(stopped.append)
        clock.advance(submitter.stop_timeout - 1)
        assert stopped == []
        clock.advance(2)
        assert len(stopped) == 1
    finally:
        globalLogPublisher.removeObserver(events.append)
    mine = [e for e in events if e.get("log_namespace", "").endswith("BlockSubmitter")]
    assert [e["log_level"].name for e in mine] == ["info", "critical"]
    assert "unfinished after 60s" in formatEvent(mine[-1])
    # giving up left no Deferred holding an error nobody will consume
    known = {id(d) for d in before}                # `before` keeps these ids taken
    assert not [d for d in failed_deferreds() if id(d) not in known]


def test_stopping_with_nothing_in_flight_is_immediate():
    submitter = BlockSubmitter(FakeClient(), MemoryBlockRecorder(), clock=Clock())
    submitter.startService()
    assert submitter.stopService() is None


# ------------------------------------------------------------------ one lane for the whole pool

def candidate_n(n, height=10, prev="p" * 64, txs=0):
    """Distinct candidates (hashes) for one height."""
    c = candidate(txs=txs, height=height)
    block_hash = "0%063x" % (n + 1)
    block = dict(c.block, hash=block_hash, previousblockhash=prev)
    return BlockCandidate(time=1.0, algorithm="sha256d", height=height, hash=block_hash,
                          previousblockhash=prev, address="a", worker="w%d" % n, work=1,
                          block=block)


class ManualClient(FakeClient):
    """submitblock waits until the test answers it; getblockhash reads the chain."""

    def __init__(self):
        super().__init__()
        self.waiting = []

    def submitblock(self, block):
        self.sent.append(block)
        d = defer.Deferred()
        self.waiting.append((block, d))
        return d

    def answer(self, what):
        block, d = self.waiting.pop(0)
        if isinstance(what, Exception):
            d.errback(what)
        else:
            self.chain[block["height"]] = block["hash"]
            d.callback(block)


def lane(max_fallbacks=4):
    client = ManualClient()
    recorder = MemoryBlockRecorder()
    submitter = BlockSubmitter(client, recorder, clock=Clock(), max_fallbacks=max_fallbacks)
    return client, recorder, submitter


def submit_all(submitter, candidates):
    results = {}
    for c in candidates:
        submitter.submit(c).addCallback(lambda status, c=c: results.__setitem__(c.hash, status))
    return results


def test_one_submission_in_flight_and_late_candidates_are_shares_only():
    client, recorder, submitter = lane(max_fallbacks=2)
    cands = [candidate_n(i) for i in range(6)]
    results = submit_all(submitter, cands)
    assert len(client.sent) == 1                     # the rest wait or are shares only
    assert results == {cands[3].hash: None, cands[4].hash: None, cands[5].hash: None}
    client.answer("accept")
    assert len(client.sent) == 1                     # fallbacks closed quietly, never sent
    assert results[cands[0].hash] == ACCEPTED
    assert results[cands[1].hash] is None and results[cands[2].hash] is None
    assert [c.hash for c in recorder.candidates] == [cands[0].hash]   # no records for shares
    late = candidate_n(7)
    assert submitter.submit(late).result is None and len(client.sent) == 1
    assert submitter.counts == {ACCEPTED: 1, "not sent": 6}


def test_fallback_is_tried_when_the_refusal_does_not_doom_it():
    client, recorder, submitter = lane()
    cands = [candidate_n(i) for i in range(3)]
    results = submit_all(submitter, cands)
    client.answer(rpc("Block timestamp too far in future"))
    assert results[cands[0].hash] == REJECTED
    assert len(client.sent) == 2 and client.sent[1]["hash"] == cands[1].hash
    client.answer("accept")
    assert results == {cands[0].hash: REJECTED, cands[1].hash: ACCEPTED, cands[2].hash: None}
    assert len(client.sent) == 2


def test_a_taken_height_dooms_every_fallback():
    client, _, submitter = lane()
    cands = [candidate_n(i) for i in range(3)]
    results = submit_all(submitter, cands)
    client.chain[10] = "f" * 64                      # another miner's block
    client.answer(rpc("Stale block"))
    assert results == {cands[0].hash: REJECTED, cands[1].hash: None, cands[2].hash: None}
    assert len(client.sent) == 1


def test_a_newer_height_replaces_the_fallbacks_and_goes_next():
    client, _, submitter = lane()
    old = [candidate_n(i) for i in range(3)]
    new = candidate_n(9, height=11, prev="q" * 64)
    results = submit_all(submitter, old + [new])
    assert results == {old[1].hash: None, old[2].hash: None}
    assert submitter.submit(candidate_n(8)).result is None      # older than the newest height
    client.answer(rpc("Stale block"))
    assert [b["hash"] for b in client.sent] == [old[0].hash, new.hash]
    client.answer("accept")
    assert results[new.hash] == ACCEPTED


def test_node_outage_logs_one_line_per_height_and_leaves_outcomes_open():
    from twisted.logger import globalLogPublisher
    events = []
    globalLogPublisher.addObserver(events.append)
    try:
        client = FakeClient(*[NodeTransportError("connection refused")] * 12)
        clock = Clock()
        recorder = MemoryBlockRecorder()
        submitter = BlockSubmitter(client, recorder, clock=clock, retries=3)
        cands = [candidate_n(i) for i in range(3)]
        results = submit_all(submitter, cands)
        for _ in range(60):
            clock.advance(1)
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert results == {c.hash: SUBMITTED for c in cands}      # each tried in turn, all durable
    assert len(recorder.candidates) == 3 and len(client.sent) == 12
    mine = [e for e in events if e.get("log_namespace", "").endswith("BlockSubmitter")]
    levels = [e["log_level"].name for e in mine]
    assert levels == ["warn"], [e.get("log_format") for e in mine]
    assert "height" in mine[0]["log_format"] and mine[0]["height"] == 10


def test_recorder_failures_are_one_warning_and_the_block_still_goes_out():
    from twisted.logger import globalLogPublisher

    class BrokenRecorder(MemoryBlockRecorder):
        def record_candidate(self, c):
            return defer.fail(OSError("disk full"))

        def set_block_status(self, *args):
            raise RuntimeError("database down")

    events = []
    globalLogPublisher.addObserver(events.append)
    try:
        client = FakeClient("accept", "accept")
        submitter = BlockSubmitter(client, BrokenRecorder(), clock=Clock())
        first, second = candidate_n(1), candidate_n(2, height=11, prev="q" * 64)
        results = submit_all(submitter, [first, second])
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert results == {first.hash: ACCEPTED, second.hash: ACCEPTED}
    mine = [e for e in events if e.get("log_namespace", "").endswith("BlockSubmitter")]
    assert [e["log_level"].name for e in mine] == ["warn", "info", "info"]
    assert not any(e.get("log_failure") for e in mine)         # no tracebacks


def test_settling_a_height_keeps_fallbacks_built_on_another_parent():
    client, _, submitter = lane()
    ours = candidate_n(1)
    other_parent = candidate_n(2, prev="q" * 64)       # same height, the tip changed under us
    results = submit_all(submitter, [ours, candidate_n(3), other_parent])
    client.chain[10] = "f" * 64
    client.answer(rpc("Stale block"))                  # settles (10, p...) only
    assert results[ours.hash] == REJECTED and results[candidate_n(3).hash] is None
    assert client.sent[-1]["hash"] == other_parent.hash
