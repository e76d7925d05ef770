"""Records for tests."""
import itertools

from gxcpoold.shares import ShareRecord

_counter = itertools.count()
WALLET = "tGXCc036ae3af11be2ef553cb7806fae14c0b8"


def address(i: int) -> str:
    return "tGXC%034x" % (0xabc0000 + i)


def share(i=None, *, miner=0, worker="rig", time=None, work=1000, algorithm="gxhash", height=1):
    n = next(_counter) if i is None else i
    return ShareRecord(time=float(1_700_000_000 + n) if time is None else time,
                       algorithm=algorithm, address=address(miner), worker=worker,
                       difficulty=float(work), work=work, height=height,
                       hash="%064x" % (n + 1), is_block=False, instance_id=0)
