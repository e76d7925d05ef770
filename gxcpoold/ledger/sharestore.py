"""Writing accepted shares and their statistics in one transaction per batch.

Runs on the database thread.  Miner and worker ids are cached; the cache is
only extended after the transaction that created them has committed.
"""
import math

from sqlalchemy import and_, delete, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from gxcpoold.ledger.schema import miners, shares, stats, workers

SLOT_SECONDS = 60


def dialect_insert(connection, table):
    """INSERT with ON CONFLICT support for the connection's dialect."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class ShareStore:
    def __init__(self):
        self.miner_ids = {}       # address -> id
        self.worker_ids = {}      # (miner_id, name) -> id

    def write(self, connection, records):
        """Insert shares (ShareRecord-like objects).  Returns the new id mappings,
        to be merged with remember() once the transaction has committed."""
        new_miners, new_workers = {}, {}
        first_seen = {}
        for r in records:
            first_seen[r.address] = min(first_seen.get(r.address, r.time), r.time)
        miner_ids = self._miner_ids(connection, first_seen, new_miners)
        last_seen = {}
        for r in records:
            key = (miner_ids[r.address], r.worker)
            last_seen[key] = max(last_seen.get(key, 0.0), r.time)
        worker_ids = self._worker_ids(connection, last_seen, new_workers)
        rows, slots = [], {}
        for r in records:
            miner_id = miner_ids[r.address]
            worker_id = worker_ids[(miner_id, r.worker)]
            rows.append({"time": r.time, "algorithm": r.algorithm, "miner_id": miner_id,
                         "worker_id": worker_id, "difficulty": r.difficulty, "work": r.work,
                         "height": r.height, "hash": r.hash, "is_block": bool(r.is_block),
                         "instance_id": r.instance_id})
            slot = (int(math.floor(r.time / SLOT_SECONDS)) * SLOT_SECONDS, r.algorithm,
                    miner_id, worker_id)
            count, work = slots.get(slot, (0, 0))
            slots[slot] = (count + 1, work + r.work)
        if rows:
            connection.execute(insert(shares), rows)
        self._add_stats(connection, slots)
        return new_miners, new_workers

    def remember(self, mappings):
        new_miners, new_workers = mappings
        self.miner_ids.update(new_miners)
        self.worker_ids.update(new_workers)

    def forget(self):
        self.miner_ids.clear()
        self.worker_ids.clear()

    # -- helpers ------------------------------------------------------------

    def _miner_ids(self, connection, first_seen, new):
        known = {a: self.miner_ids[a] for a in first_seen if a in self.miner_ids}
        missing = sorted(first_seen.keys() - known.keys())
        if missing:
            stmt = dialect_insert(connection, miners).on_conflict_do_nothing(
                index_elements=["address"])
            connection.execute(stmt, [{"address": a, "created_at": first_seen[a]} for a in missing])
            for row in connection.execute(select(miners.c.address, miners.c.id)
                                          .where(miners.c.address.in_(missing))):
                known[row.address] = row.id
                new[row.address] = row.id
        return known

    def _worker_ids(self, connection, last_seen, new):
        known = {k: self.worker_ids[k] for k in last_seen if k in self.worker_ids}
        missing = sorted(last_seen.keys() - known.keys())
        if missing:
            stmt = dialect_insert(connection, workers).on_conflict_do_nothing(
                index_elements=["miner_id", "name"])
            connection.execute(stmt, [{"miner_id": m, "name": n, "last_share_at": last_seen[(m, n)]}
                                      for m, n in missing])
            for chunk in _chunks(missing, 400):
                query = select(workers.c.miner_id, workers.c.name, workers.c.id).where(
                    tuple_(workers.c.miner_id, workers.c.name).in_(chunk))
                for row in connection.execute(query):
                    known[(row.miner_id, row.name)] = row.id
                    new[(row.miner_id, row.name)] = row.id
        seen = [{"wid": known[k], "seen": t} for k, t in last_seen.items()]
        connection.execute(update(workers).where(and_(workers.c.id == _param("wid"),
                                                      workers.c.last_share_at < _param("seen")))
                           .values(last_share_at=_param("seen")), seen)
        return known

    def _add_stats(self, connection, slots):
        if not slots:
            return
        stmt = dialect_insert(connection, stats)
        stmt = stmt.on_conflict_do_update(
            index_elements=["slot", "algorithm", "miner_id", "worker_id"],
            set_={"shares": stats.c.shares + stmt.excluded.shares,
                  "work": stats.c.work + stmt.excluded.work})
        connection.execute(stmt, [
            {"slot": s, "algorithm": a, "miner_id": m, "worker_id": w, "shares": count,
             "work": float(work)}
            for (s, a, m, w), (count, work) in slots.items()])


def prune_stats(connection, older_than: float) -> int:
    return connection.execute(delete(stats).where(stats.c.slot < older_than)).rowcount


def _param(name):
    from sqlalchemy import bindparam
    return bindparam(name)


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]
