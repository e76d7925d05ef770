"""Ethash DAG manager: keeps the current epoch's full dataset ready.

Building an epoch's DAG takes tens of seconds of both cores and about 1 GiB,
so it happens in a dedicated thread pool and never on the reactor thread.
Until it is ready, shares are checked with the light cache (about a
millisecond each); afterwards with the DAG (microseconds).  Near the end of
an epoch the next epoch's DAG is prepared ahead, and DAGs of epochs left
behind are closed and their files deleted.  DAG files live in the state
directory, so a restart maps the finished file instead of regenerating.

The manager learns the chain height from note_height() (e.g. on every new
template) and/or by polling height_source() every poll_interval seconds.
With full=False (small pools, tests) no DAG is built: the manager only warms
the light caches of the wanted epochs in the background.  Progress is logged:
a line when an epoch's preparation starts, one per tenth of a generation,
one when it is ready, one when an old epoch is dropped.
All bookkeeping runs on the reactor thread; verify()/hash() may be called
from any thread, and should be called from a worker thread: a light-mode
check takes about a millisecond, and the first one of an epoch whose light
cache is not built yet waits for it (the build starts in the background as
soon as the epoch is wanted).  reactor and threadpool can be injected for
tests.
"""
import os
import re
import threading

from twisted.application import service
from twisted.internet import defer, task, threads
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

from gxcpoold.hashers.ethash import (ETHASH_EPOCH_LENGTH, ETHASH_MAX_EPOCH, EthashLightCacheLRU,
                                     EthashResult, _share_args, check_share, ethash_epoch,
                                     share_check_args)
from gxcpoold.hashers.ethash_dag import (DEFAULT_CHUNK_PAGES, DAGFileError, DAGGenerationCancelled,
                                         EthashDAG)
from gxcpoold.priority import DEFAULT_NICENESS, check_niceness, lower_this_thread

__all__ = ["DAGManager"]

log = Logger()

# EthashDAG.filename(), optionally with generate()'s temporary suffix
_DAG_FILE = re.compile(r"^ethash-(\d{5})-(\d+)\.dag(\.tmp-.*)?$")


