"""The simulator's "data dir": the whole node state in one JSON file (spec §3.12).

Written atomically (temporary file + rename) so a killed process never leaves
a half-written chain behind.
"""
import json
import os
import tempfile


def load(path: str) -> dict | None:
    """The saved state, or None when the file does not exist yet (a fresh data dir)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"devnet setting 'state_file': cannot read {path}: {exc}") from None


def save(path: str, state: dict) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".devnode-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle, separators=(",", ":"))
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
