"""The monthly response report (月度出警报告) for managers and duty officers:
``/safety/reports/monthly/?month=YYYY-MM`` — per community, dispatches, the share on
site within 3 minutes, p50/p90 of alarm → arrival."""

from __future__ import annotations

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from yizhan.core import pages
from yizhan.core.pages import STAFF_LOGIN
from yizhan.core.tz import SHANGHAI
from yizhan.safety.selectors.dispatch import monthly_report

app_errors = pages.app_errors(template="safety/respond_error.html", login_url=STAFF_LOGIN, perm="safety.duty")


def _minutes(seconds):
    if seconds is None:
        return None
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


@require_GET
@app_errors
def monthly(request):
    month = request.GET.get("month") or timezone.now().astimezone(SHANGHAI).strftime("%Y-%m")
    report = monthly_report(user=request.user, month=month)
    for row in [*report["communities"], report["total"]]:
        row["arrival_p50"] = _minutes(row["arrival_p50_s"])
        row["arrival_p90"] = _minutes(row["arrival_p90_s"])
        share = row["on_site_3min_share"]
        row["share_pct"] = None if share is None else round(share * 100, 1)
    return render(request, "safety/monthly.html", {"report": report, "month": report["month"]})
