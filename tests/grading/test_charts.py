"""grading/charts.py: the geometry of the server-drawn bar charts."""

from django.template.loader import render_to_string

from fundushub.grading import charts
from fundushub.grading.quality import GraderFigures, Rate


def grader(name, pairs):
    row = GraderFigures(1, name)
    row.outcomes = pairs
    return row


def test_a_bar_is_as_long_as_its_share_of_the_axis():
    chart = charts.bar_chart("c", "t", [("a", 0.5, "50%", charts.BLUE)], 1.0)
    assert chart.bars[0].width == charts.PLOT_WIDTH / 2


def test_a_negative_kappa_draws_no_length_but_writes_its_value():
    row = grader("priya", [("a", "b"), ("b", "a"), ("a", "a"), ("b", "b"), ("a", "b")])
    chart = charts.kappa_chart([row])
    assert row.kappa < 0
    assert chart.bars[0].width == 0 and chart.bars[0].text.startswith("-0.")
    assert chart.bars[0].colour == charts.AMBER


def test_an_undefined_kappa_has_no_bar_and_says_so():
    chart = charts.kappa_chart([grader("sophie", [])])
    assert chart.bars[0].width is None and chart.bars[0].text == "— not computed"
    assert "sophie: — not computed" in chart.desc


def test_kappa_colours_follow_the_reference_lines():
    assert [charts.kappa_colour(k) for k in (0.5, 0.6, 0.7, 0.8, 0.81, None)] == [
        charts.AMBER,
        charts.AMBER,
        charts.BLUE,
        charts.BLUE,
        charts.GREEN,
        charts.GRAY,
    ]


def test_the_rate_axis_ends_at_the_first_round_share_that_holds_every_bar():
    assert [charts.nice_maximum(s) for s in (0, 0.03, 0.05, 0.07, 0.2, 0.21, 0.9)] == [
        0.05,
        0.05,
        0.05,
        0.1,
        0.2,
        0.5,
        1.0,
    ]
    chart = charts.rate_chart("r", "t", [Rate("Topcon", 10, 3)])
    assert [label for _, label in chart.ticks] == ["0%", "10%", "20%", "30%", "40%", "50%"]
    assert chart.bars[0].text == "30.0% (3 of 10)"


def test_a_long_name_is_shortened_on_the_chart_and_whole_in_its_tooltip():
    name = "Topcon TRC-NW400 (second floor, room 12)"
    chart = charts.rate_chart("r", "t", [Rate(name, 4, 1)])
    bar = chart.bars[0]
    assert bar.label == name[:19] + "…" and bar.name == name


def test_the_svg_escapes_names_and_carries_its_title_and_description():
    chart = charts.rate_chart("r", "Per camera", [Rate("<script>alert(1)</script>", 4, 1)])
    svg = render_to_string("grading/_bar_chart.html", {"chart": chart})
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'aria-labelledby="r-title r-desc"' in svg and '<title id="r-title">Per camera' in svg
