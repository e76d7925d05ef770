"""Log lines for journald: `twistd --logger gxcpoold.logs.journald_observer gxcpool ...`.

journald stamps every line itself and reads a leading "<N>" as the syslog
priority, so each line is "<N>namespace: message" with no timestamp of our
own; then `journalctl -u gxcpool -p warning` shows only problems.
GXCPOOL_LOG_LEVEL (debug, info, warn, error, critical; default info) sets the
least severe level written.  Under systemd (stdout wired to the journal) events
go over journald's native protocol instead, with fields (gxcpoold/journal.py).
Passwords in URLs are masked (gxcpoold/redact.py).
"""
import os
import sys

from twisted.logger import (FilteringLogObserver, ILogObserver, LogLevel, LogLevelFilterPredicate,
                            formatEvent, textFileLogObserver)
from zope.interface import implementer

from gxcpoold.journal import JOURNAL_SOCKET, JournalObserver, stdout_is_journal
from gxcpoold.redact import redact

LOG_LEVEL_ENV = "GXCPOOL_LOG_LEVEL"

# syslog priorities: 2 crit, 3 err, 4 warning, 6 info, 7 debug.
SYSLOG_PRIORITY = {
    LogLevel.critical: 2,
    LogLevel.error: 3,
    LogLevel.warn: 4,
    LogLevel.info: 6,
    LogLevel.debug: 7,
}


@implementer(ILogObserver)
class JournaldObserver:
    """Writes each event as "<priority>namespace: text" lines to a stream."""

    def __init__(self, stream, min_level=LogLevel.info):
        self.stream = stream
        self.min_level = min_level

    def __call__(self, event):
        level = event.get("log_level", LogLevel.info)
        if level < self.min_level:
            return
        text = event_text(event)
        namespace = event.get("log_namespace") or event.get("log_system") or "-"
        priority = SYSLOG_PRIORITY.get(level, 6)
        lines = text.splitlines() or [""]
        out = "".join("<%d>%s: %s\n" % (priority, namespace, line) for line in lines)
        try:
            self.stream.write(out)
            self.stream.flush()
        except (OSError, ValueError):
            pass      # a closed or full stdout must not take the daemon down


def event_text(event) -> str:
    """The event's message, with its traceback if it has one; credentials masked."""
    text = formatEvent(event)
    failure = event.get("log_failure")
    if failure is not None:
        text = "%s\n%s" % (text, failure.getTraceback().rstrip())
    return redact(text)


def level_from_environment(environ=None) -> LogLevel:
    name = (environ if environ is not None else os.environ).get(LOG_LEVEL_ENV, "info")
    try:
        return LogLevel.levelWithName(name.strip().lower())
    except Exception:
        return LogLevel.info


def journald_observer():
    """Observer factory for twistd's --logger option."""
    level = level_from_environment()
    lines = JournaldObserver(sys.stdout, level)
    if stdout_is_journal(sys.stdout) and os.path.exists(JOURNAL_SOCKET):
        def message(event):
            namespace = event.get("log_namespace") or event.get("log_system") or "-"
            return "%s: %s" % (namespace, event_text(event))
        return JournalObserver(lines, SYSLOG_PRIORITY, level, format_text=message)
    return lines


def twistd_logs_to_stdout(server_options) -> bool:
    """True when twistd will print plain lines to stdout (`make run`: --nodaemon, no
    --logfile, --syslog or --logger)."""
    return bool(server_options.get("nodaemon")) and not server_options.get("syslog") \
        and not server_options.get("logger") and server_options.get("logfile") in (None, "", "-")


def stdout_observer(min_level=None):
    """twistd's stdout lines, without events below GXCPOOL_LOG_LEVEL (default info)."""
    level = level_from_environment() if min_level is None else min_level
    return FilteringLogObserver(textFileLogObserver(sys.stdout),
                                [LogLevelFilterPredicate(defaultLogLevel=level)])
