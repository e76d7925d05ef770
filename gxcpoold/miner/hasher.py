"""The hashing threads: every algorithm's scan loop, off the reactor thread.

Each thread takes the current work, asks it for a scanner (its own position
in the job's nonces, with whatever the algorithm needs: a header prefix, a
light cache) and scans in chunks, checking between chunks and after every
hit whether newer work has arrived or the miner is stopping.  The scanners
(work.py, ethash_work.py, gxhash_work.py) are the only per-algorithm part.

Found shares go back to the reactor through a bounded hand-over: a thread may
hand over a share only while it holds one of `slots` (the miner's in-flight
submission bound); the miner gives the slot back once the share is answered
or dropped.  Without a free slot a share is only counted as skipped.  So
however fast shares come (at a trivial sha256d share difficulty every 16th
hash is one) and however slowly the pool answers, at most `slots` shares wait
in memory, and the reactor gets at most one wake-up call queued at a time.
"""
import itertools
import threading
import time
from collections import deque

# A chunk adapts to the CPU's speed so that it lasts between these bounds:
# new work, clean_jobs and stop are seen within one chunk (or one hash, for
# a hash slower than that).
CHUNK_SECONDS = (0.02, 0.08)


class Hasher:
    def __init__(self, reactor, threads, on_found, slots, on_error=None):
        """on_found(work, share) is called on the reactor thread; each call
        holds a slot, to be given back with release().  on_error(work, text)
        (reactor thread) says why a work could not be hashed at all."""
        self.reactor = reactor
        self.thread_count = threads
        self.on_found = on_found
        self.on_error = on_error
        self.slots = slots
        self._work = None
        self._ready = threading.Condition()
        self._stopping = False
        self._sequence = itertools.count()
        self._sequence_lock = threading.Lock()
        self._threads = []
        # hand-over to the reactor: _free slots, _found shares, one wake-up at most
        self._handover = threading.Lock()
        self._free = slots
        self._found = deque()
        self._wakeup_queued = False
        # per thread, so the hot loop never takes a lock to count
        self.hashes = [0] * threads
        self.skipped_counts = [0] * threads

    def start(self):
        for index in range(self.thread_count):
            thread = threading.Thread(target=self._run, args=(index,), daemon=True,
                                      name="gxcpool-miner-%d" % index)
            thread.start()
            self._threads.append(thread)

    def set_work(self, work):
        with self._ready:
            self._work = work
            self._ready.notify_all()

    def stop(self):
        with self._ready:
            self._stopping = True
            self._work = None
            self._ready.notify_all()

    def alive(self):
        return any(t.is_alive() for t in self._threads)

    @property
    def total_hashes(self):
        return sum(self.hashes)

    @property
    def skipped(self):
        """Shares found while every slot was taken (never handed over)."""
        return sum(self.skipped_counts)

    @property
    def waiting(self):
        """Shares handed over and not yet taken by the reactor."""
        return len(self._found)

    def release(self):
        """Give back the slot of one share passed to on_found."""
        with self._handover:
            self._free += 1

    def next_sequence(self):
        """0, 1, 2, ... across all threads and jobs (sha256d's extranonce2)."""
        with self._sequence_lock:
            return next(self._sequence)

    # ------------------------------------------------------------ threads

    def _hand_over(self, index, work, share):
        with self._handover:
            if self._free <= 0:
                self.skipped_counts[index] += 1
                return
            self._free -= 1
            self._found.append((work, share))
            wake, self._wakeup_queued = not self._wakeup_queued, True
        if wake:
            self.reactor.callFromThread(self._deliver)

    def _deliver(self):
        with self._handover:
            self._wakeup_queued = False
        # only what is there now: shares handed over meanwhile bring their own wake-up
        for _ in range(len(self._found)):
            self.on_found(*self._found.popleft())

    def _next_work(self, done=None):
        """The work to hash next, waiting while there is none (or only `done`,
        a work this thread cannot hash further); None once stopping."""
        with self._ready:
            while (self._work is None or self._work is done) and not self._stopping:
                self._ready.wait()
            return None if self._stopping else self._work

    def _run(self, index):
        done = None
        while True:
            work = self._next_work(done)
            if work is None:
                return
            try:
                # may take a while (an ethash light cache): this thread's time
                scanner = work.scanner(self)
                done = self._scan(index, work, scanner)
            except (ValueError, MemoryError) as e:
                # a seed hash of no epoch, no memory for a cache or a gxhash
                # matrix: say so, and wait for other work
                if self.on_error is not None and self._work is work:
                    self.reactor.callFromThread(self.on_error, work, str(e) or repr(e))
                done = work

    def _scan(self, index, work, scanner):
        """Hash `work` until it is replaced (returns None) or its nonces run
        out (returns work, which this thread then leaves alone)."""
        low, high = scanner.CHUNK_RANGE
        chunk = scanner.FIRST_CHUNK
        while self._work is work:
            began = time.monotonic()
            tried, share = scanner.scan(chunk)
            self.hashes[index] += tried
            if share is not None:
                if self._work is not work:
                    break                         # found for a job already replaced
                if self._free > 0:                # read without the lock: a cheap pre-check
                    self._hand_over(index, work, share)
                else:
                    self.skipped_counts[index] += 1
                continue
            if scanner.exhausted:
                return work
            elapsed = time.monotonic() - began
            if elapsed < CHUNK_SECONDS[0]:
                chunk = min(chunk * 2, high)
            elif elapsed > CHUNK_SECONDS[1]:
                chunk = max(chunk // 2, low)
        return None
