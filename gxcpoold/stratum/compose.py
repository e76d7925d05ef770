"""The sha256d part of the service tree: jobs, block submitter, Stratum port."""
import os

from gxcpoold.algorithms import sha256d
from gxcpoold.jobs import JobManager
from gxcpoold.node.minedtxids import FILE_NAME as MINED_TXIDS_FILE, MinedTxids
from gxcpoold.node.submitter import BlockSubmitter
from gxcpoold.stratum.service import StratumService


def add_sha256d(parent, config, node, reactor, *, share_sink, block_recorder):
    """Attach JobManager and (if enabled) the sha256d StratumService to parent;
    returns (jobs, submitter, stratum or None)."""
    settings = config.stratum["sha256d"]
    # txids the node mined, kept out of later jobs (node defect 6); one set for
    # the whole pool, remembered across restarts
    mined = MinedTxids(os.path.join(config.state_dir, MINED_TXIDS_FILE), clock=reactor,
                       mempool_expiry=config.payouts.mempool_expiry)
    mined.load()
    jobs = JobManager(node, clock=reactor, extranonce2_size=settings.extranonce2_size,
                      excluded_txids=mined, algorithm=sha256d)
    jobs.setName("jobs")
    jobs.setServiceParent(parent)
    submitter = BlockSubmitter(node.client, block_recorder, clock=reactor,
                               refresh=node.watcher.refresh, mined_txids=mined)
    # Between the ledger and Stratum in the tree: shutdown (last started,
    # first stopped) lets Stratum stop first, then waits for submissions.
    submitter.setServiceParent(parent)
    stratum = None
    if settings.enabled:
        stratum = StratumService(
            settings, jobs=jobs, network=config.pool.network,
            lenient=config.pool.miner_address_check == "lenient", share_sink=share_sink,
            reactor=reactor, submit_block=submitter.submit,
            instance_id=config.cluster.instance_id, algorithm=sha256d)
        stratum.setName("stratum-sha256d")
        stratum.setServiceParent(parent)
    return jobs, submitter, stratum
