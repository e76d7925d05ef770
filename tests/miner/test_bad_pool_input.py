"""A pool that sends garbage: the real `gxcpool-miner` process logs each bad
message as one line, never a traceback, and goes on mining the next good job.

For each of the three dialects that carry ethash or gxhash work, the scripted
pool sends lines that are not JSON, JSON that is not an object, and
notifications of every wrong shape, then a good job; the shares for that job
must verify.
"""
import json
import re
import signal

from twisted.trial import unittest

from tests.miner.checks import epoch0_light_hash
from tests.miner.fake_pools import (HEADER, NICEHASH_EXTRANONCE, SEED_EPOCH_0, EthProxyPool,
                                    GxhashPool, NiceHashPool)
from tests.miner.processes import MinerProcess
from tests.waiting import wait_for

ONE_IN_8 = 0xffff / 2**45
NOT_JSON = [b"this is not json\n", b"[1, 2, 3]\n", b"\"a string\"\n", b"{\"id\": \n",
            b"\xff\xfe\x00 binary\n",
            b'{"id": null, "method": "mining.set_difficulty", "params": [NaN]}\n']
# an answer to no request: dropped without a word
UNASKED = b'{"id": 99, "result": true, "error": null}\n'


def ignored_in_reports(miner):
    return sum(int(m.group(1)) for m in (re.search(r"ignored (\d+) malformed", line)
                                         for line in miner.lines) if m)


async def until(predicate, what, miner):
    try:
        await wait_for(predicate, what, timeout=30)
    except AssertionError as e:
        raise AssertionError("%s; the miner said:\n%s" % (e, miner.output())) from None


def notification(method, *params):
    return json.dumps({"id": None, "method": method, "params": list(params)}).encode() + b"\n"


