"""Chain scan: blocks the node accepted, paying the pool, that the ledger lacks.

A block can reach the chain without reaching the ledger: the database was
away and the local candidate file was lost, the process died between
submitblock and writing anything, a submission's answer was lost.  So at
start-up and whenever the database comes back after an outage, the heights
since the last scan are examined; a block whose coinbase pays the pool
address and which the ledger does not hold credited is recorded and
credited through accept_block (once: unique (height, hash), row lock).

Between those, a routine scan every ROUTINE_EVERY seconds keeps the
position close to the tip (so a restart never has days of chain to read); it
stops RECENT blocks short of the tip, which the submitter is still settling.

Incremental and cheap (at D = 1 the chain grows ~50 blocks/s): the last
height examined is kept in the meta table with the genesis hash it belongs
to; heights the ledger already holds credited cost no node call at all; the
others cost a getblockhash, and a getblock only when the ledger lacks that
hash.  getblock invents a block for heights it lacks (defect 11), so its
answer is checked against getblockhash and getblockcount.
"""
import dataclasses
import time

from sqlalchemy import func, select
from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from gxcpoold.ledger import meta
from gxcpoold.ledger.blocks import accept_block, insert_candidate
from gxcpoold.ledger.sharewriter import OUTAGE_ERRORS, short_error
from gxcpoold.ledger.schema import blocks, miners, shares
from gxcpoold.node.errors import NodeError
from gxcpoold.shares import BlockCandidate

META_KEY = "chain_scan"           # value: "<genesis hash> <last height examined>"
CHUNK = 500                       # heights per ledger query and per meta update
ALGORITHM_OF = {"pow_sha256": "sha256d", "pow_ethash": "ethash"}
ROUTINE_EVERY = 600.0             # seconds between routine scans
RECENT = 100                      # blocks a routine scan leaves to the submitter


# ------------------------------------------------------------------ database side

def read_position(connection):
    """(genesis, last height examined) or None; and the highest block height in the ledger."""
    value = meta.get(connection, META_KEY)
    highest = connection.execute(select(func.max(blocks.c.height))).scalar()
    if value is None:
        return None, highest
    genesis, _, height = value.partition(" ")
    if not height.isdigit():
        return None, highest            # unreadable: start as a ledger older than the scan
    return (genesis, int(height)), highest


def save_position(connection, genesis, height):
    meta.put(connection, META_KEY, "%s %d" % (genesis, height))


def ledger_blocks(connection, low, high):
    """{height: {hash: credited}} for low <= height <= high."""
    found = {}
    for row in connection.execute(select(blocks.c.height, blocks.c.hash, blocks.c.credited)
                                  .where(blocks.c.height.between(low, high))):
        found.setdefault(row.height, {})[row.hash] = bool(row.credited)
    return found


def record_chain_block(connection, candidate, policy, now):
    """Record a block found in the chain and credit it; the finder, worker and
    work come from its share when the ledger has it.  Returns the Split or None."""
    finder = connection.execute(
        select(miners.c.address, shares.c.work).join(miners, miners.c.id == shares.c.miner_id)
        .where(shares.c.hash == candidate.hash).limit(1)).first()
    if finder is not None:
        candidate = dataclasses.replace(candidate, address=finder.address, work=finder.work)
    insert_candidate(connection, candidate, now)
    return accept_block(connection, candidate.height, candidate.hash, policy, now,
                        "recovered from the chain by the block scan")


# ------------------------------------------------------------------ node side

def pays(coinbase, address) -> bool:
    outputs = coinbase.get("outputs") or coinbase.get("vout") or []
    first = outputs[0] if outputs and isinstance(outputs[0], dict) else {}
    return first.get("address", coinbase.get("to")) == address


def chain_candidate(block, pool_address, fallback_finder):
    """A BlockCandidate standing for a chain block (its coinbase is what the ledger stores)."""
    coinbase = block["tx"][0]
    # The coinbase's time is when the node accepted the block (spec 2.6).
    when = next((t for t in (coinbase.get("time"), block.get("time"))
                 if isinstance(t, (int, float)) and not isinstance(t, bool)), time.time())
    return BlockCandidate(
        time=float(when), algorithm=ALGORITHM_OF.get(block.get("consensustype"), "unknown"),
        height=block["height"], hash=block["hash"],
        previousblockhash=str(block.get("previousblockhash") or "")[:128], address=fallback_finder,
        worker="", work=0,
        block={"height": block["height"], "hash": block["hash"],
               "difficulty": _number(block.get("difficulty")), "miner": pool_address,
               "transactions": [coinbase]})


