"""The hashing threads: the native sha256d scan loop, off the reactor thread.

Each thread takes the current Work, picks a fresh extranonce2, and scans
nonces in chunks (the C loop releases the GIL), checking between chunks and
after every hit whether newer work has arrived or the miner is stopping.

Found shares go back to the reactor through a bounded hand-over: a thread may
hand over a share only while it holds one of `slots` (the miner's in-flight
submission bound); the miner gives the slot back once the share is answered
or dropped.  Without a free slot a share is only counted as skipped.  So
however fast shares come (at a trivial share difficulty every 16th hash is
one) and however slowly the pool answers, at most `slots` shares wait in
memory, and the reactor gets at most one wake-up call queued at a time.
"""
import itertools
import threading
import time
from collections import deque

from gxcpoold._native import ffi, lib

# Nonces per native call adapt to the CPU's speed so that a call lasts between
# these bounds: new work, clean_jobs and stop are seen within one call.
CHUNK_SECONDS = (0.02, 0.08)
CHUNK_RANGE = (1 << 12, 1 << 22)
NONCES = 1 << 32


class Hasher:
    def __init__(self, reactor, threads, on_found, slots):
        """on_found(work, extranonce2, nonce, hash) is called on the reactor
        thread; each call holds a slot, to be given back with release()."""
        self.reactor = reactor
        self.thread_count = threads
        self.on_found = on_found
        self.slots = slots
        self._work = None
        self._ready = threading.Condition()
        self._stopping = False
        self._extranonce2 = itertools.count()
        self._en2_lock = threading.Lock()
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

    # ------------------------------------------------------------ threads

    def _next_extranonce2(self, size):
        with self._en2_lock:
            value = next(self._extranonce2)
        return (value % (1 << (8 * size))).to_bytes(size, "big")

    def _hand_over(self, index, work, extranonce2, nonce, digest):
        with self._handover:
            if self._free <= 0:
                self.skipped_counts[index] += 1
                return
            self._free -= 1
            self._found.append((work, extranonce2, nonce, digest))
            wake, self._wakeup_queued = not self._wakeup_queued, True
        if wake:
            self.reactor.callFromThread(self._deliver)

    def _deliver(self):
        with self._handover:
            self._wakeup_queued = False
        # only what is there now: shares handed over meanwhile bring their own wake-up
        for _ in range(len(self._found)):
            self.on_found(*self._found.popleft())

    def _run(self, index):
        # the native call directly, with buffers made once: at a trivial share
        # difficulty a call returns every few nonces and the wrapper's
        # argument checks would cost more than the hashing
        scan = lib.sha256_scan
        prefix = ffi.new("uint8_t[76]")
        target = ffi.new("uint8_t[32]")
        found_nonce = ffi.new("uint32_t *")
        digest = ffi.new("uint8_t[32]")
        tried = ffi.new("uint64_t *")
        chunk = 1 << 16
        while True:
            with self._ready:
                while self._work is None and not self._stopping:
                    self._ready.wait()
                if self._stopping:
                    return
                work = self._work
            extranonce2 = self._next_extranonce2(work.extranonce2_size)
            ffi.memmove(prefix, work.header_prefix(extranonce2), 76)
            ffi.memmove(target, work.target.to_bytes(32, "little"), 32)
            nonce = 0
            while nonce < NONCES and self._work is work:
                began = time.monotonic()
                hit = scan(prefix, nonce, chunk, target, found_nonce, digest, tried)
                self.hashes[index] += tried[0]
                if hit:
                    nonce = found_nonce[0] + 1
                    if self._work is not work:
                        break                     # found for a job already replaced
                    if self._free > 0:            # read without the lock: a cheap pre-check
                        self._hand_over(index, work, extranonce2, found_nonce[0],
                                        ffi.buffer(digest)[:])
                    else:
                        self.skipped_counts[index] += 1
                    continue
                nonce += tried[0]
                elapsed = time.monotonic() - began
                if elapsed < CHUNK_SECONDS[0]:
                    chunk = min(chunk * 2, CHUNK_RANGE[1])
                elif elapsed > CHUNK_SECONDS[1]:
                    chunk = max(chunk // 2, CHUNK_RANGE[0])
