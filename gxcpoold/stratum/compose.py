"""The mining part of the service tree: one block submitter and one pipeline
for the pool, then jobs and a Stratum port for every enabled algorithm."""
import os

from gxcpoold.algorithms import ALGORITHMS, module
from gxcpoold.algorithms.context import AlgorithmContext
from gxcpoold.jobs import JobManager
from gxcpoold.node.minedtxids import FILE_NAME as MINED_TXIDS_FILE, MinedTxids
from gxcpoold.node.submitter import BlockSubmitter
from gxcpoold.stratum.bans import BanList
from gxcpoold.stratum.pipeline import SharePipeline
from gxcpoold.stratum.service import StratumService


def add_mining(parent, config, node, reactor, *, share_sink, block_recorder, events=None):
    """Attach the submitter and, per enabled algorithm, its services, jobs and
    Stratum port to parent; returns {algorithm name: StratumService}."""
    # txids the node mined, kept out of later jobs (node defect 6); one set for
    # the whole pool, remembered across restarts
    mined = MinedTxids(os.path.join(config.state_dir, MINED_TXIDS_FILE), clock=reactor,
                       mempool_expiry=config.payouts.mempool_expiry)
    mined.load()
    # One submission per height in flight for the whole pool, whichever
    # algorithm found the block (spec/gxc-node.md 6.1).
    submitter = BlockSubmitter(node.client, block_recorder, clock=reactor,
                               refresh=node.watcher.refresh, mined_txids=mined, events=events)
    submitter.setServiceParent(parent)
    pipeline = SharePipeline(share_sink, submitter.submit, clock=reactor,
                             pool_address=lambda: node.pool_address,
                             instance_id=config.cluster.instance_id, events=events)
    bans = BanList(reactor, config.stratum["sha256d"].ban_seconds)   # shared by every port
    ports = {}
    for name in ALGORITHMS:
        settings = config.stratum[name]
        if not settings.enabled:
            continue
        algorithm = module(name).make(AlgorithmContext(
            settings=settings, state_dir=config.state_dir, reactor=reactor,
            cores=os.cpu_count() or 1))
        # Started before the port and stopped after it (gxcpoold/shutdown.py).
        for service in getattr(algorithm, "services", lambda: [])():
            service.setServiceParent(parent)
        jobs = JobManager(node, clock=reactor, algorithm=algorithm,
                          extranonce2_size=settings.extranonce2_size, excluded_txids=mined)
        jobs.setName("jobs-" + name)
        jobs.setServiceParent(parent)
        stratum = StratumService(
            settings, jobs=jobs, network=config.pool.network, algorithm=algorithm,
            lenient=config.pool.miner_address_check == "lenient", reactor=reactor,
            pipeline=pipeline, bans=bans, instance_id=config.cluster.instance_id)
        stratum.setName("stratum-" + name)
        stratum.setServiceParent(parent)
        ports[name] = stratum
    return ports
