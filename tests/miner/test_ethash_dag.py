"""`gxcpool-miner --algorithm ethash --dag-file PATH` hashes with the full DAG.

A real epoch 0 DAG is 1 GiB, so the test writes a small synthetic one (the
epoch 0 seed with a few hundred light cache items and a few thousand pages):
its hashes differ from real epoch 0 hashes, so shares that verify with the
synthetic light cache were hashed with the file.
"""
import os
import shutil
import signal
import tempfile

from twisted.trial import unittest

from gxcpoold.hashers.ethash import EthashLightCache
from gxcpoold.hashers.ethash_dag import EthashDAG
from tests.miner.checks import epoch0_light_hash, nicehash_target
from tests.miner.fake_pools import HEADER, NICEHASH_EXTRANONCE, NiceHashPool
from tests.miner.processes import MinerProcess
from tests.waiting import wait_for

ONE_IN_8 = 0xffff / 2**45


class DagFile(unittest.TestCase):
    timeout = 50

    def directory(self):
        path = tempfile.mkdtemp(prefix="gxcpool-miner-dag-")
        self.addCleanup(shutil.rmtree, path, True)
        return path

    async def test_shares_are_hashed_with_the_dag_file(self):
        synthetic = EthashLightCache(0, cache_items=509, dataset_pages=4093)
        dag = EthashDAG.generate(synthetic, directory=self.directory(), threads=1)
        dag.close()
        pool = NiceHashPool(ONE_IN_8)
        await pool.listen()
        self.addCleanup(pool.stop)
        miner = MinerProcess(self, "stratum2+tcp://127.0.0.1:%d" % pool.port, "-t", "1",
                             "--algorithm", "ethash", "--dag-file", dag.path)
        await wait_for(lambda: len(pool.submits) >= 6, "6 shares", timeout=30)
        self.assertIn("hashing epoch 0 jobs with the DAG file %s" % dag.path, miner.output())
        header, target = bytes.fromhex(HEADER), nicehash_target(ONE_IN_8)
        real = 0
        for _, job, digits in pool.submits:
            nonce = int(NICEHASH_EXTRANONCE + digits, 16)
            _, final = synthetic.hash(header, nonce)
            self.assertLessEqual(int.from_bytes(final, "big"), target, digits)
            _, final = epoch0_light_hash(header, nonce)
            real += int.from_bytes(final, "big") <= target
        # hashed with the real epoch 0 data, about 1 in 8 would be shares
        self.assertLess(real, len(pool.submits))
        await miner.exit_after(signal.SIGTERM)
        self.assertEqual(miner.proc.returncode, 0, miner.output())
        self.assertNotIn("Traceback", miner.output())

    async def test_a_missing_or_foreign_file_is_refused_at_start(self):
        bad = os.path.join(self.directory(), "bad.dag")
        with open(bad, "wb") as f:
            f.write(b"not a DAG" * 1000)
        for path, reason in ((bad + "-missing", "no DAG file"), (bad, "not a DAG file")):
            miner = MinerProcess(self, 1, "--algorithm", "ethash", "--dag-file", path)
            self.assertEqual(miner.proc.wait(timeout=30), 1)
            await wait_for(lambda: reason in miner.output(), reason, timeout=10)
            self.assertIn("gxcpool-miner: --dag-file: ", miner.output())
