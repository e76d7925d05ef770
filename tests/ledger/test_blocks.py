"""Crediting a block from the shares in the database: exact window, exact sums."""
from fractions import Fraction

from sqlalchemy import select

from gxcpoold.ledger.blocks import RewardPolicy, accept_block, insert_candidate
from gxcpoold.ledger.schema import blocks, credits
from gxcpoold.ledger.sharestore import ShareStore
from gxcpoold.shares import BlockCandidate
from tests.ledger.factories import address, share

T0 = 1_700_000_000.0


def candidate(time, difficulty=2.0, reward=50.0, height=7):
    return BlockCandidate(time=time, algorithm="gxhash", height=height, hash="%064x" % height,
                          previousblockhash="0" * 64, address=address(99), worker="",
                          work=1, block={"difficulty": difficulty, "transactions": [
                              {"outputs": [{"address": "x", "amount": reward}]}]})


def credit_map(database, kind="share"):
    return dict(database.run_sync(lambda c: c.execute(
        select(credits.c.account, credits.c.amount).where(credits.c.kind == kind)).all()))


def write(database, records):
    database.run_sync(ShareStore().write, records)


def test_window_walks_back_from_the_block_and_cuts_the_edge_share(database):
    # D = 2: network work 256, N = 2: window 512 hashes.
    write(database, [
        share(time=T0 + 1, miner=1, work=400),     # oldest: only 112 of it fits
        share(time=T0 + 2, miner=2, work=300),
        share(time=T0 + 3, miner=3, work=100),
        share(time=T0 + 4, miner=4, work=999),     # after the block: not in its window
    ])
    policy = RewardPolicy("pplns", 2.0, Fraction(1, 100), "@pool-fee")
    database.run_sync(insert_candidate, candidate(T0 + 3), 0.0)
    split = database.run_sync(accept_block, 7, "%064x" % 7, policy, 0.0)
    assert split.work == {address(3): 100, address(2): 300, address(1): 112}
    assert credit_map(database) == {address(1): 1_082_812_500, address(2): 2_900_390_625,
                                    address(3): 966_796_875}
    assert credit_map(database, "fee") == {"@pool-fee": 50_000_000}
    total = database.run_sync(lambda c: sum(r.amount for r in c.execute(select(credits))))
    assert total == 5_000_000_000
    # crediting is once only
    assert database.run_sync(accept_block, 7, "%064x" % 7, policy, 0.0) is None
    row = database.run_sync(lambda c: c.execute(select(blocks)).one())
    assert (row.status, row.credited, row.reason) == ("immature", True, "")


def test_thousands_of_miners_through_the_database(database):
    records = [share(time=T0 + i / 1000, miner=i, work=1 + i % 13) for i in range(3000)]
    write(database, records)
    policy = RewardPolicy("pplns", 2.0, Fraction(1, 100), "@pool-fee")
    database.run_sync(insert_candidate, candidate(T0 + 10, difficulty=6.0), 0.0)
    split = database.run_sync(accept_block, 7, "%064x" % 7, policy, 0.0)
    assert not split.window_filled                       # 2 x 16**6 is far more
    amounts = database.run_sync(lambda c: [r.amount for r in c.execute(select(credits))])
    assert sum(amounts) == 5_000_000_000
    assert len(credit_map(database)) == 3000
    row = database.run_sync(lambda c: c.execute(select(blocks)).one())
    assert row.reason.startswith("PPLNS window not full")


def test_prop_counts_the_round_since_the_previous_block(database):
    write(database, [share(time=T0 + 1, miner=1, work=10), share(time=T0 + 3, miner=2, work=10),
                     share(time=T0 + 5, miner=3, work=30)])
    policy = RewardPolicy("prop", 2.0, Fraction(0), "@pool-fee")
    database.run_sync(insert_candidate, candidate(T0 + 2, height=1), 0.0)
    database.run_sync(accept_block, 1, "%064x" % 1, policy, 0.0)
    database.run_sync(insert_candidate, candidate(T0 + 6, height=2), 0.0)
    split = database.run_sync(accept_block, 2, "%064x" % 2, policy, 0.0)
    assert split.credits == {address(2): 1_250_000_000, address(3): 3_750_000_000}


def test_solo_pays_the_finder(database):
    write(database, [share(time=T0 + 1, miner=1, work=10)])
    policy = RewardPolicy("solo", 2.0, Fraction(1, 50), "@pool-fee")
    database.run_sync(insert_candidate, candidate(T0 + 2), 0.0)
    split = database.run_sync(accept_block, 7, "%064x" % 7, policy, 0.0)
    assert split.credits == {address(99): 4_900_000_000}
