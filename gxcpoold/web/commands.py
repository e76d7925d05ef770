"""The "getting started" page's miner command lines, built from the configuration.

One entry per ENABLED Stratum port: its algorithm, the host miners should
use, the port number from its endpoint string, the start difficulty and the
`d=N` password option in the port's own unit, and the command lines of the
miners docs/miner-guide.md documents for that algorithm and dialect.
"""
import re
from dataclasses import dataclass, field
from decimal import Decimal

from gxcpoold.algorithms import ALGORITHMS

# A DNS name or IPv4 address; an IPv6 address is written in brackets.
_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\Z")
_IPV6 = re.compile(r"\[[0-9A-Fa-f:.]{2,45}\]\Z")
_ENDPOINT_SPLIT = re.compile(r"(?<!\\):")

WORKER = "rig1"
PORT_FACTS = {
    "sha256d": {"hardware": "SHA-256 ASICs (Antminer, Whatsminer, Avalon), Bitaxe, CPUs",
                "dialects": "Stratum V1 with version rolling (AsicBoost)",
                "unit": "Bitcoin difficulty (1 = 2^32 hashes)"},
    "ethash": {"hardware": "GPUs running Ethash miners",
               "dialects": "EthereumStratum/1.0.0 (NiceHash, stratum2+tcp) and eth-proxy "
                           "(stratum1+tcp), chosen per connection",
               "unit": "expected hashes per share (NiceHash miners too)"},
    "gxhash": {"hardware": "CPUs (GXC's memory-hard hash, 64 MiB per thread)",
               "dialects": "the gxhash dialect (docs/protocol-gxhash.md)",
               "unit": "expected hashes per share"},
}


@dataclass
class Command:
    miner: str
    note: str
    line: str


@dataclass
class PortGuide:
    algorithm: str
    host: str
    port: int
    url: str                    # stratum+tcp://host:port
    start_difficulty: str
    min_difficulty: str
    max_difficulty: str
    hardware: str
    dialects: str
    unit: str
    commands: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def plain_number(value) -> str:
    """4e9 -> '4000000000', 0.0001 -> '0.0001', 2.5 -> '2.5' (no exponent for a miner's -p)."""
    text = format(Decimal(repr(float(value))).normalize(), "f")
    return text


def clean_host(text):
    """The host part of a Host header (or a configured name) if it is a plain
    host name, IPv4 or bracketed IPv6 address; else None."""
    if not text or len(text) > 255:
        return None
    if text.startswith("["):
        end = text.find("]")
        host = text[:end + 1] if end > 0 else ""
        return host if _IPV6.match(host) else None
    host = text.rsplit(":", 1)[0] if text.count(":") == 1 else text
    if _HOST_NAME.match(host) and ".." not in host:
        return host
    return None


def endpoint_port(endpoint):
    """The port number of a Twisted server endpoint string ('tcp:3333:interface=...',
    'tcp:port=3333'), or None (a UNIX socket, or no port given)."""
    parts = _ENDPOINT_SPLIT.split(endpoint or "")
    if parts[0] not in ("tcp", "tcp6", "ssl"):
        return None
    args = parts[1:]
    for arg in args:
        if arg.startswith("port="):
            value = arg[len("port="):]
            return int(value) if value.isdigit() else None
    positional = [arg for arg in args if "=" not in arg]
    if positional and positional[0].isdigit():
        return int(positional[0])
    return None


def port_guides(config, host, *, listening=None, user=None):
    """[PortGuide] for each enabled port, in port order.

    listening: {algorithm: port number the service listens on}, used when
    the endpoint asks for port 0 (a test's free port).  user: the login to
    show (ADDRESS.WORKER); an example (YOUR_ADDRESS.rig1) when the visitor gave none."""
    listening = listening or {}
    guides = []
    for name in ALGORITHMS:
        settings = config.stratum.get(name)
        if settings is None or not settings.enabled:
            continue
        port = endpoint_port(settings.endpoint)
        if not port:
            port = listening.get(name)
        if not port:
            continue
        scheme = "stratum+ssl" if settings.endpoint.startswith("ssl:") else "stratum+tcp"
        guide = PortGuide(
            algorithm=name, host=host, port=port, url="%s://%s:%d" % (scheme, host, port),
            start_difficulty=plain_number(settings.start_difficulty),
            min_difficulty=plain_number(settings.min_difficulty),
            max_difficulty=plain_number(settings.max_difficulty),
            **PORT_FACTS[name])
        BUILDERS[name](guide, user or example_user(config))
        guides.append(guide)
    return guides