class DAGManager(service.Service):
    """Builds, prepares and drops Ethash DAGs; verifies with full or light.

    state_dir       directory for DAG files (created if missing)
    height_source   optional callable -> int or Deferred[int], polled
    prepare_ahead   start the next epoch's DAG this many blocks before it
    full            False: light caches only, never a DAG (no GiB of memory and disk)
    sizes           optional epoch -> (cache_items, dataset_pages), for tests
    niceness        the build threads' nice value above the reactor's (0 = the same),
                    so a generation never slows the reactor; not applied to an
                    injected threadpool
    """

    name = "ethash-dag"

    def __init__(self, state_dir, height_source=None, *, reactor=None, threadpool=None,
                 poll_interval=15.0, prepare_ahead=2000, retry_delay=60.0, generate_threads=2,
                 sizes=None, light_caches=None, full=True, chunk_pages=DEFAULT_CHUNK_PAGES,
                 niceness=DEFAULT_NICENESS):
        if reactor is None:
            from twisted.internet import reactor
        self.state_dir = state_dir
        self.height_source = height_source
        self.poll_interval = poll_interval
        self.prepare_ahead = prepare_ahead
        self.retry_delay = retry_delay
        self.generate_threads = generate_threads
        self.full = full
        self.chunk_pages = chunk_pages    # pages per generation step (and progress report)
        self.niceness = check_niceness(niceness)
        self.height = None
        self.stats = {"generated": 0, "loaded": 0, "dropped": 0, "failed": 0}
        self.progress = None  # (epoch, done_pages, total_pages) of the running build
        self._reactor = reactor
        self._own_pool = threadpool is None
        self._pool = threadpool or ThreadPool(minthreads=0, maxthreads=2, name="ethash-dag")
        self._light = light_caches or EthashLightCacheLRU(maxsize=3, sizes=sizes)
        self._dags = {}           # epoch -> EthashDAG, ready to use
        self._lights = set()      # light mode: epochs whose light cache was warmed
        self._wanted = set()      # epochs whose DAG should exist
        self._building = None     # (epoch, cancel Event, Deferred) of the one running build
        self._waiters = {}        # epoch -> [Deferred] from when_ready()
        self._retry = None
        self._poller = None
        self._stopped = False

    # -- service lifecycle ----------------------------------------------------

    def startService(self):
        service.Service.startService(self)
        self._stopped = False
        os.makedirs(self.state_dir, exist_ok=True)
        if self._own_pool:
            self._pool.start()
        if self.height_source is not None:
            self._poller = task.LoopingCall(self._poll)
            self._poller.clock = self._reactor
            self._poller.start(self.poll_interval, now=True)

    def stopService(self):
        service.Service.stopService(self)
        self._stopped = True
        if self._poller is not None and self._poller.running:
            self._poller.stop()
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        pending = defer.succeed(None)
        if self._building is not None:
            self._building[1].set()  # generation stops at its next chunk
            pending = self._building[2]
        pending.addBoth(lambda _: self._shutdown())
        return pending

    def _shutdown(self):
        for epoch in list(self._dags):
            self._dags.pop(epoch).close()
        for waiters in self._waiters.values():
            for d in waiters:
                d.errback(defer.CancelledError("DAG manager stopped"))
        self._waiters.clear()
        if self._own_pool:
            self._pool.stop()

    def _poll(self):
        d = defer.maybeDeferred(self.height_source)
        d.addCallback(self.note_height)
        d.addErrback(lambda f: log.failure("height source failed", f))
        return d

    # -- what to build ------------------------------------------------------------

    def note_height(self, height):
        """Tell the manager the chain height (reactor thread)."""
        epoch = ethash_epoch(height)
        self.height = height
        wanted = {epoch}
        if (height % ETHASH_EPOCH_LENGTH >= ETHASH_EPOCH_LENGTH - self.prepare_ahead
                and epoch < ETHASH_MAX_EPOCH):
            wanted.add(epoch + 1)
        self._wanted = wanted
        for old in [e for e in self._dags if e not in wanted]:
            self._drop(old)
        self._lights &= wanted
        if self._building is not None and self._building[0] not in wanted:
            self._building[1].set()
        self._schedule()

    def _schedule(self):
        if self._stopped or self._building is not None:
            return
        done = self._dags if self.full else self._lights
        todo = sorted(e for e in self._wanted if e not in done)
        if not todo:
            return
        epoch, cancel = todo[0], threading.Event()
        keep = self._wanted | set(self._dags)
        log.info("ethash epoch {epoch}: preparing the {what} in the background{meanwhile}",
                 epoch=epoch, what="DAG" if self.full else "light cache",
                 meanwhile="; shares are checked with the light cache until it is ready"
                 if self.full else " (dag_mode light: no DAG)")
        d = threads.deferToThreadPool(self._reactor, self._pool, self._build, epoch, cancel, keep)
        self._building = (epoch, cancel, d)
        d.addCallbacks(self._built, self._build_failed, callbackArgs=(epoch,), errbackArgs=(epoch,))

    def _build(self, epoch, cancel, keep):
        """Worker thread: light cache, then map the DAG file or generate it."""
        if self._own_pool:
            lower_this_thread(self.niceness)    # the generation threads inherit it
        self._remove_stale_files(keep)
        light = self._light.get(epoch)
        if not self.full:
            return None, "light"
        try:
            dag = EthashDAG.load(self.state_dir, epoch, light_cache=light)
            return dag, "loaded"
        except DAGFileError:
            pass
        self._reactor.callFromThread(
            log.info, "ethash DAG for epoch {epoch}: generating {mib} MiB in {directory} "
            "(generation threads: {threads})", epoch=epoch, mib=128 * light.pages >> 20,
            directory=self.state_dir, threads=self.generate_threads)
        lock, logged = threading.Lock(), [0]

        def progress(done, total):
            # generator threads: one log line per tenth, sent to the reactor thread
            self.progress = (epoch, done, total)
            tenth = 10 * done // total
            with lock:
                if tenth <= logged[0] or tenth >= 10:
                    return
                logged[0] = tenth
            self._reactor.callFromThread(
                log.info, "ethash DAG for epoch {epoch}: {percent}% generated",
                epoch=epoch, percent=10 * tenth)

        dag = EthashDAG.generate(light, directory=self.state_dir, threads=self.generate_threads,
                                 chunk_pages=self.chunk_pages, progress=progress, cancel=cancel)
        return dag, "generated"

    def _remove_stale_files(self, keep):
        """Delete DAG files of epochs not in keep, and temporary files left by
        a crash.  Runs at the start of a build, the only time no generation
        of ours is writing into the directory."""
        for name in os.listdir(self.state_dir):
            match = _DAG_FILE.match(name)
            if match and (match.group(3) or int(match.group(1)) not in keep):
                try:
                    os.unlink(os.path.join(self.state_dir, name))
                except FileNotFoundError:
                    pass

    def _built(self, result, epoch):
        dag, how = result
        self._building = None
        self.progress = None
        if dag is None:
            self._light_built(epoch)
        elif self._stopped:
            dag.close()  # shutting down: the pool is about to stop
        elif epoch not in self._wanted:
            self._close_later(dag, delete=True)
        else:
            self.stats[how] += 1
            self._dags[epoch] = dag
            log.info("ethash DAG for epoch {epoch} ready ({how}, {path}): its shares are "
                     "checked with it", epoch=epoch, how=how, path=dag.path)
            for d in self._waiters.pop(epoch, []):
                d.callback(dag)
        self._schedule()

    def _light_built(self, epoch):
        if epoch in self._wanted and not self._stopped:
            self._lights.add(epoch)
            log.info("ethash light cache for epoch {epoch} ready (dag_mode light)", epoch=epoch)

    def _build_failed(self, failure, epoch):
        self._building = None
        self.progress = None
        if failure.check(DAGGenerationCancelled):
            log.info("ethash DAG for epoch {epoch}: generation stopped (epoch no longer wanted)",
                     epoch=epoch)
            self._schedule()
            return
        self.stats["failed"] += 1
        log.failure("ethash DAG for epoch {epoch} failed; light verification continues",
                    failure, epoch=epoch)
        if not self._stopped:
            self._retry = self._reactor.callLater(self.retry_delay, self._schedule)

    def _drop(self, epoch):
        dag = self._dags.pop(epoch)
        self.stats["dropped"] += 1
        log.info("ethash DAG for epoch {epoch} dropped (height {height}); its file is deleted",
                 epoch=epoch, height=self.height)
        self._close_later(dag, delete=True)

    def _close_later(self, dag, delete):
        """Close (waits for running hashes) and delete its file, off the reactor."""
        def close():
            dag.close()
            if delete and dag.path and os.path.exists(dag.path):
                os.unlink(dag.path)

        d = threads.deferToThreadPool(self._reactor, self._pool, close)
        d.addErrback(lambda f: log.failure("closing DAG failed", f))

    # -- queries --------------------------------------------------------------------

    def ready_epochs(self):
        return sorted(self._dags)

    def is_full(self, epoch):
        return epoch in self._dags

    def when_ready(self, epoch):
        """Deferred firing with the epoch's DAG once it is ready (reactor thread)."""
        if epoch in self._dags:
            return defer.succeed(self._dags[epoch])
        d = defer.Deferred()
        self._waiters.setdefault(epoch, []).append(d)
        return d

    def status(self):
        return {
            "mode": "full" if self.full else "light",
            "height": self.height,
            "epochs_ready": self.ready_epochs(),
            "epochs_wanted": sorted(self._wanted),
            "building": self._building[0] if self._building else None,
            "progress": self.progress,
            **self.stats,
        }

    # -- hashing (any thread) -----------------------------------------------------------

    def hasher(self, epoch):
        """The epoch's DAG if ready, else its light cache (built now if missing)."""
        dag = self._dags.get(epoch)
        if dag is not None and not dag.closed:
            return dag
        return self._light.get(epoch)

    def _with_hasher(self, block_number, method, *args):
        epoch = ethash_epoch(block_number)
        dag = self._dags.get(epoch)
        if dag is not None:
            try:
                return getattr(dag, method)(*args)
            except ValueError:
                if not dag.closed:
                    raise
                # dropped between look-up and use: the light cache still works
        return getattr(self._light.get(epoch), method)(*args)

    def hash(self, block_number, header_hash, nonce):
        """(mix_hash, final_hash) with the full DAG if ready, else light."""
        header_hash, nonce = _share_args(header_hash, nonce)
        return self._with_hasher(block_number, "hash", header_hash, nonce)

    def check(self, block_number, header_hash, nonce, mix_hash, target):
        """EthashResult of a share; the cheap final-hash test comes first, so
        a bad share never waits for a light cache build."""
        epoch = ethash_epoch(block_number)
        args = share_check_args(header_hash, nonce, mix_hash, target)
        dag = self._dags.get(epoch)
        if dag is not None:
            try:
                return dag.check(*args)
            except ValueError:
                if not dag.closed:
                    raise
        # light: the final-hash test runs before the light cache is looked up
        return check_share(lambda h, n: self._light.get(epoch).hash(h, n), *args)

    def verify(self, block_number, header_hash, nonce, mix_hash, target):
        """True iff the claimed mix is right and the final hash <= target."""
        return self.check(block_number, header_hash, nonce, mix_hash, target) is EthashResult.SUCCESS
