"""Configuration: TOML file, environment overrides, typed and validated.

Precedence, lowest first: built-in defaults, the TOML file, environment
variables, twistd command-line options.  Every key of every section can be
set from the environment as GXCPOOL_<SECTION>_<KEY> (GXCPOOL_NODE_TIMEOUT,
GXCPOOL_STRATUM_ETHASH_ENDPOINT, ...); the seed guide's short names
(POOL_ADDRESS, BLOCKCHAIN_NODE_URL, ...) are kept as aliases.

Any mistake raises ConfigError whose message is one line naming the key, so
start-up stops with something an operator can act on.
"""
import dataclasses
import math
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlsplit

from gxcpoold.addresses import NETWORKS, AddressError, check_address
from gxcpoold.algorithms import ALGORITHMS, module as algorithm_module
from gxcpoold.amounts import AmountError, gxc_to_base_units
from gxcpoold.devnet.settings import DevNodeSettings
from gxcpoold.redact import redact
from gxcpoold.stratum.extranonce import instance_bits

DEFAULT_CONFIG_PATH = Path("/etc/gxcpool/gxcpool.toml")
PACKAGED_STATE_DIR = Path("/var/lib/gxcpool")
CHECKOUT_STATE_DIR = Path("gxcpool-data")


class ConfigError(ValueError):
    """Invalid configuration; the message names the key and says what is wrong."""


# ---------------------------------------------------------------- value parsers
# A field's metadata may name a parser: it receives the raw TOML/env value and
# returns the typed value or raises ValueError with the reason.

def fee_text(fee) -> str:
    """A fee of whole 1e-8 as its shortest exact decimal: Fraction(1, 200) -> "0.005"."""
    units = Fraction(fee) * 10**8
    if units.denominator != 1:
        raise ValueError("a fee is a whole number of 1e-8, not %r" % (fee,))
    whole, frac = divmod(int(units), 10**8)
    return ("%d.%08d" % (whole, frac)).rstrip("0").rstrip(".")


def parse_fee(value, below=Fraction(1)) -> Fraction:
    """A fee as an exact fraction of a reward: at most 8 decimals, 0 <= fee < below.
    The pool fee, fee tiers and an address's own fee (gxcpool-admin fee set) all
    go through here, so every fee is a whole number of 1e-8."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("must be a number such as 0.01 (1 %)")
    try:
        fee = Fraction(gxc_to_base_units(value), 10**8)
    except AmountError as e:
        raise ValueError(str(e)) from None
    if not 0 <= fee < below:
        limit = fee_text(below)
        raise ValueError("must be at least 0 and below %s (it is a fraction: 0.01 = 1 %%)"
                         % limit)
    return fee


def _fee(value) -> Fraction:
    """The pool fee, 0 <= fee < 0.5."""
    return parse_fee(value, Fraction(1, 2))


@dataclass(frozen=True, repr=False)
class FeeTier:
    """[[pool.fee_tiers]]: miners whose average accepted hashrate over the 24 h
    before a block is at least min_hashrate (expected hashes/s) may pay `fee`."""
    min_hashrate: float
    fee: Fraction

    def __repr__(self):
        # how reload logs and the file show it: {min_hashrate = 1e9, fee = 0.008}
        return "{min_hashrate = %r, fee = %s}" % (self.min_hashrate, fee_text(self.fee))


def _fee_tiers(value) -> tuple:
    """[[pool.fee_tiers]] tables -> (FeeTier, ...) in the file's order."""
    if isinstance(value, str):
        raise ValueError("set fee tiers as [[pool.fee_tiers]] tables in the configuration file "
                         "(the environment cannot set them)")
    if not isinstance(value, (list, tuple)):
        raise ValueError("must be [[pool.fee_tiers]] tables, each with min_hashrate and fee")
    tiers = []
    for number, table in enumerate(value, 1):
        if not isinstance(table, dict):
            raise ValueError("tier %d must be a table with min_hashrate and fee" % number)
        unknown = sorted(set(table) - {"min_hashrate", "fee"})
        if unknown:
            raise ValueError("tier %d: unknown key %s (known: fee, min_hashrate)"
                             % (number, unknown[0]))
        for key in ("min_hashrate", "fee"):
            if key not in table:
                raise ValueError("tier %d: %s is missing" % (number, key))
        rate = table["min_hashrate"]
        if (isinstance(rate, bool) or not isinstance(rate, (int, float))
                or not math.isfinite(rate) or rate <= 0):
            raise ValueError("tier %d: min_hashrate = %r: must be a positive number of "
                             "hashes per second" % (number, rate))
        try:
            fee = parse_fee(table["fee"])
        except ValueError as e:
            raise ValueError("tier %d: fee = %r: %s" % (number, table["fee"], e)) from None
        tiers.append(FeeTier(min_hashrate=float(rate), fee=fee))
    return tuple(tiers)


