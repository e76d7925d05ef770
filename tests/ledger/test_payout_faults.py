"""SIGKILL at each step of the payout protocol, in a real subprocess, then restart.

After recovery the node's chain and the database must agree: every miner
received exactly what it was credited, in exactly the payouts the ledger
confirmed; nothing sent twice, no credit lost.
"""
import os
import signal
import sys

from twisted.internet import reactor, utils

from gxcpoold.ledger.faults import ENV as FAULT_ENV
from tests.ledger.dbtest import each_backend
from tests.ledger.harness import EXPIRY, MARGIN
from tests.ledger.test_payouts import PayoutsMixin

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class PayoutFaultsMixin(PayoutsMixin):
    MINERS = 2
    # every test here spawns processes: give slow CI room
    timeout = 120

    async def worker(self, rounds, *, fault=None, mine=True):
        """Run the worker; returns (stdout lines, exit code or -signal)."""
        env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        if fault:
            env[FAULT_ENV] = fault
        args = ["-m", "tests.ledger.payout_worker", self.db.url, self.devnode.url, self.wallet,
                str(rounds), "--expiry", str(EXPIRY), "--margin", str(MARGIN)]
        if mine:
            args.append("--mine")
        finished = utils.getProcessOutputAndValue(sys.executable, args, env=env, path=ROOT,
                                                  reactor=reactor)
        # A death by signal arrives as a failure whose value is (out, err, signal).
        finished.addErrback(lambda f: (f.value[0], f.value[1], -f.value[2]))
        out, err, code = await finished
        if isinstance(code, int) and code != 0 and not fault:
            self.fail("worker failed (%s): %s" % (code, err.decode()[-2000:]))
        return out.decode().splitlines(), code, err.decode()

    async def killed_at(self, point, rounds=1):
        out, code, err = await self.worker(rounds, fault=point)
        self.assertEqual(code, -signal.SIGKILL, "the worker did not die at %s: %s %s"
                         % (point, out, err[-1500:]))
        return out

    async def recover(self):
        """Restarted processes until everyone is paid; time passes only if nothing else helps."""
        for attempt in range(3):
            out, code, _ = await self.worker(10)
            if out and out[-1] == "nothing to pay" and not [
                    r for r in self.payout_rows() if r.status in ("pending", "sent", "unknown")]:
                return
            self.node.advance_time(EXPIRY + MARGIN)
        self.fail("still unpaid after recovery: %s" % (self.payout_rows(),))

    async def test_killed_after_intent_before_send(self):
        await self.start()
        expected = await self.earn()
        await self.killed_at("after-intent")
        [row] = self.payout_rows()
        self.assertEqual((row.status, row.txid), ("pending", None))
        self.assertEqual(self.node.mempool.txs, {})           # nothing reached the node
        await self.recover()
        self.assert_paid_exactly_once(expected)
        self.assertEqual([r.status for r in self.payout_rows()].count("failed"), 1)

    async def test_killed_after_send_before_recording(self):
        await self.start()
        expected = await self.earn()
        await self.killed_at("after-send")
        [row] = self.payout_rows()
        self.assertEqual((row.status, row.txid), ("pending", None))
        self.assertEqual(len(self.node.mempool.txs), 1)       # the node has it
        await self.recover()
        self.assert_paid_exactly_once(expected)
        self.assertNotIn("failed", [r.status for r in self.payout_rows()])

    async def test_killed_after_recording_the_answer(self):
        await self.start()
        expected = await self.earn()
        await self.killed_at("after-record")
        [row] = self.payout_rows()
        self.assertEqual(row.status, "sent")
        await self.recover()
        self.assert_paid_exactly_once(expected)

    async def test_killed_while_confirming_a_mined_payout(self):
        await self.start()
        expected = await self.earn()
        await self.killed_at("reconcile-before-confirm", rounds=3)
        [row] = self.payout_rows()
        self.assertEqual(row.status, "sent")
        self.assertEqual(len(self.received_on_chain(row.recipient)), 1)   # mined already
        await self.recover()
        self.assert_paid_exactly_once(expected)


# Only the fault tests of this module (the inherited ones run in test_payouts).
for _name in [n for n in dir(PayoutsMixin) if n.startswith("test_")]:
    setattr(PayoutFaultsMixin, _name, None)

globals().update(each_backend(PayoutFaultsMixin))
