"""A database that really goes away, for outage tests.

SQLite: another connection holds an exclusive lock ("database is locked"),
and the pool's handle waits only 100 ms for it.  PostgreSQL: the pool
reaches the server through a loopback TCP relay; an outage closes the
relay's port and cuts every connection through it (what a server restart
or a network cut looks like to the pool), the end of the outage listens
on the same port again.
"""
import sqlite3
import tempfile

from sqlalchemy.engine import make_url
from twisted.internet import reactor
from twisted.protocols.portforward import ProxyFactory

from gxcpoold.ledger import migrate
from gxcpoold.ledger.db import Database
from tests.ledger.dbtest import new_url


class _Relay(ProxyFactory):
    def __init__(self, host, port):
        super().__init__(host, port)
        self.open = set()

    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        factory = self
        made, lost = protocol.connectionMade, protocol.connectionLost

        def connection_made():
            factory.open.add(protocol)
            made()

        def connection_lost(reason):
            factory.open.discard(protocol)
            lost(reason)
        protocol.connectionMade, protocol.connectionLost = connection_made, connection_lost
        return protocol


class DatabaseOutage:
    """outage = DatabaseOutage(test, backend); outage.db is the pool's handle
    (and outage.direct a handle that never goes through the outage, for checks);
    await outage.start() / await outage.end()."""

    def __init__(self, test, backend):
        self.backend = backend
        url, drop = new_url(backend, tempfile.mkdtemp(prefix="gxcoutage-"))
        if drop is not None:
            test.addCleanup(drop)
        self.direct = Database(url, reactor=reactor)
        test.addCleanup(self.direct.close)
        migrate.upgrade(self.direct.engine)
        self.down = False
        if backend == "sqlite":
            self.db = Database(url, reactor=reactor, engine_kw={"busy_timeout_ms": 100})
            self._lock = None
        else:
            target = make_url(url)
            self._relay = _Relay(target.host or "127.0.0.1", target.port or 5432)
            self._port = reactor.listenTCP(0, self._relay, interface="127.0.0.1")
            self.relay_port = self._port.getHost().port
            relayed = target.set(host="127.0.0.1", port=self.relay_port)
            self.db = Database(relayed.render_as_string(hide_password=False), reactor=reactor,
                               engine_kw={"connect_args": {"connect_timeout": 2}})
            test.addCleanup(lambda: self._port and self._port.stopListening())
        test.addCleanup(self.db.close)
        test.addCleanup(self._release)

    async def start(self):
        self.down = True
        if self.backend == "sqlite":
            raw = sqlite3.connect(make_url(self.direct.url).database, isolation_level=None)
            raw.execute("BEGIN EXCLUSIVE")
            self._lock = raw
            return
        await self._port.stopListening()
        self._port = None
        for protocol in list(self._relay.open):
            protocol.transport.abortConnection()

    async def end(self):
        self.down = False
        if self.backend == "sqlite":
            self._release()
            return
        self._port = reactor.listenTCP(self.relay_port, self._relay, interface="127.0.0.1")

    def _release(self):
        if self.backend == "sqlite" and self._lock is not None:
            self._lock.execute("ROLLBACK")
            self._lock.close()
            self._lock = None
