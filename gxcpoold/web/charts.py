"""Inline SVG charts drawn on the server from the read model's time series.

A page carries its charts as markup, so they show without JavaScript, with
no external library, and under a CSP that forbids inline style: colours and
line widths come from classes in static/style.css, with SVG presentation
attributes (fill=, stroke=) as the fallback.  Every text that reaches the
SVG is escaped.  Each chart has a <title> and an aria-label, and a <desc>
summing up the figures for readers that do not see it.

Series points are (bucket start, value) pairs oldest first, as
queries.hashrate_series gives them (every bucket present); a point is drawn
at its bucket's middle.
"""
import math
import time
from dataclasses import dataclass

from markupsafe import Markup, escape

from gxcpoold.web import formats

WIDTH, HEIGHT = 720, 240
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 72, 16, 28, 30
NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)
TIME_STEPS = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
              2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400)
MAX_Y_TICKS = 5
MAX_X_TICKS = 7


@dataclass
class Line:
    name: str               # the legend's text
    css: str                # class suffix: chart-s-<css>
    points: list            # [(time, value)...]


@dataclass
class Frame:
    """The mapping from data to the plot area's pixels."""
    t0: float
    t1: float
    top: float              # the y axis' highest value (a nice number)
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def plot_width(self):
        return self.width - MARGIN_LEFT - MARGIN_RIGHT

    @property
    def plot_height(self):
        return self.height - MARGIN_TOP - MARGIN_BOTTOM

    def x(self, t):
        return MARGIN_LEFT + (t - self.t0) / (self.t1 - self.t0) * self.plot_width

    def y(self, value):
        return MARGIN_TOP + self.plot_height - value / self.top * self.plot_height

    @property
    def bottom(self):
        return MARGIN_TOP + self.plot_height


# ------------------------------------------------------------ scales

def nice_step(rough):
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above rough (> 0)."""
    exponent = math.floor(math.log10(rough))
    base = 10.0 ** exponent
    for step in NICE_STEPS:
        if step * base >= rough * (1 - 1e-12):
            return step * base
    return 10.0 * base


def y_ticks(maximum, whole=False):
    """(top, [tick values]) for values up to maximum: 0 and up to five nice
    steps (whole numbers only for counts when whole)."""
    if not maximum or maximum <= 0 or not math.isfinite(maximum):
        return (1.0, [0.0, 1.0]) if whole else (1.0, [0.0, 0.25, 0.5, 0.75, 1.0])
    step = nice_step(maximum / MAX_Y_TICKS)
    if whole:
        step = max(1.0, math.ceil(step))
    count = max(1, math.ceil(maximum / step - 1e-9))
    return step * count, [step * i for i in range(count + 1)]


def x_ticks(t0, t1):
    """(step, [tick times]) at round UTC times inside [t0, t1]."""
    span = t1 - t0
    step = next((s for s in TIME_STEPS if span / s <= MAX_X_TICKS), TIME_STEPS[-1])
    first = math.ceil(t0 / step) * step
    ticks = []
    t = first
    while t <= t1 + 1e-9:
        ticks.append(t)
        t += step
    return step, ticks


def time_label(t, step):
    return time.strftime("%H:%M" if step < 86400 else "%m-%d", time.gmtime(t))


def bucket_step(points, default=600):
    """The series' spacing (the bucket length)."""
    if len(points) >= 2:
        gaps = [b[0] - a[0] for a, b in zip(points, points[1:]) if b[0] > a[0]]
        if gaps:
            return min(gaps)
    return default


# ------------------------------------------------------------ drawing

def _num(value):
    """A coordinate with one decimal and no trailing zeros."""
    text = "%.1f" % value
    return text[:-2] if text.endswith(".0") else text


