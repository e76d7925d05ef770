"""A live pool for the web tests: `twistd --nodaemon --pidfile= gxcpool --devnet
--config <file>` on spare loopback ports (each enabled Stratum port, the web
endpoint and the devnet node), its state (SQLite ledger, configuration) in a
temporary directory removed afterwards, and optional reference miners
(`gxcpool-miner` processes) on its ports.

    with LivePool(algorithms=("sha256d", "gxhash"), miners=[
            Rig("sha256d", ADDRESS_A, "rig1"), Rig("gxhash", ADDRESS_B, "cpu")],
            payouts={"interval": 1.0, "minimum": "1"}) as pool:
        pool.wait(lambda: pool.node("getblockcount") > 5, "five blocks", 60)
        requests.get(pool.web_url + "api/stats")

Everything started is stopped with SIGTERM (SIGKILL after a timeout) when
the block ends, whether or not a test failed.  The process machinery
(Child, free_port, node_call, MINER) is bench/d1_flood.py's, the twistd
command line tests/test_twistd.py's, and the D = 1 start difficulties
tests/e2e_pool.py's.
"""
import json
import os
import shutil
import signal
import sqlite3
import tempfile
import time
from dataclasses import dataclass

from bench.d1_flood import MINER, Child, free_port, node_call
from tests.e2e_pool import BAD_LINES, D1_START_DIFFICULTY
from tests.test_twistd import TWISTD

ALL_ALGORITHMS = ("sha256d", "ethash", "gxhash")
LOOPBACK = "tcp:%d:interface=127.0.0.1"
LOG_TAIL = 8000               # characters of the pool's log quoted in a failure


@dataclass(frozen=True)
class Rig:
    """One reference miner process: `gxcpool-miner -a algorithm -u address.worker`."""
    algorithm: str
    address: str
    worker: str = "rig"
    threads: int = 1
    args: tuple = ()


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)           # a TOML basic string for plain text
    if isinstance(value, (list, tuple)):
        return "[%s]" % ", ".join(toml_value(v) for v in value)
    raise TypeError("no TOML form for %r" % (value,))


def render_toml(sections: dict) -> str:
    lines = []
    for section, keys in sections.items():
        lines.append("[%s]" % section)
        lines += ["%s = %s" % (key, toml_value(value)) for key, value in keys.items()]
    return "\n".join(lines) + "\n"


