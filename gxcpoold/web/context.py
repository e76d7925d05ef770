"""WebContext: everything a web handler may read, and nothing it may change.

The web is a read-only face: handlers read the ledger through the read
model's own connections (ledger/queries.py via ReadDatabase.read), the live
state of the node and the Stratum ports from their objects, and events from
the hub.  No handler writes to the database or calls an admin action.
"""
from dataclasses import dataclass, field


@dataclass
class WebContext:
    config: object                 # gxcpoold.config.Config
    reads: object                  # gxcpoold.ledger.db.ReadDatabase: reads.read(fn, *args)
    events: object                 # gxcpoold.events.EventHub
    clock: object                  # the reactor (seconds(), callLater)
    node: object = None            # gxcpoold.node.service.NodeService
    ledger: object = None          # gxcpoold.ledger.service.LedgerService
    ports: dict = field(default_factory=dict)   # algorithm name -> StratumService
    submitter: object = None       # gxcpoold.node.submitter.BlockSubmitter
    started_at: float = 0.0
    on_stop: list = field(default_factory=list)   # callables run when the web stops
    cache: object = None           # gxcpoold.web.cache.ReadCache (set in __post_init__)
    event_streams: object = None   # gxcpoold.web.sse.EventStreams (set by sse.add_routes)

    def __post_init__(self):
        from gxcpoold.web.cache import ReadCache
        if self.cache is None:
            self.cache = ReadCache(self)

    def cached(self, fn, *args, ttl=None):
        """Like read(), answered from a cache of a few seconds (gxcpoold/web/cache.py)."""
        return self.cache.read(fn, *args, ttl=ttl)

    def read(self, fn, *args, **kw):
        """fn(connection, *args, **kw) on the read pool: a Deferred."""
        return self.reads.read(fn, *args, **kw)

    @property
    def pool_name(self) -> str:
        return self.config.pool.name

    @property
    def network(self) -> str:
        return self.config.pool.network
