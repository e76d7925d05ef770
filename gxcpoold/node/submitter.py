"""Block submitter: one submission in flight, fallbacks kept, the node's answer interpreted.

At difficulty 1 one hash in 16 is a block, so candidates for one height come
by the hundred; the real node answered in more than 10 s under such a flood
and crashed with several submitters at once (spec/gxc-node.md 6.1).  So:

- at most one submitblock is in flight for the whole pool;
- later candidates for the height in flight are kept, a few of them, as
  fallbacks tried in order if the first is refused for a reason that does
  not doom them too; a candidate for a newer height replaces them all;
- once a height is settled (our block accepted, or the height taken), later
  candidates for it are shares only: they already went down the share path
  and nothing more is recorded for them.

The node flattens every submitblock failure into one error code with a
reason text (spec 2.2, defect 5), so answers are classified by substring.
A candidate is recorded before it is sent, so a crash between finding and
submitting loses nothing.  On any answer the template is refreshed at once:
we or someone else just moved the tip, and miners must move with it.

Node calls per block: a plain success costs one submitblock (plus the
template refresh every new tip needs anyway); getblockhash is asked only
when an answer is ambiguous, since the node answers null only when the
block went into the chain and the unlocker confirms every block later.
"""
from collections import Counter, deque

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater
from twisted.logger import Logger

from gxcpoold.events import EventHub
from gxcpoold.node.callqueue import SUBMIT
from gxcpoold.node.errors import (NodeError, NodeRequestTooLarge, NodeRPCError,
                                  NodeTransportError)
from gxcpoold.shares import ACCEPTED, REJECTED, SUBMITTED

MAX_FALLBACKS = 4          # candidates kept behind the one in flight (current height only)
SETTLED_REMEMBERED = 64    # settled (height, parent) pairs: late candidates for them are shares


class _Entry:
    __slots__ = ("candidate", "done")

    def __init__(self, candidate):
        self.candidate = candidate
        self.done = Deferred()


