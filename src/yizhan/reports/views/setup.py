"""Settings pages of snap-and-report for district (and city) admins, under
/dispatch/settings/: the categories and their time limits, the working calendar
(weekly hours, holidays and make-up working days), departments and their members,
the grid duty roster and the reply templates.

Thin on purpose: the forms only parse shapes; every rule lives in
``reports.services`` (``reports.configure``), whose ``AppError`` is shown beside its
field with what was typed kept (status 400). Writes redirect back (POST/redirect/GET).
"""

from __future__ import annotations

import json
import re

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yizhan.core import pages, permissions
from yizhan.core.errors import AppError
from yizhan.core.forms import add_app_error
from yizhan.core.pages import STAFF_LOGIN
from yizhan.reports import errors as E
from yizhan.reports import selectors, services
from yizhan.reports.choices import CaseAction, Clock, Urgency
from yizhan.reports.models import Category, DepartmentMember, ReplyTemplate
from yizhan.reports.services.setup import LIMIT_FIELDS, MAX_LIMIT_MINUTES, default_departments_data
from yizhan.stations.hours import DAYS

CONFIGURE = "reports.configure"
WORKING_DAY_MINUTES = 480  # the default calendar's day (08:30–12:00, 13:30–18:00)

DAY_LABELS = [
    ("mon", gettext_lazy("周一")), ("tue", gettext_lazy("周二")), ("wed", gettext_lazy("周三")), ("thu", gettext_lazy("周四")),
    ("fri", gettext_lazy("周五")), ("sat", gettext_lazy("周六")), ("sun", gettext_lazy("周日")),
]
WEEKDAY_CHOICES = [(str(i), label) for i, (_d, label) in enumerate(DAY_LABELS)]
LIMIT_LABELS = {
    "accept_minutes": gettext_lazy("受理立案时限"),
    "dispatch_minutes": gettext_lazy("派遣时限"),
    "handle_minutes": gettext_lazy("处置时限"),
    "verify_minutes": gettext_lazy("核查时限"),
    "close_minutes": gettext_lazy("结案时限"),
}
INT_ERRORS = {
    "required": gettext_lazy("请填写时限（分钟）"),
    "invalid": gettext_lazy("请输入整数（分钟）"),
    "min_value": gettext_lazy("时限至少 1 分钟"),
    "max_value": gettext_lazy("时限不能超过 %(limit_value)s 分钟"),
}


# ---------------------------------------------------------------- helpers


_lang = pages.active_lang

# Log in first; hold ``reports.configure`` somewhere; AppErrors become a page.
settings_page = pages.app_errors(template="reports/setup/error.html", login_url=STAFF_LOGIN, perm=CONFIGURE,
                                 lang=pages.active_lang)


