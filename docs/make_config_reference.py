"""Generate docs/configuration.md from etc/gxcpool.toml, the annotated sample.

    python docs/make_config_reference.py > docs/configuration.md

The sample is the single source: each key's default is its value there and
its meaning the comment above it (or after it, for commented-out keys).
tests/ops/test_config_reference.py fails when the two drift apart.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "etc" / "gxcpool.toml"

SECTION = re.compile(r"^\[([a-z0-9_.]+)\]\s*$")
KEY = re.compile(r"^([a-z_][a-z0-9_]*)\s*=\s*(.+?)\s*$")
# "# key = value" or "# key = value   # meaning": a key left at its default.
COMMENTED_KEY = re.compile(r"^#\s*([a-z_][a-z0-9_]*)\s*=\s*(.+?)(?:\s{2,}#\s*(.*))?$")


def parse(text):
    """(intro lines, [(section, section notes, [(key, default, meaning, commented)])]).

    A comment block right above a [section] (or alone below it) describes the
    section; one right above a key describes the key; a key directly below
    another without its own comment shares that key's description.
    """
    intro, sections = [], []
    comment = []
    owner = None                    # the described key a run of bare keys belongs to

    def add(key, value, meaning, commented):
        nonlocal owner
        if meaning:
            owner = key
        elif owner is not None:
            meaning = "see `%s`" % owner
        sections[-1][2].append((key, value, meaning, commented))

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            if not sections:
                intro += comment + [""]
            elif comment:
                sections[-1][1].append(" ".join(comment))
            comment, owner = [], None
            continue
        m = SECTION.match(line)
        if m:
            if not sections:
                intro += comment
                comment = []
            sections.append([m.group(1), [" ".join(comment)] if comment else [], []])
            comment, owner = [], None
            continue
        m = COMMENTED_KEY.match(line) if sections else None
        if m:
            key, value, after = m.groups()
            if after and comment:
                # A block above a run of self-described keys is about all of them.
                sections[-1][1].append(" ".join(comment))
                comment = []
            add(key, value, after or " ".join(comment), True)
            comment = []
            continue
        if line.startswith("#"):
            comment.append(line.lstrip("#").strip())
            continue
        m = KEY.match(line)
        if m and sections:
            add(m.group(1), m.group(2), " ".join(comment), False)
            comment = []
    return intro, sections


def env_name(section, key):
    return "GXCPOOL_%s_%s" % (section.replace(".", "_").upper(), key.upper())


def cell(text):
    return text.replace("|", "\\|")


def render(text, needs_restart):
    intro, sections = parse(text)
    out = ["# Configuration reference", "",
           "Generated from `etc/gxcpool.toml` (installed as `/etc/gxcpool/gxcpool.toml`) by",
           "`python docs/make_config_reference.py`; do not edit by hand. The sample file is",
           "the source: every key with its default and meaning.", "",
           "Column *reload*: **yes** if `systemctl reload gxcpool` (SIGHUP) may change it",
           "while miners stay connected (the parts that use it apply it when they implement",
           "`reconfigure`, see the operator guide); **restart** if a reload that changes it",
           "is refused and `systemctl restart gxcpool` is needed.", "",
           "From the sample's header:", ""]
    out += ["> " + line if line else ">" for line in _trim(intro)]
    for section, comment, keys in sections:
        out += ["", "## [%s]" % section, ""]
        for note in comment:
            out += [note, ""]
        out += ["| key | default | reload | environment | meaning |",
                "|---|---|---|---|---|"]
        for key, default, meaning, commented in keys:
            dotted = "%s.%s" % (section, key)
            shown = "`%s`" % default + (" (commented out)" if commented else "")
            out.append("| `%s` | %s | %s | `%s` | %s |" % (
                key, cell(shown), "restart" if needs_restart(dotted) else "yes",
                env_name(section, key), cell(meaning)))
    return "\n".join(out) + "\n"


def _trim(lines):
    while lines and not lines[0]:
        lines = lines[1:]
    while lines and not lines[-1]:
        lines = lines[:-1]
    return lines


def sample_keys(text):
    """{"pool.fee", "devnet.maturity", ...}: every key the sample mentions."""
    _, sections = parse(text)
    return {"%s.%s" % (section, key) for section, _, keys in sections for key, *_ in keys}


def main():
    sys.path.insert(0, str(ROOT))
    from gxcpoold.reload import needs_restart
    sys.stdout.write(render(SAMPLE.read_text(encoding="utf-8"), needs_restart))


if __name__ == "__main__":
    main()
