"""Configuration: defaults, file, environment, overrides, and one clear line per mistake."""
import re
from fractions import Fraction
from pathlib import Path

import pytest

from gxcpoold.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "etc" / "gxcpool.toml"
WALLET = "tGXCc036ae3af11be2ef553cb7806fae14c0b8"


def write(tmp_path, text):
    path = tmp_path / "pool.toml"
    path.write_text(text)
    return path


def load(tmp_path, text="", environ=None, **kw):
    return load_config(write(tmp_path, text), environ=environ or {}, **kw)


def test_defaults_without_a_file():
    config = load_config(None, environ={})
    assert config.source == "built-in defaults"
    assert config.node.url == "http://127.0.0.1:18332"
    assert config.pool.fee == Fraction(1, 100)
    assert config.payouts.minimum == 10_000_000
    assert {a: s.endpoint for a, s in config.stratum.items()} == {
        "sha256d": "tcp:3333", "ethash": "tcp:3334", "gxhash": "tcp:3335"}
    assert config.web.endpoint == "tcp:5000"
    assert config.devnet.endpoint == "tcp:18332:interface=127.0.0.1"
    assert config.devnet.node.difficulty == 6.0
    # Run from a checkout: state next to the working directory.
    assert config.state_dir == Path("gxcpool-data")
    assert config.database_url == "sqlite:///gxcpool-data/gxcpool.sqlite3"


def test_sample_config_loads_as_is_and_matches_the_defaults():
    sample = load_config(SAMPLE, environ={})
    defaults = load_config(None, environ={})
    for section in ("pool", "node", "stratum", "database", "payouts", "web", "cluster", "devnet"):
        assert getattr(sample, section) == getattr(defaults, section), section


def documented_keys(text):
    """{section: keys} set or shown commented out ("# key = ...") in a TOML sample."""
    keys, section = {}, None
    for line in text.splitlines():
        header = re.match(r"\[([\w.]+)\]$", line)
        if header:
            section = header.group(1)
            keys.setdefault(section, set())
            continue
        entry = re.match(r"(?:# )?(\w+) = ", line)
        if entry and section:
            keys[section].add(entry.group(1))
    return keys


def test_sample_config_documents_every_key():
    """The sample is the configuration reference: no key may be missing from it."""
    from gxcpoold import config as c
    documented = documented_keys(SAMPLE.read_text())
    for section, cls in c._sections():
        for name in c._value_fields(cls):
            assert name in documented.get(section, ()), "[%s] %s" % (section, name)


def test_file_values(tmp_path):
    config = load(tmp_path, """
[pool]
name = "Example Pool"
address = "%s"
fee = 0.015
[node]
url = "http://10.0.0.5:18332"
timeout = 3
[stratum.ethash]
endpoint = "tcp:4444:interface=127.0.0.1"
[payouts]
minimum = 2.5
[database]
url = "postgresql+psycopg://pool@127.0.0.1/pool"
[pool.unused]
""".replace("[pool.unused]\n", "") % WALLET)
    assert config.pool.name == "Example Pool"
    assert config.pool.address == WALLET
    assert config.pool.fee == Fraction(3, 200)
    assert config.node.timeout == 3.0 and isinstance(config.node.timeout, float)
    assert config.stratum["ethash"].endpoint == "tcp:4444:interface=127.0.0.1"
    assert config.stratum["ethash"].start_difficulty == 4e9      # algorithm default kept
    assert config.payouts.minimum == 250_000_000
    assert config.database_url == "postgresql+psycopg://pool@127.0.0.1/pool"


