"""Independent checks of what the miner submits, and a miner in the test's reactor."""
import json
import os
from fractions import Fraction

from twisted.internet import reactor

from gxcpoold.hashers.ethash import ethash_light_cache
from gxcpoold.hashers.gxhash import gxhash
from gxcpoold.miner.client import Miner
from tests.miner.processes import ADDRESS

VECTORS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "vectors")
DIFF1 = 0x00000000ffff0000000000000000000000000000000000000000000000000000


def nicehash_target(difficulty):
    """0x00000000ffff0000...0000 / d, exactly (the float as a Fraction)."""
    d = Fraction(difficulty)
    return DIFF1 * d.denominator // d.numerator


def epoch0_light_hash(header_hash, nonce):
    """(mix, final) with the epoch 0 light cache (built once per process),
    after checking that cache against the first published ethash vector."""
    cache = ethash_light_cache(0)
    if not getattr(epoch0_light_hash, "checked", False):
        with open(os.path.join(VECTORS, "ethash.json")) as f:
            case = json.load(f)["hash_cases"]["cases"][0]
        assert case["epoch"] == 0
        mix, final = cache.hash(bytes.fromhex(case["header_hash"]), int(case["nonce"], 16))
        assert (mix.hex(), final.hex()) == (case["mix_hash"], case["final_hash"]), case
        epoch0_light_hash.checked = True
    return cache.hash(header_hash, nonce)


def checked_gxhash(data, nonce):
    """gxhash(data, nonce), after checking the function against the first
    published gxhash vector (once per process)."""
    if not getattr(checked_gxhash, "checked", False):
        with open(os.path.join(VECTORS, "gxhash.json")) as f:
            case = json.load(f)["gxhash"][0]
        got = gxhash(bytes.fromhex(case["data_hex"]), int(case["nonce"]))
        assert got.hex() == case["gxhash"], case
        checked_gxhash.checked = True
    return gxhash(data, nonce)


def in_process_miner(test, port, lines=None, **kwargs):
    """A Miner in the test's reactor, stopped at cleanup; its printed lines
    go to `lines` if given."""
    kwargs.setdefault("threads", 1)
    kwargs.setdefault("report_interval", 0)
    miner = Miner(reactor, "127.0.0.1", port, ADDRESS + ".rig",
                  printer=(lines.append if lines is not None else lambda text: None), **kwargs)
    miner.start()
    test.addCleanup(miner.stop)
    return miner
