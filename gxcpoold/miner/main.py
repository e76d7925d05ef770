"""gxcpool-miner: a CPU miner for Stratum V1 sha256d pools.

    gxcpool-miner -o stratum+tcp://127.0.0.1:3333 -u tGXC....rig1 -p x -t 2
"""
import argparse
import os
import sys
from urllib.parse import urlsplit

from twisted.logger import globalLogBeginner, textFileLogObserver

from gxcpoold.miner.client import MAX_INFLIGHT, Miner


def parse_url(url):
    """(host, port) from stratum+tcp://host:port, tcp://host:port or host:port."""
    if "://" not in url:
        url = "stratum+tcp://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("stratum+tcp", "tcp", "stratum"):
        raise ValueError("only stratum+tcp:// URLs are supported, got %r" % parts.scheme)
    if not parts.hostname or parts.port is None:
        raise ValueError("URL must name a host and a port, e.g. stratum+tcp://127.0.0.1:3333")
    return parts.hostname, parts.port


def options(argv):
    parser = argparse.ArgumentParser(
        prog="gxcpool-miner", description="CPU miner (sha256d, Stratum V1) for gxcpool.")
    parser.add_argument("-o", "--url", default="stratum+tcp://127.0.0.1:3333",
                        help="pool URL, stratum+tcp://HOST:PORT (default %(default)s)")
    parser.add_argument("-u", "--user", required=True,
                        help="ADDRESS.WORKER: your GXC address and a worker name")
    parser.add_argument("-p", "--password", default="x",
                        help="password field; d=N asks for a fixed difficulty N")
    parser.add_argument("-t", "--threads", type=int, default=os.cpu_count() or 1,
                        help="hashing threads (default: all cores, %(default)s)")
    parser.add_argument("--max-inflight", type=int, default=MAX_INFLIGHT, metavar="N",
                        help="at most N shares submitted and not yet answered; shares found "
                             "beyond that are skipped and counted (default %(default)s; 1 "
                             "gives the fewest stale shares when shares come faster than "
                             "the pool answers)")
    parser.add_argument("--report-interval", type=float, default=10.0,
                        help="seconds between hashrate lines (default %(default)s)")
    args = parser.parse_args(argv)
    try:
        args.host, args.port = parse_url(args.url)
    except ValueError as e:
        parser.error(str(e))
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.max_inflight < 1:
        parser.error("--max-inflight must be at least 1")
    return args


def main(argv=None):
    args = options(sys.argv[1:] if argv is None else argv)
    from twisted.internet import reactor
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stdout)],
                                     redirectStandardIO=False)
    miner = Miner(reactor, args.host, args.port, args.user, args.password,
                  threads=args.threads, report_interval=args.report_interval,
                  max_inflight=args.max_inflight,
                  printer=lambda text: print(text, flush=True))
    reactor.callWhenRunning(miner.start)
    reactor.addSystemEventTrigger("before", "shutdown", miner.stop)
    reactor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
