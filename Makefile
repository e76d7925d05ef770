# The two set-up commands (see README):
#   make run    pool + built-in devnet node on loopback, SQLite in ./gxcpool-data
#   make test   the whole test suite
# Both create ./.venv and install the project (with its C extension) on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): setup.py pyproject.toml native/*.c native/*.h native/*.cdef native/build_native.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# compat mode puts the checkout on sys.path, so Twisted's plugin scan finds
	# twisted/plugins/ here (the default editable finder hides it from twistd).
	$(BIN)/python -m pip install -q -e '.[test]' --config-settings editable_mode=compat
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/twistd --nodaemon --pidfile= gxcpool --devnet

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

# Prints JSON figures.  The Stratum load test is separate (minutes, many sockets):
#   $(BIN)/python bench/stratum_load.py --help
# and so is the difficulty-1 flood (about 2.5 minutes, all cores):
#   $(BIN)/python bench/d1_flood.py --duration 30
bench: $(STAMP)
	$(BIN)/python bench/hashing.py
	$(BIN)/python bench/gxhash.py
	$(BIN)/python bench/ledger_shares.py

clean:
	rm -rf build *.egg-info gxcpoold/_native*.so gxcpoold/_native.c $(VENV)
