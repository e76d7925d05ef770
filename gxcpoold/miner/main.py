"""gxcpool-miner: a CPU miner for every port of the pool.

    gxcpool-miner -o stratum+tcp://127.0.0.1:3333 -u tGXC....rig1 -p x -t 2
    gxcpool-miner --algorithm ethash -o stratum+tcp://127.0.0.1:3334 -u tGXC....rig1
    gxcpool-miner --algorithm ethash -o stratum1+tcp://127.0.0.1:3334 -u tGXC....rig1
    gxcpool-miner --algorithm gxhash -o stratum+tcp://127.0.0.1:3335 -u tGXC....rig1
"""
import argparse
import os
import signal
import sys
from urllib.parse import urlsplit

from twisted.logger import globalLogBeginner, textFileLogObserver

from gxcpoold.miner.algorithms import ALGORITHMS
from gxcpoold.miner.client import MAX_INFLIGHT, Miner

# ethminer's URL schemes for the two ethash dialects (spec/ethash.md 3)
SCHEME_DIALECTS = {"stratum1+tcp": "ethproxy", "stratum2+tcp": "nicehash"}
SCHEMES = ("stratum+tcp", "tcp", "stratum") + tuple(SCHEME_DIALECTS)
DEFAULT_PORTS = {"sha256d": 3333, "ethash": 3334, "gxhash": 3335}   # the pool's defaults


def _split(url):
    if "://" not in url:
        url = "stratum+tcp://" + url
    return urlsplit(url)


def parse_url(url):
    """(host, port) from stratum+tcp://host:port, tcp://host:port or host:port
    (stratum1+tcp:// and stratum2+tcp:// for ethash)."""
    parts = _split(url)
    if parts.scheme not in SCHEMES:
        raise ValueError("only %s:// URLs are supported, got %r"
                         % (":// ".join(SCHEMES), parts.scheme))
    if not parts.hostname or parts.port is None:
        raise ValueError("URL must name a host and a port, e.g. stratum+tcp://127.0.0.1:3333")
    return parts.hostname, parts.port


def url_dialect(url):
    """The ethash dialect a URL's scheme names, or None."""
    return SCHEME_DIALECTS.get(_split(url).scheme)


def options(argv):
    parser = argparse.ArgumentParser(
        prog="gxcpool-miner",
        description="CPU miner for gxcpool: sha256d (Stratum V1), ethash (EthereumStratum/1.0.0 "
                    "or eth-proxy) and gxhash.")
    parser.add_argument("-a", "--algorithm", choices=tuple(ALGORITHMS), default="sha256d",
                        help="what to mine (default %(default)s)")
    parser.add_argument("-o", "--url", default=None,
                        help="pool URL, stratum+tcp://HOST:PORT (default 127.0.0.1 on the "
                             "algorithm's default port: 3333 sha256d, 3334 ethash, "
                             "3335 gxhash); for ethash stratum1+tcp:// means eth-proxy and "
                             "stratum2+tcp:// EthereumStratum/1.0.0")
    parser.add_argument("-u", "--user", required=True,
                        help="ADDRESS.WORKER: your GXC address and a worker name")
    parser.add_argument("-p", "--password", default="x",
                        help="password field; d=N asks for a fixed difficulty N")
    parser.add_argument("-t", "--threads", type=int, default=None,
                        help="hashing threads (default: all cores, %d, for sha256d and "
                             "ethash; 1 for gxhash, which takes 64 MiB per thread)"
                             % (os.cpu_count() or 1))
    parser.add_argument("--ethash-dialect", choices=ALGORITHMS["ethash"].dialects, default=None,
                        help="ethash only: nicehash (EthereumStratum/1.0.0, the default) or "
                             "ethproxy (eth_submitLogin/eth_getWork/eth_submitWork)")
    parser.add_argument("--dag-file", default=None, metavar="PATH",
                        help="ethash only: a full DAG file (the pool's state directory keeps "
                             "them) to hash its epoch's jobs with instead of the light cache")
    parser.add_argument("--max-inflight", type=int, default=MAX_INFLIGHT, metavar="N",
                        help="at most N shares submitted and not yet answered; shares found "
                             "beyond that are skipped and counted (default %(default)s; 1 "
                             "gives the fewest stale shares when shares come faster than "
                             "the pool answers)")
    parser.add_argument("--report-interval", type=float, default=10.0,
                        help="seconds between hashrate lines (default %(default)s)")
    args = parser.parse_args(argv)
    if args.url is None:
        args.url = "stratum+tcp://127.0.0.1:%d" % DEFAULT_PORTS[args.algorithm]
    try:
        args.host, args.port = parse_url(args.url)
    except ValueError as e:
        parser.error(str(e))
    by_url = url_dialect(args.url)
    if args.algorithm != "ethash":
        if by_url or args.ethash_dialect or args.dag_file:
            parser.error("stratum1+tcp://, stratum2+tcp://, --ethash-dialect and --dag-file "
                         "are for --algorithm ethash")
    elif by_url and args.ethash_dialect and by_url != args.ethash_dialect:
        parser.error("the URL scheme asks for %s, --ethash-dialect for %s"
                     % (by_url, args.ethash_dialect))
    args.dialect = args.ethash_dialect or by_url
    if args.threads is None:
        args.threads = ALGORITHMS[args.algorithm].default_threads or os.cpu_count() or 1
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.max_inflight < 1:
        parser.error("--max-inflight must be at least 1")
    return args


def load_dag(path):
    """The DAG file, mapped; SystemExit with the reason if it is not one."""
    from gxcpoold.hashers.ethash_dag import DAGFileError, EthashDAG
    try:
        return EthashDAG.load_file(path)
    except (DAGFileError, OSError) as e:
        sys.exit("gxcpool-miner: --dag-file: %s" % e)


def main(argv=None):
    args = options(sys.argv[1:] if argv is None else argv)
    dag = load_dag(args.dag_file) if args.dag_file else None
    if args.algorithm == "gxhash":
        from gxcpoold.hashers.gxhash import set_matrix_pool_limit
        # each thread reuses its 64 MiB instead of faulting in a fresh one per hash
        set_matrix_pool_limit(min(args.threads, 64))
    from twisted.internet import reactor
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stdout)],
                                     redirectStandardIO=False)
    miner = Miner(reactor, args.host, args.port, args.user, args.password,
                  threads=args.threads, report_interval=args.report_interval,
                  max_inflight=args.max_inflight, algorithm=args.algorithm,
                  dialect=args.dialect, dag=dag,
                  printer=lambda text: print(text, flush=True))
    if dag is not None:
        print("hashing epoch %d jobs with the DAG file %s" % (dag.epoch, dag.path), flush=True)
    reactor.callWhenRunning(miner.start)
    reactor.addSystemEventTrigger("before", "shutdown", miner.stop)
    stop_on_signals(reactor)
    reactor.run(installSignalHandlers=False)
    return 0


def stop_on_signals(reactor):
    """SIGTERM and SIGINT stop the reactor once.  Twisted's own handlers
    would stop it again on a second signal while the hashing threads finish,
    and log a ReactorNotRunning traceback (`timeout` sends SIGTERM to the
    process and to its group: two signals)."""
    stopping = []

    def stop(signum, frame):
        if not stopping:
            stopping.append(signum)
            print("received %s, stopping" % signal.Signals(signum).name, flush=True)
            reactor.callFromThread(reactor.stop)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)


if __name__ == "__main__":
    sys.exit(main())

