"""Block submitter: persist, submit once, interpret the node, confirm, refresh.

The GXC node flattens every submitblock failure into one error code with a
reason text (spec/gxc-node.md 2.2, defect 5), so answers are classified by
substring.  A candidate is recorded before anything is sent, so a crash
between finding and submitting loses nothing; every outcome is recorded as
a status; the template is refreshed right after, since either we or someone
else just moved the tip.
"""
from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.task import deferLater
from twisted.logger import Logger

from gxcpoold.node.errors import (NodeError, NodeRequestTooLarge, NodeRPCError,
                                  NodeTransportError)
from gxcpoold.shares import ACCEPTED, REJECTED, SUBMITTED


class BlockSubmitter(Service):
    """A service so that shutdown waits for submissions in flight: it stops
    after Stratum (no new candidates) and before the ledger and the node link."""

    name = "block-submitter"
    log = Logger()
    stop_timeout = 60.0                   # seconds; systemd's TimeoutStopSec is 90

    def __init__(self, client, recorder, *, clock, refresh=None, retries=3, retry_pause=1.0,
                 mined_txids=None):
        """client: NodeClient; recorder: BlockRecorder; refresh(): Deferred
        fetching a template now.  mined_txids: a set this fills with txids
        the node has mined (share it with JobManager.excluded_txids)."""
        self.client = client
        self.recorder = recorder
        self.clock = clock
        self.refresh = refresh
        self.retries = retries
        self.retry_pause = retry_pause
        self.mined_txids = mined_txids if mined_txids is not None else set()
        self._submitted = set()           # (height, hash): each candidate goes out once
        self._in_flight = set()           # Deferreds of submissions not finished yet
        self.outcomes = []                # (height, hash, status, reason), for tests and stats

    def submit(self, candidate):
        """Fires with the final status (ACCEPTED, REJECTED or SUBMITTED when
        the node could not be reached and the outcome is unknown)."""
        d = self._submit_candidate(candidate)
        if not d.called:
            self._in_flight.add(d)
            d.addBoth(self._finished, d)
        return d

    def _finished(self, result, d):
        self._in_flight.discard(d)
        return result

    def stopService(self):
        super().stopService()
        if not self._in_flight:
            return None
        self.log.info("waiting for {count} block submission(s) to finish",
                      count=len(self._in_flight))
        # A copy of each: the submissions' own callers keep their results.
        waits = [Deferred() for _ in self._in_flight]
        for d, wait in zip(list(self._in_flight), waits):
            d.addBoth(lambda result, wait=wait: (wait.callback(None), result)[1])
        done = DeferredList(waits)
        done.addTimeout(self.stop_timeout, self.clock)
        done.addErrback(lambda failure: self.log.critical(
            "stopping with block submissions unfinished after {seconds:.0f}s; their outcome "
            "is settled from the chain at the next start", seconds=self.stop_timeout))
        return done

    @defer.inlineCallbacks
    def _submit_candidate(self, candidate):
        key = (candidate.height, candidate.hash)
        if key in self._submitted:
            return None
        self._submitted.add(key)
        try:
            yield self.recorder.record_candidate(candidate)
        except Exception:
            # a block is worth more than the ordering rule: send it anyway
            self.log.failure("could not persist block candidate {hash}; submitting anyway",
                             hash=candidate.hash)
        yield self._status(candidate, SUBMITTED, "")
        try:
            status, reason = yield self._submit(candidate)
        except Exception as e:
            self.log.failure("block {hash}: submission failed unexpectedly", hash=candidate.hash)
            status, reason = SUBMITTED, "internal error: %s" % e
        self._refresh()
        yield self._status(candidate, status, reason)
        self.outcomes.append((candidate.height, candidate.hash, status, reason))
        if status == ACCEPTED:
            self.log.info("block {height} {hash} accepted by the node", height=candidate.height,
                          hash=candidate.hash)
        else:
            self.log.warn("block {height} {hash}: {status} ({reason})", height=candidate.height,
                          hash=candidate.hash, status=status, reason=reason)
        return status

    # ------------------------------------------------------------ the exchange

    @defer.inlineCallbacks
    def _submit(self, candidate):
        block = candidate.block
        coinbase_only_tried = len(block.get("transactions", ())) <= 1
        pause = self.retry_pause
        for attempt in range(self.retries + 1):
            try:
                sent = yield self.client.submitblock(block)
            except NodeRequestTooLarge as e:
                if coinbase_only_tried:
                    return REJECTED, "too large even with the coinbase only: %s" % e
                block, coinbase_only_tried = self._coinbase_only(block), True
                continue
            except NodeTransportError as e:
                self.log.warn("block {hash}: node unreachable ({error}); retry {n}",
                              hash=candidate.hash, error=e, n=attempt + 1)
                if (yield self._in_chain(candidate)):
                    return ACCEPTED, "found in the chain after a lost answer"
                yield deferLater(self.clock, pause)
                pause *= 2
                continue
            except NodeRPCError as e:
                outcome = yield self._interpret(candidate, block, e.message,
                                                coinbase_only_tried)
                if outcome is not None:
                    return outcome
                block, coinbase_only_tried = self._coinbase_only(block), True
                continue
            if (yield self._in_chain(candidate)):
                self.mined_txids.update(tx.get("txid") for tx in sent["transactions"][1:])
                return ACCEPTED, ""
            return REJECTED, "accepted but getblockhash shows another block at this height"
        if (yield self._in_chain(candidate)):
            return ACCEPTED, "found in the chain after retries"
        self.log.critical("block {hash} at height {height}: node unreachable; outcome unknown",
                          hash=candidate.hash, height=candidate.height)
        return SUBMITTED, "node unreachable after %d attempts" % (self.retries + 1)

    @defer.inlineCallbacks
    def _interpret(self, candidate, block, message, coinbase_only_tried):
        """(status, reason) for a node error, or None to resubmit coinbase-only."""
        if "Stale block" in message:
            if (yield self._in_chain(candidate)):
                return ACCEPTED, "already in the chain"
            return REJECTED, "stale: the height was taken by another block"
        if "Block difficulty mismatch" in message:
            return REJECTED, "difficulty changed under the job: " + message
        if "Block validation failed" in message:
            if (yield self._in_chain(candidate)):
                return ACCEPTED, "already in the chain"
            if (yield self._height_taken(candidate)):
                return REJECTED, "lost the race for this height"
            if not coinbase_only_tried:
                # a mempool tx the node already mined poisons the block (defect 6)
                self.mined_txids.update(tx.get("txid") for tx in block["transactions"][1:])
                self.log.warn("block {hash} failed validation with {n} mempool txs; "
                              "resubmitting with the coinbase only", hash=candidate.hash,
                              n=len(block["transactions"]) - 1)
                return None
            return REJECTED, "validation failed"
        if "does not meet difficulty target" in message or "Invalid hash" in message:
            self.log.critical("the node rejects a block hash the pool computed: {message} "
                              "(pool bug)", message=message)
            return REJECTED, "pool bug: " + message
        if "timestamp too far" in message:
            self.log.error("block {hash}: {message} (clock skew between pool and node?)",
                           hash=candidate.hash, message=message)
            return REJECTED, message
        return REJECTED, message

    @staticmethod
    def _coinbase_only(block):
        return dict(block, transactions=block["transactions"][:1])

    @defer.inlineCallbacks
    def _in_chain(self, candidate):
        """Chain membership: getblockhash(height) == hash (spec 3.1)."""
        try:
            found = yield self.client.getblockhash(candidate.height)
        except NodeError:
            return False
        return isinstance(found, str) and found.lower() == candidate.hash.lower()

    @defer.inlineCallbacks
    def _height_taken(self, candidate):
        try:
            found = yield self.client.getblockhash(candidate.height)
        except NodeError:
            return False
        return isinstance(found, str)

    # ------------------------------------------------------------ bookkeeping

    @defer.inlineCallbacks
    def _status(self, candidate, status, reason):
        try:
            yield self.recorder.set_block_status(candidate.height, candidate.hash, status, reason)
        except Exception:
            self.log.failure("could not record status {status} of block {hash}", status=status,
                             hash=candidate.hash)

    def _refresh(self):
        if self.refresh is None:
            return
        d = defer.maybeDeferred(self.refresh)
        d.addErrback(lambda f: self.log.debug("template refresh after a block failed: {f}",
                                              f=f.getErrorMessage()))
