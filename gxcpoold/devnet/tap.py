"""``twistd gxcdevnode`` and the ``gxcpool-devnode`` console script.

Every DevNodeSettings knob has an option; values are checked by
DevNodeSettings itself, so a bad value stops start-up with one clear message.
"""
import sys

from twisted.python import usage

from .service import DEFAULT_ENDPOINT, DevNodeService
from .settings import DevNodeSettings

# option name -> (settings field, converter, help)
_VALUES = {
    "network": ("network", str, "testnet or mainnet [default: testnet]"),
    "difficulty": ("difficulty", float, "initial difficulty D and floor F "
                                        "[default: network floor, 1.0 / 1000.0]"),
    "retarget-interval": ("retarget_interval", int, "D changes when N becomes a multiple of "
                                                    "this [default: 2016]"),
    "retarget-factor": ("retarget_factor", float, "D multiplier at each retarget [default: 1.75]"),
    "maturity": ("maturity", int, "coinbase maturity M [default: 6 testnet / 100 mainnet]"),
    "block-reward": ("block_reward", float, "GXC per block before halvings [default: 50.0]"),
    "halving-interval": ("halving_interval", int, "blocks between halvings [default: 1051200]"),
    "other-miner-interval": ("other_miner_interval", float, "seconds between blocks of another "
                                                            "miner, 0 = off [default: 0]"),
    "clock-offset": ("clock_offset", float, "seconds added to the node clock [default: 0]"),
    "request-limit": ("request_limit", int, "bytes of the single read [default: 8191]"),
    "request-latency": ("request_latency", float, "seconds each RPC answer waits, like the "
                                                  "real node's 10 ms accept loop (0.010) "
                                                  "[default: 0]"),
    "mempool-expiry": ("mempool_expiry", float, "seconds before an unmined tx is dropped "
                                                "[default: 3600]"),
    "genesis-seed": ("genesis_seed", str, "seed for a reproducible genesis, wallet and txids "
                                          "[default: random]"),
    "state-file": ("state_file", str, "JSON file keeping the chain across restarts "
                                      "[default: memory only]"),
}
# flag -> (settings field, value set by the flag, help)
_FLAGS = {
    "restart-emulation": ("restart_emulation", True, "emulate restarts of the real node "
                                                     "(txids change, spent outputs reappear)"),
    "no-single-read": ("single_read", False, "read whole requests by Content-Length"),
    "no-txid-rewrite": ("txid_rewrite", False, "keep the mempool txid when a tx is mined"),
    "no-stale-mempool": ("stale_mempool", False, "drop mined and conflicting txs from the "
                                                 "mempool"),
    "no-double-spend": ("double_spend", False, "coin selection skips outputs spent in the "
                                               "mempool"),
    "no-fabricated-getblock": ("fabricated_getblock", False, "getblock of an unknown block "
                                                             "fails with -8"),
    "no-listunspent-crash": ("listunspent_crash", False, "listunspent [] skips fee-pool "
                                                         "outputs instead of failing"),
    "no-nonce-truncation": ("nonce_truncation", False, "store nonces as 64-bit integers"),
}


class Options(usage.Options):
    synopsis = "[options]"
    longdesc = ("A faithful simulator of the GXC node's JSON-RPC contract "
                "(spec/gxc-node.md), quirks included, for development and tests.")
    optParameters = [["endpoint", "e", DEFAULT_ENDPOINT,
                      "Twisted server endpoint to listen on"]] + [
        [name, None, None, text] for name, (_, _, text) in _VALUES.items()]
    optFlags = [[name, None, text] for name, (_, _, text) in _FLAGS.items()]

    def postOptions(self):
        try:
            self["settings"] = settings_from_options(self)
        except ValueError as exc:
            raise usage.UsageError(str(exc)) from None


def settings_from_options(options) -> DevNodeSettings:
    values = {}
    for name, (field, convert, _) in _VALUES.items():
        if options[name] is not None:
            try:
                values[field] = convert(options[name])
            except ValueError:
                raise ValueError(f"--{name}: not a valid {convert.__name__}: "
                                 f"{options[name]!r}") from None
    for name, (field, value, _) in _FLAGS.items():
        if options[name]:
            values[field] = value
    return DevNodeSettings(**values)


def makeService(options) -> DevNodeService:
    return DevNodeService(options["settings"], endpoint=options["endpoint"])


def main(argv=None) -> None:
    """Console script: run the node in the foreground until interrupted."""
    from twisted.internet import reactor
    from twisted.logger import globalLogBeginner, textFileLogObserver

    options = Options()
    options.synopsis = "Usage: gxcpool-devnode [options]"
    try:
        options.parseOptions(sys.argv[1:] if argv is None else argv)
    except usage.UsageError as exc:
        print(f"{options}\ngxcpool-devnode: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stdout)])
    service = makeService(options)
    service.startService()
    # the listen fails before reactor.run(): stop once it runs (quietly, gxcpoold/shutdown.py)
    from gxcpoold.shutdown import stop_reactor
    service.whenListening().addErrback(lambda _: reactor.callWhenRunning(stop_reactor, reactor))
    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    reactor.run()
