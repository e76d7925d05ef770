"""`twistd gxcpool` and `twistd gxcdevnode` as an operator runs them (real subprocesses)."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

TWISTD = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]
# The caller's pool settings must not leak in; GXCPOOL_CONFIG (an empty file,
# tests/conftest.py) stays so no system-wide configuration is read.
ENV = {k: v for k, v in os.environ.items()
       if k == "GXCPOOL_CONFIG"
       or not k.startswith(("GXCPOOL_", "POOL_", "BLOCKCHAIN_", "MIN_PAYOUT", "STRATUM_PORT",
                            "DASHBOARD_PORT"))}


def twistd(*args, cwd, timeout=60, env=None):
    return subprocess.run(TWISTD + list(args), cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env or ENV)


def test_help_lists_every_option(tmp_path):
    result = twistd("-n", "gxcpool", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for option in ("--config", "--devnet", "--state-dir", "--node-url", "--pool-address",
                   "--stratum-endpoint", "--web-endpoint"):
        assert option in result.stdout


def test_devnode_plugin_help(tmp_path):
    result = twistd("-n", "gxcdevnode", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--endpoint" in result.stdout


@pytest.mark.parametrize("toml, expected", [
    ("[pool]\nfee = 0.9\n", "gxcpool: configuration error: [pool] fee = 0.9: must be at least 0 "
                            "and below 0.5 (it is a fraction: 0.01 = 1 %)"),
    ("[node]\nurll = 'x'\n", "gxcpool: configuration error: unknown key [node] urll (known: "),
])
def test_bad_configuration_stops_with_one_line(tmp_path, toml, expected):
    (tmp_path / "bad.toml").write_text(toml)
    assert_one_line(twistd("-n", "--pidfile=", "gxcpool", "--config", "bad.toml", cwd=tmp_path),
                    expected)


def assert_one_line(result, expected):
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(expected), lines[0]


@pytest.mark.parametrize("content, expected", [
    ("[pool]\nname = 'Café'\n".encode("latin-1"),
     "gxcpool: configuration error: configuration file bad.toml is not UTF-8 text (byte 0xe9 "),
    (b"[database]\nurl = \"foo://bar\"\n",
     "gxcpool: configuration error: [database] url = 'foo://bar': unsupported database 'foo'"),
    (b"[stratum.sha256d]\nretarget_interval = inf\n",
     "gxcpool: configuration error: [stratum.sha256d] retarget_interval = inf: must be a "
     "finite number"),
    (b"[pool]\nstate_dir = \"a-file/state\"\n",
     "gxcpool: cannot create the state directory "),
])
def test_operator_mistakes_found_by_hostile_testing_are_one_line(tmp_path, content, expected):
    (tmp_path / "bad.toml").write_bytes(content)
    (tmp_path / "a-file").write_text("a file where a directory should be")
    assert_one_line(twistd("-n", "--pidfile=", "gxcpool", "--config", "bad.toml", cwd=tmp_path),
                    expected)


def test_admin_refuses_a_bad_database_url_in_one_line(tmp_path):
    (tmp_path / "bad.toml").write_text("[database]\nurl = \"foo://bar\"\n")
    admin = [sys.executable, "-m", "gxcpoold.ledger.admin"]
    for args, expected in (
            (["--database-url", "foo://bar", "balances"],
             "gxcpool-admin: configuration error: --database-url 'foo://bar': unsupported "
             "database 'foo'"),
            (["--config", "bad.toml", "balances"],
             "gxcpool-admin: configuration error: [database] url = 'foo://bar': unsupported "
             "database 'foo'")):
        result = subprocess.run(admin + args, cwd=tmp_path, capture_output=True, text=True,
                                timeout=60, env=ENV)
        assert result.returncode == 2, result
        assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr
        assert result.stderr.startswith(expected), result.stderr


def test_devnet_run_shows_jobs_shares_and_blocks(tmp_path):
    """The README's run command (on free ports): the devnet node, the pool and its
    demo miner bring a template, a block candidate and an accepted block."""
    env = dict(ENV, GXCPOOL_DEVNET_ENDPOINT="tcp:0:interface=127.0.0.1",
               GXCPOOL_STRATUM_SHA256D_ENDPOINT="tcp:0:interface=127.0.0.1")
    proc = subprocess.Popen(
        TWISTD + ["--nodaemon", "--pidfile=", "--logger", "gxcpoold.logs.journald_observer",
                  "gxcpool", "--devnet"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "accepted by the node" in line:
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
        lines.append(rest)
    output = "".join(lines)
    for pattern in (
            r"^<6>gxcpoold\.tap\.PoolService: gxcpool .* starting",
            r"^<6>gxcpoold\.node\.watcher\.TemplateWatcher: new template height=1 "
            r"difficulty=6\.0 txs=1 ",
            r"^<6>gxcpoold\.miner\.demo\.DemoMinerService: devnet demo miner: 1 thread",
            r"^<6>gxcpoold\.stratum\.pipeline\.SharePipeline: sha256d block candidate "
            r"000000[0-9a-f]{58} "
            r"at height \d+ by tGXC[0-9a-f]{34}\.demo",
            r"^<6>gxcpoold\.node\.submitter\.BlockSubmitter: block \d+ 000000[0-9a-f]{58} "
            r"(by \S+ )?accepted by the node"):
        assert re.search(pattern, output, re.M), (pattern, output)
    # Twisted >= 23 re-raises the stopping signal; systemd counts that as clean.
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert (tmp_path / "gxcpool-data").is_dir()


DEVNET_ENV = dict(ENV, GXCPOOL_DEVNET_ENDPOINT="tcp:0:interface=127.0.0.1",
                  GXCPOOL_STRATUM_SHA256D_ENDPOINT="tcp:0:interface=127.0.0.1",
                  GXCPOOL_WEB_ENDPOINT="tcp:0:interface=127.0.0.1")


def interrupt_devnet_run(tmp_path, when, signals=1):
    """`make run` on free ports, SIGINT `signals` times at `when` (seconds after
    start, or the first output line containing that text); returns (code, output)."""
    proc = subprocess.Popen(TWISTD + ["--nodaemon", "--pidfile=", "gxcpool", "--devnet"],
                            cwd=tmp_path, env=DEVNET_ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        if isinstance(when, str):
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                line = proc.stdout.readline()
                lines.append(line)
                if not line or when in line:
                    break
            assert when in lines[-1], "".join(lines)
        else:
            time.sleep(when)
        for _ in range(signals):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.01)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, "".join(lines) + rest


# From 0.5 s: earlier, Python may still be importing Twisted itself, before
# any of the pool's code (and its handler) exists.
@pytest.mark.parametrize("when, signals", [
    (0.5, 1), (0.8, 1), (1.2, 1), (2.0, 1), (0.8, 3),
    ("starting up", 2),                       # logging has just started
    ("stratum listening on", 2),
    ("accepted by the node", 3),              # an impatient second and third Ctrl-C
])
def test_ctrl_c_at_any_moment_of_the_first_seconds_stops_quietly(tmp_path, when, signals):
    code, output = interrupt_devnet_run(tmp_path, when, signals)
    assert "Traceback" not in output and "ReactorNotRunning" not in output, output
    assert "#critical]" not in output, output
    # Twisted re-raises the stopping signal; the shell shows it as an interrupt.
    assert code == -signal.SIGINT, output
