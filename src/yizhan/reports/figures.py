"""Figures of the case workflow (考核统计): how fast each department and category moves.

    figures = case_figures(actor=admin, since=date(2026, 11, 1), until=date(2026, 11, 30))
    xlsx = case_figures_xlsx(figures=figures)
    xlsx = case_figures_export(actor=admin, since=..., until=..., jurisdiction=...)   # + audit row

Per department × category, per department, per category and in total:

* ``cases``       cases submitted in the window (merged duplicates are not counted: they live on
                  in the case they were merged into);
* ``accept_*``    hours from submission to acceptance (立案)           ``accepted_at - submitted_at``
* ``dispatch_*``  hours from acceptance to the first dispatch (派遣)   ``dispatched_at - accepted_at``
* ``handle_*``    hours from the first dispatch to handled (处置)      ``handled_at - dispatched_at``
* ``close_*``     hours from submission to closing (结案), end to end   ``closed_at - submitted_at``
  each as the median (``_p50_h``) and the 90th percentile (``_p90_h``) over the cases that reached
  both milestones; milestones are the *first* time a case reached them, so a reopened case keeps
  its first times. Hours are wall-clock hours (the working-hour clocks of the time limits are in
  ``overdue_rate``), percentiles are continuous (linear interpolation, PostgreSQL's
  ``percentile_cont``); ``None`` when no case reached the milestones;
* ``overdue_rate`` share of the cases that were ever overdue at any stage (``was_overdue``);
* ``reopen_rate``  share of the handled cases the reporter reopened at least once;
* ``satisfaction`` mean rating (1–5) of the rated cases, ``rated`` how many were rated.

Everything is computed by the database in one ``GROUP BY`` query per grouping: PostgreSQL's
``percentile_cont ... WITHIN GROUP``; on SQLite, which has no percentile function, the same
definition is registered on the connection as an aggregate (as Django registers its own
``django_*`` functions). Scope: ``reports.figures`` (admins) restricted to the actor's subtrees.
"""

from __future__ import annotations

import io
import math
from datetime import date, datetime, time, timedelta

import openpyxl
from django.db import transaction
from django.db.models import Aggregate, Avg, Count, F, FloatField, Func, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from yizhan.core.audit import AuditAction, audit_record
from yizhan.core.permissions import require, restrict
from yizhan.core.tz import SHANGHAI
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.jurisdictions.selectors import jurisdiction_get
from yizhan.reports import errors as E
from yizhan.reports.choices import CaseState
from yizhan.reports.models import Case, Category, Department

__all__ = [
    "STAGES",
    "case_figures",
    "case_figures_export",
    "case_figures_xlsx",
    "percentile_cont",
]


# stage -> (end milestone, start milestone)
STAGES: dict[str, tuple[str, str]] = {
    "accept": ("accepted_at", "submitted_at"),
    "dispatch": ("dispatched_at", "accepted_at"),
    "handle": ("handled_at", "dispatched_at"),
    "close": ("closed_at", "submitted_at"),
}
PERCENTILES = {"p50": 0.5, "p90": 0.9}
HOUR_KEYS = [f"{stage}_{name}_h" for stage in STAGES for name in PERCENTILES]
ROW_KEYS = [
    "department", "department_name", "category", "category_name", "cases", *HOUR_KEYS,
    "overdue_rate", "reopen_rate", "satisfaction", "rated",
]
NO_DEPARTMENT = ("", "未派遣", "Not dispatched")


# ---------------------------------------------------------------- percentiles


def percentile_cont(values, p: float) -> float | None:
    """The continuous percentile of ``values`` (``None`` ignored) at ``p`` in [0, 1], as
    PostgreSQL's ``percentile_cont``: sort, take position ``p * (n - 1)`` and interpolate
    linearly between its neighbours. ``None`` for no values."""
    xs = sorted(float(v) for v in values if v is not None)
    if not xs:
        return None
    if not 0.0 <= p <= 1.0:
        raise ValueError("p must be within [0, 1]")
    pos = p * (len(xs) - 1)
    lo = math.floor(pos)
    hi = math.ceil(pos)
    if lo == hi:
        return xs[lo]
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


class _SqlitePercentile:
    """The SQLite aggregate ``yizhan_percentile_cont(value, p)``."""

    def __init__(self):
        self.values: list[float] = []
        self.p = 0.5

    def step(self, value, p):
        self.p = p
        if value is not None:
            self.values.append(value)

    def finalize(self):
        return percentile_cont(self.values, self.p)


SQLITE_PERCENTILE = "yizhan_percentile_cont"


def _sqlite_register(connection) -> None:
    connection.ensure_connection()
    # Cheap and idempotent (re-registering replaces); the raw sqlite3 connection takes no
    # attributes to remember it by.
    connection.connection.create_aggregate(SQLITE_PERCENTILE, 2, _SqlitePercentile)