def _gxc_amount(value) -> int:
    """An amount of GXC, to base units; at most 8 decimals, positive."""
    if isinstance(value, bool):
        raise ValueError("must be an amount of GXC")
    try:
        units = gxc_to_base_units(value)
    except AmountError as e:
        raise ValueError(str(e)) from None
    if units <= 0:
        raise ValueError("must be more than 0")
    return units


def _endpoint(value) -> str:
    """A Twisted server endpoint description such as tcp:3333 or tcp:3333:interface=127.0.0.1."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be an endpoint string such as \"tcp:3333\"")
    from twisted.internet import reactor
    from twisted.internet.endpoints import serverFromString
    try:
        serverFromString(reactor, value)
    except Exception as e:  # the parser raises several types for bad strings
        raise ValueError("cannot parse endpoint %r: %s" % (value, e)) from None
    return value


def _node_url(value) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a URL such as \"http://127.0.0.1:18332\"")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as e:
        raise ValueError("cannot parse URL %r: %s" % (value, e)) from None
    if parts.scheme != "http" or not parts.hostname or port is None:
        raise ValueError("must be http://HOST:PORT (the GXC node speaks plain HTTP), got %r"
                         % (value,))
    return value


DATABASE_BACKENDS = ("sqlite", "postgresql")


def database_url_error(url):
    """Why gxcpool cannot use this database URL, or None.

    Checked at start-up and by gxcpool-admin, so a typo is one line instead of
    a traceback from deep inside SQLAlchemy.  The reason never repeats the URL
    (it may hold a password)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    hint = "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DATABASE"
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "not a database URL (%s)" % hint
    if parsed.get_backend_name() not in DATABASE_BACKENDS:
        return "unsupported database %r (%s)" % (parsed.get_backend_name(), hint)
    try:
        parsed.get_dialect().import_dbapi()
    except ArgumentError:
        return "unknown driver %r (%s)" % (parsed.get_driver_name(), hint)
    except ImportError as e:
        return "the database driver is not installed (%s)" % e
    return None


def _database_url(value) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a database URL such as "
                         "\"postgresql+psycopg://pool@db/gxcpool\"")
    if value:
        error = database_url_error(value)
        if error is not None:
            raise ValueError(error)
    return value


def _choice(*allowed):
    def parse(value):
        if value not in allowed:
            raise ValueError("must be one of %s" % ", ".join(repr(a) for a in allowed))
        return value
    return parse


def _port_endpoint(value) -> str:
    """The seed guide's *_PORT variables: a bare port number becomes tcp:PORT."""
    text = str(value).strip()
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError("must be a TCP port number, 1-65535")
    return "tcp:%s" % text


def _address_list(value) -> tuple:
    """IP addresses: a TOML list, or comma-separated text (environment)."""
    import ipaddress
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ValueError("must be a list of IP addresses")
    found = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        try:
            found.append(str(ipaddress.ip_address(text)))
        except ValueError:
            raise ValueError("%r is not an IP address" % text[:64]) from None
    return tuple(found)


def _positive(kind):
    def parse(value):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError("must be a positive number")
        try:
            number = kind(value)
        except ValueError:
            raise ValueError("must be a positive number") from None
        if not math.isfinite(number) or number <= 0:
            raise ValueError("must be a positive number")
        return number
    return parse