class BadPoolInput(unittest.TestCase):
    timeout = 55

    async def start(self, pool, *args, scheme="stratum+tcp"):
        await pool.listen()
        self.addCleanup(pool.stop)
        miner = MinerProcess(self, "%s://127.0.0.1:%d" % (scheme, pool.port), "-t", "1", *args)
        await until(lambda: pool.submits, "a first share", miner)
        return miner

    async def survives(self, pool, miner, garbage, good_job_submits, unhashable=None,
                       not_bad=0):
        """Send garbage, then wait until the good job (its last line) is mined;
        return the output.  unhashable: a well-formed job the miner cannot
        hash, sent before the good one once the miner said so; not_bad: how
        many garbage lines are only messages the dialect does not use."""
        bad = len(garbage) - 1 - not_bad
        before = len(miner.lines)
        pool.write_all(b"".join(garbage[:-1]) + UNASKED)
        if unhashable is not None:
            pool.write_all(unhashable)
            await until(lambda: "cannot hash job" in miner.output(), "cannot hash", miner)
        pool.write_all(garbage[-1])
        await until(good_job_submits, "shares for the job after the garbage", miner)
        # each bad message counted once (and at most 10 a report logged one by one)
        await until(lambda: ignored_in_reports(miner) == bad,
                    "%d ignored messages in the reports" % bad, miner)
        output = miner.output()
        self.assertNotIn("Traceback", output)
        self.assertNotIn("Unhandled", output)
        new = miner.lines[before:]
        self.assertEqual(sum(line.startswith("ignoring malformed") for line in new),
                         min(10, bad), output)
        took = await miner.exit_after(signal.SIGTERM)
        self.assertEqual(miner.proc.returncode, 0, output)
        self.assertLess(took, 30)
        return output

    async def test_nicehash(self):
        pool = NiceHashPool(ONE_IN_8)
        miner = await self.start(pool, "--algorithm", "ethash")
        garbage = [
            notification("mining.notify", *{"a": 1}),
            b'{"id": null, "method": "mining.notify", "params": {"job": "x"}}\n',
            notification("mining.notify", "x"),
            notification("mining.notify", "x", "zz" * 32, HEADER, True),
            notification("mining.notify", "x", SEED_EPOCH_0, "abcd", True),
            notification("mining.notify", 12, SEED_EPOCH_0, HEADER, True),
            notification("mining.set_difficulty", "abc"),
            notification("mining.set_difficulty", -1),
            notification("mining.set_difficulty"),
            notification("mining.set_extranonce", 12345),
            notification("mining.set_extranonce", "0xzz"),
        ] + NOT_JSON + [notification("mining.notify", "a2", SEED_EPOCH_0, HEADER, True)]
        # well formed, but the seed hash of no epoch: one line, then the next job
        no_epoch = notification("mining.notify", "no-epoch", "11" * 32, HEADER, True)
        output = await self.survives(pool, miner, garbage,
                                     lambda: sum(p[1] == "a2" for p in pool.submits) >= 2,
                                     unhashable=no_epoch)
        self.assertEqual(output.count("cannot hash job no-epoch: seed hash 1111"), 1, output)
        for _, job, digits in pool.submits:
            _, final = epoch0_light_hash(bytes.fromhex(HEADER),
                                         int(NICEHASH_EXTRANONCE + digits, 16))
            self.assertLessEqual(int.from_bytes(final, "big"), (0xffff << 208) * 2**45 // 0xffff)
        self.assertNotIn("no-epoch", {p[1] for p in pool.submits})

    async def test_ethproxy(self):
        pool = EthProxyPool(2**253)
        miner = await self.start(pool, "--algorithm", "ethash",
                                 scheme="stratum1+tcp")
        good = pool.work_for("77" * 32, 2**253, 5)
        garbage = [json.dumps({"id": 0, "result": result}).encode() + b"\n"
                   for result in ("0xabc", ["0x12"], [None, None, None],
                                  ["0x" + HEADER, "0x" + SEED_EPOCH_0, "0x0"],
                                  ["0x" + HEADER, "0x" + SEED_EPOCH_0, "0xnothex"],
                                  ["0x" + HEADER, "0x" + "11" * 32, "0x" + "f" * 65])]
        garbage += NOT_JSON + [json.dumps({"id": 0, "result": good}).encode() + b"\n"]
        output = await self.survives(pool, miner, garbage,
                                     lambda: sum(p[1] == good[0] for p in pool.submits) >= 2,
                                     not_bad=1)   # set_difficulty is no eth-proxy method
        self.assertIn("ignoring malformed pushed work", output)
        for nonce, header, mix in pool.submits:
            real_mix, final = epoch0_light_hash(bytes.fromhex(header[2:]), int(nonce, 16))
            self.assertEqual(real_mix.hex(), mix[2:])
            self.assertLessEqual(int.from_bytes(final, "big"), 2**253)

    async def test_gxhash(self):
        pool = GxhashPool(1)
        miner = await self.start(pool, "--algorithm", "gxhash")
        good = ["g2", 8, pool.job[2], 1700000100, pool.job[4], True]
        garbage = [
            notification("mining.notify", "x", "7", pool.job[2], 1, pool.job[4], True),
            notification("mining.notify", "x", 7, pool.job[2][:-2], 1, pool.job[4], True),
            notification("mining.notify", "x", 7, pool.job[2], True, pool.job[4], True),
            notification("mining.notify", "x", 7, pool.job[2], 1, "not hex", True),
            notification("mining.notify", "x", 7),
            # 16 bits of extranonce1 would make GXC nonces of 2**31 and more
            notification("mining.set_extranonce", "ffff", 2),
            notification("mining.set_extranonce", "0001", 4),
            notification("mining.set_difficulty", 0),
        ] + NOT_JSON + [notification("mining.notify", *good)]
        output = await self.survives(pool, miner, garbage,
                                     lambda: any(p[1] == "g2" for p in pool.submits))
        self.assertIn("gives GXC nonces of 2**31 or more", output)
        for _, _, n_hex in pool.submits:
            self.assertRegex(n_hex, "^[0-9a-f]{4}$")
        reports = [line for line in miner.lines if re.match(r"^\d+\.\d\d H/s  accepted", line)]
        self.assertTrue(reports, output)
