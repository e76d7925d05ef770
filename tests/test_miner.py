"""The reference miner against pools that misbehave, over real loopback sockets.

At a trivial share difficulty (3.7e-9: one hash in 16 is a share, as at the
real GXC node's D = 1) the miner finds hundreds of thousands of shares a
second.  Whatever the pool does with them (never answers, answers slowly,
stops reading, floods jobs and requests) the miner keeps at most
--max-inflight submissions unanswered and its memory flat; a clean_jobs
notify ends submissions for older jobs; SIGTERM and SIGINT end it at once.

The `gxcpool-miner` command runs as a subprocess where its memory or exit is
measured; elsewhere the Miner class runs in the test's reactor.
"""
import re
import signal

from twisted.internet import reactor
from twisted.internet.task import LoopingCall, deferLater
from twisted.trial import unittest

from gxcpoold.miner.client import MAX_OPEN_JOBS, Miner
from tests.fake_stratum_pool import FakePool
from tests.miner import processes
from tests.miner.processes import ADDRESS
from tests.waiting import wait_for

FLOOD = 3.7e-9          # share difficulty at which every 16th hash is a share


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


class MinerProcess(processes.MinerProcess):
    def skipped(self):
        return sum(int(m.group(1)) for m in
                   (re.search(r"skipped (\d+) shares", l) for l in self.reports()) if m)