class LivePool:
    """The daemon and its miners as subprocesses; see the module docstring.

    algorithms: Stratum ports to enable (the others are disabled);
    difficulty: the devnet's block difficulty (1.0: every 16th hash a block);
    miners: Rig()s started once the pool listens;
    payouts: [payouts] keys (interval, minimum, unlock_interval, ...);
    maturity: the devnet's coinbase maturity (None: the network's, 6 on testnet),
      which the pool's unlocker follows;
    config: {section: {key: value}} merged over the defaults below;
    extra_toml: raw TOML appended (sections not otherwise written).
    """

    def __init__(self, algorithms=("sha256d",), *, difficulty=1.0, miners=(), payouts=None,
                 maturity=None, config=None, extra_toml="", start_timeout=60.0):
        unknown = set(algorithms) - set(ALL_ALGORITHMS)
        if unknown:
            raise ValueError("unknown algorithms %s" % sorted(unknown))
        self.algorithms = tuple(algorithms)
        self.rigs = list(miners)
        self.start_timeout = start_timeout
        self.state = tempfile.mkdtemp(prefix="gxcpool-web-")
        self.ports = {name: free_port() for name in self.algorithms + ("web", "node")}
        self.config_path = os.path.join(self.state, "gxcpool.toml")
        self.db_path = os.path.join(self.state, "gxcpool.sqlite3")
        self.sections = self._sections(difficulty, payouts, maturity)
        for section, keys in (config or {}).items():
            self.sections.setdefault(section, {}).update(keys)
        self.extra_toml = extra_toml
        self.pool = None
        self.miners = []          # Child per running Rig

    # -- configuration --------------------------------------------------------------

    def _sections(self, difficulty, payouts, maturity):
        sections = {"pool": {"state_dir": self.state}}
        for name in ALL_ALGORITHMS:
            if name in self.algorithms:
                stratum = {"endpoint": LOOPBACK % self.ports[name]}
                if difficulty <= 1.0 and name in D1_START_DIFFICULTY:
                    stratum["start_difficulty"] = D1_START_DIFFICULTY[name]
            else:
                stratum = {"enabled": False}
            sections["stratum.%s" % name] = stratum
        sections["payouts"] = {"unlock_interval": 1.0, **(payouts or {})}
        sections["web"] = {"endpoint": LOOPBACK % self.ports["web"]}
        devnet = {"enabled": True, "endpoint": LOOPBACK % self.ports["node"],
                  "difficulty": float(difficulty), "demo_miner_threads": 0}
        if maturity is not None:
            devnet["maturity"] = int(maturity)
        sections["devnet"] = devnet
        return sections

    def write_config(self):
        with open(self.config_path, "w") as f:
            f.write(render_toml(self.sections) + self.extra_toml)

    def reload(self, section, timeout=20.0, **keys):
        """Change [section] keys and SIGHUP the pool; returns once it logged the reload."""
        self.sections.setdefault(section, {}).update(keys)
        self.write_config()
        mark = self.log_mark()
        self.pool.proc.send_signal(signal.SIGHUP)
        self.wait_for_log("configuration reloaded from", timeout=timeout, after=mark)

    # -- life -----------------------------------------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        self.write_config()
        self.pool = Child(TWISTD + ["--nodaemon", "--pidfile=", "gxcpool", "--devnet",
                                    "--config", self.config_path], self.state, keep=None,
                          watch=BAD_LINES)
        for name in self.algorithms:
            self.wait_for_log("%s stratum listening on" % name, self.start_timeout)
        self.wait_for_log("dashboard and API on http", self.start_timeout)
        self.wait_for_log("new template height=1 ", self.start_timeout)
        self.wait(self._ledger_ready, "the ledger's tables", self.start_timeout)
        self.start_miners()
        return self

    def _ledger_ready(self):
        try:
            return self.scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' "
                               "AND name IN ('blocks', 'payouts', 'shares', 'workers')") == 4
        except sqlite3.Error:           # not created yet
            return False

    def start_miners(self, rigs=None):
        for rig in self.rigs if rigs is None else rigs:
            url = "stratum+tcp://127.0.0.1:%d" % self.ports[rig.algorithm]
            self.miners.append(Child(MINER + ["-a", rig.algorithm, "-o", url,
                                              "-u", "%s.%s" % (rig.address, rig.worker),
                                              "-t", str(rig.threads), "--report-interval", "2"]
                                     + list(rig.args), self.state, keep=500))

    def stop_miners(self, timeout=15.0):
        miners, self.miners = self.miners, []
        for child in miners:
            if child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        for child in miners:
            child.stop(signal.SIGTERM, timeout=timeout)      # SIGKILL after the timeout

    def close(self, timeout=15.0):
        """Stop the miners, then the pool (SIGTERM, SIGKILL after timeout); remove the state."""
        try:
            self.stop_miners(timeout)
        finally:
            if self.pool is not None and self.pool.proc.poll() is None:
                self.pool.stop(signal.SIGTERM, timeout=timeout)
            shutil.rmtree(self.state, ignore_errors=True)

    # -- what tests use -------------------------------------------------------------

    @property
    def web_url(self) -> str:
        return "http://127.0.0.1:%d/" % self.ports["web"]

    def stratum_port(self, algorithm) -> int:
        return self.ports[algorithm]

    def node(self, method, *params):
        """One JSON-RPC call to the devnet node."""
        return node_call(self.ports["node"], method, *params)

    def query(self, sql, *args):
        """Rows (dicts) of a read-only query on the pool's SQLite ledger."""
        db = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=10)
        db.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in db.execute(sql, args)]
        finally:
            db.close()

    def scalar(self, sql, *args):
        rows = self.query(sql, *args)
        return next(iter(rows[0].values())) if rows else None

    def log(self) -> str:
        return self.pool.output() if self.pool is not None else ""

    def log_tail(self, chars=LOG_TAIL) -> str:
        return self.log()[-chars:]

    def log_mark(self) -> int:
        """A position in the pool's log, for wait_for_log(after=...)."""
        return len(self.pool.lines)

    def wait_for_log(self, text, timeout=30.0, after=0):
        """Until a pool log line (from position `after` on) contains text."""
        self.wait(lambda: any(text in line for line in list(self.pool.lines)[after:]),
                  "%r in the pool's log" % text, timeout)

    def wait(self, predicate, what, timeout=30.0, pause=0.2):
        """Poll predicate() until it is true; AssertionError with the pool's log tail
        when the deadline passes or the pool exits."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            exited = self.pool is not None and self.pool.proc.poll() is not None
            if exited or time.monotonic() > deadline:
                raise AssertionError("%s: not %s within %.0f s\n--- pool log:\n%s%s" % (
                    "the pool exited (%s)" % self.pool.proc.returncode if exited
                    else "timed out", what, timeout, self.log_tail(), self._miner_tails()))
            time.sleep(pause)

    def _miner_tails(self):
        return "".join("\n--- miner %d:\n%s" % (i, m.output()[-1500:])
                       for i, m in enumerate(self.miners))