def _webhook_urls(value) -> tuple:
    """[alerts] webhooks: http(s) URLs; a TOML list, or comma-separated text (environment)."""
    import importlib.util
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ValueError("must be a list of http:// or https:// URLs")
    urls = []
    for number, item in enumerate(items, 1):
        text = item.strip() if isinstance(item, str) else item
        if text == "":
            continue
        try:
            parts = urlsplit(text) if isinstance(text, str) else None
            parts and parts.port
        except ValueError:
            parts = None
        # the reason never repeats the URL: a webhook URL often is a secret token
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("webhook %d is not an http:// or https:// URL with a host" % number)
        if parts.scheme == "https" and importlib.util.find_spec("OpenSSL") is None:
            raise ValueError("webhook %d is https://, which needs Twisted's TLS support "
                             "(pip install 'twisted[tls]')" % number)
        urls.append(text)
    return tuple(urls)


def _alert_kinds(value) -> tuple:
    """[alerts] kinds: alert kinds to send (gxcpoold/alerts/kinds.py); empty = all."""
    from gxcpoold.alerts.kinds import KINDS
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ValueError("must be a list of alert kinds")
    kinds = tuple(str(item).strip() for item in items if str(item).strip())
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError("unknown alert kind %r (kinds: %s)" % (kind[:64], ", ".join(KINDS)))
    return kinds


def _parsed(parser, **kw):
    return field(metadata={"parse": parser}, **kw)


# ---------------------------------------------------------------- sections

@dataclass(frozen=True)
class PoolSettings:
    name: str = "gxcpool"
    # Receives block rewards and pays miners; must be the node wallet's address
    # (getnewaddress).  Empty: ask the node at start-up.
    address: str = ""
    network: str = _parsed(_choice(*NETWORKS), default="testnet")
    fee: Fraction = _parsed(_fee, default=Fraction(1, 100))
    # Volume discounts (gxcpoold/ledger/fees.py): [[pool.fee_tiers]] tables.
    fee_tiers: tuple = _parsed(_fee_tiers, default=())
    # Miner addresses: "strict" = node-generated form only, "lenient" = any the node accepts.
    miner_address_check: str = _parsed(_choice("strict", "lenient"), default="strict")
    # Empty: $STATE_DIRECTORY (systemd), else ./gxcpool-data in a checkout, else /var/lib/gxcpool.
    state_dir: str = ""


@dataclass(frozen=True)
class NodeSettings:
    url: str = _parsed(_node_url, default="http://127.0.0.1:18332")
    timeout: float = 10.0             # seconds for one RPC exchange
    retries: int = 3                  # extra attempts after a transport error
    retry_backoff: float = 0.25       # first pause between attempts; doubles each time
    tip_poll_interval: float = 0.5    # getbestblockhash poll (cheap)
    template_refresh: float = 5.0     # full getblocktemplate even if the tip is unchanged
    slow_after: float = 2.0           # an answer slower than this makes the node "lagging"
    down_after_failures: int = 3      # consecutive failed polls before the node is "down"
    max_request_bytes: int = 8000     # the node reads one segment of at most 8191 bytes
    max_in_flight: int = 1            # node calls at once (the node crashed with concurrent submits)
    queue_limit: int = 64             # calls waiting; when full the least urgent fails at once


@dataclass(frozen=True)
class StratumSettings:
    endpoint: str = _parsed(_endpoint, default="tcp:3333")
    enabled: bool = True
    start_difficulty: float = 1.0
    min_difficulty: float = 0.0001
    max_difficulty: float = 1e12
    shares_per_minute: float = 20.0   # vardiff aim
    retarget_interval: float = 30.0   # seconds between vardiff decisions
    extranonce2_size: int = 4         # bytes the miner rolls (4-8)
    max_line_bytes: int = 16384       # a longer request line closes the connection
    requests_per_second: float = 50.0  # per connection; faster clients are slowed down
    idle_timeout: float = 30.0        # seconds to subscribe and authorize before being dropped
    max_connections_per_ip: int = 256
    ban_seconds: float = 600.0        # how long an abusive IP is refused
    line_timeout: float = 60.0        # seconds an unfinished request line may wait for its newline
    listen_backlog: int = 1024        # connections the kernel queues while accepts catch up
    # Slow hashes (ethash, gxhash) are checked in a bounded thread pool; sha256d ignores these.
    verify_threads: int = 0           # hashing threads; 0 = number of cores
    verify_queue: int = 0             # hashes queued or running; 0 = 4 x verify_threads
    max_checks_per_connection: int = 4  # one connection's shares in checking; beyond: Busy, slowed
    verify_niceness: int = 10         # hashing threads' nice value above the reactor's (0-19)
    # ethash only: "full" builds the DAG in the background and uses it once ready;
    # "light" checks every share with the light cache (small pools, tests).
    dag_mode: str = _parsed(_choice("full", "light"), default="full")


