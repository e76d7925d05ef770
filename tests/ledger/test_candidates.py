"""Block candidates: on local disk before submitblock, in the database when it is back."""
import os
import shutil
import tempfile
import time
from fractions import Fraction

from twisted.logger import LogLevel

from gxcpoold.ledger import candidates as candidates_module
from gxcpoold.ledger.blocks import RewardPolicy
from gxcpoold.ledger.candidates import DurableBlockRecorder, read_candidate
from gxcpoold.ledger.sharewriter import ShareWriter
from gxcpoold.shares import ACCEPTED, REJECTED, SUBMITTED, BlockCandidate
from tests.ledger.blockfinding import LogCapture, assert_each_credited_once, ledger_blocks
from tests.ledger.dbtest import each_backend
from tests.ledger.factories import address, share
from tests.ledger.outage import DatabaseOutage

POLICY = RewardPolicy("pplns", 2.0, Fraction(1, 100), "@pool-fee")
REWARD = 5_000_000_000


def candidate(height):
    block_hash = "00%062x" % (height * 7919)
    return BlockCandidate(time=time.time(), algorithm="sha256d", height=height, hash=block_hash,
                          previousblockhash="0" * 64, address=address(5), worker="rig", work=16,
                          block={"height": height, "hash": block_hash, "difficulty": 1.0,
                                 "transactions": [{"outputs": [{"address": "x",
                                                                "amount": 50.0}]}]})


class CandidateStoreMixin:
    backend = "sqlite"

    def setUp(self):
        self.outage = DatabaseOutage(self, self.backend)
        self.state = tempfile.mkdtemp(prefix="gxcstate-")
        self.addCleanup(shutil.rmtree, self.state, True)
        self.logs = LogCapture(self)

    def recorder(self, start=True):
        writer = ShareWriter(self.outage.db, spill_path=os.path.join(self.state, "shares.spill"),
                             flush_interval=3600.0)
        recorder = DurableBlockRecorder(self.outage.db, POLICY, writer,
                                        os.path.join(self.state, "blocks"), retry_interval=0.2)
        if start:
            writer.startService()
            recorder.startService()
            self.addCleanup(lambda: writer.running and writer.stopService())
            self.addCleanup(lambda: recorder.running and recorder.stopService())
        return writer, recorder

    def files(self):
        directory = os.path.join(self.state, "blocks")
        return sorted(os.listdir(directory)) if os.path.isdir(directory) else []

    async def test_a_candidate_is_durable_before_the_database_has_it(self):
        writer, recorder = self.recorder()
        writer.add_share(share(time=time.time() - 1, miner=1, work=100))
        await self.outage.start()
        blocks = [candidate(h) for h in range(1, 6)]
        for c in blocks:
            await recorder.record_candidate(c)     # fires with the database away
            self.assertEqual(read_candidate(candidates_module.candidate_path(
                recorder.directory, c))[0], c)
            await recorder.set_block_status(c.height, c.hash, SUBMITTED)
            if c.height == 3:
                await recorder.set_block_status(c.height, c.hash, REJECTED, "stale")
            else:
                await recorder.set_block_status(c.height, c.hash, ACCEPTED)
        await recorder.flush()
        self.assertEqual(len(self.files()), 5)
        self.assertFalse(recorder.db_ok)
        await self.outage.end()
        while recorder.entries:                    # the retry loop writes them
            await recorder.flush()
        self.assertEqual(self.files(), [])
        expected = {(c.height, c.hash): REWARD for c in blocks if c.height != 3}
        assert_each_credited_once(self, self.outage.direct, expected)
        rejected = [r for r in ledger_blocks(self.outage.direct) if r[0] == 3]
        self.assertEqual([(r[2], r[4]) for r in rejected], [(False, 0)])
        errors = self.logs.lines("candidates", LogLevel.error)
        back = [e for e in self.logs.lines("candidates", LogLevel.info)
                if "available again" in e["log_format"]]
        self.assertEqual((len(errors), len(back)), (1, 1), [e["log_format"] for e in errors])
        self.assertEqual(self.logs.tracebacks(), [])

    async def test_files_of_a_killed_process_are_written_once_at_the_next_start(self):
        _, first = self.recorder()
        await self.outage.start()
        c = candidate(9)
        await first.record_candidate(c)
        await first.set_block_status(c.height, c.hash, SUBMITTED)
        await first.set_block_status(c.height, c.hash, ACCEPTED)
        with open(first.entries[(c.height, c.hash)].path, "a") as f:
            f.write('["rej')                       # torn by the kill
        saved = os.path.join(self.state, "saved.block")
        shutil.copy(first.entries[(c.height, c.hash)].path, saved)
        await first.stopService()                  # the database is away: the file stays
        await self.outage.end()
        _, second = self.recorder()                # the next process
        await second.flush()
        self.assertEqual(self.files(), [])
        assert_each_credited_once(self, self.outage.direct, {(c.height, c.hash): REWARD})
        # The database had it but the file came back (crash before the removal): still once.
        os.makedirs(second.directory, exist_ok=True)
        shutil.copy(saved, candidates_module.candidate_path(second.directory, c))
        _, third = self.recorder()
        await third.flush()
        self.assertEqual(self.files(), [])
        assert_each_credited_once(self, self.outage.direct, {(c.height, c.hash): REWARD})

    async def test_an_unwritable_directory_is_one_error_line_until_fixed(self):
        _, recorder = self.recorder()
        blocked = os.path.join(self.state, "blocks")
        with open(blocked, "w") as f:
            f.write("not a directory")            # as if the file system refused
        for height in (1, 2, 3):
            with self.assertRaises(OSError):
                await recorder.record_candidate(candidate(height))
        errors = self.logs.lines("candidates", LogLevel.error)
        self.assertEqual(len(errors), 1)
        os.unlink(blocked)
        await recorder.record_candidate(candidate(4))
        self.assertEqual(len(self.files()), 1)
        self.assertEqual(len([e for e in self.logs.lines("candidates", LogLevel.info)
                              if "again" in e["log_format"]]), 1)

globals().update(each_backend(CandidateStoreMixin))
