"""How the pages show numbers: hashrates in SI units, GXC amounts, times, ages.

Pure functions (registered as Jinja2 filters by pages.py and used by
charts.py's axis labels).  Money stays int base units until it is shown, and
is shown exactly (gxcpoold.amounts.format_gxc), never through a float.
"""
import math
import time

from gxcpoold.amounts import format_gxc

SI_PREFIXES = ("", "k", "M", "G", "T", "P", "E", "Z", "Y")


def si(value, unit="", digits=3):
    """1234567 -> '1.23 M' + unit; values below 1000 keep up to `digits` significant digits."""
    if value is None or not math.isfinite(value):
        return "–"
    if value == 0:
        return "0 %s" % unit if unit else "0"
    sign = "-" if value < 0 else ""
    value = abs(value)
    exponent = 0
    while value >= 999.5 and exponent < len(SI_PREFIXES) - 1:
        value /= 1000.0
        exponent += 1
    text = _significant(value, digits)
    suffix = SI_PREFIXES[exponent] + unit
    return "%s%s %s" % (sign, text, suffix) if suffix else sign + text


def _significant(value, digits):
    if value >= 100:
        return "%d" % round(value)
    decimals = max(0, digits - 1 - int(math.floor(math.log10(value))))
    text = "%.*f" % (decimals, value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def hashrate(value):
    """Hashes per second: '0 H/s', '812 H/s', '1.5 MH/s', '2.34 TH/s'."""
    return si(value, "H/s")


def gxc(units):
    """Base units to '12.50000000 GXC'."""
    if units is None:
        return "–"
    return format_gxc(int(units)) + " GXC"


def count(value):
    """An integer with thin grouping: 12,345."""
    if value is None:
        return "–"
    return "{:,}".format(int(value))


def percent(fraction, digits=1):
    if fraction is None or not math.isfinite(fraction):
        return "–"
    return "{:,.{}f} %".format(100.0 * fraction, digits)


def utc(seconds):
    """Unix seconds to '2026-12-01 16:19:50 UTC'."""
    if seconds is None:
        return "–"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def iso(seconds):
    """Unix seconds to ISO 8601 (for <time datetime=...>)."""
    if seconds is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def ago(seconds, now):
    """'just now', '42 s ago', '7 min ago', '3 h ago', '2 d ago'."""
    if seconds is None:
        return "never"
    age = max(0.0, now - seconds)
    if age < 5:
        return "just now"
    if age < 60:
        return "%d s ago" % age
    if age < 3600:
        return "%d min ago" % (age // 60)
    if age < 86400 * 2:
        return "%d h ago" % (age // 3600)
    return "%d d ago" % (age // 86400)


def duration(seconds):
    """A span: 'under 1 s', '45 s', '10 min', '2 h 5 min', '3 d 4 h'."""
    if seconds < 1:
        return "under 1 s"
    seconds = int(seconds)
    if seconds < 60:
        return "%d s" % seconds
    if seconds < 3600:
        return "%d min" % (seconds // 60)
    if seconds < 86400:
        hours, rest = divmod(seconds, 3600)
        return "%d h %d min" % (hours, rest // 60) if rest >= 60 else "%d h" % hours
    days, rest = divmod(seconds, 86400)
    return "%d d %d h" % (days, rest // 3600) if rest >= 3600 else "%d d" % days


def short_hash(text, keep=10):
    """A long hex hash shortened for tables: the head and tail with an ellipsis."""
    if not text:
        return ""
    if len(text) <= 2 * keep + 1:
        return text
    return text[:keep] + "…" + text[-6:]


def number(value, digits=4):
    """A statistic (difficulty, effort): up to `digits` significant digits."""
    if value is None or not math.isfinite(value):
        return "–"
    return "%.*g" % (digits, value)