def stratum_defaults(algorithm, devnet=False):
    """[stratum.<algorithm>] defaults: the algorithm module's own (its
    difficulty units, port and share rate) over the common ones, and with
    --devnet its DEVNET_STRATUM_DEFAULTS over those (a laptop-sized demo:
    no 1 GiB ethash DAG, difficulties one CPU thread can meet)."""
    algo = algorithm_module(algorithm)
    values = dict(algo.STRATUM_DEFAULTS)
    if devnet:
        values.update(getattr(algo, "DEVNET_STRATUM_DEFAULTS", {}))
    return dataclasses.replace(StratumSettings(), **values)


@dataclass(frozen=True)
class DatabaseSettings:
    # Empty: SQLite (WAL) in the state directory.  PostgreSQL: postgresql+psycopg://user@host/db
    url: str = _parsed(_database_url, default="")
    share_batch_size: int = 5000      # shares per transaction
    share_flush_interval: float = 1.0  # seconds between share writes
    stats_retention_days: float = 7.0  # hashrate statistics older than this are deleted


@dataclass(frozen=True)
class PayoutSettings:
    scheme: str = _parsed(_choice("pplns", "prop", "solo"), default="pplns")
    pplns_window: float = 2.0         # N: the window is N x network work per block
    pplns_min_shares: int = 1000      # ... and never fewer than this many shares
    interval: float = 600.0           # seconds between payout rounds
    minimum: int = _parsed(_gxc_amount, default=10_000_000)   # MIN_PAYOUT in GXC; default 0.1
    # Ledger account of the pool fee and rounding remainders: "@name" stays in
    # the node wallet (never paid); an address is paid like a miner.
    fee_account: str = "@pool-fee"
    maturity: int = 0                 # confirmations before credits mature; 0 = the network's
    unlock_interval: float = 30.0     # seconds between block confirmation checks
    mempool_expiry: float = 3600.0    # the node drops an unmined transaction after this
    # Share pruning (gxcpoold/ledger/pruning.py): every share_prune_interval
    # seconds (0 = never), shares no reward can still need are deleted.
    share_prune_interval: float = 3600.0
    share_min_age_hours: float = 48.0   # never delete a share younger than this
    share_window_margin: int = 4        # kept windows = this x N x network work


@dataclass(frozen=True)
class WebSettings:
    endpoint: str = _parsed(_endpoint, default="tcp:5000")
    enabled: bool = True
    # Host name shown in the "getting started" miner command lines; empty =
    # the host name the visitor's browser used.
    public_host: str = ""
    # Per-IP token bucket on /api/ and /metrics: sustained requests per
    # second and burst; beyond it 429 with Retry-After.
    api_rate: float = _parsed(_positive(float), default=20.0)
    api_burst: int = _parsed(_positive(int), default=60)
    # Seconds between the live hashrate figures sent on /api/events.
    live_interval: float = _parsed(_positive(float), default=5.0)
    # Server-Sent Events streams held open at once (each is one socket).
    max_event_streams: int = _parsed(_positive(int), default=1000)
    # Peers whose X-Forwarded-For names the client (a reverse proxy such as
    # nginx on this host); others' header is ignored.
    trusted_proxies: tuple = _parsed(_address_list, default=())


@dataclass(frozen=True)
class ClusterSettings:
    instance_id: int = 0              # 0-255, carried in the top byte of extranonce1