def minutes_text(minutes: int, clock: str = Clock.WORKING) -> str:
    """240 -> "4 工作小时", 7200 -> "15 个工作日", 45 natural -> "45 分钟"."""
    if clock == Clock.WORKING:
        if minutes % WORKING_DAY_MINUTES == 0:
            return _("%(n)s 个工作日") % {"n": minutes // WORKING_DAY_MINUTES}
        if minutes % 60 == 0:
            return _("%(n)s 工作小时") % {"n": minutes // 60}
        return _("%(n)s 工作分钟") % {"n": minutes}
    if minutes % 1440 == 0:
        return _("%(n)s 天") % {"n": minutes // 1440}
    if minutes % 60 == 0:
        return _("%(n)s 小时") % {"n": minutes // 60}
    return _("%(n)s 分钟") % {"n": minutes}


_INTERVAL_RE = re.compile(r"^(\d{1,2}:\d{2})\s*[-~—–至到]\s*(\d{1,2}:\d{2})$")


def parse_intervals(text: str) -> list[list[str]]:
    """"08:30-12:00, 13:30-18:00" -> [["08:30", "12:00"], ["13:30", "18:00"]] (shape only;
    the service checks the times)."""
    text = (text or "").replace("，", ",").replace("；", ",").replace(";", ",").replace("：", ":")
    out = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        m = _INTERVAL_RE.match(part)
        if not m:
            raise forms.ValidationError(_("格式应为 08:30-12:00，多个时段用逗号分隔"))
        out.append([m.group(1), m.group(2)])
    return out


def intervals_text(intervals) -> str:
    return ", ".join(f"{a}-{b}" for a, b in (intervals or []))


def _day_field(field: str | None) -> str | None:
    """Service field "hours.tue" -> form field "hours_tue"."""
    if field and field.startswith("hours."):
        return "hours_" + field.split(".", 1)[1]
    return field


def _flash(request, text):
    messages.success(request, text)


# ---------------------------------------------------------------- forms


class CategoryForm(forms.Form):
    icon = forms.CharField(max_length=8, required=False, label=gettext_lazy("图标（表情符号）"))
    name = forms.CharField(max_length=60, label=gettext_lazy("名称"), error_messages={"required": gettext_lazy("请填写名称")})
    name_en = forms.CharField(max_length=100, required=False, label=gettext_lazy("英文名称"))
    department_code = forms.ChoiceField(label=gettext_lazy("责任部门"))
    urgency = forms.ChoiceField(choices=Urgency.choices, label=gettext_lazy("紧急程度"))
    clock = forms.ChoiceField(choices=Clock.choices, label=gettext_lazy("计时方式"),
                              help_text=gettext_lazy("工作时间：按辖区工作日历计时，下班和节假日暂停；自然时间：不间断计时（突发事件）。"))
    accept_minutes = forms.IntegerField(min_value=1, max_value=MAX_LIMIT_MINUTES, label=LIMIT_LABELS["accept_minutes"],
                                        error_messages=INT_ERRORS)
    dispatch_minutes = forms.IntegerField(min_value=1, max_value=MAX_LIMIT_MINUTES,
                                          label=LIMIT_LABELS["dispatch_minutes"], error_messages=INT_ERRORS)
    handle_minutes = forms.IntegerField(min_value=1, max_value=MAX_LIMIT_MINUTES, label=LIMIT_LABELS["handle_minutes"],
                                        error_messages=INT_ERRORS)
    verify_minutes = forms.IntegerField(min_value=1, max_value=MAX_LIMIT_MINUTES, label=LIMIT_LABELS["verify_minutes"],
                                        error_messages=INT_ERRORS)
    close_minutes = forms.IntegerField(min_value=1, max_value=MAX_LIMIT_MINUTES, label=LIMIT_LABELS["close_minutes"],
                                       error_messages=INT_ERRORS)
    is_hazard = forms.BooleanField(required=False, label=gettext_lazy("安全隐患（计入隐患统计）"))
    active = forms.BooleanField(required=False, label=gettext_lazy("启用（可上报）"))
    filing_conditions = forms.CharField(required=False, max_length=2000, label=gettext_lazy("立案条件"),
                                        widget=forms.Textarea(attrs={"rows": 3}))
    closing_conditions = forms.CharField(required=False, max_length=2000, label=gettext_lazy("结案条件"),
                                         widget=forms.Textarea(attrs={"rows": 3}))
    description = forms.CharField(required=False, max_length=300, label=gettext_lazy("说明"))
    keywords = forms.CharField(required=False, max_length=200, label=gettext_lazy("搜索关键词（空格分隔）"))
    extra_fields = forms.CharField(
        required=False, label=gettext_lazy("附加字段（JSON）"), widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=gettext_lazy('例如 [{"name": "building", "label": "楼栋", "label_en": "Building", "required": true}]'),
    )

    def __init__(self, *args, departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department_code"].choices = list(departments)
        for name in LIMIT_FIELDS:
            self.fields[name].widget.attrs.update({"inputmode": "numeric", "class": "limit"})
            self.fields[name].help_text = _("分钟")

    def limit_fields(self):
        return [self[name] for name in LIMIT_FIELDS]

    def clean_extra_fields(self):
        text = (self.cleaned_data.get("extra_fields") or "").strip()
        if not text:
            return []
        try:
            return json.loads(text)
        except ValueError:
            raise forms.ValidationError(_("不是有效的 JSON")) from None


class HoursForm(forms.Form):
    """Weekly hours; ``hours_<day>`` are "08:30-12:00, 13:30-18:00"."""

    hours = forms.CharField(required=False, widget=forms.HiddenInput)  # carries week-wide errors

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for day, label in DAY_LABELS:
            self.fields[f"hours_{day}"] = forms.CharField(
                required=False, label=label, max_length=200,
                widget=forms.TextInput(attrs={"placeholder": _("休息"), "inputmode": "numeric"}),
            )

    def day_fields(self):
        return [self[f"hours_{day}"] for day, _label in DAY_LABELS]

    def clean(self):
        data = super().clean()
        hours = {}
        for day, _label in DAY_LABELS:
            try:
                hours[day] = parse_intervals(data.get(f"hours_{day}", ""))
            except forms.ValidationError as exc:
                self.add_error(f"hours_{day}", exc)
        data["hours"] = hours
        return data

    @staticmethod
    def initial_for(hours: dict) -> dict:
        return {f"hours_{day}": intervals_text((hours or {}).get(day)) for day in DAYS}


class CalendarDayForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("日期"), widget=forms.DateInput(attrs={"type": "date"}),
                           error_messages={"required": gettext_lazy("请选择日期"), "invalid": gettext_lazy("请输入有效日期，如 2026-10-01")})
    kind = forms.ChoiceField(
        label=gettext_lazy("安排"), widget=forms.RadioSelect, initial="holiday",
        choices=[("holiday", gettext_lazy("放假（计时暂停）")), ("workday", gettext_lazy("调休上班"))],
    )
    intervals = forms.CharField(required=False, max_length=200, label=gettext_lazy("上班时段（调休上班时，可留空按平日）"),
                                widget=forms.TextInput(attrs={"placeholder": "08:30-12:00, 13:30-18:00"}))
    note = forms.CharField(required=False, max_length=60, label=gettext_lazy("说明"),
                           widget=forms.TextInput(attrs={"placeholder": gettext_lazy("如：国庆节")}))

    def clean_intervals(self):
        return parse_intervals(self.cleaned_data.get("intervals", ""))


class DepartmentForm(forms.Form):
    code = forms.CharField(max_length=40, label=gettext_lazy("部门编码"), help_text=gettext_lazy("小写字母、数字或 _，如 urban"),
                           error_messages={"required": gettext_lazy("请填写部门编码")})
    name = forms.CharField(max_length=100, label=gettext_lazy("部门名称"), error_messages={"required": gettext_lazy("请填写部门名称")})
    name_en = forms.CharField(max_length=150, required=False, label=gettext_lazy("英文名称"))
    phone = forms.CharField(max_length=20, required=False, label=gettext_lazy("办公电话（公开）"))
    active = forms.BooleanField(required=False, initial=True, label=gettext_lazy("启用"))

    def __init__(self, *args, jurisdictions=None, **kwargs):
        super().__init__(*args, **kwargs)
        if jurisdictions is not None:  # creating: where the department belongs
            self.fields["jurisdiction"] = forms.ChoiceField(label=gettext_lazy("所属辖区"),
                                                            choices=[(n.code, n.name) for n in jurisdictions])
            self.order_fields(["jurisdiction", "code"])


class MemberForm(forms.Form):
    who = forms.CharField(max_length=150, label=gettext_lazy("用户名或手机号"), error_messages={"required": gettext_lazy("请填写用户名或手机号")})
    is_lead = forms.BooleanField(required=False, label=gettext_lazy("负责人（接收超时升级）"))


class DutyForm(forms.Form):
    user = forms.ChoiceField(label=gettext_lazy("网格员"), error_messages={"required": gettext_lazy("请选择网格员")})
    weekdays = forms.MultipleChoiceField(choices=WEEKDAY_CHOICES, widget=forms.CheckboxSelectMultiple,
                                         label=gettext_lazy("值班日"), error_messages={"required": gettext_lazy("请选择值班日")})
    start_time = forms.CharField(max_length=5, label=gettext_lazy("开始"), initial="08:30",
                                 widget=forms.TextInput(attrs={"type": "time"}))
    end_time = forms.CharField(max_length=5, label=gettext_lazy("结束"), initial="17:30",
                               widget=forms.TextInput(attrs={"type": "time"}))

    def __init__(self, *args, workers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [("", "—")] + [
            (f"{g.pk}:{u.pk}", f"{g.name} · {u.display_name or u.username}") for u, g in workers]


class TemplateForm(forms.Form):
    jurisdiction = forms.ChoiceField(label=gettext_lazy("适用辖区"))
    action = forms.ChoiceField(choices=CaseAction.choices, label=gettext_lazy("用于操作"))
    title = forms.CharField(max_length=60, label=gettext_lazy("标题"), error_messages={"required": gettext_lazy("请填写标题")})
    text = forms.CharField(max_length=2000, label=gettext_lazy("回复内容"), widget=forms.Textarea(attrs={"rows": 3}),
                           error_messages={"required": gettext_lazy("请填写回复内容")})
    text_en = forms.CharField(max_length=2000, required=False, label=gettext_lazy("英文回复"),
                              widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, jurisdictions=(), everywhere=False, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("全部辖区"))] if everywhere else []
        self.fields["jurisdiction"].choices = choices + [(j.code, j.name) for j in jurisdictions]
        self.fields["jurisdiction"].required = not everywhere


# ---------------------------------------------------------------- overview


@require_GET
@settings_page
def settings_home(request):
    user = request.user
    return render(request, "reports/setup/home.html", {
        "category_count": Category.objects.count(),
        "active_count": Category.objects.filter(active=True).count(),
        "department_count": selectors.department_list(actor=user, perm=CONFIGURE, include_ancestors=False).count(),
        "calendars": [selectors.calendar_get(jurisdiction=j) | {"node": j}
                      for j in selectors.calendar_jurisdictions(actor=user)],
        "duty_count": selectors.grid_duty_list(actor=user).count(),
        "template_count": selectors.reply_template_list(actor=user).count(),
    })


# ---------------------------------------------------------------- categories


@require_GET
@settings_page
def settings_categories(request):
    cats = list(selectors.category_settings_list(actor=request.user))
    platform = _platform_admin(request.user)
    nodes = [] if platform else selectors.calendar_jurisdictions(actor=request.user)
    node = next((n for n in nodes if n.level == "district"), nodes[0]) if nodes else None
    groups: dict = {}
    for c in cats:
        eff = selectors.category_effective(category=c, jurisdiction=node) if node is not None else c
        c.limit_texts = [(LIMIT_LABELS[f], minutes_text(getattr(eff, f), eff.clock)) for f in LIMIT_FIELDS]
        key = (c.get_kind_display(), c.group_name)
        groups.setdefault(key, []).append(c)
    can_load = not cats and platform
    return render(request, "reports/setup/categories.html", {
        "groups": [{"kind": k, "name": n, "categories": v} for (k, n), v in groups.items()],
        "can_load": can_load,
    })


@require_POST
@settings_page
def settings_taxonomy_load(request):
    n = services.category_taxonomy_load(actor=request.user)
    _flash(request, _("已载入 %(n)s 个标准类别") % {"n": n})
    return redirect("reports:settings_categories")


def _department_choices(user, current: str = "") -> list[tuple[str, str]]:
    names = {d["code"]: d["name"] for d in default_departments_data()}
    for d in selectors.department_list(actor=user, perm=CONFIGURE):
        names.setdefault(d.code, d.name)
    if current:
        names.setdefault(current, current)
    return [(code, f"{name}（{code}）") for code, name in names.items()]


def _platform_admin(user) -> bool:
    """Configure on every root (city admins, superusers): edits the platform-wide
    taxonomy; everyone else edits their own district's overrides."""
    try:
        services.require_platform_configure(user)
    except AppError:
        return False
    return True


OVERRIDE_FORM_FIELDS = ("department_code", "urgency", "clock", *LIMIT_FIELDS, "active")


class CategoryOverrideForm(CategoryForm):
    """A district's own settings of a category (the rest stays platform-wide)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in list(self.fields):
            if name not in OVERRIDE_FORM_FIELDS:
                del self.fields[name]


def _default_text(name: str, default) -> str:
    value = getattr(default, name)
    if name in LIMIT_FIELDS:
        return minutes_text(value, default.clock)
    if name == "urgency":
        return str(Urgency(value).label) if value in Urgency.values else value
    if name == "clock":
        return str(Clock(value).label) if value in Clock.values else value
    if name == "active":
        return _("启用") if value else _("停用")
    return str(value)


def _settings_category_override(request, cat, code=None):
    """The district admin's own override of ``cat`` (``?j=`` another of their
    districts/cities), the inherited default beside each field, and a reset."""
    nodes = selectors.calendar_jurisdictions(actor=request.user)
    if not nodes:
        raise E.NoCalendarNode()
    node = next((n for n in nodes if n.code == code), None) if code else \
        next((n for n in nodes if n.level == "district"), nodes[0])
    if node is None:
        raise Http404("not one of your districts or cities")
    here = f"{reverse('reports:settings_category', args=[cat.code])}?j={node.code}"
    eff = selectors.category_effective(category=cat, jurisdiction=node)
    default = selectors.category_effective(category=cat, jurisdiction=node.parent) if node.parent_id else \
        selectors.category_effective(category=cat)
    departments = _department_choices(request.user, eff.department_code)
    status = 200
    if request.method == "POST" and request.POST.get("reset"):
        services.category_override_reset(actor=request.user, category=cat, jurisdiction=node)
        _flash(request, _("已恢复“%(name)s”在%(node)s的默认设置") % {"name": cat.name, "node": node.name})
        return redirect(here)
    if request.method == "POST":
        form = CategoryOverrideForm(request.POST, departments=departments)
        if form.is_valid():
            data = {k: form.cleaned_data[k] for k in OVERRIDE_FORM_FIELDS}
            try:
                services.category_update(actor=request.user, category=cat, data=data, jurisdiction=node)
            except AppError as err:
                add_app_error(form, err)
            else:
                _flash(request, _("已保存“%(name)s”在%(node)s的设置") % {"name": cat.name, "node": node.name})
                return redirect(here)
        status = 400
    else:
        form = CategoryOverrideForm(initial={k: getattr(eff, k) for k in OVERRIDE_FORM_FIELDS},
                                    departments=departments)
    rows = [(form[name], _default_text(name, default)) for name in OVERRIDE_FORM_FIELDS]
    return render(request, "reports/setup/category_override.html", {
        "form": form, "category": cat, "node": node, "nodes": nodes, "rows": rows,
        "own": eff.source == node.pk, "inherited_from": eff.source,
    }, status=status)


CATEGORY_FORM_FIELDS = ("icon", "name", "name_en", "department_code", "urgency", "clock", *LIMIT_FIELDS,
                        "is_hazard", "active", "filing_conditions", "closing_conditions", "description", "keywords",
                        "extra_fields")


@require_http_methods(["GET", "POST"])
@settings_page
def settings_category(request, code):
    cat = selectors.category_settings_list(actor=request.user).filter(code=code).first()
    if cat is None:
        raise E.CategoryNotFound()
    node_code = request.POST.get("j") if request.method == "POST" else request.GET.get("j")
    if node_code or not _platform_admin(request.user):
        return _settings_category_override(request, cat, node_code)
    departments = _department_choices(request.user, cat.department_code)
    status = 200
    if request.method == "POST":
        form = CategoryForm(request.POST, departments=departments)
        if form.is_valid():
            data = {k: form.cleaned_data[k] for k in CATEGORY_FORM_FIELDS}
            try:
                services.category_update(actor=request.user, category=cat, data=data)
            except AppError as err:
                add_app_error(form, err)
            else:
                _flash(request, _("已保存类别“%(name)s”") % {"name": data["name"]})
                return redirect("reports:settings_category", code=cat.code)
        status = 400
    else:
        initial = {k: getattr(cat, k) for k in CATEGORY_FORM_FIELDS}
        initial["extra_fields"] = json.dumps(cat.extra_fields, ensure_ascii=False) if cat.extra_fields else ""
        form = CategoryForm(initial=initial, departments=departments)
    return render(request, "reports/setup/category.html", {"form": form, "category": cat}, status=status)


# ---------------------------------------------------------------- calendar


def _calendar_node(request, code=None):
    nodes = selectors.calendar_jurisdictions(actor=request.user)
    if not nodes:
        raise E.NoCalendarNode()
    code = code or request.GET.get("j")
    if not code:
        return nodes, next((n for n in nodes if n.level == "district"), nodes[0])
    node = next((n for n in nodes if n.code == code), None)
    if node is None:
        raise Http404("not one of your districts or cities")
    return nodes, node


def _render_calendar(request, nodes, node, *, hours_form=None, day_form=None, status=200):
    cal = selectors.calendar_get(jurisdiction=node)
    hours_form = hours_form or HoursForm(initial=HoursForm.initial_for(cal["hours"]))
    day_form = day_form or CalendarDayForm()
    days = []
    for d in cal["days"] if cal["own"] else []:
        days.append({**d, "text": intervals_text(d["intervals"])})
    week = [(label, intervals_text(cal["hours"].get(day))) for day, label in DAY_LABELS]
    return render(request, "reports/setup/calendar.html", {
        "nodes": nodes, "node": node, "cal": cal, "days": days, "week": week,
        "hours_form": hours_form, "day_form": day_form,
    }, status=status)


@require_http_methods(["GET", "POST"])
@settings_page
def settings_calendar(request):
    nodes, node = _calendar_node(request, request.POST.get("j") if request.method == "POST" else None)
    if request.method == "POST":
        form = HoursForm(request.POST)
        if form.is_valid():
            try:
                services.calendar_set(actor=request.user, jurisdiction=node, hours=form.cleaned_data["hours"])
            except AppError as err:
                err.field = _day_field(err.field)
                add_app_error(form, err)
            else:
                _flash(request, _("已保存 %(name)s 的工作时间") % {"name": node.name})
                return redirect(f"{reverse('reports:settings_calendar')}?j={node.code}")
        return _render_calendar(request, nodes, node, hours_form=form, status=400)
    return _render_calendar(request, nodes, node)


@require_POST
@settings_page
def settings_calendar_day(request, jcode):
    nodes, node = _calendar_node(request, jcode)
    form = CalendarDayForm(request.POST)
    if form.is_valid():
        cd = form.cleaned_data
        try:
            services.calendar_day_set(actor=request.user, jurisdiction=node, date=cd["date"],
                                      is_workday=cd["kind"] == "workday", intervals=cd["intervals"], note=cd["note"])
        except AppError as err:
            add_app_error(form, err)
        else:
            _flash(request, _("已添加 %(date)s") % {"date": cd["date"].isoformat()})
            return redirect(f"{reverse('reports:settings_calendar')}?j={node.code}#days")
    return _render_calendar(request, nodes, node, day_form=form, status=400)


@require_POST
@settings_page
def settings_calendar_day_remove(request, jcode, day):
    _nodes, node = _calendar_node(request, jcode)
    services.calendar_day_remove(actor=request.user, jurisdiction=node, date=day)
    _flash(request, _("已删除 %(date)s 的安排") % {"date": day})
    return redirect(f"{reverse('reports:settings_calendar')}?j={node.code}#days")


# ---------------------------------------------------------------- departments


def _department_nodes(user):
    return selectors.setup_jurisdictions(actor=user, levels=("city", "district", "street"))


@require_http_methods(["GET", "POST"])
@settings_page
def settings_departments(request):
    nodes = _department_nodes(request.user)
    status = 200
    form = DepartmentForm(initial={"active": True}, jurisdictions=nodes)
    if request.method == "POST":
        form = DepartmentForm(request.POST, jurisdictions=nodes)
        if form.is_valid():
            cd = form.cleaned_data
            node = next(n for n in nodes if n.code == cd["jurisdiction"])
            try:
                with transaction.atomic():
                    dept = services.department_create(actor=request.user, jurisdiction=node, code=cd["code"],
                                                      name=cd["name"], name_en=cd["name_en"], phone=cd["phone"])
                    if not cd["active"]:
                        services.department_update(actor=request.user, department=dept, name=dept.name,
                                                   name_en=dept.name_en, phone=dept.phone, active=False)
            except AppError as err:
                add_app_error(form, err)
            else:
                _flash(request, _("已添加部门“%(name)s”") % {"name": dept.name})
                return redirect("reports:settings_department", pk=dept.pk)
        status = 400
    departments = selectors.department_list(actor=request.user, perm=CONFIGURE, include_ancestors=False)
    return render(request, "reports/setup/departments.html", {
        "form": form, "departments": departments, "nodes": nodes,
    }, status=status)


@require_POST
@settings_page
def settings_departments_defaults(request):
    nodes = _department_nodes(request.user)
    node = next((n for n in nodes if n.code == request.POST.get("jurisdiction")), None)
    if node is None:
        raise Http404("not one of your districts or cities")
    services.department_defaults_create(actor=request.user, jurisdiction=node)
    _flash(request, _("已补齐 %(name)s 的标准部门") % {"name": node.name})
    return redirect("reports:settings_departments")


def _render_department(request, dept, *, form=None, member_form=None, status=200):
    if form is None:
        form = DepartmentForm(initial={"code": dept.code, "name": dept.name, "name_en": dept.name_en,
                                       "phone": dept.phone, "active": dept.active})
    form.fields["code"].disabled = True
    members = DepartmentMember.objects.filter(department=dept).select_related("user").order_by(
        "-is_lead", "user__username")
    return render(request, "reports/setup/department.html", {
        "dept": dept, "form": form, "member_form": member_form or MemberForm(), "members": members,
    }, status=status)


@require_http_methods(["GET", "POST"])
@settings_page
def settings_department(request, pk):
    dept = selectors.department_get(actor=request.user, pk=pk)
    if request.method == "POST":
        form = DepartmentForm(request.POST, initial={"code": dept.code})
        form.fields["code"].disabled = True
        if form.is_valid():
            cd = form.cleaned_data
            try:
                services.department_update(actor=request.user, department=dept, name=cd["name"],
                                           name_en=cd["name_en"], phone=cd["phone"], active=cd["active"])
            except AppError as err:
                add_app_error(form, err)
            else:
                _flash(request, _("已保存部门“%(name)s”") % {"name": cd["name"]})
                return redirect("reports:settings_department", pk=dept.pk)
        return _render_department(request, dept, form=form, status=400)
    return _render_department(request, dept)


@require_POST
@settings_page
def settings_department_member_add(request, pk):
    dept = selectors.department_get(actor=request.user, pk=pk)
    form = MemberForm(request.POST)
    if form.is_valid():
        try:
            user = selectors.setup_user_find(actor=request.user, identifier=form.cleaned_data["who"])
            services.department_member_add(actor=request.user, department=dept, user=user,
                                           is_lead=form.cleaned_data["is_lead"])
        except AppError as err:
            err.field = "who" if err.field in ("user", "phone", None) else err.field
            add_app_error(form, err)
        else:
            _flash(request, _("已添加成员 %(name)s") % {"name": user.display_name or user.username})
            return redirect("reports:settings_department", pk=dept.pk)
    return _render_department(request, dept, member_form=form, status=400)


@require_POST
@settings_page
def settings_department_member_remove(request, pk, user_id):
    dept = selectors.department_get(actor=request.user, pk=pk)
    link = DepartmentMember.objects.filter(department=dept, user_id=user_id).select_related("user").first()
    if link is None:
        raise E.DepartmentMemberNotFound()
    services.department_member_remove(actor=request.user, department=dept, user=link.user)
    _flash(request, _("已移除成员"))
    return redirect("reports:settings_department", pk=dept.pk)


# ---------------------------------------------------------------- duty roster


@require_http_methods(["GET", "POST"])
@settings_page
def settings_duty(request):
    workers = selectors.grid_workers_for(actor=request.user)
    status = 200
    if request.method == "POST":
        form = DutyForm(request.POST, workers=workers)
        if form.is_valid():
            cd = form.cleaned_data
            grid_id, user_id = (int(x) for x in cd["user"].split(":"))
            user, grid = next((u, g) for u, g in workers if u.pk == user_id and g.pk == grid_id)
            try:
                services.grid_duty_set(actor=request.user, grid=grid, user=user, weekdays=cd["weekdays"],
                                       start_time=cd["start_time"], end_time=cd["end_time"])
            except AppError as err:
                add_app_error(form, err)
            else:
                _flash(request, _("已保存 %(name)s 的值班") % {"name": user.display_name or user.username})
                return redirect("reports:settings_duty")
        status = 400
    else:
        form = DutyForm(workers=workers, initial={"weekdays": ["0", "1", "2", "3", "4"]})
    labels = dict(WEEKDAY_CHOICES)
    duties = list(permissions.restrict(selectors.grid_duty_list(actor=request.user), request.user, CONFIGURE,
                                       path_field="grid__path"))
    for d in duties:
        d.weekday_text = "、".join(str(labels[str(i)]) for i in d.weekdays or [])
    return render(request, "reports/setup/duty.html", {"form": form, "duties": duties}, status=status)


@require_POST
@settings_page
def settings_duty_remove(request, pk):
    duty = selectors.grid_duty_list(actor=request.user).filter(pk=pk).first()
    if duty is None:
        raise E.DutyNotFound()
    services.grid_duty_remove(actor=request.user, duty=duty)
    _flash(request, _("已删除值班"))
    return redirect("reports:settings_duty")


# ---------------------------------------------------------------- reply templates


def _may_set_everywhere(user) -> bool:
    from yizhan.jurisdictions.models import Jurisdiction

    roots = Jurisdiction.objects.filter(parent__isnull=True).values_list("path", flat=True)
    return all(permissions.can(user, CONFIGURE, p) for p in roots)


def _template_form(request, data=None, initial=None):
    return TemplateForm(data, initial=initial, jurisdictions=selectors.setup_jurisdictions(actor=request.user),
                        everywhere=_may_set_everywhere(request.user))


def _save_template(request, form, template=None):
    cd = form.cleaned_data
    node = next((j for j in selectors.setup_jurisdictions(actor=request.user) if j.code == cd["jurisdiction"]), None)
    try:
        return services.reply_template_save(actor=request.user, template=template, jurisdiction=node,
                                            action=cd["action"], title=cd["title"], text=cd["text"],
                                            text_en=cd["text_en"])
    except AppError as err:
        add_app_error(form, err)
        return None


@require_http_methods(["GET", "POST"])
@settings_page
def settings_templates(request):
    status = 200
    if request.method == "POST":
        form = _template_form(request, request.POST)
        if form.is_valid() and _save_template(request, form):
            _flash(request, _("已添加回复模板"))
            return redirect("reports:settings_templates")
        status = 400
    else:
        form = _template_form(request)
    templates = selectors.reply_template_list(actor=request.user)
    return render(request, "reports/setup/templates.html", {"form": form, "templates": templates}, status=status)


def _template_get(request, pk) -> ReplyTemplate:
    tpl = selectors.reply_template_list(actor=request.user).filter(pk=pk).first()
    if tpl is None:
        raise E.TemplateNotFound()
    return tpl


@require_http_methods(["GET", "POST"])
@settings_page
def settings_template(request, pk):
    tpl = _template_get(request, pk)
    status = 200
    if request.method == "POST":
        form = _template_form(request, request.POST)
        if form.is_valid() and _save_template(request, form, tpl):
            _flash(request, _("已保存回复模板"))
            return redirect("reports:settings_templates")
        status = 400
    else:
        form = _template_form(request, initial={
            "jurisdiction": tpl.jurisdiction.code if tpl.jurisdiction_id else "", "action": tpl.action,
            "title": tpl.title, "text": tpl.text, "text_en": tpl.text_en})
    return render(request, "reports/setup/template.html", {"form": form, "template": tpl}, status=status)


@require_POST
@settings_page
def settings_template_delete(request, pk):
    services.reply_template_delete(actor=request.user, template=_template_get(request, pk))
    _flash(request, _("已删除回复模板"))
    return redirect("reports:settings_templates")


urlpatterns = [
    path("dispatch/settings/", settings_home, name="settings"),
    path("dispatch/settings/categories/", settings_categories, name="settings_categories"),
    path("dispatch/settings/categories/load/", settings_taxonomy_load, name="settings_taxonomy_load"),
    path("dispatch/settings/categories/<slug:code>/", settings_category, name="settings_category"),
    path("dispatch/settings/calendar/", settings_calendar, name="settings_calendar"),
    path("dispatch/settings/calendar/<str:jcode>/days/", settings_calendar_day, name="settings_calendar_day"),
    path("dispatch/settings/calendar/<str:jcode>/days/<str:day>/remove/", settings_calendar_day_remove,
         name="settings_calendar_day_remove"),
    path("dispatch/settings/departments/", settings_departments, name="settings_departments"),
    path("dispatch/settings/departments/defaults/", settings_departments_defaults,
         name="settings_departments_defaults"),
    path("dispatch/settings/departments/<int:pk>/", settings_department, name="settings_department"),
    path("dispatch/settings/departments/<int:pk>/members/", settings_department_member_add,
         name="settings_department_member_add"),
    path("dispatch/settings/departments/<int:pk>/members/<int:user_id>/remove/", settings_department_member_remove,
         name="settings_department_member_remove"),
    path("dispatch/settings/duty/", settings_duty, name="settings_duty"),
    path("dispatch/settings/duty/<int:pk>/remove/", settings_duty_remove, name="settings_duty_remove"),
    path("dispatch/settings/templates/", settings_templates, name="settings_templates"),
    path("dispatch/settings/templates/<int:pk>/", settings_template, name="settings_template"),
    path("dispatch/settings/templates/<int:pk>/delete/", settings_template_delete, name="settings_template_delete"),
]

__all__ = ["urlpatterns", "minutes_text", "parse_intervals"]