def test_seed_guide_environment_names(tmp_path):
    config = load(tmp_path, "[pool]\nname = 'from file'\n", environ={
        "POOL_NAME": "from env", "POOL_ADDRESS": WALLET, "BLOCKCHAIN_NODE_URL": "http://h:1",
        "POOL_FEE": "0.02", "MIN_PAYOUT": "1.5", "STRATUM_PORT": "4000",
        "DASHBOARD_PORT": "8080"})
    assert config.pool.name == "from env"
    assert config.pool.address == WALLET
    assert config.node.url == "http://h:1"
    assert config.pool.fee == Fraction(1, 50)
    assert config.payouts.minimum == 150_000_000
    assert config.stratum["sha256d"].endpoint == "tcp:4000"
    assert config.web.endpoint == "tcp:8080"


def test_generic_environment_names(tmp_path):
    config = load(tmp_path, environ={
        "GXCPOOL_NODE_TIMEOUT": "2.5", "GXCPOOL_STRATUM_GXHASH_ENABLED": "false",
        "GXCPOOL_CLUSTER_INSTANCE_ID": "7", "GXCPOOL_DEVNET_DIFFICULTY": "2",
        "GXCPOOL_LOG_LEVEL": "debug"})
    assert config.node.timeout == 2.5
    assert config.stratum["gxhash"].enabled is False
    assert config.cluster.instance_id == 7
    assert config.devnet.node.difficulty == 2.0


def test_command_line_beats_environment_beats_file(tmp_path):
    config = load(tmp_path, "[node]\nurl = 'http://file:1'\n",
                  environ={"BLOCKCHAIN_NODE_URL": "http://env:2"},
                  overrides={("node", "url"): "http://cli:3"})
    assert config.node.url == "http://cli:3"
    assert load(tmp_path, "[node]\nurl = 'http://file:1'\n",
                environ={"BLOCKCHAIN_NODE_URL": "http://env:2"}).node.url == "http://env:2"


def test_state_dir_from_systemd(tmp_path):
    config = load(tmp_path, environ={"STATE_DIRECTORY": "/var/lib/gxcpool"})
    assert config.state_dir == Path("/var/lib/gxcpool")
    assert config.database_url == "sqlite:////var/lib/gxcpool/gxcpool.sqlite3"


def test_devnet_follows_the_pool_network(tmp_path):
    config = load(tmp_path, "[pool]\nnetwork = 'mainnet'\n")
    assert config.devnet.node.network == "mainnet"


