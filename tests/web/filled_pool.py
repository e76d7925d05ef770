"""A pool whose ledger an end-to-end run filled: what the web tests read.

fill() runs LivePool with the devnet at difficulty 1 (every 16th hash a
block) and reference miners: two addresses, MINER_A with two workers on two
algorithms (sha256d and gxhash), MINER_B with one sha256d worker.  Payouts
every second above a 1 GXC minimum.  It mines until

  (a) at least MATURE_BLOCKS pool blocks have matured (the devnet's testnet
      coinbase maturity: 6 confirmations; the unlocker checks every second),
  (b) at least one payout to a miner was sent AND found in a block
      (status confirmed: the payout processor saw it in the chain),

then freezes the ledger for the tests: a SIGHUP reload raises the payout
minimum above every balance (so no payout is sent after the miners stop, to
stay unmined for ever; the pool's running minimum is then FROZEN_MINIMUM),
any payout still unfinished is mined first, the miners stop, and the chain and ledger settle (no block in flight, every immature
block's confirmations current).  The pool keeps running for the tests.

Last, the hostile worker: Stratum refuses such names, so it is written into
the workers table directly (with a share and a stats slot, so it shows as an
active worker of MINER_A), the way a name from an older release or another
writer would sit in the database.
"""
import sqlite3
import time
from dataclasses import dataclass, field

from tests.web.livepool import LivePool, Rig

MINER_A = "tGXC" + "a1" * 17
MINER_B = "tGXC" + "b2" * 17
RIGS = (Rig("sha256d", MINER_A, "rig1"), Rig("gxhash", MINER_A, "cpu2"),
        Rig("sha256d", MINER_B, "box"))
ALGORITHMS = ("sha256d", "gxhash")
MATURE_BLOCKS = 3
PAYOUT_MINIMUM = "1"              # GXC; a miner's share of one block is ~16-33 GXC
FILL_TIMEOUT = 120.0
HOSTILE_WORKER = "<script>alert('w')</script>\"&<b>"
UNFINISHED = ("pending", "sent", "unknown")
HOSTILE_WORK = 429497                # a sha256d share of difficulty 0.0001
FROZEN_MINIMUM = "100000"        # GXC; above anything a minute of mining earns


@dataclass
class FilledPool:
    pool: LivePool
    fill_seconds: float = 0.0
    chain_height: int = 0             # getblockcount once settled (blocks 0 .. height-1)
    hostile_worker: str = HOSTILE_WORKER
    miners: tuple = (MINER_A, MINER_B)
    rigs: tuple = RIGS
    timings: dict = field(default_factory=dict)

    def __getattr__(self, name):      # web_url, node(), query(), wait()... of the pool
        if name == "pool":
            raise AttributeError(name)
        return getattr(self.pool, name)


def _count(pool, sql, *args):
    return pool.scalar(sql, *args) or 0


def mature_blocks(pool):
    return _count(pool, "SELECT COUNT(*) FROM blocks WHERE status = 'mature'")


def mined_payouts(pool):
    return _count(pool, "SELECT COUNT(*) FROM payouts WHERE kind = 'payout' "
                        "AND status = 'confirmed'")


def every_rig_shared(pool):
    """Every rig's worker has an accepted share in the ledger.  (Not a block of
    every algorithm: gxhash hashes a few times a second, so at D = 1 its
    candidates mostly come after sha256d's blocks moved the chain on.)"""
    workers = {(r["address"], r["name"]) for r in pool.query(
        "SELECT m.address, w.name FROM workers w JOIN miners m ON m.id = w.miner_id "
        "WHERE EXISTS (SELECT 1 FROM shares s WHERE s.worker_id = w.id)")}
    return workers >= {(r.address, r.worker) for r in RIGS}


def unfinished_payouts(pool):
    return _count(pool, "SELECT COUNT(*) FROM payouts WHERE status IN (%s)"
                  % ",".join("'%s'" % s for s in UNFINISHED))


def settled(pool, last):
    """True once the chain height stayed put since the previous call and the
    ledger caught up with it: no block in flight, immature confirmations current."""
    height = pool.node("getblockcount")
    moving = last.get("height") != height
    last["height"] = height
    if moving:
        return False
    in_flight = _count(pool, "SELECT COUNT(*) FROM blocks WHERE status IN "
                             "('candidate', 'submitted') OR (credited = 0 AND status "
                             "NOT IN ('rejected', 'orphaned'))")
    stale = _count(pool, "SELECT COUNT(*) FROM blocks WHERE status IN ('accepted', 'immature') "
                         "AND confirmations != ? - height", height)
    return in_flight == 0 and stale == 0


