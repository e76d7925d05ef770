"""Crash points for fault tests: the process kills itself (SIGKILL) at a named step.

Only active when $GXCPOOL_FAULT_POINT names the step, which only the fault
tests set; otherwise a dictionary lookup and nothing else.
"""
import os
import signal

ENV = "GXCPOOL_FAULT_POINT"


def fault_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
