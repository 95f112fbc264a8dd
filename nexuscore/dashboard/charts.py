"""Geometry for the dashboard's stacked bar chart (leads over time by source), drawn as SVG by
the template: no JavaScript, no inline styles. Colours are classes, one per series."""

from dataclasses import dataclass

SERIES_CLASSES = [
    "fill-brand-500", "fill-emerald-500", "fill-amber-500", "fill-sky-500", "fill-rose-500",
    "fill-violet-500", "fill-slate-400",
]  # fmt: skip


@dataclass(frozen=True)
class Segment:
    series: str
    value: int
    y: float
    height: float
    css_class: str


@dataclass(frozen=True)
class StackedBar:
    label: str
    total: int
    x: float
    width: float
    segments: list[Segment]
    values: list[int]  # one per series, in the chart's series order, for the data table


@dataclass(frozen=True)
class Legend:
    series: str
    css_class: str


@dataclass(frozen=True)
class StackedBarChart:
    bars: list[StackedBar]
    legend: list[Legend]
    width: int
    height: int
    top: int


def stacked_bar_chart(
    labels: list[str], series: dict[str, list[int]], width=640, height=180
) -> StackedBarChart:
    """One bar per label, each stacked from the series (name -> one value per label)."""
    names = list(series)
    classes = {name: SERIES_CLASSES[i % len(SERIES_CLASSES)] for i, name in enumerate(names)}
    totals = [sum(series[name][i] for name in names) for i in range(len(labels))]
    top = max([*totals, 1])
    slot = width / max(len(labels), 1)
    bars = []
    for index, label in enumerate(labels):
        segments, base = [], height
        for name in names:
            value = series[name][index]
            if not value:
                continue
            segment_height = height * value / top
            base -= segment_height
            segments.append(
                Segment(name, value, round(base, 1), round(segment_height, 1), classes[name])
            )
        bars.append(
            StackedBar(
                label=label,
                total=totals[index],
                x=round(index * slot + slot * 0.15, 1),
                width=round(slot * 0.7, 1),
                segments=segments,
                values=[series[name][index] for name in names],
            )
        )
    legend = [Legend(name, classes[name]) for name in names]
    return StackedBarChart(bars, legend, width, height, top)
