"""DAGManager: light until the DAG is ready, then full; next-epoch preparation;
dropping old epochs; restart from files; cancellation; polling; real threads.
All with tiny synthetic sizes, an injected clock/reactor and thread pool."""
import os
import queue
import sys
import threading

import pytest
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from gxcpoold.dag import DAGManager
from gxcpoold.hashers.ethash import EthashLightCache, EthashResult
from gxcpoold.hashers.ethash_dag import EthashDAG


def tiny_sizes(epoch):
    return 257 + epoch, 2003 + 2 * epoch


class ImmediateReactor(Clock):
    """A Clock whose callFromThread runs the call at once (single-threaded tests)."""

    def callFromThread(self, f, *args, **kw):
        f(*args, **kw)


class QueueingReactor(Clock):
    """A Clock whose callFromThread queues calls for the test thread to run."""

    def __init__(self):
        super().__init__()
        self.calls = queue.Queue()

    def callFromThread(self, f, *args, **kw):
        self.calls.put((f, args, kw))

    def run_until(self, condition, timeout=60):
        while not condition():
            f, args, kw = self.calls.get(timeout=timeout)
            f(*args, **kw)


class ManualPool:
    """Runs queued thread-pool jobs only when the test says so."""

    def __init__(self):
        self.jobs = []

    def callInThreadWithCallback(self, on_result, f, *args, **kw):
        self.jobs.append((on_result, f, args, kw))

    def run_all(self):
        while self.jobs:
            on_result, f, args, kw = self.jobs.pop(0)
            try:
                result = f(*args, **kw)
            except BaseException:
                on_result(False, Failure())
            else:
                on_result(True, result)


@pytest.fixture
def manual(tmp_path):
    reactor, pool = ImmediateReactor(), ManualPool()
    mgr = DAGManager(str(tmp_path), reactor=reactor, threadpool=pool, sizes=tiny_sizes,
                     prepare_ahead=100, retry_delay=5.0)
    mgr.startService()
    yield mgr, reactor, pool
    if mgr.running:
        mgr.stopService()
        pool.run_all()


HEADER = bytes(range(32))


def test_light_until_ready_then_full(manual, tmp_path):
    mgr, _, pool = manual
    mgr.note_height(10)
    assert mgr.status()["building"] == 0
    assert not mgr.is_full(0)
    assert isinstance(mgr.hasher(0), EthashLightCache)
    light_result = mgr.hash(10, HEADER, 99)
    pool.run_all()
    assert mgr.is_full(0) and mgr.ready_epochs() == [0]
    assert isinstance(mgr.hasher(0), EthashDAG)
    assert mgr.hash(10, HEADER, 99) == light_result
    assert mgr.stats["generated"] == 1
    assert os.listdir(tmp_path) == [EthashDAG.filename(0, tiny_sizes(0)[1])]


def test_verify_gives_the_same_answers_light_and_full(manual):
    mgr, _, pool = manual
    mgr.note_height(1)
    mix, final = mgr.hash(1, HEADER, 5)
    target = int.from_bytes(final, "big")
    bad_mix = bytes([mix[0] ^ 1]) + mix[1:]
    cases = [(mix, target), (mix, target - 1), (bad_mix, 2**256 - 1)]
    before = [mgr.check(1, HEADER, 5, m, t) for m, t in cases]
    assert before == [EthashResult.SUCCESS, EthashResult.INVALID_FINAL_HASH,
                      EthashResult.INVALID_MIX_HASH]
    pool.run_all()
    assert mgr.is_full(0)
    assert [mgr.check(1, HEADER, 5, m, t) for m, t in cases] == before
    assert mgr.verify(1, HEADER, 5, mix, target)
    assert not mgr.verify(1, HEADER, 5, bad_mix, 2**256 - 1)


def test_prepares_next_epoch_then_drops_the_old_one(manual, tmp_path):
    mgr, _, pool = manual
    mgr.note_height(29000)  # 1000 blocks before the boundary: not yet
    pool.run_all()
    assert mgr.ready_epochs() == [0]
    mgr.note_height(29950)  # within prepare_ahead=100 blocks
    assert mgr.status()["epochs_wanted"] == [0, 1]
    pool.run_all()
    assert mgr.ready_epochs() == [0, 1]
    assert len(os.listdir(tmp_path)) == 2
    ready_one = mgr.when_ready(1)
    assert ready_one.called
    mgr.note_height(30000)  # epoch 1 starts: DAG 0 goes, its file too
    assert mgr.ready_epochs() == [1]
    pool.run_all()  # the close/delete job
    assert os.listdir(tmp_path) == [EthashDAG.filename(1, tiny_sizes(1)[1])]
    assert mgr.stats["dropped"] == 1
    # shares of the old epoch still verify (light)
    assert isinstance(mgr.hasher(0), EthashLightCache)
    mix, final = mgr.hash(29999, HEADER, 1)
    assert mgr.verify(29999, HEADER, 1, mix, int.from_bytes(final, "big"))


