"""A lower CPU priority for the calling thread (hashing and DAG threads).

The reactor thread answers sha256d shares inline; a flood of slow-hash
checks (gxhash, ethash) or a DAG being generated must not take the CPU it
needs.  Their threads therefore run at a higher nice value than the reactor.
"""
import os
import sys
import threading

__all__ = ["DEFAULT_NICENESS", "NICE_MAX", "check_niceness", "lower_this_thread"]

DEFAULT_NICENESS = 10     # as nice(1): the reactor wins the CPU, hashing still progresses
NICE_MAX = 19
# Only on Linux does PRIO_PROCESS with a thread id name that one thread;
# elsewhere the id would name some process (or the whole pool process).
_PER_THREAD = sys.platform.startswith("linux") and hasattr(os, "setpriority")


def check_niceness(niceness):
    """niceness as a constructor argument: an int 0..19 (0 = leave it)."""
    if isinstance(niceness, bool) or not isinstance(niceness, int) \
            or not 0 <= niceness <= NICE_MAX:
        raise ValueError("niceness must be an int 0..%d, got %r" % (NICE_MAX, niceness))
    return niceness


def lower_this_thread(niceness):
    """Give the calling thread the nice value of the process's main (reactor)
    thread plus `niceness`, at most 19.  Never raises the thread's priority,
    never touches the main thread.  Silently does nothing on other platforms
    or when the system refuses."""
    if niceness <= 0 or not _PER_THREAD:
        return
    thread = threading.get_native_id()
    if thread == os.getpid():
        return      # the main thread is the reference (and runs the reactor)
    try:
        target = min(NICE_MAX, os.getpriority(os.PRIO_PROCESS, os.getpid()) + niceness)
        if os.getpriority(os.PRIO_PROCESS, thread) < target:
            os.setpriority(os.PRIO_PROCESS, thread, target)
    except OSError:
        pass        # e.g. a sandbox that forbids it: the thread keeps its priority
