"""gxcpoold.priority: hashing threads at a higher nice value than the main
(reactor) thread, each read from inside the thread it belongs to (Linux)."""
import os
import sys
import threading

import pytest

from gxcpoold.priority import NICE_MAX, check_niceness, lower_this_thread

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="per-thread nice values are Linux's")


def own_priority():
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def main_priority():
    return os.getpriority(os.PRIO_PROCESS, os.getpid())


def in_a_thread(f):
    """f() run in a new thread; its result (or its exception, raised here)."""
    outcome = []

    def run():
        try:
            outcome.append((True, f()))
        except BaseException as exc:  # handed to the test thread
            outcome.append((False, exc))
    t = threading.Thread(target=run)
    t.start()
    t.join(30)
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def test_a_thread_goes_niceness_above_the_main_thread_once():
    main = main_priority()

    def lowered_twice():
        lower_this_thread(4)
        first = own_priority()
        lower_this_thread(4)          # relative to the main thread, not cumulative
        return first, own_priority()
    assert in_a_thread(lowered_twice) == (min(NICE_MAX, main + 4),) * 2
    assert main_priority() == main


def test_never_above_19_and_never_raised():
    main = main_priority()
    assert in_a_thread(lambda: (lower_this_thread(NICE_MAX), own_priority())[1]) == NICE_MAX

    def already_lower():
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE_MAX)
        lower_this_thread(1)
        return own_priority()
    assert in_a_thread(already_lower) == NICE_MAX
    assert main_priority() == main


def test_threads_started_by_a_lowered_thread_inherit_its_priority():
    # DAG generation relies on it: the build thread is lowered, its workers follow.
    main = main_priority()

    def parent():
        lower_this_thread(6)
        return own_priority(), in_a_thread(own_priority)
    assert in_a_thread(parent) == (min(NICE_MAX, main + 6),) * 2


def test_the_main_thread_and_niceness_0_are_left_alone():
    main = main_priority()
    if threading.current_thread() is threading.main_thread():
        lower_this_thread(5)
        assert main_priority() == main
    assert in_a_thread(lambda: (lower_this_thread(0), own_priority())[1]) == main


def test_niceness_values():
    for good in (0, 10, 19):
        assert check_niceness(good) == good
    for bad in (-1, 20, 1.5, True, None, "3"):
        with pytest.raises(ValueError):
            check_niceness(bad)
