"""Hermetic configuration for every test.

A machine with the Debian package installed has /etc/gxcpool/gxcpool.toml,
which the daemon reads when no --config is given.  Tests must never pick it
up: in-process loads see a default path that does not exist, and every
subprocess inherits GXCPOOL_CONFIG pointing at an empty file.
"""
import os
import tempfile
from pathlib import Path

import pytest

_EMPTY_CONFIG = Path(tempfile.mkdtemp(prefix="gxcpool-tests-")) / "empty.toml"
_EMPTY_CONFIG.write_text("# built-in defaults only\n")
os.environ["GXCPOOL_CONFIG"] = str(_EMPTY_CONFIG)


@pytest.fixture(autouse=True)
def _no_system_config(monkeypatch):
    import gxcpoold.config
    monkeypatch.setattr(gxcpoold.config, "DEFAULT_CONFIG_PATH",
                        Path("/nonexistent/gxcpool-tests/gxcpool.toml"))
