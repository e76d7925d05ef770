"""Ethash epochs, light caches and light verification (native/ethash.c).

Conventions (spec/ethash.md): header hashes, mix hashes and final hashes are
32-byte strings in memory order; nonces are ints in [0, 2**64); targets
(boundaries) are ints, or 32 bytes read big-endian; a share is valid iff the
final hash read big-endian is <= the target and the claimed mix is right.

Light caches are built once per epoch and kept in a small thread-safe LRU
(around an epoch change shares for two epochs arrive).  The full dataset
lives in gxcpoold.hashers.ethash_dag.
"""
import enum
import threading
from collections import OrderedDict

from gxcpoold._native import ffi, lib
from gxcpoold.hashers._args import U64_MAX, as_bytes, as_int, as_target

__all__ = [
    "ETHASH_EPOCH_LENGTH",
    "ETHASH_MAX_EPOCH",
    "EthashResult",
    "EthashLightCache",
    "EthashLightCacheLRU",
    "ethash_epoch",
    "ethash_seedhash",
    "ethash_epoch_from_seedhash",
    "ethash_cache_items",
    "ethash_cache_size",
    "ethash_dataset_pages",
    "ethash_dataset_size",
    "ethash_light_cache",
    "ethash_light",
    "ethash_final_hash",
    "ethash_check_light",
    "ethash_verify_light",
]

ETHASH_EPOCH_LENGTH = 30000
ETHASH_MAX_EPOCH = 32639
MAX_PAGES = 2**31  # page p reads 64-byte items 2p, 2p+1: both must fit in 32 bits


class EthashResult(enum.IntEnum):
    """Outcome of a share check, numbered like chfast's ethash_errc."""
    SUCCESS = 0
    INVALID_FINAL_HASH = 1
    INVALID_MIX_HASH = 2


_RESULTS = tuple(EthashResult)


def _epoch(epoch):
    return as_int("epoch", epoch, 0, ETHASH_MAX_EPOCH)


def ethash_epoch(block_number):
    """Epoch of a block: block_number // 30000."""
    as_int("block_number", block_number, 0, (ETHASH_MAX_EPOCH + 1) * ETHASH_EPOCH_LENGTH - 1)
    return block_number // ETHASH_EPOCH_LENGTH


_seed_lock = threading.Lock()
_seed_chain = [bytes(32)]  # _seed_chain[e] = seed of epoch e, grown on demand


def _seeds_up_to(epoch):
    with _seed_lock:
        while len(_seed_chain) <= epoch:
            out = ffi.new("uint8_t[32]")
            lib.keccak_256(_seed_chain[-1], 32, out)
            _seed_chain.append(ffi.buffer(out)[:])
        return _seed_chain


def ethash_seedhash(epoch):
    """Seed hash of an epoch: 32 zero bytes, then keccak256 of the previous."""
    return _seeds_up_to(_epoch(epoch))[epoch]


def ethash_epoch_from_seedhash(seed, max_epoch=ETHASH_MAX_EPOCH):
    """The epoch whose seed hash this is (searching up to max_epoch); ValueError
    if none.  The chain is remembered, so repeated look-ups are cheap."""
    seed = as_bytes("seed", seed, 32)
    max_epoch = _epoch(max_epoch)
    with _seed_lock:
        known = len(_seed_chain)
        try:
            found = _seed_chain.index(seed, 0, min(known, max_epoch + 1))
        except ValueError:
            found = None
    if found is not None:
        return found
    chain = _seeds_up_to(max_epoch)
    try:
        return chain.index(seed, known, max_epoch + 1)
    except ValueError:
        raise ValueError("seed hash %s is not one of epochs 0..%d" % (seed.hex(), max_epoch)) from None


def ethash_cache_items(epoch):
    """Number of 64-byte light cache items of an epoch."""
    return lib.ethash_light_cache_items(_epoch(epoch))


def ethash_cache_size(epoch):
    """Light cache size in bytes."""
    return 64 * ethash_cache_items(epoch)


