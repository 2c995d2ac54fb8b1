"""The spend panel of the dashboard (staff): today, this month, by model, job type, user and
brief, the caps, and a chart of the cost over 24 hours or 30 days. The jobs dashboard loads it
because ``BriefsConfig.ready()`` registers it (``jobs.panels``): the queue knows nothing of
spend."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from briefs.spend import selectors
from jobs.charts import BAR_GAP, HEIGHT, WIDTH, Bar, Chart

RANGES = {"24h": {"hours": 24}, "30d": {"days": 30}}


def cost_chart(points: Sequence[tuple[datetime, Decimal]], *, hourly: bool) -> Chart:
    """Bars of the cost per hour or day, scaled to the costliest one."""
    count = max(1, len(points))
    slot = WIDTH / count
    peak = max((cost for _, cost in points), default=Decimal(0))
    scale = HEIGHT / float(peak) if peak else 0.0
    bars = []
    for i, (start, cost) in enumerate(points):
        height = round(float(cost) * scale, 2)
        label = f"{start:%H:00}" if hourly else f"{start:%b %d}"
        bars.append(
            Bar(
                x=round(i * slot + BAR_GAP / 2, 2),
                width=round(max(1.0, slot - BAR_GAP), 2),
                ok_y=round(HEIGHT - height, 2),
                ok_height=height,
                bad_y=round(HEIGHT - height, 2),
                bad_height=0,
                title=f"{label}: ${cost:,.4f}",
            )
        )
    grid = [(round(HEIGHT / 2, 2), 0)] if peak else []
    return Chart(width=WIDTH, height=HEIGHT, bars=bars, peak=0, gridlines=grid)


@require_GET
@staff_member_required
def spend_panel(request: HttpRequest) -> HttpResponse:
    span = request.GET.get("range", "24h")
    span = span if span in RANGES else "24h"
    points = selectors.series(**RANGES[span])
    context = {
        "spend": selectors.panel(),
        "span": span,
        "spend_chart": cost_chart(points, hourly=span == "24h"),
        "spend_peak": max((cost for _, cost in points), default=Decimal(0)),
        "spend_total": sum((cost for _, cost in points), Decimal(0)),
        "now": timezone.now(),
    }
    return render(request, "briefs/spend_panel.html", context)
