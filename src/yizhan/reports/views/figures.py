"""The figures page of the dispatch console: /dispatch/figures/ and its Excel download.

Thin: read the filters (since, until, jurisdiction) -> ``figures.case_figures`` -> render
an HTML table with CSS bars (ECharts is ~330 KB gzip, over the 200 KB page budget).
The download goes through ``figures.case_figures_export`` (audited as an export).
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from yizhan.core import pages, permissions
from yizhan.core.errors import AppError
from yizhan.core.pages import STAFF_LOGIN
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.reports.figures import STAGES, case_figures, case_figures_export

PERM = "reports.figures"
FILTER_KEYS = ("since", "until", "jurisdiction")


_lang = pages.active_lang

# Log in first; ``reports.figures`` somewhere; an AppError becomes a page with its status.
_page = pages.app_errors(template="reports/figures/error.html", login_url=STAFF_LOGIN, perm=PERM,
                         lang=pages.active_lang)


def _filters(request) -> dict:
    return {k: v for k in FILTER_KEYS if (v := request.GET.get(k, "").strip())}


def _scope_nodes(user) -> list[Jurisdiction]:
    """Districts, streets and communities the user may see figures of (the filter's choices)."""
    qs = permissions.restrict(Jurisdiction.objects.all(), user, PERM, path_field="path")
    return list(qs.filter(level__in=("city", "district", "street", "community")).order_by("path")[:300])


def _pct(v):
    return None if v is None else 100 * v


def _display(row: dict) -> dict:
    return {**row, "overdue_pct": _pct(row.get("overdue_rate")), "reopen_pct": _pct(row.get("reopen_rate"))}


def _bars(rows: list[dict], key: str) -> list[dict]:
    """Rows with a ``bar`` percentage of the largest ``key`` (CSS bar widths)."""
    top = max((r[key] for r in rows if r.get(key) is not None), default=0) or 1
    return [{**_display(r), "bar": 0 if r.get(key) is None else round(100 * r[key] / top, 1)} for r in rows]


@require_GET
@_page
def figures(request):
    filters = _filters(request)
    error = None
    try:
        data = case_figures(actor=request.user, **filters)
    except AppError as err:
        if err.status != 400:
            raise
        error = err
        data = case_figures(actor=request.user)
    status = 400 if error else 200
    return render(request, "reports/figures/figures.html", {
        "data": data,
        "totals": _display(data["totals"]),
        "by_department": _bars(data["by_department"], "close_p50_h"),
        "by_category": _bars(data["by_category"], "cases"),
        "rows": [_display(r) for r in data["rows"]],
        "stages": list(STAGES),
        "filters": filters,
        "error": error,
        "error_text": error.text(_lang()) if error else "",
        "nodes": _scope_nodes(request.user),
        "query": urlencode(filters),
    }, status=status)


@require_GET
@_page
def figures_xlsx(request):
    filters = _filters(request)
    _figures, content = case_figures_export(actor=request.user, **filters)
    name = f"case-figures-{timezone.localdate():%Y%m%d}.xlsx"
    resp = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = f'attachment; filename="{name}"'
    resp["Cache-Control"] = "no-store"
    return resp


urlpatterns = [
    path("dispatch/figures/", figures, name="figures"),
    path("dispatch/figures.xlsx", figures_xlsx, name="figures_xlsx"),
]
