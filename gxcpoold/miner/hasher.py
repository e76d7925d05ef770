"""The hashing threads: the native sha256d scan loop, off the reactor thread.

Each thread takes the current Work, picks a fresh extranonce2, and scans
nonces in chunks (the C loop releases the GIL), checking between chunks
whether newer work has arrived.  Found shares go back to the reactor with
callFromThread.
"""
import itertools
import threading

from gxcpoold.hashers.sha256d import sha256d_scan

CHUNK = 1 << 19          # nonces per native call: ~50 ms, so new work is picked up fast


class Hasher:
    def __init__(self, reactor, threads, on_found):
        """on_found(work, extranonce2, nonce, hash) is called on the reactor thread."""
        self.reactor = reactor
        self.thread_count = threads
        self.on_found = on_found
        self._work = None
        self._ready = threading.Condition()
        self._stopping = False
        self._extranonce2 = itertools.count()
        self._en2_lock = threading.Lock()
        self._threads = []
        self.hashes = [0] * threads       # per thread, read by the hashrate reporter

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

    def _next_extranonce2(self, size):
        with self._en2_lock:
            value = next(self._extranonce2)
        return (value % (1 << (8 * size))).to_bytes(size, "big")

    def _run(self, index):
        while True:
            with self._ready:
                while self._work is None and not self._stopping:
                    self._ready.wait()
                if self._stopping:
                    return
                work = self._work
            extranonce2 = self._next_extranonce2(work.extranonce2_size)
            prefix = work.header_prefix(extranonce2)
            nonce = 0
            while nonce < 2**32 and self._work is work:
                count = min(CHUNK, 2**32 - nonce)
                found = sha256d_scan(prefix, nonce, count, work.target)
                if found is None:
                    self.hashes[index] += count
                    nonce += count
                    continue
                hit, digest = found
                self.hashes[index] += hit - nonce + 1
                nonce = hit + 1
                if self._work is work and not self._stopping:
                    self.reactor.callFromThread(self.on_found, work, extranonce2, hit, digest)
