"""The full Ethash dataset (DAG): generate, save, load (memory-mapped), hash.

With the DAG, a share check reads 64 pages instead of recomputing them from
the light cache, which is a few microseconds instead of about a millisecond.
Generation splits the pages into chunks that worker threads take in turn;
each chunk is one C call with the GIL released, so two threads use two cores.

File format: a 4096-byte header (magic, epoch, page count, light cache item
count, seed hash), then the pages; the data stays page-aligned for mmap.  A
file is written under a temporary name and renamed when complete, so a file
with the final name is always whole.
"""
import mmap
import os
import random
import struct
import threading

from gxcpoold._native import ffi, lib
from gxcpoold.durable import written_atomically
from gxcpoold.hashers._args import as_int
from gxcpoold.hashers.ethash import (_RESULTS, EthashLightCache, EthashResult, _share_args,
                                     ethash_dataset_pages, ethash_seedhash, share_check_args)

__all__ = ["EthashDAG", "DAGGenerationCancelled", "DAGFileError"]

MAGIC = b"GXCDAG01"
HEADER_SIZE = 4096
_HEADER = struct.Struct("<8sIII32s")  # magic, epoch, pages, cache items, seed
PAGE = 128
DEFAULT_CHUNK_PAGES = 8192  # 1 MiB of dataset per C call


class DAGGenerationCancelled(Exception):
    """generate() stopped because its cancel event was set."""


class DAGFileError(ValueError):
    """A DAG file is missing, truncated, for another epoch, or corrupt."""


