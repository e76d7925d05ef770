"""The server-drawn SVG charts (gxcpoold/web/charts.py): scales, coordinates,
empty and single-point series, escaping, accessibility, and no inline style."""
import re
import xml.etree.ElementTree as ET

import pytest

from gxcpoold.web import charts, formats
from gxcpoold.web.charts import (Frame, Line, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT,
                                 MARGIN_TOP, bar_chart, line_chart, nice_step, x_ticks, y_ticks)

SVG = "{http://www.w3.org/2000/svg}"
T0 = 20789 * 86400           # a day's start in UTC (00:00)


def parse(markup):
    return ET.fromstring(str(markup))


def series(values, step=600, start=T0):
    return [{"time": start + i * step, "hashrate": float(v), "shares": int(v),
             "algorithms": {"sha256d": float(v), "ethash": 0.0, "gxhash": 0.0}}
            for i, v in enumerate(values)]


def polyline_points(svg, css="total"):
    line = svg.find(".//%spolyline[@class='chart-line chart-s-%s']" % (SVG, css))
    return [tuple(map(float, pair.split(","))) for pair in line.get("points").split()]


# ------------------------------------------------------------ scales

@pytest.mark.parametrize("rough, step", [(0.3, 0.5), (1.0, 1.0), (1.1, 2.0), (2.2, 2.5),
                                         (3.0, 5.0), (7.0, 10.0), (1234.0, 2000.0),
                                         (2e12, 2e12)])
def test_nice_step(rough, step):
    assert nice_step(rough) == pytest.approx(step)


def test_y_ticks_cover_the_maximum_with_at_most_five_steps():
    for maximum in (0.7, 1.0, 3.3, 999.0, 1e6 + 1, 4.2e13):
        top, ticks = y_ticks(maximum)
        assert top >= maximum
        assert ticks[0] == 0.0 and ticks[-1] == pytest.approx(top)
        assert 2 <= len(ticks) <= 6
        steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
        assert len(steps) == 1
    # nothing to show: a 0..1 axis, never a division by zero
    assert y_ticks(0.0) == (1.0, [0.0, 0.25, 0.5, 0.75, 1.0])
    assert y_ticks(0.0, whole=True) == (1.0, [0.0, 1.0])
    # counts step by whole numbers
    top, ticks = y_ticks(3.0, whole=True)
    assert all(t == int(t) for t in ticks) and top >= 3


def test_x_ticks_are_round_utc_times_inside_the_span():
    step, ticks = x_ticks(T0 + 100, T0 + 86400 + 100)
    assert step == 21600
    assert ticks == [T0 + 21600 * i for i in range(1, 5)]
    step, ticks = x_ticks(T0, T0 + 3600)
    assert step == 600 and len(ticks) == 7


def test_frame_maps_values_to_the_plot_area():
    frame = Frame(t0=T0, t1=T0 + 1000, top=10.0)
    assert frame.x(T0) == MARGIN_LEFT
    assert frame.x(T0 + 1000) == frame.width - MARGIN_RIGHT
    assert frame.y(0.0) == frame.height - MARGIN_BOTTOM
    assert frame.y(10.0) == MARGIN_TOP
    assert frame.y(5.0) == pytest.approx(MARGIN_TOP + frame.plot_height / 2)


# ------------------------------------------------------------ drawing

def test_hashrate_chart_coordinates_scale_and_labels():
    svg = parse(charts.hashrate_chart(series([0, 1000, 2000, 4000]), title="Pool hashrate"))
    assert svg.tag == SVG + "svg"
    assert svg.get("role") == "img"
    assert svg.get("viewBox") == "0 0 %d %d" % (charts.WIDTH, charts.HEIGHT)
    assert svg.find(SVG + "title").text == "Pool hashrate"
    assert "Pool hashrate" in svg.get("aria-label")
    assert "4 kH/s" in svg.find(SVG + "desc").text
    points = polyline_points(svg)
    assert len(points) == 4
    frame = Frame(T0, T0 + 4 * 600, 4000.0)          # y_ticks(4000) tops at 4000
    for (x, y), (t, v) in zip(points, [(T0 + i * 600, v) for i, v in
                                       enumerate([0, 1000, 2000, 4000])]):
        assert x == pytest.approx(frame.x(t + 300), abs=0.05)   # the bucket's middle
        assert y == pytest.approx(frame.y(v), abs=0.05)
    # strictly left to right, the highest value at the top of the plot
    assert [x for x, _ in points] == sorted(x for x, _ in points)
    assert points[-1][1] == pytest.approx(MARGIN_TOP)
    assert points[0][1] == pytest.approx(charts.HEIGHT - MARGIN_BOTTOM)
    labels = [t.text for t in svg.iter(SVG + "text")]
    assert "0 H/s" in labels and "4 kH/s" in labels
    assert any(re.fullmatch(r"\d\d:\d\d", text) for text in labels)
    # the shaded area is closed on the baseline
    area = svg.find(".//%spath[@class='chart-area chart-s-total']" % SVG).get("d")
    assert area.startswith("M") and area.endswith("Z")


