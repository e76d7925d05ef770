"""journald's native protocol: one datagram per log event, with fields.

Used instead of "<N>" lines on stdout when systemd connected our stdout to
the journal (it then sets JOURNAL_STREAM to that stream's device:inode) and
the journal socket exists.  Each event becomes one journal entry (a traceback
stays inside its entry) and carries, besides MESSAGE and PRIORITY, the scalar
values its format string names as fields: `journalctl -u gxcpool HEIGHT=120`.
Values are the ones the message already shows, passed through redact().
"""
import os
import re
import socket
import string
import struct

from twisted.logger import ILogObserver, LogLevel
from zope.interface import implementer

from gxcpoold.redact import redact

JOURNAL_SOCKET = "/run/systemd/journal/socket"
IDENTIFIER = "gxcpool"

_FIELD_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
# Fields journald or its tools give a meaning of their own.
_RESERVED = {"MESSAGE", "MESSAGE_ID", "PRIORITY", "ERRNO", "INVOCATION_ID", "UNIT", "USER_UNIT",
             "DOCUMENTATION", "TID", "LOG_NAMESPACE", "USER_INVOCATION_ID"}
_RESERVED_PREFIXES = ("SYSLOG_", "CODE_", "OBJECT_", "COREDUMP_")
_SCALARS = (str, int, float)


def stdout_is_journal(stream, environ=None) -> bool:
    """True when systemd wired this stream to journald (sd_journal_stream_fd convention)."""
    value = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return value == "%d:%d" % (st.st_dev, st.st_ino)


def encode(fields) -> bytes:
    """The journal's datagram format: KEY=value lines; values with newlines length-prefixed."""
    out = bytearray()
    for key, value in fields:
        data = value.encode("utf-8", "replace")
        if b"\n" in data:
            out += key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            out += key.encode() + b"=" + data + b"\n"
    return bytes(out)


def event_fields(event) -> list:
    """(NAME, text) for each scalar value named in the event's format string."""
    fmt = event.get("log_format")
    if not isinstance(fmt, str):
        return []
    fields, seen = [], set()
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return []
    for _, name, _, _ in parsed:
        if not name:
            continue
        base = re.split(r"[.\[]", name, maxsplit=1)[0]
        key = base.upper()
        value = event.get(base)
        if (key in seen or not _FIELD_NAME.match(key) or key in _RESERVED
                or key.startswith(_RESERVED_PREFIXES)
                or isinstance(value, bool) or not isinstance(value, _SCALARS)):
            continue
        seen.add(key)
        fields.append((key, redact(str(value))))
    return fields


@implementer(ILogObserver)
class JournalObserver:
    """Sends events to journald; anything it cannot send goes to `fallback` (an observer)."""

    def __init__(self, fallback, priorities, min_level=LogLevel.info, path=JOURNAL_SOCKET,
                 format_text=None):
        self.fallback = fallback
        self.priorities = priorities
        self.min_level = min_level
        self.path = path
        self.format_text = format_text
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        # Never block the reactor on a busy journal: fall back to stdout instead.
        self.sock.setblocking(False)

    def __call__(self, event):
        level = event.get("log_level", LogLevel.info)
        if level < self.min_level:
            return
        fields = [("MESSAGE", self.format_text(event)),
                  ("PRIORITY", str(self.priorities.get(level, 6))),
                  ("SYSLOG_IDENTIFIER", IDENTIFIER)]
        namespace = event.get("log_namespace")
        if namespace:
            fields.append(("LOGGER", namespace))
        fields += [f for f in event_fields(event) if f[0] != "LOGGER"]
        try:
            self.sock.sendto(encode(fields), self.path)
        except OSError:
            # Journal busy or gone, entry too big: the "<N>" line still reaches it.
            self.fallback(event)
