"""Forms of the staff pages (/work/ and /dispatch/). They only parse and check shapes;
every rule about the workflow lives in ``services/cases.py``, whose ``AppError`` is put
back beside the field (``core.forms.add_app_error``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from yizhan.core.text import CleanTextFormMixin
from yizhan.reports.choices import CaseAction, CaseState
from yizhan.reports.forms import localized_name
from yizhan.reports.workflow import PHOTO_REQUIRED, REASON_REQUIRED

MAX_PHOTOS = 3
# Redaction: a GRID × GRID raster of cells a keyboard user toggles, plus free
# rectangles drawn with the mouse or a finger ("x,y,w,h;..." in 0..1).
GRID = 8
MAX_RECTS = 40

# Actions the staff pages offer (reporter and system actions never appear here).
STAFF_ACTIONS = (
    CaseAction.ACCEPT, CaseAction.REJECT, CaseAction.DISPATCH, CaseAction.TRANSFER,
    CaseAction.START, CaseAction.PROGRESS, CaseAction.HANDLE, CaseAction.RETURN,
    CaseAction.REQUEST_EXTENSION, CaseAction.DECIDE_EXTENSION, CaseAction.PARK, CaseAction.UNPARK,
    CaseAction.VERIFY, CaseAction.VERIFY_FAIL, CaseAction.CLOSE, CaseAction.FOLLOW_UP, CaseAction.REOPEN,
    CaseAction.MERGE,
)
# A written note is required for these (the table's reasons, and a follow-up call's record).
NOTE_REQUIRED = set(REASON_REQUIRED) | {CaseAction.FOLLOW_UP}
PHOTO_ACTIONS = {CaseAction.PROGRESS, CaseAction.HANDLE, CaseAction.VERIFY, CaseAction.VERIFY_FAIL}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Up to three photos; content checks are the service's (core.images)."""

    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*", "multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        files = [f for f in files if f]
        if len(files) > MAX_PHOTOS:
            raise forms.ValidationError(_("最多上传 3 张照片"))
        return files


class CaseActionForm(CleanTextFormMixin, forms.Form):
    """One workflow action on one case. Which fields matter depends on ``action``."""

    note = forms.CharField(required=False, max_length=2000, label=_("内部备注（仅工作人员可见）"),
                           widget=forms.Textarea(attrs={"rows": 3}))
    public_reply = forms.CharField(required=False, max_length=2000, label=_("公开回复（上报人和公众可见）"),
                                   widget=forms.Textarea(attrs={"rows": 2}))
    template = forms.IntegerField(required=False, widget=forms.HiddenInput)
    photos = MultipleImageField(required=False, label=_("照片"))
    department = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label=_("部门"))
    assignee = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label=_("处置人"))
    minutes = forms.IntegerField(required=False, min_value=1, max_value=60 * 24 * 90, label=_("延长（分钟）"),
                                 error_messages={"invalid": _("请输入整数"), "min_value": _("至少 1 分钟"),
                                                 "max_value": _("不能超过 90 天")})
    approve = forms.TypedChoiceField(required=False, label=_("审批结果"), coerce=lambda v: v == "yes",
                                     empty_value=None, widget=forms.RadioSelect,
                                     choices=[("yes", _("同意延期")), ("no", _("不同意"))])
    into = forms.CharField(required=False, max_length=24, label=_("合并到案件编号"))

    def __init__(self, *args, action: str, departments=(), assignees=(), templates=(), **kwargs):
        self.action = action
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [("", _("按类别自动匹配"))] + [(d.pk, str(d)) for d in departments]
        self.fields["assignee"].choices = [("", _("自动（值班网格员）"))] + [(u.pk, label) for u, label in assignees]
        self.templates = list(templates)
        if action in REASON_REQUIRED:
            self.fields["note"].label = _("原因（内部，仅工作人员可见）")
        elif action == CaseAction.FOLLOW_UP:
            self.fields["note"].label = _("回访记录")
        if action == CaseAction.HANDLE:
            self.fields["photos"].label = _("处置后照片")
        if action == CaseAction.TRANSFER:
            self.fields["department"].choices = [("", _("— 请选择部门 —"))] + self.fields["department"].choices[1:]

    def clean(self):
        data = super().clean()
        a = self.action
        if not data.get("public_reply") and data.get("template"):
            for t in self.templates:  # a reply template is a public reply
                if t.pk == data["template"]:
                    data["public_reply"] = t.text
                    if self.action in NOTE_REQUIRED and not (data.get("note") or "").strip():
                        data["note"] = t.text  # the reason, when none was written
        if a in NOTE_REQUIRED and not (data.get("note") or "").strip() and "note" not in self.errors:
            self.add_error("note", _("请填写回访记录") if a == CaseAction.FOLLOW_UP else _("请填写原因"))
        if a in PHOTO_REQUIRED and not data.get("photos") and "photos" not in self.errors:
            self.add_error("photos", _("请上传至少一张处置后照片"))
        if a == CaseAction.REQUEST_EXTENSION and data.get("minutes") is None and "minutes" not in self.errors:
            self.add_error("minutes", _("请填写需要延长的分钟数"))
        if a == CaseAction.DECIDE_EXTENSION and data.get("approve") is None and "approve" not in self.errors:
            self.add_error("approve", _("请选择是否同意"))
        if a == CaseAction.TRANSFER and not data.get("department") and "department" not in self.errors:
            self.add_error("department", _("请选择转派部门"))
        if a == CaseAction.MERGE and not (data.get("into") or "").strip() and "into" not in self.errors:
            self.add_error("into", _("请选择要合并到的案件"))
        return data

    def service_kwargs(self) -> dict:
        """The keyword arguments of ``case_act`` for this action (objects resolved by the view)."""
        d = self.cleaned_data
        kw = {"note": (d.get("note") or "").strip(), "public_reply": (d.get("public_reply") or "").strip()}
        a = self.action
        if a in PHOTO_ACTIONS:
            kw["photos"] = d.get("photos") or []
        if a == CaseAction.REQUEST_EXTENSION:
            kw["minutes"] = d["minutes"]
        if a == CaseAction.DECIDE_EXTENSION:
            kw["approve"] = bool(d.get("approve"))
        return kw