def ethash_dataset_pages(epoch):
    """Number of 128-byte full dataset pages (what hashimoto indexes)."""
    return lib.ethash_full_dataset_pages(_epoch(epoch))


def ethash_dataset_size(epoch):
    """Full dataset (DAG) size in bytes."""
    return 128 * ethash_dataset_pages(epoch)


def _share_args(header_hash, nonce):
    return as_bytes("header_hash", header_hash, 32), as_int("nonce", nonce, 0, U64_MAX)


def ethash_final_hash(header_hash, nonce, mix_hash):
    """keccak256(keccak512(header || nonce_le) || mix): the final hash a
    claimed mix gives, without touching any cache (the cheap first check)."""
    header_hash, nonce = _share_args(header_hash, nonce)
    mix_hash = as_bytes("mix_hash", mix_hash, 32)
    out = ffi.new("uint8_t[32]")
    lib.ethash_final_hash(header_hash, nonce, mix_hash, out)
    return ffi.buffer(out)[:]


def share_check_args(header_hash, nonce, mix_hash, target):
    """Validated (header, nonce, mix, boundary as 32 big-endian bytes)."""
    header_hash, nonce = _share_args(header_hash, nonce)
    mix_hash = as_bytes("mix_hash", mix_hash, 32)
    if target.__class__ is not bytes or len(target) != 32:
        target = as_target("target", target).to_bytes(32, "big")
    return header_hash, nonce, mix_hash, target


def check_share(hash_fn, header_hash, nonce, mix_hash, target):
    """Check a share in chfast's order: the claimed mix's final hash against
    the target first (two keccaks), and only then the real mix from
    hash_fn(header_hash, nonce) -> (mix, final) (the expensive part)."""
    header_hash, nonce = _share_args(header_hash, nonce)
    mix_hash = as_bytes("mix_hash", mix_hash, 32)
    target = as_target("target", target)
    final = ethash_final_hash(header_hash, nonce, mix_hash)
    if int.from_bytes(final, "big") > target:
        return EthashResult.INVALID_FINAL_HASH
    real_mix, _ = hash_fn(header_hash, nonce)
    if real_mix != mix_hash:
        return EthashResult.INVALID_MIX_HASH
    return EthashResult.SUCCESS


class EthashLightCache:
    """The light cache of one epoch, and hashing with it.

    cache_items / dataset_pages override the epoch's real sizes; only tests
    and benchmarks use that (small synthetic datasets).  Building runs in the
    calling thread with the GIL released; the object is read-only afterwards
    and safe to share between threads."""

    def __init__(self, epoch, cache_items=None, dataset_pages=None):
        self.epoch = _epoch(epoch)
        self.seed = ethash_seedhash(epoch)
        self.items = (ethash_cache_items(epoch) if cache_items is None
                      else as_int("cache_items", cache_items, 1, 2**32 - 1))
        self.pages = (ethash_dataset_pages(epoch) if dataset_pages is None
                      else as_int("dataset_pages", dataset_pages, 1, MAX_PAGES))
        self._cache = ffi.new("uint8_t[]", 64 * self.items)
        lib.ethash_build_light_cache(self.seed, self.items, self._cache)

    @property
    def size(self):
        return 64 * self.items

    def __repr__(self):
        return "EthashLightCache(epoch=%d, items=%d, pages=%d)" % (self.epoch, self.items, self.pages)

    def buffer(self):
        """The cache bytes (read-only view; do not write through it)."""
        return memoryview(ffi.buffer(self._cache)).toreadonly()

    def c_pointer(self):
        """cffi pointer to the cache, for dataset generation."""
        return self._cache

    def dataset_item(self, index):
        """64-byte dataset item number index (any 32-bit index)."""
        index = as_int("index", index, 0, 2**32 - 1)
        out = ffi.new("uint8_t[64]")
        lib.ethash_dataset_item_64(self._cache, self.items, index, out)
        return ffi.buffer(out)[:]

    def dataset_page(self, page):
        """128-byte dataset page (items 2*page and 2*page+1)."""
        page = as_int("page", page, 0, MAX_PAGES - 1)
        out = ffi.new("uint8_t[128]")
        lib.ethash_dataset_page(self._cache, self.items, page, out)
        return ffi.buffer(out)[:]

    def hash(self, header_hash, nonce):
        """hashimoto over the light cache -> (mix_hash, final_hash)."""
        header_hash, nonce = _share_args(header_hash, nonce)
        mix = ffi.new("uint8_t[32]")
        final = ffi.new("uint8_t[32]")
        lib.ethash_hashimoto_light(self._cache, self.items, self.pages, header_hash, nonce, mix, final)
        return ffi.buffer(mix)[:], ffi.buffer(final)[:]

    def check(self, header_hash, nonce, mix_hash, target):
        """EthashResult of a share (cheap final-hash test first), one C call."""
        header_hash, nonce, mix_hash, boundary = share_check_args(header_hash, nonce, mix_hash, target)
        return _RESULTS[lib.ethash_check_share(self._cache, self.items, ffi.NULL, self.pages,
                                               header_hash, nonce, mix_hash, boundary)]

    def verify(self, header_hash, nonce, mix_hash, target):
        """True iff the mix is right and the final hash is <= target."""
        return self.check(header_hash, nonce, mix_hash, target) is EthashResult.SUCCESS


