"""One fuzz target under atheris/libFuzzer: python -m fuzz.target NAME [libFuzzer args].

libFuzzer owns the process (it exits on the first crash), which is why the
runner (python -m fuzz) starts each target in a process of its own.  Given
file names instead of corpus directories it runs just those inputs: that is
how a crash is reproduced.
"""
import sys

import atheris

# Libraries first, uninstrumented: coverage feedback comes from the project's
# own modules and Twisted's line splitting, which are imported inside the hook.
import json  # noqa: F401
import twisted.internet.defer  # noqa: F401
import twisted.internet.task  # noqa: F401
import twisted.internet.testing  # noqa: F401
import twisted.logger  # noqa: F401

with atheris.instrument_imports(include=["gxcpoold", "twisted.protocols.basic"]):
    from fuzz import lines, node_inputs, rpc

TARGETS = {
    "lines": lambda data: lines.run(data),
    "rpc": lambda data: rpc.run(atheris.FuzzedDataProvider(data)),
    "node_http": lambda data: node_inputs.http(data, atheris.FuzzedDataProvider),
    "node_template": lambda data: node_inputs.template(atheris.FuzzedDataProvider(data)),
}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit("usage: python -m fuzz.target {%s} [libFuzzer options] [corpus dirs or files]"
                 % ",".join(TARGETS))
    one_input = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0]] + sys.argv[2:], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
