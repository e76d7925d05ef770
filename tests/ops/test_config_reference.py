"""The configuration reference stays in sync with the code and the sample file.

etc/gxcpool.toml must mention every setting the loader knows (with its
built-in default), and docs/configuration.md must be what
docs/make_config_reference.py generates from it.
"""
import importlib.util
import tomllib
from pathlib import Path

from gxcpoold.config import load_config
from gxcpoold.reload import flatten, needs_restart

ROOT = Path(__file__).resolve().parent.parent.parent
SAMPLE = ROOT / "etc" / "gxcpool.toml"
REGENERATE = "python docs/make_config_reference.py > docs/configuration.md"


def generator():
    spec = importlib.util.spec_from_file_location(
        "make_config_reference", ROOT / "docs" / "make_config_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def file_keys(config):
    """Settings as the file names them: [devnet]'s simulator knobs sit in the same table."""
    derived = {"state_dir", "database_url"}
    return {key.replace("devnet.node.", "devnet.") for key in flatten(config) if key not in derived}


def test_sample_mentions_every_setting():
    known = file_keys(load_config(None, environ={}))
    mentioned = generator().sample_keys(SAMPLE.read_text(encoding="utf-8"))
    missing = sorted(known - mentioned)
    assert not missing, ("etc/gxcpool.toml does not mention %s: add each with its default and a "
                         "comment, then run `%s`" % (", ".join(missing), REGENERATE))
    unknown = sorted(mentioned - known)
    assert not unknown, "etc/gxcpool.toml mentions keys the loader does not know: %s" % unknown


def test_sample_values_are_the_built_in_defaults():
    """Loading the sample as is gives exactly the built-in defaults (apart from its path)."""
    from_sample = flatten(load_config(SAMPLE, environ={}))
    built_in = flatten(load_config(None, environ={}))
    assert from_sample == built_in
    tomllib.loads(SAMPLE.read_text(encoding="utf-8"))


def test_reference_is_generated_from_the_sample():
    expected = generator().render(SAMPLE.read_text(encoding="utf-8"), needs_restart)
    current = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert current == expected, "docs/configuration.md is stale: run `%s`" % REGENERATE


def test_generator_reads_keys_comments_and_commented_out_keys():
    text = ('# header\n\n[a]\n# About x.\nx = 1\ny = "b"\n\n# About the rest.\n'
            '# z = 3   # zed\n')
    intro, sections = generator().parse(text)
    assert intro == ["header", ""]
    assert sections == [["a", ["About the rest."], [
        ("x", "1", "About x.", False), ("y", '"b"', "see `x`", False),
        ("z", "3", "zed", True)]]]
