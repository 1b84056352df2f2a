"""Horizontal bar charts drawn on the server as inline SVG (grading/_bar_chart.html): geometry here,
markup in the template, so every label is escaped by the template engine and no script is needed.

Each bar has its value written beside it, so nothing is told by colour or length alone; the
chart's description repeats every value for screen readers.
"""

from dataclasses import dataclass, field

# Names, right-aligned before the bars: 20 characters of DejaVu Sans at 13 px take up to ~160 px.
LABEL_WIDTH = 180
PLOT_WIDTH = 230
VALUE_WIDTH = 120  # the value written after each bar
ROW = 30
BAR = 18
TOP = 30  # room for the reference lines' labels
TOP_PLAIN = 6  # a chart without reference lines
BOTTOM = 26  # the axis' tick labels
LABEL_CHARS = 20

# Fills with at least 3:1 against the white card (WCAG 1.4.11), text 4.5:1.
BLUE = "#0b5cad"
GREEN = "#1e7a34"
AMBER = "#8a5a00"
GRAY = "#56616d"


@dataclass(frozen=True)
class Bar:
    label: str  # shortened to fit
    name: str  # in full (the row's tooltip)
    text: str  # the value as written beside the bar
    width: float | None  # None: no value, no bar
    colour: str
    y: float

    @property
    def text_y(self) -> float:
        return self.y + BAR / 2 + 5

    # Values in a column of their own after the plot: text beside each bar would cross the
    # reference lines.
    value_x = LABEL_WIDTH + PLOT_WIDTH + 10


@dataclass(frozen=True)
class Line:
    x: float
    label: str
    colour: str


@dataclass
class Chart:
    id: str
    title: str
    desc: str
    bars: list[Bar]
    lines: list[Line] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    top: int = TOP

    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    label_x = LABEL_WIDTH - 8
    plot_left = LABEL_WIDTH
    plot_right = LABEL_WIDTH + PLOT_WIDTH

    @property
    def height(self) -> int:
        return self.top + ROW * len(self.bars) + BOTTOM

    @property
    def plot_bottom(self) -> int:
        return self.top + ROW * len(self.bars)

    @property
    def tick_y(self) -> int:
        return self.plot_bottom + 18

    @property
    def line_label_y(self) -> int:
        return self.top - 10

    @property
    def axis_top(self) -> int:
        return max(0, self.top - 10)


def _short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


def _x(value: float, maximum: float) -> float:
    return round(PLOT_WIDTH * max(0.0, min(value, maximum)) / maximum, 1)


def bar_chart(chart_id, title, items, maximum, *, lines=(), ticks=(), desc_intro="") -> Chart:
    """items: (name, value or None, text, colour); value on the axis 0..maximum (values outside
    it are drawn at its ends, their text says the truth); lines and ticks: (value, label[, colour])."""
    top = TOP if lines else TOP_PLAIN
    bars = [
        Bar(
            _short(name),
            name,
            text,
            None if value is None else _x(value, maximum),
            colour,
            top + ROW * n + (ROW - BAR) / 2,
        )
        for n, (name, value, text, colour) in enumerate(items)
    ]
    described = "; ".join(f"{name}: {text}" for name, _, text, _ in items)
    return Chart(
        id=chart_id,
        title=title,
        desc=f"{desc_intro} {described}.".strip(),
        bars=bars,
        lines=[Line(LABEL_WIDTH + _x(v, maximum), label, colour) for v, label, colour in lines],
        ticks=[(LABEL_WIDTH + _x(v, maximum), label) for v, label in ticks],
        top=top,
    )


def kappa_colour(kappa: float | None) -> str:
    """Up to 0.6 amber, to 0.8 blue, above green (Landis and Koch: moderate or less,
    substantial, almost perfect); the figure is always written beside the bar too."""
    if kappa is None:
        return GRAY
    if kappa > 0.8:
        return GREEN
    return BLUE if kappa > 0.6 else AMBER


def kappa_chart(rows) -> Chart:
    items = [
        (
            r.name,
            r.kappa,
            f"{r.kappa:.2f} (n = {r.compared})" if r.kappa is not None else "— not computed",
            kappa_colour(r.kappa),
        )
        for r in rows
    ]
    return bar_chart(
        "kappa-chart",
        "Agreement with the final outcome (Cohen's kappa) per grader",
        items,
        1.0,
        lines=[(0.6, "0.6 substantial", BLUE), (0.8, "0.8 almost perfect", GREEN)],
        ticks=[(0, "0"), (0.2, "0.2"), (0.4, "0.4"), (0.6, "0.6"), (0.8, "0.8"), (1.0, "1")],
        desc_intro="Kappa from 0 to 1, reference lines at 0.6 and 0.8.",
    )


def nice_maximum(share: float) -> float:
    """The axis end for shares (0–1): the first of 5 %, 10 %, 20 %, 50 %, 100 % that holds them."""
    for end in (0.05, 0.1, 0.2, 0.5):
        if share <= end:
            return end
    return 1.0


def rate_chart(chart_id: str, title: str, rates) -> Chart:
    """Bars of ungradable shares (quality.Rate rows), with "n of m" beside each."""
    maximum = nice_maximum(max((r.share or 0 for r in rates), default=0))
    items = [
        (
            r.label,
            r.share,
            f"{r.share:.1%} ({r.ungradable} of {r.decided})",
            AMBER,
        )
        for r in rates
    ]
    ticks = [(maximum * k / 5, f"{maximum * k / 5 * 100:g}%") for k in range(6)]
    return bar_chart(
        chart_id,
        title,
        items,
        maximum,
        ticks=ticks,
        desc_intro=f"Share of decided examinations re-imaged, axis 0 to {maximum:.0%}.",
    )