class Percentile(Aggregate):
    """``percentile_cont(p) WITHIN GROUP (ORDER BY expression)``; same result on SQLite."""

    name = "Percentile"
    function = "percentile_cont"
    output_field = FloatField()

    def __init__(self, expression, p: float, **extra):
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be within [0, 1]")
        self.p = p
        super().__init__(expression, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler, connection,
            template=f"%(function)s({self.p!r}) WITHIN GROUP (ORDER BY %(expressions)s)", **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        _sqlite_register(connection)
        return super().as_sql(
            compiler, connection, function=SQLITE_PERCENTILE,
            template=f"%(function)s(%(expressions)s, {self.p!r})", **extra_context,
        )


class HoursBetween(Func):
    """``end - start`` in hours (float), ``NULL`` when either is ``NULL``."""

    arity = 2
    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra_context):  # PostgreSQL
        return super().as_sql(
            compiler, connection,
            template="(CAST(EXTRACT(EPOCH FROM (%(expressions)s)) AS double precision) / 3600.0)",
            arg_joiner=" - ", **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django's own SQLite function: exact microseconds between two stored timestamps.
        return super().as_sql(
            compiler, connection, function="django_timestamp_diff",
            template="(%(function)s(%(expressions)s) / 3600000000.0)", **extra_context,
        )


def _aggregates() -> dict:
    aggs: dict = {"cases": Count("id")}
    for stage, (end, start) in STAGES.items():
        hours = HoursBetween(F(end), F(start))
        for name, p in PERCENTILES.items():
            aggs[f"{stage}_{name}_h"] = Percentile(hours, p)
    aggs["overdue"] = Count("id", filter=Q(was_overdue=True))
    aggs["handled"] = Count("id", filter=Q(handled_at__isnull=False))
    aggs["reopened"] = Count("id", filter=Q(handled_at__isnull=False, reopen_count__gt=0))
    aggs["satisfaction"] = Avg("rating")
    aggs["rated"] = Count("rating")
    return aggs


def _finish(values: dict) -> dict:
    """Counts -> rates; numbers as floats (``None`` where there is nothing to measure)."""
    cases = values.get("cases") or 0
    out = {"cases": cases}
    for key in HOUR_KEYS:
        v = values.get(key)
        out[key] = None if v is None else float(v)
    out["overdue"] = values.get("overdue") or 0
    out["handled"] = values.get("handled") or 0
    out["reopened"] = values.get("reopened") or 0
    out["overdue_rate"] = out["overdue"] / cases if cases else None
    out["reopen_rate"] = out["reopened"] / out["handled"] if out["handled"] else None
    sat = values.get("satisfaction")
    out["satisfaction"] = None if sat is None else float(sat)
    out["rated"] = values.get("rated") or 0
    return out


# ---------------------------------------------------------------- window and scope


def _as_instant(value, *, field: str, end: bool) -> datetime | None:
    """A date (a whole day in Asia/Shanghai; ``until`` inclusive), a datetime or an ISO string."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        text = value.strip()
        parsed = None
        try:
            parsed = parse_datetime(text) if "T" in text or " " in text else parse_date(text)
        except ValueError:
            parsed = None
        if parsed is None:
            raise E.CalendarInvalidDate(E.CalendarInvalidDate.iso, field=field)
        value = parsed
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=SHANGHAI)
    if isinstance(value, date):
        day = value + timedelta(days=1) if end else value
        return datetime.combine(day, time.min, tzinfo=SHANGHAI)
    raise E.CalendarInvalidDate(E.CalendarInvalidDate.iso, field=field)


def _cases(*, actor, since, until, jurisdiction):
    require(actor, "reports.figures")
    qs = restrict(Case.objects.exclude(state=CaseState.MERGED), actor, "reports.figures",
                  path_field="jurisdiction__path")
    node = None
    if jurisdiction:
        node = jurisdiction_get(code=jurisdiction)
        require(actor, "reports.figures", node)
        qs = qs.filter(jurisdiction__path__startswith=node.path)
    start = _as_instant(since, field="since", end=False)
    stop = _as_instant(until, field="until", end=True)
    if start and stop and stop <= start:
        raise E.InvalidRange()
    if start:
        qs = qs.filter(submitted_at__gte=start)
    if stop:
        qs = qs.filter(submitted_at__lt=stop)
    return qs.order_by(), node, start, stop


# ---------------------------------------------------------------- the figures


def case_figures(*, actor, since=None, until=None, jurisdiction: str | None = None) -> dict:
    """The figures of the cases in ``actor``'s scope submitted in ``[since, until]``
    (dates are whole days in Asia/Shanghai), optionally inside one jurisdiction (code).

    ``{"rows": [per department × category], "by_department": [...], "by_category": [...],
    "totals": {...}, "filters": {...}}``; every row has ``ROW_KEYS`` (plus ``overdue``,
    ``handled``, ``reopened`` counts). Raises PermissionDenied / OutOfJurisdiction."""
    qs, node, start, stop = _cases(actor=actor, since=since, until=until, jurisdiction=jurisdiction)
    aggs = _aggregates()
    pair = list(qs.values("department_id", "category_id").annotate(**aggs))
    by_dept = list(qs.values("department_id").annotate(**aggs))
    by_cat = list(qs.values("category_id").annotate(**aggs))
    totals = _finish(qs.aggregate(**aggs))

    dept_ids = {r["department_id"] for r in pair if r["department_id"]}
    cat_ids = {r["category_id"] for r in pair}
    depts = {d.pk: d for d in Department.objects.filter(pk__in=dept_ids).select_related("jurisdiction")}
    cats = {c.pk: c for c in Category.objects.filter(pk__in=cat_ids)}
    # the same department name in two jurisdictions (a city admin's view): say whose
    names: dict[str, int] = {}
    for d in depts.values():
        names[d.name] = names.get(d.name, 0) + 1

    def dept_fields(dept_id) -> dict:
        d = depts.get(dept_id)
        if d is None:
            return {"department": NO_DEPARTMENT[0], "department_name": NO_DEPARTMENT[1],
                    "department_name_en": NO_DEPARTMENT[2], "department_id": None}
        name = d.name if names[d.name] == 1 else f"{d.name}（{d.jurisdiction.name}）"
        return {"department": d.code, "department_name": name, "department_name_en": d.name_en or d.code,
                "department_id": d.pk}

    def cat_fields(cat_id) -> dict:
        c = cats[cat_id]
        return {"category": c.code, "category_name": c.name, "category_name_en": c.name_en or c.code,
                "category_id": c.pk, "is_hazard": c.is_hazard}

    def dept_sort(row):
        d = depts.get(row["department_id"])
        return (d is None, d.jurisdiction.path if d else "", d.code if d else "")

    def cat_sort(row):
        c = cats[row["category_id"]]
        return (c.kind, c.group, c.sort, c.code)

    rows = [
        {**dept_fields(r["department_id"]), **cat_fields(r["category_id"]), **_finish(r)}
        for r in sorted(pair, key=lambda r: (dept_sort(r), cat_sort(r)))
    ]
    by_department = [{**dept_fields(r["department_id"]), **_finish(r)} for r in sorted(by_dept, key=dept_sort)]
    by_category = [{**cat_fields(r["category_id"]), **_finish(r)} for r in sorted(by_cat, key=cat_sort)]
    return {
        "rows": rows,
        "by_department": by_department,
        "by_category": by_category,
        "totals": {"department": "", "department_name": "合计", "category": "", "category_name": "合计",
                   **totals},
        "filters": {
            "since": start.astimezone(SHANGHAI).date().isoformat() if start else None,
            "until": (stop.astimezone(SHANGHAI) - timedelta(microseconds=1)).date().isoformat() if stop else None,
            "jurisdiction": node.code if node else None,
            "jurisdiction_name": node.name if node else None,
            "generated_at": timezone.now().isoformat(timespec="seconds"),
        },
    }


# ---------------------------------------------------------------- Excel

# (key, Chinese header, English header, number format, width)
_GROUP_COLUMNS = {
    "department": [
        ("department_name", "部门", "Department", "@", 22),
        ("department", "部门编码", "Department code", "@", 14),
    ],
    "category": [
        ("category_name", "类别", "Category", "@", 18),
        ("category", "类别编码", "Category code", "@", 18),
    ],
}
_STAGE_ZH = {"accept": "受理（上报→立案）", "dispatch": "派遣（立案→派遣）", "handle": "处置（派遣→处置完毕）",
             "close": "结案（上报→结案）"}
_STAGE_EN = {"accept": "Accept (report→accepted)", "dispatch": "Dispatch (accepted→dispatched)",
             "handle": "Handle (dispatched→handled)", "close": "Close (report→closed)"}
_FIGURE_COLUMNS = [("cases", "案件数", "Cases", "0", 9)]
for _stage in STAGES:
    _FIGURE_COLUMNS.append((f"{_stage}_p50_h", f"{_STAGE_ZH[_stage]} 中位数（小时）",
                            f"{_STAGE_EN[_stage]} median (h)", "0.00", 16))
    _FIGURE_COLUMNS.append((f"{_stage}_p90_h", f"{_STAGE_ZH[_stage]} P90（小时）",
                            f"{_STAGE_EN[_stage]} p90 (h)", "0.00", 16))
_FIGURE_COLUMNS += [
    ("overdue_rate", "超期率", "Overdue rate", "0.0%", 10),
    ("reopen_rate", "返工率（重新办理）", "Reopen rate", "0.0%", 12),
    ("satisfaction", "满意度（平均评分 1–5）", "Satisfaction (mean rating 1–5)", "0.00", 14),
    ("rated", "评价数", "Rated", "0", 9),
]
SHEETS = [
    ("rows", "按部门和类别", "By dept & category", ["department", "category"]),
    ("by_department", "按部门", "By department", ["department"]),
    ("by_category", "按类别", "By category", ["category"]),
]


def _sheet_columns(groups: list[str]) -> list[tuple]:
    cols = []
    for g in groups:
        cols += _GROUP_COLUMNS[g]
    return cols + _FIGURE_COLUMNS


def case_figures_xlsx(*, figures: dict) -> bytes:
    """The figures as an .xlsx workbook: one sheet per grouping (department × category,
    department, category), each with a header row in Chinese and English, frozen, number
    formats on every figure and a totals row; and a notes sheet (window, scope, definitions)."""

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDE7F0")
    wrap = Alignment(wrap_text=True, vertical="top")
    totals = figures.get("totals") or {}
    for key, title_zh, title_en, groups in SHEETS:
        ws = wb.create_sheet(f"{title_zh} {title_en}"[:31])
        cols = _sheet_columns(groups)
        ws.append([f"{zh}\n{en}" for _k, zh, en, _fmt, _w in cols])
        for cell in ws[1]:
            cell.font = bold
            cell.fill = head_fill
            cell.alignment = wrap
        ws.row_dimensions[1].height = 48
        for i, (_k, _zh, _en, _fmt, width) in enumerate(cols, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        total_row = {k: totals.get(k) for k, *_ in _FIGURE_COLUMNS}
        total_row[cols[0][0]] = "合计 Total"
        for row in [*figures.get(key, []), total_row]:
            ws.append([row.get(k) for k, *_ in cols])
        last = ws.max_row
        for cell in ws[last]:
            cell.font = bold
        for i, (_k, _zh, _en, fmt, _w) in enumerate(cols, start=1):
            for r in range(2, last + 1):
                ws.cell(row=r, column=i).number_format = fmt
        ws.freeze_panes = ws.cell(row=2, column=len(groups) * 2 + 1)
        ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{max(last - 1, 1)}"
    notes = wb.create_sheet("说明 Notes")
    notes.append(["项目 Item", "内容 Value"])
    for cell in notes[1]:
        cell.font = bold
    f = figures.get("filters") or {}
    notes.append(["开始日期 Since", f.get("since") or "（不限 any）"])
    notes.append(["结束日期 Until", f.get("until") or "（不限 any）"])
    notes.append(["辖区 Jurisdiction", f.get("jurisdiction_name") or "（我的全部辖区 all in my scope）"])
    notes.append(["生成时间 Generated", f.get("generated_at") or ""])
    for stage in STAGES:
        end, start = STAGES[stage]
        notes.append([f"{_STAGE_ZH[stage]} {_STAGE_EN[stage]}",
                      f"{end} − {start}，自然小时，中位数与第90百分位（线性插值）；"
                      f"wall-clock hours, median and 90th percentile (linear interpolation)"])
    notes.append(["超期率 Overdue rate", "任一环节超期的案件 / 案件数；cases ever overdue at any stage / cases"])
    notes.append(["返工率 Reopen rate", "被上报人重新办理的案件 / 已处置案件；reopened / handled cases"])
    notes.append(["满意度 Satisfaction", "上报人评分（1–5）的平均值；mean of the reporters' ratings (1–5)"])
    notes.append(["不计入 Excluded", "被合并的重复案件；merged duplicates"])
    notes.column_dimensions["A"].width = 36
    notes.column_dimensions["B"].width = 90
    notes.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def case_figures_export(*, actor, since=None, until=None, jurisdiction: str | None = None) -> tuple[dict, bytes]:
    """``case_figures`` + ``case_figures_xlsx`` for a download, with an audit row
    (``AuditAction.EXPORT``) in the same transaction. Returns (figures, xlsx bytes)."""
    with transaction.atomic():
        figures = case_figures(actor=actor, since=since, until=until, jurisdiction=jurisdiction)
        content = case_figures_xlsx(figures=figures)
        f = figures["filters"]
        node = Jurisdiction.objects.filter(code=f["jurisdiction"]).first() if f["jurisdiction"] else None
        audit_record(
            actor=actor, action=AuditAction.EXPORT, object_type="reports.figures",
            summary=f"case figures xlsx {f['since'] or '…'}–{f['until'] or '…'} "
                    f"{f['jurisdiction'] or 'scope'}: {figures['totals']['cases']} cases",
            changes={"since": f["since"], "until": f["until"], "jurisdiction": f["jurisdiction"],
                     "cases": figures["totals"]["cases"]},
            jurisdiction_path=node.path if node else "",
        )
    return figures, content
