"""BlockSubmitter against a scripted node client (answers per spec/gxc-node.md 2.2)."""
from twisted.internet import defer
from twisted.internet.task import Clock

from gxcpoold.node.errors import NodeRequestTooLarge, NodeRPCError, NodeTransportError
from gxcpoold.node.submitter import BlockSubmitter
from gxcpoold.shares import (ACCEPTED, CANDIDATE, REJECTED, SUBMITTED, BlockCandidate,
                             MemoryBlockRecorder)

HASH = "00000" + "a" * 59


def candidate(txs=2, height=10):
    transactions = [{"txid": "cb", "is_coinbase": True}] + [
        {"txid": "t%d" % i, "is_coinbase": False} for i in range(txs)]
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

    def getblockhash(self, height):
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


def test_accepted_and_confirmed():
    client = FakeClient("accept")
    status, statuses, submitter, refreshes = run(client)
    assert status == ACCEPTED
    assert [s for s, _ in statuses] == [CANDIDATE, SUBMITTED, ACCEPTED]
    assert submitter.mined_txids == {"t0", "t1"} and refreshes == [1]


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
    assert {"t0", "t1"} <= submitter.mined_txids     # kept out of later jobs


def test_validation_failed_after_losing_the_race():
    client = FakeClient(rpc("Block validation failed"))
    client.chain[10] = "f" * 64
    status, statuses, _, _ = run(client)
    assert status == REJECTED and "race" in statuses[-1][1] and len(client.sent) == 1


def test_validation_failed_coinbase_only_is_final():
    client = FakeClient(rpc("Block validation failed"))
    status, _, _, _ = run(client, candidate(txs=0))
    assert status == REJECTED and len(client.sent) == 1


def test_difficulty_mismatch_refreshes_the_template():
    status, statuses, _, refreshes = run(FakeClient(
        rpc("Block difficulty mismatch. Network requires 1.750000")))
    assert status == REJECTED and "difficulty" in statuses[-1][1] and refreshes == [1]


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


def test_stopping_gives_up_on_a_hung_submission_after_the_timeout():
    class HungClient(FakeClient):
        def submitblock(self, block):
            return defer.Deferred()

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


def test_stopping_with_nothing_in_flight_is_immediate():
    submitter = BlockSubmitter(FakeClient(), MemoryBlockRecorder(), clock=Clock())
    submitter.startService()
    assert submitter.stopService() is None
