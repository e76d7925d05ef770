"""Checking one mining.submit against its job (spec/stratum-v1.md section 4).

Order: job lookup (21), ntime window and version mask (20), hash, duplicate
keyed on the hash (22), difficulty (23).  The block test is the algorithm's
and is reported even for a share below the connection's difficulty.
"""
from dataclasses import dataclass

from gxcpoold.stratum import errors
from gxcpoold.stratum.errors import StratumError

DEDUP_MASK = (1 << 128) - 1


@dataclass(frozen=True)
class CheckedShare:
    job: object
    submission: object
    result: object           # the algorithm's ShareResult
    difficulty: float        # the difficulty credited
    work: int
    duplicate: bool = False


def check_share(session, jobs, algorithm, job_id, extranonce2, ntime, nonce, version_bits):
    """CheckedShare for an acceptable share; StratumError otherwise.  A
    low-difficulty share that is nevertheless a block comes back with
    difficulty 0 (the caller submits the block and rejects the share)."""
    job = jobs.get(job_id)
    sent = session.job_difficulties.get(job_id)
    if job is None or sent is None:
        if jobs.is_stale(job_id):
            raise StratumError(errors.JOB_NOT_FOUND, "Stale job: work on the latest job")
        raise StratumError(errors.JOB_NOT_FOUND, "Job not found")
    if not job.ntime <= ntime <= job.ntime + algorithm.NTIME_FUTURE_WINDOW:
        raise StratumError(errors.OTHER, "Ntime out of range")
    version = algorithm.rolled_version(job.version, version_bits or 0, session.version_mask)
    if version is None:
        raise StratumError(errors.OTHER, "Invalid version bits: outside the negotiated mask %08x"
                           % session.version_mask)
    submission = algorithm.Submission(extranonce1=session.extranonce1, extranonce2=extranonce2,
                                      ntime=ntime, nonce=nonce, version=version)
    lowest, highest = sent
    result = algorithm.verify(job, submission, highest)
    # the low 128 bits identify a hash well enough and take a third of the memory
    key = result.hash_int & DEDUP_MASK
    if key in job.seen_hashes:
        raise StratumError(errors.DUPLICATE, "Duplicate share")
    job.seen_hashes.add(key)
    if result.share_ok:
        credited = highest
    elif lowest < highest and result.meets(lowest):
        credited = lowest             # work from before the last difficulty change
    else:
        credited = 0.0
    return CheckedShare(job=job, submission=submission, result=result, difficulty=credited,
                        work=algorithm.share_work(credited) if credited else 0)
