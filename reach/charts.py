"""Chart geometry for the coverage report, drawn as inline SVG by its template.

Pure: figures in, coordinates out. The report must read without JavaScript or network,
so the charts are plain SVG shapes computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reach.coverage import PUBLIC_TARGET, Coverage

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 56  # margins for the axes and their labels


@dataclass(frozen=True)
class Tick:
    at: float  # pixel position along the axis
    label: str


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    points: str  # SVG polyline points
    target_y: float
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    plot: tuple[float, float, float, float]  # left, top, right, bottom


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float
    below_target: bool


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    target_y: float
    y_ticks: list[Tick]
    plot: tuple[float, float, float, float]


def _y(value: float) -> float:
    return TOP + (1 - min(max(value, 0.0), 1.0)) * (HEIGHT - TOP - BOTTOM)


def _y_ticks() -> list[Tick]:
    return [Tick(_y(v / 100), f"{v}%") for v in (0, 25, 50, 75, 100)]


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f}" if seconds >= 600 else f"{seconds / 60:.1f}"


def coverage_over_time(points: Sequence[tuple[int, float]]) -> LineChart:
    """Estimated coverage against minutes since the issue, as a step line from 0."""
    end = max([p[0] for p in points] + [60])
    span = WIDTH - LEFT - RIGHT

    def x(second: float) -> float:
        return LEFT + second / end * span

    coords = [(x(0), _y(0))]
    last = 0.0
    for second, value in points:
        coords.append((x(second), _y(last)))  # coverage holds until the next gain
        coords.append((x(second), _y(value)))
        last = value
    coords.append((x(end), _y(last)))
    return LineChart(
        width=WIDTH,
        height=HEIGHT,
        points=" ".join(f"{px:.1f},{py:.1f}" for px, py in coords),
        target_y=_y(PUBLIC_TARGET),
        x_ticks=[Tick(x(end * n / 4), _minutes(end * n / 4)) for n in range(5)],
        y_ticks=_y_ticks(),
        plot=(LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM),
    )


def coverage_by_town(towns: Sequence[Coverage]) -> BarChart:
    """One bar per town: estimated public coverage, against the 95 % line."""
    span = WIDTH - LEFT - RIGHT
    slot = span / max(len(towns), 1)
    bars = [
        Bar(
            x=LEFT + n * slot + slot * 0.15,
            y=_y(t.estimated),
            width=slot * 0.7,
            height=(HEIGHT - BOTTOM) - _y(t.estimated),
            label=t.name,
            value=t.estimated,
            below_target=not t.meets_public_target,
        )
        for n, t in enumerate(towns)
    ]
    return BarChart(
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        target_y=_y(PUBLIC_TARGET),
        y_ticks=_y_ticks(),
        plot=(LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM),
    )
