"""CI's short fuzz run: every target for a few seconds (python -m fuzz), each
in its own process since libFuzzer owns it; a crash fails with its
reproducer.  The long runs are by hand (docs/fuzzing.md)."""
import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SECONDS = 2                    # per target: four targets, under 30 s with start-up


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None,
                    reason="atheris is not installed (pip install atheris: test extras)")
@pytest.mark.timeout(180)
def test_every_target_runs_without_a_crash(tmp_path):
    run = subprocess.run([sys.executable, "-m", "fuzz", "--seconds", str(SECONDS),
                          "--work", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    print(run.stdout, run.stderr)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count(" execs in ") == 4, run.stdout
