"""A job's nonces, handed out to the hashing threads in disjoint runs."""
import threading


class NonceSpace:
    """Nonces 0 .. size-1, taken in runs from `start` onwards, wrapping round
    once; after that the space is exhausted (take returns None)."""

    def __init__(self, size, start=0):
        if size < 1:
            raise ValueError("a nonce space needs at least one nonce")
        self.size = size
        self._start = start % size
        self._taken = 0
        self._lock = threading.Lock()

    def take(self, count):
        """(first, end): the next run of at most `count` nonces, never
        crossing the wrap-around point; None when all were taken."""
        with self._lock:
            left = self.size - self._taken
            if left <= 0:
                return None
            first = (self._start + self._taken) % self.size
            count = min(count, left, self.size - first)
            self._taken += count
            return first, first + count