@pytest.mark.parametrize("text, environ, message", [
    ("[pool]\nfees = 0.1\n", {}, r"^unknown key \[pool\] fees \(known: .*fee"),
    ("[pools]\n", {}, r"^unknown section \[pools\]"),
    ("[stratum.scrypt]\n", {}, r"^unknown section \[stratum.scrypt\]"),
    ("[pool]\nfee = 0.5\n", {}, r"^\[pool\] fee = 0.5: must be at least 0 and below 0.5"),
    ("[pool]\nfee = -0.01\n", {}, r"^\[pool\] fee = -0.01: must be at least 0"),
    ("[pool]\nfee = '1%'\n", {}, r"^\[pool\] fee = '1%': not a number"),
    ("", {"POOL_FEE": "0.7"}, r"^environment \[pool\] fee = '0.7': must be at least 0"),
    ("[pool]\naddress = 'GXCe05a3e3799de3e8fa8c28b555fba6f6764'\n", {},
     r"^\[pool\] address = 'GXCe05a.*mainnet address; this pool is on testnet"),
    ("[pool]\naddress = 'tGXCnothex'\n", {}, r"^\[pool\] address = 'tGXCnothex': .*not a testnet"),
    ("[pool]\nnetwork = 'regtest'\n", {}, r"^\[pool\] network = 'regtest': must be one of"),
    ("[stratum.sha256d]\nendpoint = 'tcp:notaport'\n", {},
     r"^\[stratum.sha256d\] endpoint = 'tcp:notaport': cannot parse endpoint"),
    ("[web]\nendpoint = 'carrier-pigeon:5000'\n", {}, r"^\[web\] endpoint = .*cannot parse"),
    ("", {"STRATUM_PORT": "70000"}, r"^environment \[stratum.sha256d\] endpoint = '70000': "
                                     r"must be a TCP port number"),
    ("[node]\nurl = 'https://node:18332'\n", {}, r"^\[node\] url = .*http://HOST:PORT"),
    ("[node]\nurl = 'http://node'\n", {}, r"^\[node\] url = .*http://HOST:PORT"),
    ("[node]\ntimeout = 'soon'\n", {}, r"^\[node\] timeout = 'soon': must be a number"),
    ("[node]\ntimeout = 0\n", {}, r"^\[node\] timeout = 0.0: must be more than 0"),
    ("[node]\nretries = 1.5\n", {}, r"^\[node\] retries = 1.5: must be a whole number"),
    ("[node]\nmax_request_bytes = 9000\n", {}, r"^\[node\] max_request_bytes = 9000: must be from"),
    ("[stratum.gxhash]\nenabled = 'yes'\n", {}, r"^\[stratum.gxhash\] enabled = 'yes': must be true"),
    ("[stratum.sha256d]\nstart_difficulty = 1e13\n", {},
     r"^\[stratum.sha256d\] start_difficulty = 10000000000000.0: must lie between"),
    ("[payouts]\nminimum = 0.000000001\n", {}, r"^\[payouts\] minimum = 1e-09: more than 8 decimals"),
    ("[payouts]\nminimum = 0\n", {}, r"^\[payouts\] minimum = 0: must be more than 0"),
    ("[payouts]\nscheme = 'pps'\n", {}, r"^\[payouts\] scheme = 'pps': must be one of"),
    ("[payouts]\nshare_min_age_hours = -1\n", {},
     r"^\[payouts\] share_min_age_hours = -1.0: must not be negative"),
    ("[payouts]\nshare_window_margin = 0\n", {},
     r"^\[payouts\] share_window_margin = 0: must be from 1 to 1000"),
    ("[cluster]\ninstance_id = 256\n", {}, r"^\[cluster\] instance_id = 256: must be from 0 to 255"),
    ("", {"GXCPOOL_NODE_TIMEOUTS": "1"}, r"^unknown environment variable GXCPOOL_NODE_TIMEOUTS"),
    ("", {"GXCPOOL_NODE_RETRIES": "many"}, r"^environment \[node\] retries = 'many': must be a number"),
    ("[devnet]\nmaturity = 'six'\n", {}, r"^\[devnet\] maturity = 'six': must be a whole number"),
    ("[devnet]\ndemo_miner_threads = -1\n", {},
     r"^\[devnet\] demo_miner_threads = -1: must be from 0 to 64"),
    ("[stratum.sha256d]\nretarget_interval = inf\n", {},
     r"^\[stratum.sha256d\] retarget_interval = inf: must be a finite number$"),
    ("[node]\ntimeout = nan\n", {}, r"^\[node\] timeout = nan: must be a finite number$"),
    ("[payouts]\ninterval = -inf\n", {}, r"^\[payouts\] interval = -inf: must be a finite"),
    ("[devnet]\ndifficulty = inf\n", {}, r"^\[devnet\] difficulty = inf: must be a finite"),
    ("", {"GXCPOOL_STRATUM_GXHASH_BAN_SECONDS": "Infinity"},
     r"^environment \[stratum.gxhash\] ban_seconds = 'Infinity': must be a finite number$"),
    ("[stratum.sha256d]\nline_timeout = 0\n", {},
     r"^\[stratum.sha256d\] line_timeout = 0.0: must be more than 0"),
    ("[stratum.ethash]\nlisten_backlog = 0\n", {},
     r"^\[stratum.ethash\] listen_backlog = 0: must be from 1 to 65535"),
    ("[database]\nurl = 'foo://bar'\n", {},
     r"^\[database\] url = 'foo://bar': unsupported database 'foo' \(use sqlite:///PATH or "
     r"postgresql\+psycopg://USER@HOST/DATABASE\)$"),
    ("[database]\nurl = 'not a url'\n", {}, r"^\[database\] url = 'not a url': not a database URL"),
    ("[database]\nurl = 'postgresql+nodriver://pool:secret@db/gxcpool'\n", {},
     r"^\[database\] url = 'postgresql\+nodriver://pool:\*\*\*@db/gxcpool': unknown driver"),
    ("", {"GXCPOOL_DATABASE_URL": "postgresql+psycopg2://pool:secret@db/gxcpool"},
     r"^environment \[database\] url = 'postgresql\+psycopg2://pool:\*\*\*@db/gxcpool': "
     r"the database driver is not installed"),
    ("pool = 3\n", {}, r"^\[pool\] must be a table"),
    ("[pool\n", {}, r"is not valid TOML"),
])
def test_mistakes_name_the_key_in_one_line(tmp_path, text, environ, message):
    with pytest.raises(ConfigError, match=message) as info:
        load(tmp_path, text, environ)
    assert "\n" not in str(info.value)