def _frame_for(lines, step, width, height, whole=False):
    points = [p for line in lines for p in line.points]
    if points:
        t0 = min(t for t, _ in points)
        t1 = max(t for t, _ in points) + step
    else:
        now = time.time()
        t1 = math.floor(now / step) * step + step
        t0 = t1 - 24 * step
    maximum = max((v for _, v in points), default=0.0)
    top, ticks = y_ticks(maximum, whole)
    return Frame(t0, t1, top, width, height), ticks


def _grid(frame, ticks, value_format):
    parts = ['<g class="chart-grid">']
    for value in ticks:
        y = _num(frame.y(value))
        parts.append('<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#d0d7de" '
                     'stroke-width="1"/>' % (MARGIN_LEFT, y, frame.width - MARGIN_RIGHT, y))
    parts.append('</g><g class="chart-axis chart-axis-y">')
    for value in ticks:
        parts.append('<text x="%d" y="%s" text-anchor="end" dominant-baseline="middle" '
                     'fill="#57606a" font-size="11">%s</text>'
                     % (MARGIN_LEFT - 8, _num(frame.y(value)), escape(value_format(value))))
    parts.append('</g><g class="chart-axis chart-axis-x">')
    step, times = x_ticks(frame.t0, frame.t1)
    for t in times:
        x = _num(frame.x(t))
        parts.append('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#8c959f" '
                     'stroke-width="1"/>' % (x, _num(frame.bottom), x, _num(frame.bottom + 4)))
        parts.append('<text x="%s" y="%s" text-anchor="middle" fill="#57606a" '
                     'font-size="11">%s</text>'
                     % (x, _num(frame.bottom + 18), escape(time_label(t, step))))
    parts.append('<line class="chart-baseline" x1="%d" y1="%s" x2="%d" y2="%s" '
                 'stroke="#8c959f" stroke-width="1"/>'
                 % (MARGIN_LEFT, _num(frame.bottom), frame.width - MARGIN_RIGHT,
                    _num(frame.bottom)))
    parts.append("</g>")
    return parts


def _legend(lines):
    if len(lines) < 2:
        return []
    parts = ['<g class="chart-legend">']
    x = MARGIN_LEFT
    for line in lines:
        parts.append('<rect class="chart-swatch chart-s-%s" x="%d" y="8" width="12" height="4" '
                     'fill="currentColor"/>' % (escape(line.css), x))
        parts.append('<text x="%d" y="14" fill="#57606a" font-size="11">%s</text>'
                     % (x + 16, escape(line.name)))
        x += 24 + 7 * len(line.name)
    parts.append("</g>")
    return parts


def _empty_note(frame, note="no data yet"):
    return ['<text class="chart-empty" x="%s" y="%s" text-anchor="middle" fill="#57606a" '
            'font-size="13">%s</text>'
            % (_num(MARGIN_LEFT + frame.plot_width / 2), _num(MARGIN_TOP + frame.plot_height / 2),
               escape(note))]


def _quiet(lines):
    """The note for a chart with nothing to show, or None."""
    points = [p for line in lines for p in line.points]
    if not points:
        return "no data yet"
    if not any(v for _, v in points):
        return "no shares in this period"
    return None


def _open(title, label, desc, width, height, kind):
    return ['<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-%s" '
            'viewBox="0 0 %d %d" role="img" aria-label="%s" '
            'preserveAspectRatio="xMidYMid meet">' % (kind, width, height, escape(label)),
            "<title>%s</title>" % escape(title),
            "<desc>%s</desc>" % escape(desc)]


def _summary(lines, value_format):
    if not any(line.points for line in lines):
        return "No data yet."
    main = lines[0].points
    latest = main[-1][1] if main else 0.0
    peak = max((v for _, v in main), default=0.0)
    return "Latest %s, highest %s, over %d intervals." % (
        value_format(latest), value_format(peak), len(main))


