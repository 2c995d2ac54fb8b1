"""Jobs per minute as an inline SVG bar chart, laid out on the server (no chart library)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from jobs.selectors import Throughput

WIDTH = 600
HEIGHT = 140
BAR_GAP = 2


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    ok_y: float
    ok_height: float
    bad_y: float
    bad_height: float
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    peak: int
    gridlines: list[tuple[float, int]]


def throughput_chart(data: Throughput) -> Chart:
    """Stacked bars: succeeded at the bottom, failed on top, scaled to the busiest minute."""
    count = max(1, len(data.minutes))
    slot = WIDTH / count
    peak = max(1, data.peak)
    scale = HEIGHT / peak
    bars = []
    for i, minute in enumerate(data.minutes):
        ok_height = minute.succeeded * scale
        bad_height = minute.failed * scale
        local = timezone.localtime(minute.start)
        bars.append(
            Bar(
                x=round(i * slot + BAR_GAP / 2, 2),
                width=round(max(1.0, slot - BAR_GAP), 2),
                ok_y=round(HEIGHT - ok_height, 2),
                ok_height=round(ok_height, 2),
                bad_y=round(HEIGHT - ok_height - bad_height, 2),
                bad_height=round(bad_height, 2),
                title=f"{local:%H:%M}: {minute.succeeded} succeeded, {minute.failed} failed",
            )
        )
    gridlines = [(round(HEIGHT - value * scale, 2), value) for value in _ticks(data.peak)]
    return Chart(width=WIDTH, height=HEIGHT, bars=bars, peak=data.peak, gridlines=gridlines)


def _ticks(peak: int) -> list[int]:
    """The busiest minute and its half (whole numbers), for two labelled gridlines."""
    if peak <= 0:
        return []
    half = peak // 2
    return [value for value in (half, peak) if value > 0]