def test_missing_file_is_one_line():
    with pytest.raises(ConfigError, match=r"^configuration file /nonexistent.toml does not exist$"):
        load_config("/nonexistent.toml", environ={})


def test_a_file_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes("[pool]\nname = 'Café'\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"^configuration file .*latin1.toml is not UTF-8 text "
                                          r"\(byte 0xe9 at offset 18\)$"):
        load_config(path, environ={})


def test_database_urls_gxcpool_can_use(tmp_path):
    for url in ("", "sqlite:////var/lib/gxcpool/x.sqlite3", "sqlite://",
                "postgresql+psycopg://pool@127.0.0.1/gxcpool"):
        assert load(tmp_path, "[database]\nurl = '%s'\n" % url).database.url == url


def test_stratum_listen_backlog_and_line_timeout(tmp_path):
    config = load(tmp_path, "[stratum.sha256d]\nlisten_backlog = 4096\nline_timeout = 15.5\n")
    assert config.stratum["sha256d"].listen_backlog == 4096
    assert config.stratum["sha256d"].line_timeout == 15.5
    assert config.stratum["gxhash"].listen_backlog == 1024
    assert config.stratum["gxhash"].line_timeout == 60.0


def test_devnet_runs_ethash_light_at_a_cpu_difficulty(tmp_path):
    plain = load(tmp_path, "")
    assert plain.stratum["ethash"].dag_mode == "full"
    assert plain.stratum["ethash"].start_difficulty == 4e9
    devnet = load(tmp_path, "[devnet]\nenabled = true\n")
    assert devnet.stratum["ethash"].dag_mode == "light"
    assert devnet.stratum["ethash"].start_difficulty == 2000.0
    # what the operator writes still wins
    mine = load(tmp_path, "[devnet]\nenabled = true\n[stratum.ethash]\ndag_mode = 'full'\n")
    assert mine.stratum["ethash"].dag_mode == "full"


def test_instance_id_must_fit_every_enabled_port(tmp_path):
    with pytest.raises(ConfigError, match=r"instance_id = 16: must be below 16 while "
                                          r"\[stratum.gxhash\] is enabled"):
        load(tmp_path, "[cluster]\ninstance_id = 16\n")
    config = load(tmp_path, "[cluster]\ninstance_id = 200\n[stratum.gxhash]\nenabled = false\n")
    assert config.cluster.instance_id == 200


def test_verify_niceness_is_a_nice_value(tmp_path):
    assert load(tmp_path, "").stratum["gxhash"].verify_niceness == 10
    assert load(tmp_path, "[stratum.ethash]\nverify_niceness = 0\n").stratum[
        "ethash"].verify_niceness == 0
    with pytest.raises(ConfigError, match=r"\[stratum.gxhash\] verify_niceness"):
        load(tmp_path, "[stratum.gxhash]\nverify_niceness = 20\n")