class BlockScanner(Service):
    name = "block-scan"
    log = Logger()

    def __init__(self, db, node, recorder, share_writer, *, clock, interval=30.0):
        """node: has .client and .pool_address; recorder: its .policy is the reward policy."""
        self.db = db
        self.node = node
        self.recorder = recorder
        self.share_writer = share_writer
        self.clock = clock
        self.interval = interval
        self.wanted = True             # a scan is due (start-up, outage ended, last one failed)
        self._last_scan = None         # clock time of the last completed scan
        self.first_count = None        # the chain height when this process first looked
        self.recovered = []            # (height, hash) recorded by this scanner
        self._running_scan = None
        self._loop = None
        self._problem = None
        self._flushed = False

    def request(self):
        """The database came back: scan again (now, or after the scan in progress)."""
        self.wanted = True
        if self.running and self._running_scan is None:
            self._scan_if_wanted()

    def startService(self):
        super().startService()
        self._loop = LoopingCall(self._scan_if_wanted)
        self._loop.clock = self.clock
        self._loop.start(self.interval, now=True).addErrback(
            lambda f: self.log.failure("block scan loop stopped", f))

    def stopService(self):
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        return self._running_scan

    def _scan_if_wanted(self):
        if self._running_scan is not None:
            return None
        if self.wanted:
            margin = 0
        elif (self._last_scan is not None
              and self.clock.seconds() - self._last_scan >= ROUTINE_EVERY):
            margin = RECENT
        else:
            return None
        self.wanted = False
        d = self._running_scan = self.scan(margin=margin)

        def done(result):
            self._running_scan = None
            self._last_scan = self.clock.seconds()
            if self._problem is not None:
                self.log.info("block scan completed after: {problem}", problem=self._problem)
                self._problem = None
            return result

        def failed(failure):
            self._running_scan = None
            self.wanted = True          # try again at the next interval
            problem = short_error(failure.value)
            if self._problem is None:   # once per run of failures, not every interval
                if failure.check(NodeError, *OUTAGE_ERRORS):
                    self.log.warn("block scan postponed: {problem}", problem=problem)
                else:
                    self.log.failure("block scan failed; retried every {interval:.0f}s",
                                     failure, interval=self.interval)
            self._problem = problem
        return d.addCallbacks(done, failed)

    @defer.inlineCallbacks
    def scan(self, margin=0):
        """Examine the heights since the last scan up to `margin` blocks short of
        the tip; returns how many blocks it recorded."""
        pool_address = self.node.pool_address
        if not pool_address:
            self.wanted = True          # the node link has not learned it yet
            return 0
        flush = getattr(self.recorder, "flush", None)
        if flush is not None:
            # Candidates recorded locally go in first: they name the finder and cost
            # the node nothing; the scan is for what they do not cover.
            yield flush()
            if not self.recorder.db_ok:
                raise ShareBacklog("block candidates are not in the database yet")
        client = self.node.client
        count = yield client.getblockcount()
        if self.first_count is None:
            self.first_count = count
        genesis = yield client.getblockhash(0)
        position, highest = yield self.db.run(read_position, write=False)
        if position is not None and position[0] == genesis:
            start = position[1] + 1
        elif position is not None:
            start = 1                   # a new chain (wiped node, defect 18)
        elif highest is not None:
            start = min(highest + 1, self.first_count)   # a ledger older than the scan
        else:
            start = self.first_count    # a new ledger: nothing before this process
        recorded = 0
        end = count - margin
        for low in range(max(start, 1), end, CHUNK):
            high = min(low + CHUNK, end) - 1
            recorded += yield self._scan_chunk(client, pool_address, genesis, low, high, count)
        if recorded:
            self.log.warn("block scan recorded {count} accepted block(s) the ledger lacked",
                          count=recorded)
        return recorded

    @defer.inlineCallbacks
    def _scan_chunk(self, client, pool_address, genesis, low, high, count):
        known = yield self.db.run(ledger_blocks, low, high, write=False)
        recorded = 0
        self._flushed = False
        for height in range(low, high + 1):
            if any(known.get(height, {}).values()):
                continue                # credited: nothing to ask the node
            block_hash = yield client.getblockhash(height)
            if known.get(height, {}).get(block_hash) is False:
                # Ours, not settled yet (the candidate record or the unlocker will);
                # in the chain, so credit it now.
                yield self._credit(accept_block, height, block_hash, self.recorder.policy,
                                   time.time(), "found in the chain by the block scan")
                continue
            block = yield client.getblock(height, True)
            if not _is_chain_block(block, height, block_hash, count):
                raise NodeError("getblock %d did not answer the chain's block %s (defect 11)"
                                % (height, block_hash))
            if not pays(block["tx"][0], pool_address):
                continue
            candidate = chain_candidate(block, pool_address, self.recorder.policy.fee_account)
            split = yield self._credit(record_chain_block, candidate, self.recorder.policy,
                                       time.time())
            if split is not None:
                recorded += 1
                self.recovered.append((height, block_hash))
                self.log.info("block {height} {hash} was in the chain but not in the ledger: "
                              "recorded and credited ({n} accounts)", height=height,
                              hash=block_hash, n=len(split.credits))
        yield self.db.run(save_position, genesis, high)
        return recorded

    @defer.inlineCallbacks
    def _credit(self, fn, *args):
        # The PPLNS window must see every share up to the block (once per chunk).
        if self.share_writer is not None and not self._flushed:
            yield self.share_writer.flush()
            if not self.share_writer.db_ok:
                raise ShareBacklog("journaled shares are not in the database yet")
            self._flushed = True
        result = yield self.db.run(fn, *args)
        return result


class ShareBacklog(OSError):
    """Crediting must wait: journaled shares or candidates are still on their way."""


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _is_chain_block(block, height, block_hash, count) -> bool:
    return (isinstance(block, dict) and block.get("height") == height and height < count
            and block.get("hash") == block_hash and isinstance(block.get("tx"), list)
            and bool(block["tx"]) and isinstance(block["tx"][0], dict))
