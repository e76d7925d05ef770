"""Unique extranonce1 values: the instance id in the top bits, a counter below.

Two connections with the same extranonce1 would search the same work (and
their shares would collide as duplicates), and two pool instances sharing a
database must never overlap (DESIGN.md section 8).  The width is the
algorithm's: 32 bits (8 for the instance) for sha256d and ethash, 15 bits
(4 for the instance) for gxhash, whose extranonce1 sits in the top of the
GXC nonce the node stores as a signed 32-bit number (DESIGN.md section 2).
"""
import os


def instance_bits(total_bits):
    """Bits of the extranonce1 that carry the instance id."""
    return 8 if total_bits >= 24 else 4


class ExtranonceAllocator:
    def __init__(self, instance_id=0, start=None, bits=32, size=None):
        self.instance_bits = instance_bits(bits)
        if not 0 <= instance_id < 1 << self.instance_bits:
            raise ValueError("instance_id must be 0-%d for %d-bit extranonces"
                             % ((1 << self.instance_bits) - 1, bits))
        self.counter_bits = bits - self.instance_bits
        self.size = size if size is not None else (bits + 7) // 8
        self.prefix = instance_id << self.counter_bits
        # a random start spreads restarts over the space (miners may resume)
        space = 1 << self.counter_bits
        self._next = int.from_bytes(os.urandom(4), "big") % space if start is None else start
        self.in_use = set()

    @property
    def capacity(self):
        return 1 << self.counter_bits

    def allocate(self):
        """The next free value as bytes, or None when every value is in use."""
        size = self.capacity
        if len(self.in_use) >= size:
            return None
        while True:
            value = self.prefix | (self._next % size)
            self._next = (self._next + 1) % size
            if value not in self.in_use:
                self.in_use.add(value)
                return value.to_bytes(self.size, "big")

    def release(self, extranonce1: bytes):
        self.in_use.discard(int.from_bytes(extranonce1, "big"))