def example_user(config):
    prefix = "tGXC" if config.pool.network == "testnet" else "GXC"
    return "%sYOUR_ADDRESS.%s" % (prefix, WORKER)


def _sha256d(g, user):
    hp = "%s:%d" % (g.host, g.port)
    url = "stratum+tcp://" + hp
    g.commands = [
        Command("gxcpool-miner", "the pool's reference CPU miner",
                "gxcpool-miner -o %s -u %s -p x -t 4" % (url, user)),
        Command("cpuminer", "cpuminer-multi (pooler's minerd takes the same options)",
                "cpuminer -a sha256d -o %s -u %s -p x -t 4" % (url, user)),
        Command("bfgminer", "USB and older ASICs",
                "bfgminer -o %s -u %s -p x -S all" % (url, user)),
        Command("cgminer", "",
                "cgminer -o %s -u %s -p x" % (url, user)),
    ]
    g.notes = [
        "ASICs with a web UI (Antminer, Whatsminer, Avalon): pool URL %s, worker %s, "
        "password x." % (url, user),
        "Bitaxe (AxeOS): Stratum URL %s (host only), port %d, user %s, password x."
        % (g.host, g.port, user),
    ]


def _ethash(g, user):
    hp = "%s:%d" % (g.host, g.port)
    address, _, worker = user.rpartition(".")
    g.commands = [
        Command("ethminer", "EthereumStratum/1.0.0 (NiceHash dialect)",
                "ethminer -P stratum2+tcp://%s:x@%s" % (user, hp)),
        Command("ethminer", "eth-proxy",
                "ethminer -P stratum1+tcp://%s:x@%s" % (user, hp)),
        Command("T-Rex", "EthereumStratum/1.0.0",
                "t-rex -a ethash -o stratum2+tcp://%s -u %s -p x" % (hp, user)),
        Command("T-Rex", "eth-proxy (stratum+tcp), worker name with -w",
                "t-rex -a ethash -o stratum+tcp://%s -u %s -p x -w %s" % (hp, address, worker)),
        Command("PhoenixMiner", "eth-proxy (-proto 2, its default)",
                "PhoenixMiner -pool %s -wal %s -pass x -proto 2" % (hp, user)),
        Command("PhoenixMiner", "EthereumStratum/1.0.0 (-proto 4)",
                "PhoenixMiner -pool %s -wal %s -pass x -proto 4" % (hp, user)),
        Command("lolMiner", "EthereumStratum/1.0.0 (its default)",
                "lolMiner --algo ETHASH --pool %s --user %s --pass x" % (hp, user)),
        Command("lolMiner", "eth-proxy",
                "lolMiner --algo ETHASH --pool %s --user %s --pass x --ethstratum ETHPROXY"
                % (hp, user)),
        Command("gxcpool-miner", "CPU, light cache (devnet and tests)",
                "gxcpool-miner -a ethash -o stratum2+tcp://%s -u %s" % (hp, user)),
    ]
    g.notes = [
        "Log in with a GXC address, never an Ethereum 0x address.",
        "ethminer's plain stratum+tcp:// (\"STRATUM\") mode is not spoken: use stratum2+tcp:// "
        "or stratum1+tcp://.",
    ]


def _gxhash(g, user):
    url = "stratum+tcp://%s:%d" % (g.host, g.port)
    g.commands = [
        Command("gxcpool-miner", "the only gxhash miner; one thread per hash, 64 MiB each",
                "gxcpool-miner -a gxhash -o %s -u %s -t 2" % (url, user)),
    ]
    g.notes = [
        "Each share is checked with a gxhash of the pool's own: keep vardiff (no low d=N).",
    ]


BUILDERS = {"sha256d": _sha256d, "ethash": _ethash, "gxhash": _gxhash}