def line_chart(lines, *, title, label=None, value_format=formats.count, step=None,
               width=WIDTH, height=HEIGHT):
    """Lines over time with a shaded area under the first.  lines: [Line]."""
    step = step or bucket_step(lines[0].points if lines else [])
    frame, ticks = _frame_for(lines, step, width, height)
    parts = _open(title, label or title, _summary(lines, value_format), width, height, "line")
    parts += _grid(frame, ticks, value_format)
    note = _quiet(lines)
    if note:
        parts += _empty_note(frame, note)
    for index, line in enumerate(lines):
        coords = [(frame.x(t + step / 2), frame.y(v)) for t, v in line.points]
        css = escape(line.css)
        if len(coords) == 1:
            x, y = coords[0]
            parts.append('<circle class="chart-dot chart-s-%s" cx="%s" cy="%s" r="3.5" '
                         'fill="currentColor"/>' % (css, _num(x), _num(y)))
            continue
        if not coords:
            continue
        text = " ".join("%s,%s" % (_num(x), _num(y)) for x, y in coords)
        if index == 0:
            area = "M%s,%s L%s L%s,%s Z" % (_num(coords[0][0]), _num(frame.bottom), text,
                                            _num(coords[-1][0]), _num(frame.bottom))
            parts.append('<path class="chart-area chart-s-%s" d="%s" fill="currentColor" '
                         'fill-opacity="0.12" stroke="none"/>' % (css, area))
        parts.append('<polyline class="chart-line chart-s-%s" points="%s" fill="none" '
                     'stroke="currentColor" stroke-width="2" stroke-linejoin="round"/>'
                     % (css, text))
    parts += _legend(lines)
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(points, *, title, label=None, value_format=formats.count, css="shares",
              step=None, width=WIDTH, height=HEIGHT):
    """One bar per bucket.  points: [(time, value)...]."""
    step = step or bucket_step(points)
    line = Line(title, css, points)
    frame, ticks = _frame_for([line], step, width, height, whole=True)
    parts = _open(title, label or title, _summary([line], value_format), width, height, "bar")
    parts += _grid(frame, ticks, value_format)
    note = _quiet([line])
    if note:
        parts += _empty_note(frame, note)
    bar = frame.plot_width * step / (frame.t1 - frame.t0)
    gap = min(2.0, bar * 0.2)
    parts.append('<g class="chart-bars chart-s-%s" fill="currentColor">' % escape(css))
    for t, value in points:
        if value <= 0:
            continue
        y = frame.y(value)
        parts.append('<rect x="%s" y="%s" width="%s" height="%s"/>'
                     % (_num(frame.x(t) + gap / 2), _num(y), _num(max(0.5, bar - gap)),
                        _num(frame.bottom - y)))
    parts.append("</g></svg>")
    return Markup("".join(parts))


# ------------------------------------------------------------ from the read model

def complete(series):
    """The buckets with measured time: the one just begun (no complete
    minute yet, "seconds" 0) would draw a false drop to zero at the end."""
    return [p for p in series if p.get("seconds", 1) > 0]


def hashrate_chart(series, *, title, algorithms=()):
    """The total hashrate of a hashrate_series, with one line per algorithm
    of `algorithms` when more than one of them has work in it."""
    series = complete(series)
    total = Line("total", "total", [(p["time"], p["hashrate"]) for p in series])
    lines = [total]
    busy = [name for name in algorithms
            if any(p.get("algorithms", {}).get(name) for p in series)]
    if len(busy) > 1:
        lines += [Line(name, name, [(p["time"], p["algorithms"].get(name, 0.0)) for p in series])
                  for name in busy]
    return line_chart(lines, title=title, label=title + " (hashes per second over time)",
                      value_format=formats.hashrate)


def shares_chart(series, *, title):
    """Accepted shares per bucket of a hashrate_series."""
    series = complete(series)
    return bar_chart([(p["time"], p["shares"]) for p in series], title=title,
                     label=title + " (accepted shares per interval)",
                     value_format=lambda v: formats.si(v))