@dataclass(frozen=True)
class DevnetSettings:
    """The embedded devnet node, started by --devnet (or enabled = true)."""
    enabled: bool = False
    endpoint: str = _parsed(_endpoint, default="tcp:18332:interface=127.0.0.1")
    # Reference-miner threads the pool runs against its own sha256d port with
    # the devnet, so shares and blocks appear at once; 0 = none.
    demo_miner_threads: int = 1
    # The node simulator's own knobs (DevNodeSettings) are read from the same table.
    node: DevNodeSettings = field(default_factory=DevNodeSettings, metadata={"nested": True})


@dataclass(frozen=True)
class AlertSettings:
    """Webhook alerts (gxcpoold/alerts/, docs/alerts.md); off while webhooks is empty."""
    webhooks: tuple = _parsed(_webhook_urls, default=())
    timeout: float = _parsed(_positive(float), default=10.0)   # seconds per attempt
    retries: int = 3                  # further attempts after a failed one
    retry_backoff: float = _parsed(_positive(float), default=2.0)   # first pause; doubles
    queue_size: int = _parsed(_positive(int), default=100)   # alerts waiting per webhook
    min_severity: str = _parsed(_choice("info", "warning", "error", "critical"), default="info")
    kinds: tuple = _parsed(_alert_kinds, default=())   # empty = every kind
    secret: str = ""                  # HMAC-SHA256 key for X-Gxcpool-Signature; empty = none
    check_interval: float = _parsed(_positive(float), default=5.0)
    node_down_after: float = 120.0
    node_lagging_after: float = 600.0
    payout_stuck_after: float = 1800.0


@dataclass(frozen=True)
class Config:
    pool: PoolSettings
    node: NodeSettings
    stratum: dict          # algorithm -> StratumSettings
    database: DatabaseSettings
    payouts: PayoutSettings
    web: WebSettings
    cluster: ClusterSettings
    devnet: DevnetSettings
    state_dir: Path        # resolved
    database_url: str      # resolved
    source: str            # where the file came from, for the start-up log line
    alerts: AlertSettings = field(default_factory=AlertSettings)


# The demo chain: every 16**6 (16.7 M) hashes a block, a few seconds of the
# reference CPU miner, so a newcomer sees blocks at once without the chain
# racing (testnet's real 1.0 would make every 16th hash a block).
DEVNET_DEMO_DIFFICULTY = 6.0
DEVNET_STATE_FILE = "devnode.json"     # in the state directory, unless [devnet] state_file says

# Seed-guide environment names.
ENV_ALIASES = {
    "POOL_NAME": ("pool", "name", None),
    "POOL_ADDRESS": ("pool", "address", None),
    "POOL_FEE": ("pool", "fee", None),
    "BLOCKCHAIN_NODE_URL": ("node", "url", None),
    "MIN_PAYOUT": ("payouts", "minimum", None),
    "STRATUM_PORT": ("stratum.sha256d", "endpoint", _port_endpoint),
    "DASHBOARD_PORT": ("web", "endpoint", _port_endpoint),
}
ENV_PREFIX = "GXCPOOL_"
ENV_CONFIG_PATH = "GXCPOOL_CONFIG"
# Read by the log observer (gxcpoold.logs), not by this module.
ENV_LOG_LEVEL = "GXCPOOL_LOG_LEVEL"


# ---------------------------------------------------------------- generic reading

def _base_type(annotation):
    """The type a plain annotation stands for: int | None -> int."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0], True
    return annotation, False


def _convert(value, annotation, from_env):
    """Check or coerce one value to a field's plain type."""
    kind, optional = _base_type(annotation)
    if from_env and isinstance(value, str):
        text = value.strip()
        if optional and text.lower() in ("", "none", "null"):
            return None
        if kind is bool:
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError("must be true or false")
        if kind in (int, float):
            try:
                value = kind(text)
            except ValueError:
                raise ValueError("must be a number") from None
            if kind is float and not math.isfinite(value):
                raise ValueError("must be a finite number")
            return value
        return text
    if value is None and optional:
        return None
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("must be a number")
        if not math.isfinite(value):           # TOML has inf and nan literals
            raise ValueError("must be a finite number")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise ValueError("must be text")
        return value
    raise ValueError("cannot be set here")


