"""Log output for journald: native-protocol entries with fields, "<N>" lines, no secrets."""
import io
import os
import socket
import struct

import pytest
from twisted.logger import LogLevel, Logger

from gxcpoold.journal import JournalObserver, encode, event_fields, stdout_is_journal
from gxcpoold.logs import SYSLOG_PRIORITY, JournaldObserver, event_text, journald_observer
from gxcpoold.redact import redact


def decode(datagram):
    """Parse the journal's datagram format back into [(key, value)]."""
    fields, pos = [], 0
    while pos < len(datagram):
        end = datagram.index(b"\n", pos)
        line = datagram[pos:end]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            pos = end + 1
        else:
            key = line
            (size,) = struct.unpack("<Q", datagram[end + 1:end + 9])
            value = datagram[end + 9:end + 9 + size]
            assert datagram[end + 9 + size:end + 10 + size] == b"\n"
            pos = end + 10 + size
        fields.append((key.decode(), value.decode()))
    return fields


def emit(observer, level, fmt, **kw):
    Logger(namespace="gxcpoold.test", observer=observer).emit(level, fmt, **kw)


@pytest.fixture
def journal(tmp_path):
    path = str(tmp_path / "socket")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(5)
    yield path, server
    server.close()


def message(event):
    return "%s: %s" % (event["log_namespace"], event_text(event))


def test_entry_has_priority_message_and_named_fields(journal):
    path, server = journal
    lines = io.StringIO()
    observer = JournalObserver(JournaldObserver(lines), SYSLOG_PRIORITY, path=path,
                               format_text=message)
    emit(observer, LogLevel.warn, "block {height} rejected for {worker}: {reason}",
         height=120, worker="tGXCabc.rig1", reason="Stale block", template={"big": "dict"})
    fields = dict(decode(server.recv(65536)))
    assert fields["MESSAGE"] == "gxcpoold.test: block 120 rejected for tGXCabc.rig1: Stale block"
    assert fields["PRIORITY"] == "4"
    assert fields["SYSLOG_IDENTIFIER"] == "gxcpool"
    assert fields["LOGGER"] == "gxcpoold.test"
    assert fields["HEIGHT"] == "120" and fields["WORKER"] == "tGXCabc.rig1"
    assert "TEMPLATE" not in fields            # only scalars the message names
    assert lines.getvalue() == ""


def test_traceback_stays_in_one_entry(journal):
    path, server = journal
    observer = JournalObserver(JournaldObserver(io.StringIO()), SYSLOG_PRIORITY, path=path,
                               format_text=message)
    try:
        1 / 0
    except ZeroDivisionError:
        Logger(namespace="gxcpoold.test", observer=observer).failure("payout halted")
    fields = dict(decode(server.recv(65536)))
    assert fields["PRIORITY"] == "2"
    assert fields["MESSAGE"].startswith("gxcpoold.test: payout halted\nTraceback")
    assert "ZeroDivisionError" in fields["MESSAGE"]


def test_falls_back_to_lines_when_the_journal_is_gone(tmp_path):
    lines = io.StringIO()
    observer = JournalObserver(JournaldObserver(lines), SYSLOG_PRIORITY,
                               path=str(tmp_path / "missing"), format_text=message)
    emit(observer, LogLevel.error, "node down: {reason}", reason="connection refused")
    assert lines.getvalue() == "<3>gxcpoold.test: node down: connection refused\n"


def test_level_filter_applies_to_entries(journal):
    path, server = journal
    observer = JournalObserver(JournaldObserver(io.StringIO()), SYSLOG_PRIORITY,
                               min_level=LogLevel.warn, path=path, format_text=message)
    emit(observer, LogLevel.info, "chatty")
    emit(observer, LogLevel.warn, "problem")
    assert dict(decode(server.recv(65536)))["MESSAGE"] == "gxcpoold.test: problem"


def test_reserved_and_odd_names_are_not_fields():
    event = {"log_format": "{message} {priority} {code_line} {a.b} {n[0]} {ok!r} {flag}",
             "message": "x", "priority": 1, "code_line": 3, "a": "A", "n": [1],
             "ok": "yes", "flag": True}
    assert event_fields(event) == [("A", "A"), ("OK", "yes")]


def test_multiline_values_are_length_prefixed():
    data = encode([("MESSAGE", "two\nlines"), ("X", "1")])
    assert data == b"MESSAGE\n" + struct.pack("<Q", 9) + b"two\nlines\nX=1\n"
    assert decode(data) == [("MESSAGE", "two\nlines"), ("X", "1")]


def test_stdout_is_journal_compares_device_and_inode(tmp_path):
    with open(tmp_path / "f", "w") as f:
        st = os.fstat(f.fileno())
        assert stdout_is_journal(f, {"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)})
        assert not stdout_is_journal(f, {"JOURNAL_STREAM": "1:2"})
        assert not stdout_is_journal(f, {})
    assert not stdout_is_journal(io.StringIO(), {"JOURNAL_STREAM": "1:2"})


def test_factory_writes_lines_outside_systemd(monkeypatch):
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    assert isinstance(journald_observer(), JournaldObserver)


def test_passwords_in_urls_are_masked_in_lines():
    lines = io.StringIO()
    emit(JournaldObserver(lines), LogLevel.info, "database {url}",
         url="postgresql+psycopg://pool:hunter2@db.example/gxcpool")
    assert lines.getvalue() == "<6>gxcpoold.test: database postgresql+psycopg://pool:***@db.example/gxcpool\n"
    assert redact("http://127.0.0.1:18332/") == "http://127.0.0.1:18332/"
