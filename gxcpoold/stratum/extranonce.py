"""Unique extranonce1 values: the instance id in the top byte, a counter below.

Two connections with the same extranonce1 would search the same coinbases
(and their shares would collide as duplicates), and two pool instances
sharing a database must never overlap (DESIGN.md section 8).
"""
import os

COUNTER_BITS = 24


class ExtranonceAllocator:
    def __init__(self, instance_id=0, start=None):
        if not 0 <= instance_id <= 255:
            raise ValueError("instance_id must be 0-255")
        self.prefix = instance_id << COUNTER_BITS
        # a random start spreads restarts over the space (miners may resume)
        self._next = int.from_bytes(os.urandom(3), "big") if start is None else start
        self.in_use = set()

    def allocate(self) -> bytes:
        size = 1 << COUNTER_BITS
        if len(self.in_use) >= size:
            raise RuntimeError("all extranonce1 values are in use")
        while True:
            value = self.prefix | (self._next % size)
            self._next = (self._next + 1) % size
            if value not in self.in_use:
                self.in_use.add(value)
                return value.to_bytes(4, "big")

    def release(self, extranonce1: bytes):
        self.in_use.discard(int.from_bytes(extranonce1, "big"))