class QueueFilterForm(forms.Form):
    STATE_OPEN = ""
    q = forms.CharField(required=False, max_length=100, label=_("搜索"))
    state = forms.ChoiceField(required=False, label=_("状态"))
    category = forms.ChoiceField(required=False, label=_("类别"))
    jurisdiction = forms.ChoiceField(required=False, label=_("网格/辖区"))
    department = forms.ChoiceField(required=False, label=_("部门"))
    overdue = forms.BooleanField(required=False, label=_("只看超时"))

    def __init__(self, *args, categories=(), jurisdictions=(), departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("办理中（全部未结）")), ("all", _("全部状态"))] + list(CaseState.choices)
        self.fields["category"].choices = [("", _("全部类别"))] + [(c.code, localized_name(c)) for c in categories]
        self.fields["jurisdiction"].choices = [("", _("全部辖区"))] + [
            (j.code, "　" * max(j.depth - 3, 0) + localized_name(j)) for j in jurisdictions]
        self.fields["department"].choices = [("", _("全部部门"))] + [
            (str(d.pk), localized_name(d)) for d in departments]


class BulkDispatchForm(CleanTextFormMixin, forms.Form):
    cases = forms.MultipleChoiceField(required=True, label=_("案件"),
                                      error_messages={"required": _("请至少勾选一件案件")})
    department = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label=_("派遣部门"))
    note = forms.CharField(required=False, max_length=2000, label=_("派遣说明"))

    def __init__(self, *args, numbers=(), departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cases"].choices = [(n, n) for n in numbers]
        self.fields["department"].choices = [("", _("按类别自动匹配"))] + [(d.pk, str(d)) for d in departments]


def _float01(text: str) -> float:
    v = float(text)
    if v != v or v < 0 or v > 1:  # NaN or outside the photo
        raise ValueError
    return v


class PhotoApproveForm(forms.Form):
    """Redactions from the drawn rectangles (``rects``) and the toggled cells (``cell``)."""

    rects = forms.CharField(required=False, widget=forms.HiddenInput)
    cell = forms.MultipleChoiceField(required=False, choices=[
        (f"{r},{c}", f"{r},{c}") for r in range(GRID) for c in range(GRID)])

    def clean(self):
        data = super().clean()
        rects: list[list[float]] = []
        for part in [p for p in (data.get("rects") or "").split(";") if p.strip()]:
            try:
                x, y, w, h = (_float01(v) for v in part.split(","))
            except ValueError:
                self.add_error(None, _("遮挡区域无效，请重新框选"))
                return data
            w, h = min(w, 1 - x), min(h, 1 - y)
            if w > 0.002 and h > 0.002:
                rects.append([round(x, 4), round(y, 4), round(w, 4), round(h, 4)])
        for cell in data.get("cell") or []:
            r, c = (int(v) for v in cell.split(","))
            rects.append([round(c / GRID, 4), round(r / GRID, 4), round(1 / GRID, 4), round(1 / GRID, 4)])
        if len(rects) > MAX_RECTS:
            self.add_error(None, _("遮挡区域太多（最多 40 个）"))
        data["redactions"] = rects
        return data