def _fill(light_cache, base, pages, threads, chunk_pages, progress, cancel):
    """Compute pages [0, pages) into base using `threads` worker threads."""
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "error": None}
    cache_ptr, cache_items = light_cache.c_pointer(), light_cache.items

    def worker():
        try:
            while not (cancel is not None and cancel.is_set()):
                with lock:
                    start = state["next"]
                    if start >= pages or state["error"] is not None:
                        return
                    end = min(start + chunk_pages, pages)
                    state["next"] = end
                lib.ethash_generate_dataset(cache_ptr, cache_items, base, start, end)
                with lock:
                    state["done"] += end - start
                    done = state["done"]
                if progress is not None:
                    progress(done, pages)
        except BaseException as exc:  # reported to the caller below
            with lock:
                state["error"] = exc

    workers = [threading.Thread(target=worker, name="ethash-dag-%d" % i, daemon=True)
               for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    if state["error"] is not None:
        raise state["error"]
    if state["done"] != pages:
        raise DAGGenerationCancelled("DAG generation cancelled at %d of %d pages" % (state["done"], pages))


class EthashDAG:
    """A full dataset held in a memory map (anonymous or a file).

    hash()/check()/verify() may run in many threads at once; close() waits
    for running hashes before unmapping.  Use the constructors generate()
    and load(), not __init__."""

    def __init__(self, epoch, pages, cache_items, seed, mm, path=None):
        self.epoch = epoch
        self.pages = pages
        self.cache_items = cache_items
        self.seed = seed
        self.path = path
        self._mm = mm
        self._view = ffi.from_buffer("uint8_t[]", mm)
        self._data = self._view + (HEADER_SIZE if path is not None else 0)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._users = 0
        self._closed = False

    # -- construction -----------------------------------------------------

    @staticmethod
    def filename(epoch, pages):
        return "ethash-%05d-%d.dag" % (epoch, pages)

    @classmethod
    def file_path(cls, directory, epoch, pages=None):
        if pages is None:
            pages = ethash_dataset_pages(epoch)
        return os.path.join(directory, cls.filename(epoch, pages))

    @classmethod
    def generate(cls, light_cache, directory=None, threads=2, chunk_pages=DEFAULT_CHUNK_PAGES,
                 progress=None, cancel=None):
        """Compute the dataset of light_cache's epoch (and page count).

        With a directory the dataset is written straight into its file there
        (see file_path) and the returned DAG maps that file; without, it
        lives in anonymous memory.  progress(done_pages, total_pages) is
        called from the worker threads; setting the threading.Event `cancel`
        stops early with DAGGenerationCancelled (no file is left behind)."""
        if not isinstance(light_cache, EthashLightCache):
            raise TypeError("light_cache must be an EthashLightCache")
        threads = as_int("threads", threads, 1, 256)
        chunk_pages = as_int("chunk_pages", chunk_pages, 1, 2**31)
        pages, size = light_cache.pages, PAGE * light_cache.pages
        if directory is None:
            mm = mmap.mmap(-1, size)
            try:
                base = ffi.from_buffer("uint8_t[]", mm, require_writable=True)
                try:
                    _fill(light_cache, base, pages, threads, chunk_pages, progress, cancel)
                finally:
                    ffi.release(base)
            except BaseException:
                mm.close()
                raise
            return cls(light_cache.epoch, pages, light_cache.items, light_cache.seed, mm)

        final = cls.file_path(directory, light_cache.epoch, pages)
        with written_atomically(final, "w+b") as f:
            f.write(cls._header(light_cache.epoch, pages, light_cache.items, light_cache.seed))
            f.truncate(HEADER_SIZE + size)
            f.flush()
            mm = mmap.mmap(f.fileno(), HEADER_SIZE + size, access=mmap.ACCESS_WRITE)
            try:
                base = ffi.from_buffer("uint8_t[]", mm, require_writable=True)
                try:
                    _fill(light_cache, base + HEADER_SIZE, pages, threads, chunk_pages,
                          progress, cancel)
                finally:
                    ffi.release(base)
                mm.flush()
            finally:
                mm.close()
        return cls.load_file(final, light_cache=None)

    @staticmethod
    def _header(epoch, pages, cache_items, seed):
        return _HEADER.pack(MAGIC, epoch, pages, cache_items, seed).ljust(HEADER_SIZE, b"\0")

    @classmethod
    def load(cls, directory, epoch, light_cache=None, pages=None, spot_checks=8):
        """Map the DAG file of an epoch from a directory (see load_file)."""
        if light_cache is not None and pages is None:
            pages = light_cache.pages
        return cls.load_file(cls.file_path(directory, epoch, pages), light_cache, spot_checks)

    @classmethod
    def load_file(cls, path, light_cache=None, spot_checks=8):
        """Map a DAG file read-only.  With a light cache, the header must
        match it and spot_checks random pages (plus the first and last) are
        recomputed and compared, so a corrupt file is refused."""
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            raise DAGFileError("no DAG file %s" % path) from None
        with f:
            head = f.read(_HEADER.size)
            if len(head) < _HEADER.size:
                raise DAGFileError("%s: truncated header" % path)
            magic, epoch, pages, cache_items, seed = _HEADER.unpack(head)
            if magic != MAGIC:
                raise DAGFileError("%s: not a DAG file" % path)
            if os.fstat(f.fileno()).st_size != HEADER_SIZE + PAGE * pages:
                raise DAGFileError("%s: size does not match %d pages" % (path, pages))
            if pages == 0 or seed != ethash_seedhash(epoch):
                raise DAGFileError("%s: inconsistent header" % path)
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if hasattr(mmap, "MADV_RANDOM"):
            mm.madvise(mmap.MADV_RANDOM)  # hashimoto reads pages at random: no readahead
        dag = cls(epoch, pages, cache_items, seed, mm, path=path)
        if light_cache is not None:
            try:
                dag._spot_check(light_cache, spot_checks)
            except BaseException:
                dag.close()
                raise
        return dag

    def _spot_check(self, light_cache, count):
        if (light_cache.epoch, light_cache.pages, light_cache.items) != (
                self.epoch, self.pages, self.cache_items):
            raise DAGFileError("%s: DAG is for epoch %d (%d pages, %d cache items), not %r"
                               % (self.path, self.epoch, self.pages, self.cache_items, light_cache))
        rng = random.Random()
        sample = {0, self.pages - 1} | {rng.randrange(self.pages) for _ in range(count)}
        for p in sorted(sample):
            if self.page(p) != light_cache.dataset_page(p):
                raise DAGFileError("%s: page %d is corrupt" % (self.path, p))

    def save(self, directory):
        """Write this DAG into directory (file_path name) and return the path."""
        final = self.file_path(directory, self.epoch, self.pages)
        self._enter()
        try:
            data = ffi.buffer(self._data, PAGE * self.pages)
            with written_atomically(final, "wb") as f:
                f.write(self._header(self.epoch, self.pages, self.cache_items, self.seed))
                step = 64 << 20
                for off in range(0, len(data), step):
                    f.write(data[off:off + step])
        finally:
            self._leave()
        return final

    # -- use --------------------------------------------------------------

    @property
    def size(self):
        return PAGE * self.pages

    def __repr__(self):
        return "EthashDAG(epoch=%d, pages=%d, path=%r%s)" % (
            self.epoch, self.pages, self.path, ", closed" if self._closed else "")

    def _enter(self):
        with self._lock:
            if self._closed:
                raise ValueError("EthashDAG for epoch %d is closed" % self.epoch)
            self._users += 1

    def _leave(self):
        with self._lock:
            self._users -= 1
            if self._users == 0:
                self._idle.notify_all()

    def page(self, index):
        """The 128 bytes of page index."""
        index = as_int("index", index, 0, self.pages - 1)
        self._enter()
        try:
            return ffi.buffer(self._data + PAGE * index, PAGE)[:]
        finally:
            self._leave()

    def hash(self, header_hash, nonce):
        """hashimoto over the full dataset -> (mix_hash, final_hash)."""
        header_hash, nonce = _share_args(header_hash, nonce)
        mix = ffi.new("uint8_t[32]")
        final = ffi.new("uint8_t[32]")
        self._enter()
        try:
            lib.ethash_hashimoto_full(self._data, self.pages, header_hash, nonce, mix, final)
        finally:
            self._leave()
        return ffi.buffer(mix)[:], ffi.buffer(final)[:]

    def check(self, header_hash, nonce, mix_hash, target):
        """EthashResult of a share (cheap final-hash check first), one C call."""
        header_hash, nonce, mix_hash, boundary = share_check_args(header_hash, nonce, mix_hash, target)
        self._enter()
        try:
            code = lib.ethash_check_share(ffi.NULL, 0, self._data, self.pages, header_hash, nonce,
                                          mix_hash, boundary)
        finally:
            self._leave()
        return _RESULTS[code]

    def verify(self, header_hash, nonce, mix_hash, target):
        """True iff the claimed mix is right and the final hash is <= target."""
        return self.check(header_hash, nonce, mix_hash, target) is EthashResult.SUCCESS

    @property
    def closed(self):
        return self._closed

    def close(self):
        """Unmap, after any hash running in another thread has finished."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            while self._users:
                self._idle.wait()
        ffi.release(self._view)
        self._mm.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