def test_restart_maps_the_existing_file(tmp_path):
    reactor, pool = ImmediateReactor(), ManualPool()
    first = DAGManager(str(tmp_path), reactor=reactor, threadpool=pool, sizes=tiny_sizes)
    first.startService()
    first.note_height(5)
    pool.run_all()
    expected = first.hash(5, HEADER, 3)
    first.stopService()
    pool.run_all()
    assert not first.is_full(0)

    second = DAGManager(str(tmp_path), reactor=reactor, threadpool=pool, sizes=tiny_sizes)
    second.startService()
    second.note_height(6)
    pool.run_all()
    assert second.stats == {"generated": 0, "loaded": 1, "dropped": 0, "failed": 0}
    assert second.hash(6, HEADER, 3) == expected
    second.stopService()


def test_corrupt_file_is_regenerated(tmp_path):
    reactor, pool = ImmediateReactor(), ManualPool()
    cache = EthashLightCache(0, *tiny_sizes(0))
    dag = EthashDAG.generate(cache, directory=str(tmp_path))
    path = dag.path
    dag.close()
    with open(path, "r+b") as f:
        f.seek(4096)
        f.write(b"\xff" * 16)  # page 0 is always spot-checked
    mgr = DAGManager(str(tmp_path), reactor=reactor, threadpool=pool, sizes=tiny_sizes)
    mgr.startService()
    mgr.note_height(0)
    pool.run_all()
    assert mgr.stats["generated"] == 1 and mgr.stats["loaded"] == 0
    assert mgr.hasher(0).page(0) == cache.dataset_page(0)
    mgr.stopService()


def test_height_jump_cancels_the_unwanted_build(manual, tmp_path):
    mgr, _, pool = manual
    mgr.note_height(0)
    assert mgr.status()["building"] == 0
    mgr.note_height(3 * 30000 + 7)  # epoch 0 is no longer wanted
    pool.run_all()
    assert mgr.ready_epochs() == [3]
    assert mgr.stats["failed"] == 0
    assert os.listdir(tmp_path) == [EthashDAG.filename(3, tiny_sizes(3)[1])]


def test_failed_build_retries_later(tmp_path):
    reactor, pool = ImmediateReactor(), ManualPool()
    calls = []

    def flaky_sizes(epoch):
        calls.append(epoch)
        if len(calls) == 1:
            raise OSError("disk on fire")
        return tiny_sizes(epoch)

    mgr = DAGManager(str(tmp_path), reactor=reactor, threadpool=pool, sizes=flaky_sizes,
                     retry_delay=30.0)
    mgr.startService()
    mgr.note_height(0)
    pool.run_all()
    assert mgr.stats["failed"] == 1 and not mgr.is_full(0)
    reactor.advance(30.0)
    pool.run_all()
    assert mgr.is_full(0)
    mgr.stopService()


def test_polls_the_height_source_on_the_clock(tmp_path):
    reactor, pool = ImmediateReactor(), ManualPool()
    heights = iter([10, 10, 29990])
    answers = []

    def height_source():
        h = next(heights)
        answers.append(h)
        return defer.succeed(h) if h == 29990 else h

    mgr = DAGManager(str(tmp_path), height_source, reactor=reactor, threadpool=pool,
                     sizes=tiny_sizes, poll_interval=15.0, prepare_ahead=100)
    mgr.startService()
    assert answers == [10] and mgr.height == 10
    reactor.advance(15.0)
    reactor.advance(15.0)
    assert answers == [10, 10, 29990]
    assert mgr.status()["epochs_wanted"] == [0, 1]
    pool.run_all()
    assert mgr.ready_epochs() == [0, 1]
    mgr.stopService()
    reactor.advance(15.0)  # stopped: no more polls (the iterator would raise)


