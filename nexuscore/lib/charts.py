"""Server-rendered charts: geometry for SVG templates (no JavaScript, no inline styles)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    over: bool

    @property
    def value_y(self) -> float:
        """Where the value's label sits: just above the bar."""
        return self.y - 4


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    limit_y: float | None  # where to draw the limit line, if there is one
    top: int  # the value at the top of the chart


def bar_chart(
    points: list[tuple[str, int]], limit: int | None = None, width=600, height=160
) -> BarChart:
    """Bars for (label, value) points, scaled so the largest value or the limit fits."""
    top = max([value for _, value in points] + [limit or 0, 1])
    slot = width / max(len(points), 1)
    bars = []
    for index, (label, value) in enumerate(points):
        bar_height = height * value / top
        bars.append(
            Bar(
                label=label,
                value=value,
                x=round(index * slot + slot * 0.2, 1),
                y=round(height - bar_height, 1),
                width=round(slot * 0.6, 1),
                height=round(bar_height, 1),
                over=limit is not None and value > limit,
            )
        )
    limit_y = None if limit is None else round(height - height * limit / top, 1)
    return BarChart(bars, width, height, limit_y, top)
