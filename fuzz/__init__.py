"""Coverage-guided fuzzing (atheris) of what peers send the pool: Stratum
lines on every port and dialect, and the node's HTTP/JSON-RPC answers.

docs/fuzzing.md says what each target checks; `python -m fuzz --help` runs them.
The harness modules (ports, conversation, node_check) need no atheris, so the
regression tests in tests/fuzz/ replay inputs through them with plain pytest.
"""