def test_one_line_per_busy_algorithm_only_when_several_work():
    rows = series([10, 20])
    assert len(list(parse(charts.hashrate_chart(
        rows, title="t", algorithms=("sha256d", "ethash"))).iter(SVG + "polyline"))) == 1
    for row in rows:
        row["algorithms"]["ethash"] = 5.0
    svg = parse(charts.hashrate_chart(rows, title="t", algorithms=("sha256d", "ethash",
                                                                    "gxhash")))
    classes = [p.get("class") for p in svg.iter(SVG + "polyline")]
    assert classes == ["chart-line chart-s-total", "chart-line chart-s-sha256d",
                       "chart-line chart-s-ethash"]
    legend = [t.text for t in svg.find(".//%sg[@class='chart-legend']" % SVG).iter(SVG + "text")]
    assert legend == ["total", "sha256d", "ethash"]


def test_empty_series_draws_axes_and_says_so():
    for markup in (charts.hashrate_chart([], title="Nothing"),
                   charts.shares_chart([], title="Nothing")):
        svg = parse(markup)
        assert svg.find(SVG + "title").text == "Nothing"
        assert svg.find(".//%stext[@class='chart-empty']" % SVG).text == "no data yet"
        assert svg.find(SVG + "desc").text == "No data yet."
        assert not list(svg.iter(SVG + "polyline"))
        assert len(list(svg.find(".//%sg[@class='chart-grid']" % SVG))) >= 2


def test_single_point_is_a_dot_in_the_middle():
    svg = parse(charts.hashrate_chart(series([500]), title="One"))
    assert not list(svg.iter(SVG + "polyline"))
    dot = svg.find(".//%scircle" % SVG)
    assert float(dot.get("cx")) == pytest.approx(MARGIN_LEFT + (charts.WIDTH - MARGIN_LEFT
                                                                - MARGIN_RIGHT) / 2, abs=0.05)
    assert float(dot.get("cy")) == pytest.approx(MARGIN_TOP, abs=0.05)


def test_the_bucket_just_begun_is_left_out():
    rows = series([100, 200, 0])
    rows[-1]["seconds"] = 0                  # no complete minute in it yet
    svg = parse(charts.hashrate_chart(rows, title="t"))
    assert len(polyline_points(svg)) == 2
    svg = parse(charts.shares_chart(rows, title="t"))
    assert len(list(svg.find(".//%sg[@class='chart-bars chart-s-shares']" % SVG))) == 2


def test_all_zero_series_lies_on_the_baseline():
    svg = parse(charts.hashrate_chart(series([0, 0, 0]), title="Idle"))
    assert {y for _, y in polyline_points(svg)} == {float(charts.HEIGHT - MARGIN_BOTTOM)}
    assert svg.find(".//%stext[@class='chart-empty']" % SVG).text == "no shares in this period"


def test_bar_chart_bars_per_bucket_with_whole_number_ticks():
    svg = parse(charts.shares_chart(series([0, 3, 6]), title="Shares"))
    bars = list(svg.find(".//%sg[@class='chart-bars chart-s-shares']" % SVG))
    assert len(bars) == 2                                     # a zero bucket has no bar
    base = charts.HEIGHT - MARGIN_BOTTOM
    heights = [float(b.get("height")) for b in bars]
    assert heights[1] == pytest.approx(2 * heights[0], abs=0.1)
    for bar in bars:
        assert float(bar.get("y")) + float(bar.get("height")) == pytest.approx(base, abs=0.1)
    axis = [t.text for t in svg.find(".//%sg[@class='chart-axis chart-axis-y']" % SVG)]
    assert all(re.fullmatch(r"\d+", label) for label in axis)


def test_labels_and_titles_are_escaped():
    hostile = "<script>alert(1)</script>\"&'"
    markup = str(line_chart([Line(hostile, "x\"><script>", [(T0, 1.0), (T0 + 60, 2.0)]),
                             Line("b", "b", [(T0, 1.0), (T0 + 60, 1.0)])],
                            title=hostile, label=hostile))
    assert "<script>" not in markup
    svg = parse(markup)                                       # still well-formed XML
    assert svg.find(SVG + "title").text == hostile
    assert svg.get("aria-label") == hostile
    legend = [t.text for t in svg.find(".//%sg[@class='chart-legend']" % SVG)
              .iter(SVG + "text")]
    assert hostile in legend
    markup = str(bar_chart([(T0, 1)], title=hostile, value_format=lambda v: "<%g>" % v))
    assert "<script>" not in markup and "&lt;1&gt;" in markup


def test_no_inline_style_anywhere():
    for markup in (charts.hashrate_chart(series([1, 2, 3]), title="a"),
                   charts.shares_chart(series([1, 2, 3]), title="b"),
                   charts.hashrate_chart([], title="c")):
        assert "style=" not in str(markup)
        assert "<style" not in str(markup)


def test_hashrate_formats():
    assert formats.hashrate(0) == "0 H/s"
    assert formats.hashrate(812) == "812 H/s"
    assert formats.hashrate(1500) == "1.5 kH/s"
    assert formats.hashrate(2.345e12) == "2.35 TH/s"
    assert formats.hashrate(999.6) == "1 kH/s"
    assert formats.hashrate(12.345) == "12.3 H/s"
    assert formats.gxc(1_250_000_000) == "12.50000000 GXC"
    assert formats.ago(1000.0, 1000.0 + 7 * 60 + 5) == "7 min ago"
    assert formats.duration(7500) == "2 h 5 min"