def plant_hostile_worker(pool, name=HOSTILE_WORKER, address=MINER_A):
    """A worker row Stratum would refuse, with one share and a stats slot in
    the previous minute: a complete slot, so the read model's windows (which
    count complete minutes) show work however short the fill was."""
    now = time.time()
    slot = int(now // 60) * 60 - 60
    db = sqlite3.connect(pool.db_path, timeout=30)
    try:
        with db:
            miner_id = db.execute("SELECT id FROM miners WHERE address = ?",
                                  (address,)).fetchone()[0]
            worker_id = db.execute("INSERT INTO workers (miner_id, name, last_share_at) "
                                   "VALUES (?, ?, ?)", (miner_id, name, slot + 30.0)).lastrowid
            height = db.execute("SELECT MAX(height) FROM shares").fetchone()[0] or 0
            db.execute("INSERT INTO shares (time, algorithm, miner_id, worker_id, difficulty, "
                       "work, height, hash, is_block, instance_id) VALUES "
                       "(?, 'sha256d', ?, ?, 0.0001, ?, ?, ?, 0, 0)",
                       (slot + 30.0, miner_id, worker_id, str(HOSTILE_WORK), height,
                        "ff" * 32))
            db.execute("INSERT INTO stats (slot, algorithm, miner_id, worker_id, shares, work) "
                       "VALUES (?, 'sha256d', ?, ?, 1, ?)",
                       (slot, miner_id, worker_id, float(HOSTILE_WORK)))
    finally:
        db.close()


def fill(timeout=FILL_TIMEOUT) -> FilledPool:
    """Start the pool, mine, freeze; the caller closes .pool."""
    started = time.monotonic()
    pool = LivePool(ALGORITHMS, difficulty=1.0, miners=RIGS,
                    payouts={"interval": 1.0, "minimum": PAYOUT_MINIMUM},
                    # the API tests send X-Forwarded-For from loopback to stand for many
                    # clients (one rate-limit bucket each); the 429 test keeps one
                    config={"web": {"trusted_proxies": ["127.0.0.1"]},
                            # vardiff aiming at 2 shares/s keeps sha256d's share (and so
                            # block) rate up on a busy machine; the default 20/min lets a
                            # loaded CPU go seconds without a block
                            "stratum.sha256d": {"shares_per_minute": 120.0},
                            # gxhash hashes a few times a second here: a share every
                            # 2 hashes (its block is 16) shows the worker within a second
                            "stratum.gxhash": {"start_difficulty": 2.0}})
    filled = FilledPool(pool)
    deadline = started + timeout

    def left():
        return max(1.0, deadline - time.monotonic())

    try:
        pool.start()
        filled.timings["started"] = time.monotonic() - started
        goals = {"mature_blocks": lambda: mature_blocks(pool) >= MATURE_BLOCKS,
                 "mined_payout": lambda: mined_payouts(pool) >= 1,
                 "every_rig": lambda: every_rig_shared(pool)}

        def reached():
            for name, goal in goals.items():      # when each was first seen, for the report
                if name not in filled.timings and goal():
                    filled.timings[name] = time.monotonic() - started
            return all(name in filled.timings for name in goals)

        pool.wait(reached,
                  "%d mature blocks, a mined payout and a share of every rig"
                  % MATURE_BLOCKS, left())
        filled.timings["mined"] = time.monotonic() - started
        # Freeze the payouts: a minimum above every balance (SIGHUP) sends nothing
        # more, while the rounds (every second) still find in the chain what the
        # miners mine of the payouts already sent.
        pool.reload("payouts", minimum=FROZEN_MINIMUM)
        pool.wait(lambda: not unfinished_payouts(pool), "every sent payout mined", left())
        pool.stop_miners()
        last = {}
        pool.wait(lambda: settled(pool, last), "the chain and ledger settled", left(),
                  pause=1.0)
        filled.chain_height = last["height"]
        plant_hostile_worker(pool)
        filled.fill_seconds = time.monotonic() - started
    except BaseException:
        pool.close()
        raise
    return filled
