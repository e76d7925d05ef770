"""Log lines for journald: `twistd --logger gxcpoold.logs.journald_observer gxcpool ...`.

journald stamps every line itself and reads a leading "<N>" as the syslog
priority, so each line is "<N>namespace: message" with no timestamp of our
own; then `journalctl -u gxcpool -p warning` shows only problems.
GXCPOOL_LOG_LEVEL (debug, info, warn, error, critical; default info) sets the
least severe level written.
"""
import os
import sys

from twisted.logger import ILogObserver, LogLevel, formatEvent
from zope.interface import implementer

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
        text = formatEvent(event)
        failure = event.get("log_failure")
        if failure is not None:
            text = "%s\n%s" % (text, failure.getTraceback().rstrip())
        namespace = event.get("log_namespace") or event.get("log_system") or "-"
        priority = SYSLOG_PRIORITY.get(level, 6)
        lines = text.splitlines() or [""]
        out = "".join("<%d>%s: %s\n" % (priority, namespace, line) for line in lines)
        try:
            self.stream.write(out)
            self.stream.flush()
        except (OSError, ValueError):
            pass      # a closed or full stdout must not take the daemon down


def level_from_environment(environ=None) -> LogLevel:
    name = (environ if environ is not None else os.environ).get(LOG_LEVEL_ENV, "info")
    try:
        return LogLevel.levelWithName(name.strip().lower())
    except Exception:
        return LogLevel.info


def journald_observer():
    """Observer factory for twistd's --logger option."""
    return JournaldObserver(sys.stdout, level_from_environment())
