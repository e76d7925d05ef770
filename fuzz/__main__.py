"""python -m fuzz [TARGET ...] [--seconds N]: run each fuzz target for a time budget.

Each target runs in a process of its own (libFuzzer owns it and exits on the
first crash) over its committed seeds, fuzz/corpus/TARGET/, and a grown
corpus it writes to, WORK/corpus/TARGET/ (fuzz/work by default, not
committed).  A crash's reproducer goes to CRASHES/TARGET/ (WORK/crashes by
default).  One summary line per target; the exit status is 1 when any target
crashed, 2 when atheris is not installed.
"""
import argparse
import importlib.util
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TARGETS = ("lines", "rpc", "node_http", "node_template")
MAX_LEN = {"lines": 8192, "rpc": 4096, "node_http": 8192, "node_template": 4096}


def run_target(name, seconds, work, crashes):
    corpus = os.path.join(work, "corpus", name)
    artifacts = os.path.join(crashes, name)
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(artifacts, exist_ok=True)
    log = os.path.join(work, "%s.log" % name)
    seeds = os.path.join(HERE, "corpus", name)
    before = set(os.listdir(artifacts))
    command = [sys.executable, "-m", "fuzz.target", name, corpus,
               "-max_total_time=%d" % seconds, "-artifact_prefix=%s/" % artifacts,
               "-max_len=%d" % MAX_LEN[name], "-timeout=30", "-rss_limit_mb=4096",
               "-print_final_stats=1"]
    if os.path.isdir(seeds):
        command.insert(5, seeds)
    if name == "lines":
        command.append("-dict=%s" % os.path.join(HERE, "stratum.dict"))
    started = time.monotonic()
    with open(log, "wb") as out:
        code = subprocess.call(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    elapsed = time.monotonic() - started
    with open(log, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    found = sorted(set(os.listdir(artifacts)) - before)
    return summarize(name, text, code, elapsed, [os.path.join(artifacts, f) for f in found],
                     log)


def stat(text, name):
    match = re.search(r"stat::%s:\s*(\d+)" % name, text)
    return int(match.group(1)) if match else None


def summarize(name, text, code, elapsed, found, log):
    execs = stat(text, "number_of_executed_units")
    if execs is None:
        runs = re.findall(r"Done (\d+) runs", text)
        execs = int(runs[-1]) if runs else 0
    coverage = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", text)
    cov, ft, corp = coverage[-1] if coverage else ("?", "?", "?")
    crashed = bool(found) or code != 0
    line = ("%-13s %9d execs in %4.0f s (%6.0f/s)  cov %s edges, ft %s, corpus %s, crashes %d"
            % (name, execs, elapsed, execs / elapsed if elapsed else 0, cov, ft, corp,
               len(found) if found else int(crashed)))
    report = [line]
    if crashed:
        trace = text[text.find("=== Uncaught Python exception"):] if \
            "Uncaught Python exception" in text else text[-4000:]
        report.append(trace[:6000])
        for path in found:
            report.append("reproduce: python -m fuzz.target %s %s" % (name, path))
        report.append("full log: %s" % log)
    return crashed, "\n".join(report)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", choices=[[]] + list(TARGETS), default=[],
                        metavar="TARGET", help="of %s (default: all)" % ", ".join(TARGETS))
    parser.add_argument("--seconds", type=int, default=60, help="budget per target")
    parser.add_argument("--work", default=os.path.join(HERE, "work"),
                        help="grown corpora and logs (default fuzz/work)")
    parser.add_argument("--crashes", default=None, help="reproducers (default WORK/crashes)")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("atheris") is None:
        print("atheris is not installed for %s (pip install atheris; it has wheels for "
              "CPython 3.8-3.11 on Linux x86-64): not fuzzing" % sys.executable)
        return 2
    crashes = args.crashes or os.path.join(args.work, "crashes")
    any_crash = False
    for name in args.targets or TARGETS:
        crashed, report = run_target(name, args.seconds, args.work, crashes)
        print(report, flush=True)
        any_crash = any_crash or crashed
    return 1 if any_crash else 0


if __name__ == "__main__":
    sys.exit(main())
