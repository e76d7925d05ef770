"""The algorithms the reference miner mines, each with its dialects, the
unit its hashrate is reported in and its default thread count."""
from dataclasses import dataclass

from gxcpoold.miner.dialects.ethproxy import EthProxy
from gxcpoold.miner.dialects.gxhash import Gxhash
from gxcpoold.miner.dialects.nicehash import NiceHash
from gxcpoold.miner.dialects.stratum_v1 import StratumV1
from gxcpoold.miner.ethash_work import EthashHashing


@dataclass(frozen=True)
class MinerAlgorithm:
    name: str
    dialects: tuple             # dialect names, the default first
    unit: str                   # hashrate unit of the reports
    scale: float                # hashes per second in one unit
    default_threads: int        # 0: one per core


ALGORITHMS = {
    "sha256d": MinerAlgorithm("sha256d", ("stratum",), "MH/s", 1e6, 0),
    "ethash": MinerAlgorithm("ethash", ("nicehash", "ethproxy"), "kH/s", 1e3, 0),
    # 64 MiB and a fraction of a second per hash and thread: one unless asked
    "gxhash": MinerAlgorithm("gxhash", ("gxhash",), "H/s", 1.0, 1),
}


def make_dialect(miner, algorithm, dialect=None, dag=None):
    """The dialect object for a miner; ValueError for a combination that
    does not exist (a dialect of another algorithm, a DAG for no ethash)."""
    spec = ALGORITHMS.get(algorithm)
    if spec is None:
        raise ValueError("unknown algorithm %r (one of %s)" % (algorithm, ", ".join(ALGORITHMS)))
    dialect = dialect or spec.dialects[0]
    if dialect not in spec.dialects:
        raise ValueError("%s speaks %s, not %r" % (algorithm, " or ".join(spec.dialects), dialect))
    if dag is not None and algorithm != "ethash":
        raise ValueError("a DAG file is for ethash only")
    if dialect == "stratum":
        return StratumV1(miner)
    if dialect == "gxhash":
        return Gxhash(miner)
    hashing = EthashHashing(dag)
    return NiceHash(miner, hashing) if dialect == "nicehash" else EthProxy(miner, hashing)
