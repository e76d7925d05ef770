"""End to end on loopback: devnet node (defects on) + pool (node link, jobs, Stratum,
block submitter, ledger) + two reference miners, until blocks mature and both
miners are paid; then the node's balances must match the database."""
import dataclasses
import tempfile
from types import SimpleNamespace

from sqlalchemy import select
from twisted.internet import reactor

from gxcpoold.algorithms import sha256d
from gxcpoold.amounts import gxc_to_base_units
from gxcpoold.config import NodeSettings, StratumSettings
from gxcpoold.jobs import JobManager
from gxcpoold.ledger.accounts import verify_balances
from gxcpoold.ledger.blocks import LedgerBlockRecorder, RewardPolicy
from gxcpoold.ledger.payouts import PayoutService
from gxcpoold.ledger.schema import blocks, payouts
from gxcpoold.ledger.sharewriter import ShareWriter
from gxcpoold.ledger.unlocker import Unlocker
from gxcpoold.miner.client import Miner
from gxcpoold.node.service import NodeService
from gxcpoold.node.submitter import BlockSubmitter
from gxcpoold.stratum.service import StratumService
from tests.devnet.loopback import start_devnode
from tests.ledger.dbtest import each_backend, trial_database
from tests.stratum.test_end_to_end import NODE, STRATUM, wait_for

MINERS = ("tGXC" + "11" * 17, "tGXC" + "22" * 17)
MATURITY = 2


class EndToEndMixin:
    backend = "sqlite"
    timeout = 150

    async def test_blocks_mature_and_every_miner_is_paid(self):
        devnode = await start_devnode(self, difficulty=5.0, maturity=MATURITY)
        node = NodeService(reactor, NODE, network="testnet", url=devnode.url)
        db = trial_database(self, self.backend)
        policy = RewardPolicy("pplns", 2.0, gxc_fraction("0.01"), "@pool-fee")
        writer = ShareWriter(db, spill_path=tempfile.mktemp(), flush_interval=0.2)
        recorder = LedgerBlockRecorder(db, policy, writer)
        mined = set()
        jobs = JobManager(node, algorithm=sha256d, clock=reactor, excluded_txids=mined)
        submitter = BlockSubmitter(node.client, recorder, clock=reactor,
                                   refresh=node.watcher.refresh, mined_txids=mined)
        stratum = StratumService(STRATUM, algorithm=sha256d, jobs=jobs, network="testnet", share_sink=writer,
                                 reactor=reactor, submit_block=submitter.submit)
        unlocker = Unlocker(db, node.client, policy, maturity=MATURITY, interval=0.3,
                            share_writer=writer)
        payer = PayoutService(db, node, minimum=10**6, interval=0.3)
        services = (node, writer, jobs, stratum, unlocker, payer)
        for service in services:
            service.startService()
        for service in reversed(services):
            self.addCleanup(lambda s=service: s.running and s.stopService())
        port = (await stratum.whenListening()).getHost().port
        await wait_for(lambda: jobs.current_job is not None, "the first job")
        rigs = [Miner(reactor, "127.0.0.1", port, address + ".rig", threads=1,
                      report_interval=0) for address in MINERS]
        for rig in rigs:
            rig.start()
            self.addCleanup(rig.stop)

        def confirmed():
            return db.run_sync(lambda c: c.execute(
                select(payouts.c.recipient).where(payouts.c.status == "confirmed")).all())
        await wait_for(lambda: {r.recipient for r in confirmed()} >= set(MINERS),
                       "both miners paid", timeout=120)
        for rig in rigs:
            rig.stop()
        await payer.stopService()
        await unlocker.stopService()
        await writer.flush()

        rows = db.run_sync(lambda c: c.execute(select(payouts)).all())
        for address in MINERS:
            paid = sum(r.amount for r in rows if r.recipient == address and r.status == "confirmed")
            unmined = [r for r in rows if r.recipient == address and r.status != "confirmed"]
            on_node = gxc_to_base_units(await node.client.getbalance(address), exact=False)
            # whatever else is still in flight for it, the node holds exactly what
            # the ledger says it paid
            if not unmined:
                self.assertEqual(on_node, paid, address)
            self.assertGreater(paid, 0)
        self.assertEqual(db.run_sync(verify_balances), [])
        found = db.run_sync(lambda c: c.execute(select(blocks)).all())
        self.assertTrue(any(b.status == "mature" for b in found))
        for b in found:
            if b.status in ("immature", "mature"):
                self.assertEqual(await node.client.getblockhash(b.height), b.hash)


def gxc_fraction(text):
    from fractions import Fraction
    return Fraction(text)


globals().update(each_backend(EndToEndMixin))