class BlockSubmitter(Service):
    """A service so that shutdown waits for submissions in flight: it stops
    after Stratum (no new candidates) and before the ledger and the node link."""

    name = "block-submitter"
    log = Logger()
    stop_timeout = 60.0                   # seconds; systemd's TimeoutStopSec is 90

    def __init__(self, client, recorder, *, clock, refresh=None, retries=3, retry_pause=1.0,
                 mined_txids=None, max_fallbacks=MAX_FALLBACKS, events=None):
        """client: NodeClient; recorder: BlockRecorder; refresh(): Deferred
        fetching a template now.  mined_txids: a set (or MinedTxids) this
        fills with txids the node has mined (share it with
        JobManager.excluded_txids)."""
        self.client = client
        self.recorder = recorder
        self.clock = clock
        self.refresh = refresh
        self.retries = retries
        self.retry_pause = retry_pause
        self.max_fallbacks = max_fallbacks
        self.mined_txids = mined_txids if mined_txids is not None else set()
        self._sending = None              # the _Entry whose submitblock is in flight
        self._queued = deque()            # fallbacks / next candidates, all of one height
        self._settled = deque(maxlen=SETTLED_REMEMBERED)   # (height, previousblockhash)
        self._unfinished = set()          # Deferreds of entries not finished (for stopping)
        self._outage_height = None        # the height whose node outage was logged
        self._recorder_failing = False
        # every outcome is a "block.submitted" event (gxcpoold/events.py)
        self.events = events if events is not None else EventHub(clock)
        self.counts = Counter()           # status -> candidates; "not sent" for shares only

    # ------------------------------------------------------------ admission

    def submit(self, candidate):
        """Fires with the final status (ACCEPTED, REJECTED, or SUBMITTED when
        the node could not be reached and the outcome is unknown), or with
        None when the candidate was not sent: its height was settled or
        superseded, or enough fallbacks were already kept."""
        if (candidate.height, candidate.previousblockhash) in self._settled:
            return self._not_sent()
        entry = _Entry(candidate)
        if self._sending is None:
            self._track(entry)
            self._send(entry)
            return entry.done
        height = self._queued[0].candidate.height if self._queued else \
            self._sending.candidate.height
        if candidate.height < height:
            return self._not_sent()       # a newer height is known: this one is stale
        if candidate.height > height:
            self._drop_queued()           # the chain moved on: fallbacks are stale
        elif len(self._queued) >= self.max_fallbacks or self._is_known(candidate):
            return self._not_sent()
        self._track(entry)
        self._queued.append(entry)
        return entry.done

    def _is_known(self, candidate):
        entries = [self._sending, *self._queued]
        return any(e.candidate.hash == candidate.hash for e in entries)

    def _not_sent(self):
        self.counts["not sent"] += 1
        return defer.succeed(None)

    def _drop_queued(self, which=lambda candidate: True):
        dropped = [e for e in self._queued if which(e.candidate)]
        self._queued = deque(e for e in self._queued if not which(e.candidate))
        for entry in dropped:
            self.counts["not sent"] += 1
            entry.done.callback(None)

    def _track(self, entry):
        self._unfinished.add(entry.done)
        entry.done.addBoth(self._untrack, entry.done)

    def _untrack(self, result, d):
        self._unfinished.discard(d)
        return result

    # ------------------------------------------------------------ the one lane

    @defer.inlineCallbacks
    def _send(self, entry):
        self._sending = entry
        candidate = entry.candidate
        yield self._record(candidate)
        try:
            status, reason, settles = yield self._submit(candidate)
        except Exception as e:
            self.log.error("block {hash}: submission failed unexpectedly: {error!r}",
                           hash=candidate.hash, error=e)
            status, reason, settles = SUBMITTED, "internal error: %r" % (e,), False
        self._sending = None
        if settles:
            settled = (candidate.height, candidate.previousblockhash)
            self._settled.append(settled)
            self._drop_queued(lambda c: (c.height, c.previousblockhash) == settled)
        self._refresh()
        if self._queued:
            self._send(self._queued.popleft())
        self._report(candidate, status, reason)
        # the record is written behind the lane: the next height need not wait for it
        yield self._status(candidate, status, reason)
        entry.done.callback(status)

    def _report(self, candidate, status, reason):
        self.events.publish("block.submitted", height=candidate.height, hash=candidate.hash,
                            algorithm=candidate.algorithm, address=candidate.address,
                            worker=candidate.worker, status=status, reason=reason)
        self.counts[status] += 1
        if status == ACCEPTED:
            self._outage_height = None
            self.log.info("block {height} {hash} by {address}.{worker} accepted by the node",
                          height=candidate.height, hash=candidate.hash,
                          address=candidate.address, worker=candidate.worker)
        elif status == SUBMITTED:
            pass                          # node outage: logged once per height in _submit
        else:
            self.log.warn("block {height} {hash}: {status} ({reason})", height=candidate.height,
                          hash=candidate.hash, status=status, reason=reason)

    def stopService(self):
        super().stopService()
        if not self._unfinished:
            return None
        self.log.info("waiting for {count} block submission(s) to finish",
                      count=len(self._unfinished))
        # A count and a timer, nothing cancelled: a Deferred cancelled at the
        # timeout would hold a CancelledError nobody consumes ("Unhandled
        # error in Deferred" in whatever runs when it is garbage-collected).
        # The submissions' own callers keep their results.
        done = Deferred()
        unfinished = set(self._unfinished)

        def give_up():
            self.log.critical("stopping with block submissions unfinished after {seconds:.0f}s; "
                              "their outcome is settled from the chain at the next start",
                              seconds=self.stop_timeout)
            done.callback(None)
        timer = self.clock.callLater(self.stop_timeout, give_up)

        def finished(result, d):
            unfinished.discard(d)
            if not unfinished and timer.active():
                timer.cancel()
                done.callback(None)
            return result
        for d in list(unfinished):
            d.addBoth(finished, d)
        return done

    # ------------------------------------------------------------ the exchange

    @defer.inlineCallbacks
    def _submit(self, candidate):
        """(status, reason, settles): settles is True when no other candidate
        for this height can succeed any more."""
        block = candidate.block
        coinbase_only_tried = len(block.get("transactions", ())) <= 1
        pause = self.retry_pause
        for _ in range(self.retries + 1):
            try:
                sent = yield self.client.submitblock(block)
            except NodeRequestTooLarge as e:
                if coinbase_only_tried:
                    return REJECTED, "too large even with the coinbase only: %s" % e, False
                block, coinbase_only_tried = self._coinbase_only(block), True
                continue
            except NodeTransportError as e:
                self._log_outage(candidate, e)
                if (yield self._chain_hash(candidate.height)) == candidate.hash:
                    return ACCEPTED, "found in the chain after a lost answer", True
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
            # null answer: the node put the block in the chain (spec 2.2)
            self.mined_txids.update(tx.get("txid") for tx in sent["transactions"][1:])
            return ACCEPTED, "", True
        if (yield self._chain_hash(candidate.height)) == candidate.hash:
            return ACCEPTED, "found in the chain after retries", True
        return SUBMITTED, "node unreachable after %d attempts" % (self.retries + 1), False

    def _log_outage(self, candidate, error):
        """One line per height, not one per candidate and attempt."""
        if self._outage_height == candidate.height:
            return
        self._outage_height = candidate.height
        self.log.warn("node unreachable while submitting the block at height {height} "
                      "({error}); retrying, and candidates stay recorded so the chain scan "
                      "settles them", height=candidate.height, error=error)

    @defer.inlineCallbacks
    def _interpret(self, candidate, block, message, coinbase_only_tried):
        """(status, reason, settles) for a node error, or None to resubmit coinbase-only."""
        if "Stale block" in message:
            if (yield self._chain_hash(candidate.height)) == candidate.hash:
                return ACCEPTED, "already in the chain", True
            return REJECTED, "stale: the height was taken by another block", True
        if "Block difficulty mismatch" in message:
            # a block for the old height sent just after a retarget (spec 6.1)
            return REJECTED, "stale: the difficulty changed with the height (%s)" % message, True
        if "Block validation failed" in message:
            found = yield self._chain_hash(candidate.height)
            if found == candidate.hash:
                return ACCEPTED, "already in the chain", True
            if found is not None:
                return REJECTED, "lost the race for this height", True
            if not coinbase_only_tried:
                # a mempool tx the node already mined poisons the block (defect 6)
                self.mined_txids.update(tx.get("txid") for tx in block["transactions"][1:])
                self.log.warn("block {hash} failed validation with {n} mempool txs; "
                              "resubmitting with the coinbase only", hash=candidate.hash,
                              n=len(block["transactions"]) - 1)
                return None
            return REJECTED, "validation failed", False
        if "does not meet difficulty target" in message or "Invalid hash" in message:
            self.log.critical("the node rejects a block hash the pool computed: {message} "
                              "(pool bug)", message=message)
            return REJECTED, "pool bug: " + message, False
        if "timestamp too far" in message:
            self.log.error("block {hash}: {message} (clock skew between pool and node?)",
                           hash=candidate.hash, message=message)
            return REJECTED, message, False
        return REJECTED, message, False

    @staticmethod
    def _coinbase_only(block):
        return dict(block, transactions=block["transactions"][:1])

    @defer.inlineCallbacks
    def _chain_hash(self, height):
        """The hash the chain holds at height (lowercase), or None (spec 3.1)."""
        try:
            # the block path's own question: ahead of unlocker and chain scans
            found = yield self.client.getblockhash(height, priority=SUBMIT)
        except NodeError:
            return None
        return found.lower() if isinstance(found, str) else None

    # ------------------------------------------------------------ bookkeeping

    @defer.inlineCallbacks
    def _record(self, candidate):
        try:
            yield self.recorder.record_candidate(candidate)
        except Exception as e:
            # a block is worth more than the ordering rule: send it anyway
            self._recorder_failed("could not record block candidate %s (%r); submitting it "
                                  "anyway" % (candidate.hash, e))
        else:
            self._recorder_works()

    @defer.inlineCallbacks
    def _status(self, candidate, status, reason):
        try:
            yield self.recorder.set_block_status(candidate.height, candidate.hash, status, reason)
        except Exception as e:
            self._recorder_failed("could not record status %s of block %s at height %d (%r)"
                                  % (status, candidate.hash, candidate.height, e))
        else:
            self._recorder_works()

    def _recorder_failed(self, what):
        # one line per outage of the block recorder, not one per block
        if not self._recorder_failing:
            self._recorder_failing = True
            self.log.warn("{what}; further failures are not logged until it works again",
                          what=what)

    def _recorder_works(self):
        if self._recorder_failing:
            self._recorder_failing = False
            self.log.info("block records are written again")

    def _refresh(self):
        if self.refresh is None:
            return
        d = defer.maybeDeferred(self.refresh)
        d.addErrback(lambda f: self.log.debug("template refresh after a block failed: {f}",
                                              f=f.getErrorMessage()))
