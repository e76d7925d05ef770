"""The share journal: an accepted share is on local disk before the miner hears `true`.

add_share() appends one JSON line to the live file (shares.spill in the state
directory) with a plain write() to the OS, so a SIGKILL of the pool cannot lose
it.  At each flush the live file is sealed: renamed to shares.spill.replay-<n>
and fsynced (power loss costs at most the last flush interval).  A sealed
file's shares go to the database in one transaction that also records the
file's id (spill_replays), then the file is removed; so a crash between the
commit and the removal never inserts them twice.  A sealed file the database
did not take stays and is replayed later (at the latest at the next start):
the same files are the spill while the database is unavailable.

Format: the first line names the file, {"gxcpool-spill": "<random id>"}; then
one share per line, a JSON array in ShareRecord field order (older spill files
hold JSON objects; both are read).  A torn last line is dropped.
"""
import dataclasses
import glob
import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass

from gxcpoold.durable import fsync_directory
from gxcpoold.shares import ShareRecord

HEADER_KEY = "gxcpool-spill"
READY_SUFFIX = ".replay-"
FIELDS = tuple(f.name for f in dataclasses.fields(ShareRecord))

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True,
                           check_circular=False).encode


def encode_share(r: ShareRecord) -> bytes:
    return (_encode([r.time, r.algorithm, r.address, r.worker, r.difficulty, r.work,
                     r.height, r.hash, r.is_block, r.instance_id]) + "\n").encode("ascii")


assert FIELDS == ("time", "algorithm", "address", "worker", "difficulty", "work", "height",
                  "hash", "is_block", "instance_id"), "encode_share() must follow ShareRecord"


def decode_share(line: str) -> ShareRecord:
    value = json.loads(line)
    if isinstance(value, list):
        return ShareRecord(*value)
    return ShareRecord(**value)


@dataclass
class Sealed:
    """A sealed journal file waiting for the database."""
    path: str
    file_id: str | None          # None: read it from the file
    records: list | None         # None: the shares are only in the file
    failed: bool = False         # the database refused it once (counted as spilled)


class ShareJournal:
    """The live journal file and its sealed predecessors.  Not thread-safe:
    append() and seal() run on the reactor thread; the fsyncs they hand back
    run on one journal thread, in order."""

    def __init__(self, path):
        self.path = os.path.abspath(str(path))
        self.directory = os.path.dirname(self.path)
        self._fd = None
        self.file_id = None
        self.records = 0          # shares in the live file
        self.size = 0             # bytes in the live file
        os.makedirs(self.directory, exist_ok=True)
        if os.path.exists(self.path):
            # Left by a process that died: seal it before anything is appended
            # after a possibly torn last line.
            os.replace(self.path, self._sealed_name())

    def _sealed_name(self):
        return "%s%s%019d-%s" % (self.path, READY_SUFFIX, time.time_ns(), uuid.uuid4().hex[:8])

    def _open(self):
        self.file_id = uuid.uuid4().hex
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o640)
        self.size = 0
        self.records = 0
        self._write(_encode({HEADER_KEY: self.file_id}).encode("ascii") + b"\n")

    def _write(self, data):
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.size += len(data)

    def append(self, record) -> None:
        """Hand the share to the OS (raises OSError: disk full, permissions)."""
        if self._fd is None:
            self._open()
        self._write(encode_share(record))
        self.records += 1

    @property
    def live_fd(self):
        return self._fd

    def seal(self):
        """Rename the live file to a sealed name; returns (path, file_id, fd):
        the caller fsyncs and closes fd (seal_durably), off the reactor thread."""
        path = self._sealed_name()
        os.replace(self.path, path)
        sealed = (path, self.file_id, self._fd)
        self._fd, self.file_id, self.records, self.size = None, None, 0, 0
        return sealed

    def close(self):
        """Stop: an empty live file is removed, a non-empty one sealed."""
        if self._fd is None:
            return None
        if self.records:
            return self.seal()
        os.close(self._fd)
        os.unlink(self.path)
        self._fd, self.file_id = None, None
        return None

    def pending(self):
        """Sealed files on disk, oldest first."""
        return sorted(glob.glob(glob.escape(self.path) + READY_SUFFIX + "*"),
                      key=lambda p: (_mtime(p), p))


def _mtime(path):
    try:
        return os.path.getmtime(path)
    except OSError:
        return 0.0


def seal_durably(fd, directory):
    """Journal thread: the sealed file's data and its new name reach the disk."""
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_directory(directory)




def read_spill(path):
    """(file id, [ShareRecord], lines dropped) from a sealed file.  A torn or
    unreadable line (a crash mid-append, a power loss) is dropped, not fatal.
    A file whose header is unreadable is named by a digest of its content,
    which is just as stable across replays."""
    with open(path, "rb") as f:
        data = f.read()
    lines = data.decode("utf-8", "replace").split("\n")
    try:
        file_id = json.loads(lines[0])[HEADER_KEY]
        body = lines[1:]
    except (ValueError, TypeError, KeyError):
        file_id = "sha256-" + hashlib.sha256(data).hexdigest()[:56]
        body = lines
    records, dropped = [], 0
    for line in body:
        if not line:
            continue
        try:
            records.append(decode_share(line))
        except (ValueError, TypeError):
            dropped += 1
    return file_id, records, dropped