class _Pending:
    """A cache some thread is building; others wait on it instead of building twice."""

    def __init__(self):
        self.done = threading.Event()
        self.cache = None
        self.error = None


class EthashLightCacheLRU:
    """Up to maxsize light caches, newest kept; each epoch built once even if
    many threads ask at the same moment.  sizes(epoch) -> (cache_items,
    dataset_pages) overrides the real sizes (tests)."""

    def __init__(self, maxsize=3, sizes=None):
        self.maxsize = as_int("maxsize", maxsize, 1, 1024)
        self._sizes = sizes
        self._lock = threading.Lock()
        self._caches = OrderedDict()
        self._pending = {}

    def cached_epochs(self):
        with self._lock:
            return list(self._caches)

    def get(self, epoch):
        epoch = _epoch(epoch)
        with self._lock:
            cache = self._caches.get(epoch)
            if cache is not None:
                self._caches.move_to_end(epoch)
                return cache
            pending = self._pending.get(epoch)
            builder = pending is None
            if builder:
                pending = self._pending[epoch] = _Pending()
        if not builder:
            pending.done.wait()
            if pending.error is not None:
                raise pending.error
            return pending.cache
        try:
            items, pages = self._sizes(epoch) if self._sizes else (None, None)
            pending.cache = EthashLightCache(epoch, items, pages)
        except BaseException as exc:
            pending.error = exc
            raise
        finally:
            with self._lock:
                del self._pending[epoch]
                if pending.cache is not None:
                    self._caches[epoch] = pending.cache
                    while len(self._caches) > self.maxsize:
                        self._caches.popitem(last=False)
            pending.done.set()
        return pending.cache


_default_caches = EthashLightCacheLRU(maxsize=3)


def ethash_light_cache(epoch):
    """The shared light cache of an epoch (built on first use)."""
    return _default_caches.get(epoch)


def ethash_light(block_number, header_hash, nonce):
    """Ethash of a header hash and 64-bit nonce at a block height, with the
    light cache -> (mix_hash, final_hash)."""
    epoch = ethash_epoch(block_number)
    header_hash, nonce = _share_args(header_hash, nonce)
    return ethash_light_cache(epoch).hash(header_hash, nonce)


def ethash_check_light(block_number, header_hash, nonce, mix_hash, target):
    """EthashResult of a share at a block height, using the light cache."""
    epoch = ethash_epoch(block_number)

    def light_hash(header, nonce_value):
        # only reached when the cheap check passed: may build the cache
        return ethash_light_cache(epoch).hash(header, nonce_value)

    return check_share(light_hash, header_hash, nonce, mix_hash, target)


def ethash_verify_light(block_number, header_hash, nonce, mix_hash, target):
    """True iff the share is valid (light cache)."""
    return ethash_check_light(block_number, header_hash, nonce, mix_hash, target) is EthashResult.SUCCESS
