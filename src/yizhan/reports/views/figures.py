"""The figures page of the dispatch console: /dispatch/figures/ and its Excel download.

Thin: read the filters (since, until, jurisdiction) -> ``figures.case_figures`` -> render
an HTML table with CSS bars (ECharts is ~330 KB gzip, over the 200 KB page budget).
The download goes through ``figures.case_figures_export`` (audited as an export).
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from yizhan.core import permissions
from yizhan.core.errors import AppError, NotAuthenticated
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.reports.figures import STAGES, case_figures, case_figures_export

STAFF_LOGIN = "/accounts/login/"
PERM = "reports.figures"
FILTER_KEYS = ("since", "until", "jurisdiction")


def _lang() -> str:
    return get_language() or settings.LANGUAGE_CODE


def _page(view):
    """Log in first; ``reports.figures`` somewhere; an AppError becomes a page with its status."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        login = HttpResponseRedirect(f"{STAFF_LOGIN}?{urlencode({'next': request.get_full_path()})}")
        if not request.user.is_authenticated:
            return login
        try:
            permissions.require(request.user, PERM)
            return view(request, *args, **kwargs)
        except NotAuthenticated:
            return login
        except AppError as err:
            return render(request, "reports/figures/error.html",
                          {"error": err, "message": err.text(_lang())}, status=err.status)

    return wrapper


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