def _value_fields(cls):
    """Fields read from a TOML table (a nested settings object is read on its own)."""
    return {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("nested")}


def _read_fields(section, cls, layers, defaults=None):
    """Build cls from layers of raw values, lowest precedence first.

    Each layer maps a key to (raw value, env parser or None, from_env).
    Unknown keys are the caller's concern.
    """
    hints = typing.get_type_hints(cls)
    values = {}
    for name, f in _value_fields(cls).items():
        for layer in layers:
            if name not in layer:
                continue
            raw, env_parser, from_env = layer[name]
            try:
                if env_parser is not None:
                    raw = env_parser(raw)
                parser = f.metadata.get("parse")
                if parser is not None:
                    values[name] = parser(raw)
                else:
                    values[name] = _convert(raw, hints[name], from_env)
            except ValueError as e:
                where = "environment " if from_env else ""
                raise ConfigError("%s[%s] %s = %s: %s" % (where, section, name, redact(repr(raw)),
                                                         e)) from None
    base = defaults if defaults is not None else cls()
    return dataclasses.replace(base, **values)


def _plain_layer(table):
    return {key: (value, None, False) for key, value in table.items()}


def _env_for(section, cls, environ):
    """Environment overrides for one section: GXCPOOL_<SECTION>_<KEY> plus aliases."""
    env = {}
    stem = ENV_PREFIX + section.replace(".", "_").upper() + "_"
    for name in _value_fields(cls):
        var = stem + name.upper()
        if var in environ:
            env[name] = (environ[var], None, True)
    for var, (alias_section, key, parser) in ENV_ALIASES.items():
        if alias_section == section and var in environ:
            env[key] = (environ[var], parser, True)
    return env


def _known_env_names(sections):
    names = {ENV_CONFIG_PATH, ENV_LOG_LEVEL}
    for section, cls in sections:
        stem = ENV_PREFIX + section.replace(".", "_").upper() + "_"
        names.update(stem + name.upper() for name in _value_fields(cls))
    return names


def _sections():
    """(section name, settings class) for every table the file may have."""
    sections = [("pool", PoolSettings), ("node", NodeSettings)]
    sections += [("stratum." + a, StratumSettings) for a in ALGORITHMS]
    sections += [("database", DatabaseSettings), ("payouts", PayoutSettings),
                 ("web", WebSettings), ("cluster", ClusterSettings),
                 ("devnet", DevnetSettings), ("devnet", DevNodeSettings),
                 ("alerts", AlertSettings)]
    return sections


def _table(data, section):
    """The TOML table for a dotted section name, {} when absent."""
    node = data
    for part in section.split("."):
        node = node.get(part, {}) if isinstance(node, dict) else {}
        if not isinstance(node, dict):
            raise ConfigError("[%s] must be a table" % section)
    return node


def _check_unknown_keys(data):
    allowed = {}
    for section, cls in _sections():
        allowed.setdefault(section, set()).update(_value_fields(cls))
    for top, value in data.items():
        if top == "stratum":
            if not isinstance(value, dict):
                raise ConfigError("[stratum] must be a table of algorithms")
            for algo, table in value.items():
                if algo not in ALGORITHMS:
                    raise ConfigError("unknown section [stratum.%s] (algorithms: %s)"
                                      % (algo, ", ".join(ALGORITHMS)))
                if not isinstance(table, dict):
                    raise ConfigError("[stratum.%s] must be a table" % algo)
                _check_keys("stratum." + algo, table, allowed)
            continue
        if top not in allowed:
            raise ConfigError("unknown section [%s] (sections: %s)" % (
                top, ", ".join(sorted({s.split(".")[0] for s in allowed}))))
        if not isinstance(value, dict):
            raise ConfigError("[%s] must be a table" % top)
        _check_keys(top, value, allowed)


def _check_keys(section, table, allowed):
    for key in table:
        if key not in allowed[section]:
            raise ConfigError("unknown key [%s] %s (known: %s)"
                              % (section, key, ", ".join(sorted(allowed[section]))))


def _check_unknown_env(environ):
    known = _known_env_names(_sections())
    for var in environ:
        if var.startswith(ENV_PREFIX) and var not in known:
            raise ConfigError("unknown environment variable %s" % var)


