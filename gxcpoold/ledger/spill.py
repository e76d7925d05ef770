"""The spill file: shares that could not reach the database wait here.

One JSON object per line; the first line names the file with a random id.
Replaying a file inserts its shares and records that id in the same
transaction, so a crash between commit and deleting the file never inserts
them twice.  Appends are flushed and fsynced before the batch counts as safe.
"""
import dataclasses
import glob
import json
import os
import uuid

from gxcpoold.shares import ShareRecord

HEADER_KEY = "gxcpool-spill"
READY_SUFFIX = ".replay-"


class SpillFile:
    def __init__(self, path):
        self.path = str(path)

    def append(self, records):
        """Append records durably (header first if the file is new)."""
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        new = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
        with open(self.path, "a", encoding="utf-8") as f:
            if new:
                f.write(json.dumps({HEADER_KEY: uuid.uuid4().hex}) + "\n")
            for r in records:
                f.write(json.dumps(dataclasses.asdict(r), separators=(",", ":")) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def pending(self):
        """Files waiting to be replayed, oldest first (the live file is sealed first)."""
        if os.path.exists(self.path) and os.path.getsize(self.path) > 0:
            os.replace(self.path, "%s%s%s" % (self.path, READY_SUFFIX, uuid.uuid4().hex[:12]))
        return sorted(glob.glob(glob.escape(self.path) + READY_SUFFIX + "*"),
                      key=os.path.getmtime)

    def has_pending(self) -> bool:
        return ((os.path.exists(self.path) and os.path.getsize(self.path) > 0)
                or bool(glob.glob(glob.escape(self.path) + READY_SUFFIX + "*")))


def read_spill(path):
    """(file id, [ShareRecord]) from a sealed spill file.  A torn last line
    (a crash mid-append, before its fsync returned) is dropped."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    header = json.loads(lines[0])
    records = []
    for line in lines[1:]:
        if not line:
            continue
        try:
            records.append(ShareRecord(**json.loads(line)))
        except (ValueError, TypeError):
            break
    return header[HEADER_KEY], records
