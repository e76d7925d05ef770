"""Where every checked share goes: the ledger sink, and for blocks the submitter.

One pipeline for the whole pool, whatever the algorithm: sessions hand it
what they verified and never hear back (a block's fate is the submitter's
and the ledger's business, not the miner's connection's).
"""
from twisted.internet import defer
from twisted.logger import Logger

from gxcpoold.events import EventHub
from gxcpoold.shares import BlockCandidate, ShareRecord


class SharePipeline:
    log = Logger()

    def __init__(self, share_sink, submit_block, *, pool_address, clock, instance_id=0,
                 events=None):
        """share_sink: add_share(ShareRecord) (gxcpoold/shares.py).
        submit_block(candidate) -> Deferred: the block path (node/submitter.py).
        pool_address: callable giving the address blocks pay to."""
        self.share_sink = share_sink
        self.submit_block = submit_block
        self.pool_address = pool_address
        self.clock = clock
        self.instance_id = instance_id
        self.events = events if events is not None else EventHub(clock)
        self.blocks_found = 0
        self._candidate_height = None   # (height, parent) of the last candidate logged

    def share_accepted(self, now, algorithm, address, worker, difficulty, work, height,
                       hash_hex, is_block):
        self.share_sink.add_share(ShareRecord(
            time=now, algorithm=algorithm, address=address, worker=worker,
            difficulty=difficulty, work=work, height=height, hash=hash_hex, is_block=is_block,
            instance_id=self.instance_id))

    def block_found(self, now, algorithm, job, result, submission, address, worker, work):
        """now: the time of the block's share (the ledger credits the shares
        up to a block's time, so its own share must not be later)."""
        if job.template is None:
            return                        # a replayed foreign job: nothing to submit to
        block, solution = algorithm.block_for(job, result, submission,
                                              pool_address=self.pool_address())
        solution["worker"] = worker
        candidate = BlockCandidate(
            time=now, algorithm=algorithm.NAME, height=job.height,
            hash=result.hash_hex, previousblockhash=job.previousblockhash, address=address,
            worker=worker, work=work, block=block, solution=solution)
        self.blocks_found += 1
        # At D = 1 every share is a candidate: one line per height is enough (the
        # submitter sends one block per height and logs what became of it), and
        # a line per share would cost more than checking the share.
        if self._candidate_height != (job.height, job.previousblockhash):
            self._candidate_height = (job.height, job.previousblockhash)
            self.log.info("{algorithm} block candidate {hash} at height {height} by "
                          "{address}.{worker}", algorithm=algorithm.NAME, hash=result.hash_hex,
                          height=job.height, address=address, worker=worker)
            self.events.publish("block.found", height=job.height, hash=result.hash_hex,
                                algorithm=algorithm.NAME, address=address, worker=worker)
        if self.submit_block is None:
            self.log.error("no block submitter configured; candidate {hash} dropped",
                           hash=result.hash_hex)
            return
        d = defer.maybeDeferred(self.submit_block, candidate)
        d.addErrback(lambda f: self.log.error("block submission of {hash} failed: {error}",
                                              hash=result.hash_hex, error=f.getErrorMessage()))