def default_state_dir(environ) -> Path:
    """Where state lives when the configuration does not say."""
    if environ.get("STATE_DIRECTORY"):       # systemd's StateDirectory=
        return Path(environ["STATE_DIRECTORY"].split(":")[0])
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "setup.py").exists() and (checkout / "native").is_dir():
        return CHECKOUT_STATE_DIR
    return PACKAGED_STATE_DIR


# ---------------------------------------------------------------- entry points

def read_toml(path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError("configuration file %s does not exist" % path) from None
    except OSError as e:
        raise ConfigError("cannot read configuration file %s: %s" % (path, e.strerror)) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("configuration file %s is not valid TOML: %s" % (path, e)) from None
    except UnicodeDecodeError as e:
        raise ConfigError("configuration file %s is not UTF-8 text (byte 0x%02x at offset %d)"
                          % (path, e.object[e.start], e.start)) from None


def load_config(path=None, environ=None, overrides=None) -> Config:
    """Load and validate the configuration.

    path: TOML file; None = $GXCPOOL_CONFIG, else /etc/gxcpool/gxcpool.toml
    if it exists, else built-in defaults.  overrides: {(section, key): value}
    from the command line, applied last.
    """
    environ = os.environ if environ is None else environ
    if path is None and environ.get(ENV_CONFIG_PATH):
        path = environ[ENV_CONFIG_PATH]
    if path is None and DEFAULT_CONFIG_PATH.exists():
        path = DEFAULT_CONFIG_PATH
    data = read_toml(path) if path is not None else {}
    _check_unknown_keys(data)
    _check_unknown_env(environ)
    cli = {}
    for (section, key), value in (overrides or {}).items():
        cli.setdefault(section, {})[key] = value

    def layers(section, cls):
        return [_plain_layer(_table(data, section)), _env_for(section, cls, environ),
                _plain_layer(cli.get(section, {}))]

    def read(section, cls, defaults=None):
        return _read_fields(section, cls, layers(section, cls), defaults)

    pool = read("pool", PoolSettings)
    if pool.address:
        try:
            check_address(pool.address, pool.network)
        except AddressError as e:
            raise ConfigError("[pool] address = %r: %s" % (pool.address, e)) from None
    node = read("node", NodeSettings)
    _check_positive("node", node, ("timeout", "tip_poll_interval", "template_refresh",
                                   "slow_after", "retry_backoff"))
    _check_range("node", "retries", node.retries, 0, 20)
    _check_range("node", "down_after_failures", node.down_after_failures, 1, 1000)
    _check_range("node", "max_request_bytes", node.max_request_bytes, 1024, 8191)
    _check_range("node", "max_in_flight", node.max_in_flight, 1, 16)
    _check_range("node", "queue_limit", node.queue_limit, 1, 10_000)
    devnet = read("devnet", DevnetSettings)
    stratum = {a: read("stratum." + a, StratumSettings, stratum_defaults(a, devnet.enabled))
               for a in ALGORITHMS}
    for algo, s in stratum.items():
        section = "stratum." + algo
        _check_positive(section, s, ("start_difficulty", "min_difficulty", "max_difficulty",
                                     "shares_per_minute", "retarget_interval"))
        _check_positive(section, s, ("max_line_bytes", "requests_per_second", "idle_timeout",
                                     "max_connections_per_ip", "ban_seconds", "line_timeout"))
        _check_range(section, "listen_backlog", s.listen_backlog, 1, 65535)
        _check_range(section, "extranonce2_size", s.extranonce2_size, 4, 8)
        _check_range(section, "verify_threads", s.verify_threads, 0, 1024)
        _check_range(section, "verify_queue", s.verify_queue, 0, 1_000_000)
        _check_range(section, "max_checks_per_connection", s.max_checks_per_connection, 1, 1000)
        _check_range(section, "verify_niceness", s.verify_niceness, 0, 19)
        if not s.min_difficulty <= s.start_difficulty <= s.max_difficulty:
            raise ConfigError("[%s] start_difficulty = %r: must lie between min_difficulty (%r) "
                              "and max_difficulty (%r)" % (section, s.start_difficulty,
                                                           s.min_difficulty, s.max_difficulty))
    payouts = read("payouts", PayoutSettings)
    _check_positive("payouts", payouts, ("pplns_window", "interval", "unlock_interval",
                                         "mempool_expiry"))
    _check_range("payouts", "maturity", payouts.maturity, 0, 100_000)
    _check_not_negative("payouts", payouts, ("share_prune_interval", "share_min_age_hours"))
    _check_range("payouts", "share_window_margin", payouts.share_window_margin, 1, 1000)
    if not payouts.fee_account.startswith("@"):
        try:
            check_address(payouts.fee_account, pool.network)
        except AddressError as e:
            raise ConfigError("[payouts] fee_account = %r: %s (or an internal name such as "
                              "\"@pool-fee\")" % (payouts.fee_account, e)) from None
    _check_positive("database", read("database", DatabaseSettings),
                    ("share_batch_size", "share_flush_interval", "stats_retention_days"))
    cluster = read("cluster", ClusterSettings)
    _check_range("cluster", "instance_id", cluster.instance_id, 0, 255)
    for algo, s in stratum.items():
        # the instance id sits in the top bits of each port's extranonce1
        bits = instance_bits(algorithm_module(algo).EXTRANONCE1_BITS)
        if s.enabled and cluster.instance_id >= 1 << bits:
            raise ConfigError("[cluster] instance_id = %d: must be below %d while [stratum.%s] "
                              "is enabled (its extranonce1 has room for %d instances)"
                              % (cluster.instance_id, 1 << bits, algo, 1 << bits))
    _check_range("devnet", "demo_miner_threads", devnet.demo_miner_threads, 0, 64)
    state_dir = Path(pool.state_dir) if pool.state_dir else default_state_dir(environ)
    devnet = dataclasses.replace(devnet, node=_devnode_settings(layers("devnet", DevNodeSettings),
                                                                pool.network, state_dir))
    database = read("database", DatabaseSettings)
    database_url = database.url or "sqlite:///%s" % (state_dir / "gxcpool.sqlite3")
    alerts = read("alerts", AlertSettings)
    _check_range("alerts", "retries", alerts.retries, 0, 20)
    _check_not_negative("alerts", alerts, ("node_down_after", "node_lagging_after",
                                           "payout_stuck_after"))
    return Config(pool=pool, node=node, stratum=stratum, database=database, payouts=payouts,
                  web=read("web", WebSettings), cluster=cluster, devnet=devnet,
                  state_dir=state_dir, database_url=database_url,
                  source=str(path) if path is not None else "built-in defaults",
                  alerts=alerts)


def _devnode_settings(layers, network, state_dir):
    """The devnet node's knobs from [devnet]; the demo default difficulty is livelier.

    The devnet chain lives beside the ledger (state_file "" = <state_dir>/devnode.json):
    a ledger that outlived its chain would see the genesis change at every start.
    """
    layers = [{k: v for k, v in layer.items() if not (k == "state_file" and v[0] == "")}
              for layer in layers]
    given = set().union(*layers)
    defaults = {"network": network, "difficulty": DEVNET_DEMO_DIFFICULTY,
                "state_file": str(state_dir / DEVNET_STATE_FILE)}
    try:
        base = DevNodeSettings(**{k: v for k, v in defaults.items() if k not in given})
        return _read_fields("devnet", DevNodeSettings, layers, base)
    except ConfigError:
        raise
    except ValueError as e:
        # DevNodeSettings validates itself and names the field in its message.
        raise ConfigError("[devnet] %s" % e) from None


def _check_positive(section, settings, names):
    for name in names:
        value = getattr(settings, name)
        if not value > 0:
            raise ConfigError("[%s] %s = %r: must be more than 0" % (section, name, value))


def _check_not_negative(section, settings, names):
    for name in names:
        value = getattr(settings, name)
        if not value >= 0:
            raise ConfigError("[%s] %s = %r: must not be negative" % (section, name, value))


def _check_range(section, name, value, low, high):
    if not low <= value <= high:
        raise ConfigError("[%s] %s = %r: must be from %d to %d" % (section, name, value, low, high))