def test_stop_closes_dags_and_fails_waiters(manual):
    mgr, _, pool = manual
    waiting = mgr.when_ready(5)
    errors = []
    waiting.addErrback(errors.append)
    mgr.note_height(0)
    pool.run_all()
    dag = mgr.hasher(0)
    mgr.stopService()
    assert dag.closed
    assert len(errors) == 1 and errors[0].check(defer.CancelledError)


def test_argument_checks(manual):
    mgr, _, _ = manual
    with pytest.raises(ValueError):
        mgr.hash(0, bytes(31), 0)
    with pytest.raises(ValueError):
        mgr.hash(-1, HEADER, 0)
    with pytest.raises(ValueError):
        mgr.verify(0, HEADER, 2**64, bytes(32), 0)


def test_real_thread_pool_builds_off_the_calling_thread(tmp_path):
    reactor = QueueingReactor()
    pool = ThreadPool(minthreads=0, maxthreads=2, name="test-dag")
    seen_threads = set()

    def sizes(epoch):
        seen_threads.add(threading.get_ident())
        return tiny_sizes(epoch)

    mgr = DAGManager(str(tmp_path), reactor=reactor, threadpool=pool, sizes=sizes)
    pool.start()
    try:
        mgr.startService()
        mgr.note_height(42)
        # results reach the manager only through callFromThread
        assert not mgr.is_full(0)
        ready = mgr.when_ready(0)
        reactor.run_until(lambda: ready.called)
        assert mgr.is_full(0)
        assert seen_threads and threading.get_ident() not in seen_threads
        # hashing from several threads while the manager is in full mode
        expected = [mgr.hash(42, HEADER, n) for n in range(50)]
        results = {}

        def work(k):
            results[k] = [mgr.hash(42, HEADER, n) for n in range(50)]

        workers = [threading.Thread(target=work, args=(k,)) for k in range(3)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        assert all(results[k] == expected for k in range(3))
        stopped = mgr.stopService()
        reactor.run_until(lambda: stopped.called)
    finally:
        pool.stop()


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="per-thread nice values are Linux's")
def test_build_and_generation_threads_run_below_the_reactor(tmp_path, monkeypatch):
    """The manager's own build thread lowers its priority; the threads that
    generate the DAG inherit it.  Each reads its nice value from inside."""
    def own_priority():
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    main, seen = own_priority(), {"build": set(), "generate": set()}

    def sizes(epoch):
        seen["build"].add(own_priority())
        return tiny_sizes(epoch)

    class RecordingDAG(EthashDAG):
        @classmethod
        def generate(cls, light_cache, *args, progress=None, **kw):
            def record(done, total):
                seen["generate"].add((threading.current_thread().name, own_priority()))
                progress(done, total)
            return EthashDAG.generate(light_cache, *args, progress=record, **kw)

    monkeypatch.setattr("gxcpoold.dag.EthashDAG", RecordingDAG)
    with pytest.raises(ValueError):
        DAGManager(str(tmp_path), niceness=20)
    reactor = QueueingReactor()
    mgr = DAGManager(str(tmp_path), reactor=reactor, sizes=sizes, niceness=5,
                     generate_threads=2, chunk_pages=64)
    mgr.startService()
    try:
        mgr.note_height(42)
        ready = mgr.when_ready(0)
        reactor.run_until(lambda: ready.called)
        assert mgr.is_full(0)
    finally:
        stopped = mgr.stopService()
        reactor.run_until(lambda: stopped.called)
    lowered = min(19, main + 5)
    assert seen["build"] == {lowered}
    assert {priority for _, priority in seen["generate"]} == {lowered}
    assert seen["generate"] and all(name.startswith("ethash-dag-") for name, _ in seen["generate"])
    assert own_priority() == main


def test_stale_files_are_removed_before_a_build(tmp_path):
    reactor, pool = ImmediateReactor(), ManualPool()
    d = str(tmp_path)
    for name in ["ethash-00007-2017.dag", "ethash-00000-2003.dag.tmp-123-456", "notes.txt"]:
        with open(os.path.join(d, name), "wb") as f:
            f.write(b"x")
    mgr = DAGManager(d, reactor=reactor, threadpool=pool, sizes=tiny_sizes)
    mgr.startService()
    mgr.note_height(1)
    pool.run_all()
    assert sorted(os.listdir(d)) == [EthashDAG.filename(0, tiny_sizes(0)[1]), "notes.txt"]
    mgr.stopService()
