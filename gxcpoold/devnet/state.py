"""The simulator's "data dir" (spec §3.12): a small header file and an append-only block log.

A devnet at difficulty 1 takes ~50 blocks a second, so rewriting the whole
chain at every checkpoint would cost more with every block.  Instead:

* ``<state_file>`` (the header) holds everything but the blocks: wallet key,
  mempool, difficulty, lastTxHash, test funds, and the name of the block log.
  It is small and replaced atomically (temporary file + rename).
* ``<state_file>.blocks-g<generation>-e<epoch>`` holds one block per line,
  oldest first.  Each accepted block is appended before its submitblock is
  answered (no fsync: it survives a killed process); a checkpoint (every
  second, and at stop) fsyncs the log *before* it replaces the header, so a
  power loss costs at most the last second.  Only when history itself
  changes (a restart emulation recomputes txids, a wipe makes a new genesis)
  is a new log written whole, under a new name, and the header switched to it.

Crash safety: the header always names a complete log; a log may hold blocks
the header does not know yet (killed between the two writes) and may end in a
torn line (killed mid-append), which is dropped.  Every line kept is a block
whose height follows the previous one, so a reopened state is a consistent
chain; the difficulty of blocks past the header's count is recomputed from the
retarget rule (node.py).
"""
import json
import os

from gxcpoold.durable import write_atomically

FORMAT = 2
LOG_SUFFIX = ".blocks-"


def load(path: str) -> dict | None:
    """The saved state with its "blocks" list, or None when there is none yet (a fresh data dir)."""
    try:
        header = _read_json(path)
        if header is None:
            return None
        if header.get("format", 1) == 1:
            return header           # older simulators kept the whole chain in this file
        log_path = os.path.join(os.path.dirname(os.path.abspath(path)), header["blocks_file"])
        header["blocks"] = _read_log(log_path)
        return header
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"devnet setting 'state_file': cannot read {path}: {exc}") from None


def _read_json(path: str):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None


def _read_log(path: str) -> list[dict]:
    """Blocks of a log, up to the first torn or out-of-sequence line (then cut there)."""
    blocks, good = [], 0
    with open(path, "rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break
            try:
                block = json.loads(line)
            except ValueError:
                break
            if not isinstance(block, dict) or block.get("height") != len(blocks):
                break
            blocks.append(block)
            good += len(line)
    if good != os.path.getsize(path):
        with open(path, "r+b") as handle:     # so later appends follow the last good line
            handle.truncate(good)
    if not blocks:
        raise ValueError(f"{path}: no genesis block")
    return blocks




def _block_lines(blocks: list[dict]) -> bytes:
    return b"".join(json.dumps(b, separators=(",", ":")).encode() + b"\n" for b in blocks)


class StateWriter:
    """Checkpoints of one state file: appends new blocks, rewrites the log only for new history."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        self.directory = os.path.dirname(self.path)
        self.log_name: str | None = None    # the log the header on disk names
        self.written = 0                     # blocks in that log

    def resume(self, state: dict) -> None:
        """Continue the log a loaded state came from (format 2) instead of rewriting it."""
        if state.get("format") == FORMAT:
            self.log_name = state["blocks_file"]
            self.written = len(state["blocks"])

    def log_name_for(self, history: str) -> str:
        return os.path.basename(self.path) + LOG_SUFFIX + history

    def append(self, blocks: list, history: str, as_dict) -> None:
        """Write-through after each request: the new blocks go to the current log at once,
        without fsync.  A killed process leaves them in the page cache, so an accepted
        block survives SIGKILL like the real node's; save() makes them durable."""
        if self.log_name == self.log_name_for(history) and self.written < len(blocks):
            self._append(blocks, as_dict, durable=False)

    def _append(self, blocks: list, as_dict, durable: bool) -> None:
        try:
            with open(os.path.join(self.directory, self.log_name), "ab") as handle:
                handle.write(_block_lines([as_dict(b) for b in blocks[self.written:]]))
                handle.flush()
                if durable:
                    os.fsync(handle.fileno())
        except OSError:
            # part of a line may be on disk (disk full): the next save rewrites the log whole
            self.log_name = None
            raise
        self.written = len(blocks)

    def save(self, header: dict, blocks: list, history: str, as_dict) -> None:
        """Make the blocks durable, then replace the header naming their log.

        `blocks` are the node's records, `as_dict(block)` their JSON form; only
        the ones not in the log yet are converted.
        """
        os.makedirs(self.directory, exist_ok=True)
        name = self.log_name_for(history)
        previous = self.log_name
        if name != self.log_name or self.written > len(blocks):
            write_atomically(os.path.join(self.directory, name),
                          _block_lines([as_dict(b) for b in blocks]))
            self.log_name, self.written = name, len(blocks)
        else:
            self._append(blocks, as_dict, durable=True)    # also syncs earlier write-throughs
        header = {**header, "format": FORMAT, "blocks_file": name, "block_count": len(blocks)}
        write_atomically(self.path, json.dumps(header, separators=(",", ":")).encode())
        if previous is not None and previous != name:
            try:
                os.unlink(os.path.join(self.directory, previous))
            except FileNotFoundError:
                pass