class MinerWithBadPools(unittest.TestCase):
    timeout = 120

    async def pool(self, **kwargs):
        pool = FakePool(FLOOD, **kwargs)
        await pool.listen()
        self.addCleanup(pool.stop)
        return pool

    def in_process_miner(self, port, **kwargs):
        miner = Miner(reactor, "127.0.0.1", port, ADDRESS + ".rig", threads=1,
                      report_interval=0, printer=lambda text: None, **kwargs)
        miner.start()
        self.addCleanup(miner.stop)
        return miner

    async def test_a_pool_that_never_answers_gets_the_bound_and_memory_stays_flat(self):
        pool = await self.pool(answer_delay=None)
        miner = MinerProcess(self, pool.port, "-t", "1", "--max-inflight", "8")
        await wait_for(lambda: len(miner.reports()) >= 2, "the miner hashing")
        self.assertEqual(len(pool.submits), 8, miner.output())
        start = rss_kib(miner.proc.pid)
        peak = start
        for _ in range(20):                        # 10 s at a share every 16 hashes
            await deferLater(reactor, 0.5)
            peak = max(peak, rss_kib(miner.proc.pid))
            self.assertEqual(len(pool.submits), 8)
        # it kept hashing at the trivial difficulty, counting what it could not send
        self.assertGreater(miner.skipped(), 100000, miner.output())
        self.assertLess(peak - start, 8 * 1024, "RSS %d -> %d KiB" % (start, peak))
        self.assertNotIn("Traceback", miner.output())
        await miner.exit_after(signal.SIGTERM)
        self.assertEqual(miner.proc.returncode, 0, miner.output())

    async def test_a_pool_that_stops_reading_and_floods_jobs_and_requests(self):
        pool = await self.pool(answer_delay=None, reading=False)
        miner = MinerProcess(self, pool.port, "-t", "1")
        await wait_for(lambda: len(miner.reports()) >= 1, "the miner hashing")
        jobs = iter(range(1, 10**9))

        def flood():
            if any(session.send_buffer_full for session in pool.sessions):
                return                         # the miner is behind: do not buffer it here
            pool.new_job("job-%d" % next(jobs), clean=next(jobs) % 3 == 0)
            pool.ask_versions(2000)
        flooding = LoopingCall(flood)
        flooding.start(0.02)
        self.addCleanup(lambda: flooding.running and flooding.stop())
        await deferLater(reactor, 2)
        start = rss_kib(miner.proc.pid)
        peak = start
        for _ in range(16):
            await deferLater(reactor, 0.5)
            peak = max(peak, rss_kib(miner.proc.pid))
        flooding.stop()
        self.assertLessEqual(len(pool.submits), 16)
        self.assertLess(peak - start, 16 * 1024, "RSS %d -> %d KiB" % (start, peak))
        self.assertNotIn("Traceback", miner.output())

    async def test_a_slow_pool_and_endless_jobs_keep_the_queues_at_the_bound(self):
        pool = await self.pool(answer_delay=0.3)
        miner = self.in_process_miner(pool.port, max_inflight=4)
        jobs = iter(range(2, 10**9))
        endless = LoopingCall(lambda: pool.new_job("job-%d" % next(jobs), clean=False))
        endless.start(0.01)
        self.addCleanup(lambda: endless.running and endless.stop())
        waiting = []
        open_jobs = []
        for _ in range(150):                        # 3 s
            await deferLater(reactor, 0.02)
            waiting.append(miner.hasher.waiting)
            open_jobs.append(miner.open_jobs)
            self.assertLessEqual(miner.inflight, 4)
        endless.stop()
        self.assertEqual(miner.peak_inflight, 4)
        self.assertLessEqual(max(waiting), 4)
        self.assertEqual(max(open_jobs), MAX_OPEN_JOBS)
        self.assertGreater(miner.accepted, 8)
        self.assertGreater(miner.hasher.skipped, 0)
        self.assertEqual(miner.rejected, 0)

    async def test_unanswered_submissions_give_their_slots_back_when_the_connection_goes(self):
        pool = await self.pool(answer_delay=None)
        miner = self.in_process_miner(pool.port, max_inflight=4)
        await wait_for(lambda: len(pool.submits) == 4, "4 submissions")
        pool.send_all("client.reconnect", "127.0.0.1", pool.port, 0)
        await wait_for(lambda: len(pool.submits) == 8, "4 more on the new connection")
        self.assertEqual(miner.inflight, 4)
        await deferLater(reactor, 0.5)
        self.assertEqual(len(pool.submits), 8)

    async def test_nothing_is_submitted_for_older_jobs_after_clean_jobs(self):
        pool = await self.pool()
        miner = self.in_process_miner(pool.port)
        await wait_for(lambda: len(pool.submits) >= 50, "shares for job-1")
        # a job without clean_jobs leaves the older one submittable
        pool.new_job("job-1b", clean=False)
        await wait_for(lambda: miner.work is not None and miner.work.job_id == "job-1b",
                       "job-1b")
        self.assertEqual(miner.open_jobs, 2)
        pool.new_job("job-2", clean=True, then_ask_version=777)

        def after_the_job():
            """What the miner sent once it had read job-2 (the version request after it)."""
            ids = [m.get("id") for m in pool.received]
            if 777 not in ids:
                return None
            return [m["params"][1] for m in pool.received[ids.index(777) + 1:]
                    if m.get("method") == "mining.submit"]
        await wait_for(lambda: len(after_the_job() or []) >= 50, "shares for job-2")
        self.assertEqual(set(after_the_job()), {"job-2"})
        self.assertEqual(miner.open_jobs, 1)
        self.assertEqual(miner.rejected, 0)

    async def test_replies_are_dropped_not_buffered_while_the_pool_does_not_read(self):
        pool = await self.pool(answer_delay=None, reading=False)
        miner = self.in_process_miner(pool.port)
        await wait_for(lambda: miner.protocol is not None and miner.open_jobs, "a job")
        for _ in range(8):
            pool.ask_versions(50000)
        await wait_for(lambda: miner.protocol.replies_dropped > 0, "replies dropped", timeout=60)
        hashed = miner.hasher.total_hashes
        await wait_for(lambda: miner.hasher.total_hashes > hashed, "more hashing")
        self.assertIsNotNone(miner.protocol)          # still connected

    async def exits_quickly(self, signum, **pool_kwargs):
        pool = await self.pool(**pool_kwargs)
        miner = MinerProcess(self, pool.port, "-t", "2")
        await wait_for(lambda: len(miner.reports()) >= 2, "the miner mining at full speed")
        if pool.reading:
            self.assertGreaterEqual(len(pool.submits), 16)
        took = await miner.exit_after(signum)
        output = miner.output()
        self.assertEqual(miner.proc.returncode, 0, output)
        self.assertNotIn("Traceback", output)
        # the deliverable is an exit within 2 s of the signal, whatever the miner is doing
        self.assertLess(took, 2.0, output)

    async def test_sigterm_while_flooding_an_answering_pool(self):
        await self.exits_quickly(signal.SIGTERM)

    async def test_sigint_while_flooding_an_answering_pool(self):
        await self.exits_quickly(signal.SIGINT)

    async def test_sigterm_while_the_pool_neither_answers_nor_reads(self):
        await self.exits_quickly(signal.SIGTERM, answer_delay=None, reading=False)

    async def test_sigint_while_the_pool_neither_answers_nor_reads(self):
        await self.exits_quickly(signal.SIGINT, answer_delay=None, reading=False)


class MaxInflightOption(unittest.TestCase):
    def test_default_and_bounds(self):
        from gxcpoold.miner.client import MAX_INFLIGHT
        from gxcpoold.miner.main import options
        self.assertEqual(options(["-u", "a.w"]).max_inflight, MAX_INFLIGHT)
        self.assertEqual(options(["-u", "a.w", "--max-inflight", "1"]).max_inflight, 1)
        with self.assertRaises(SystemExit):
            options(["-u", "a.w", "--max-inflight", "0"])
