"""Files that survive a crash: written whole or not at all, their names synced.

One rule for every file the pool or the devnet replaces (DAG files, block
candidates, the mined-txid set, the devnet's header and block log): write
under a temporary name beside the target, fsync, rename over it; a crash
leaves the old file or the new one, never half of one.  A rename reaches
the disk only once its directory is synced too.
"""
import contextlib
import os
import threading


def fsync_path(path):
    """fsync a file (its data) or a directory (renames and new files in it) by name."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(directory):
    """Make renames and new files in `directory` durable."""
    fsync_path(directory)


def unlink_if_present(path):
    """Remove a file; one already gone is fine."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


@contextlib.contextmanager
def written_atomically(final, mode="wb"):
    """An open file that appears at `final` only complete and synced: written
    under a temporary name, renamed at the end, removed on any failure.  The
    directory is not synced (write_atomically does that)."""
    tmp = "%s.tmp-%d-%d" % (final, os.getpid(), threading.get_ident())
    try:
        with open(tmp, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_atomically(path, data):
    """Replace `path` with `data` (bytes or str) durably, name included."""
    with written_atomically(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    fsync_directory(os.path.dirname(os.path.abspath(path)))
