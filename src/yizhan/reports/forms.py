"""Page forms of the public and reporter pages (随手拍). They only parse and check
shapes; every rule about cases (category, location, photos, text length, who may
confirm or rate) lives in the services, whose ``AppError`` is put back beside the
field with ``add_app_error``."""

from __future__ import annotations

import uuid

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from yizhan.core.errors import AppError
from yizhan.core.text import CleanTextFormMixin

MAX_TEXT = 4000
MAX_PHOTOS = 3
# Service error fields -> the form field the message is shown beside.
FIELD_MAP = {"lng": "lat", "location": "lat", "point": "lat", "comment": "note",
             "idempotency_key": "", "dup_checked": "", "details": ""}


def add_app_error(form: forms.Form, err: AppError, language: str | None) -> None:
    """Show a service error beside its field (or on top when the form has no such field)."""
    field = FIELD_MAP.get(err.field or "", err.field)
    form.add_error(field if field in form.fields else None, err.text(language))



def localized_name(obj, field: str = "name") -> str:
    """``obj.<field>_en`` when the active language is English and it is filled, else the
    Chinese ``obj.<field>`` (categories, departments, jurisdictions)."""

    if (get_language() or "").startswith("en"):
        english = getattr(obj, f"{field}_en", "")
        if english:
            return english
    return getattr(obj, field)


def details_labelled(case) -> list[tuple[str, str]]:
    """The case's extra details as ``(label, value)``: each key named by the category's
    ``extra_fields`` label in the active language (never the raw key such as "building")."""

    english = (get_language() or "").startswith("en")
    specs = {str(spec.get("name")): spec for spec in (case.category.extra_fields or []) if isinstance(spec, dict)}
    rows = []
    for key, value in (case.details or {}).items():
        spec = specs.get(key, {})
        label = (spec.get("label_en") if english else "") or spec.get("label") or _DETAIL_LABELS.get(key) or key
        rows.append((str(label), value))
    return rows


# keys a category no longer declares (renamed fields, demo data) that still need a word
_DETAIL_LABELS = {"building": _("楼栋"), "unit": _("单元"), "floor": _("楼层"), "room": _("房号")}

class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the count and the content are the service's to judge."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={
            "accept": "image/*", "capture": "environment", "multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


class ReportForm(CleanTextFormMixin, forms.Form):
    """The snap-and-report form. ``category`` choices are set from the taxonomy."""

    category = forms.ChoiceField(label=_("问题类别"), widget=forms.RadioSelect,
                                 error_messages={"required": _("请选择问题类别"),
                                                 "invalid_choice": _("请选择问题类别")})
    lat = forms.FloatField(required=False, label=_("纬度"), min_value=-90, max_value=90,
                           error_messages={"invalid": _("请输入数字"), "min_value": _("纬度应在 -90 到 90 之间"),
                                           "max_value": _("纬度应在 -90 到 90 之间")},
                           widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))
    lng = forms.FloatField(required=False, label=_("经度"), min_value=-180, max_value=180,
                           error_messages={"invalid": _("请输入数字"), "min_value": _("经度应在 -180 到 180 之间"),
                                           "max_value": _("经度应在 -180 到 180 之间")},
                           widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))
    place = forms.CharField(required=False, max_length=64)
    address = forms.CharField(required=False, max_length=200, label=_("位置说明（可选）"),
                              widget=forms.TextInput(attrs={"placeholder": _("如：科技城大道与青山路路口东侧")}))
    description = forms.CharField(
        required=False, max_length=MAX_TEXT, label=_("问题描述（可选）"),
        error_messages={"max_length": _("描述不能超过 4000 字（现有 %(show_value)d 字）")},
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": MAX_TEXT,
                                     "placeholder": _("看到了什么？在哪个位置？")}),
    )
    photos = MultipleFileField(required=False, label=_("照片（最多 3 张）"))
    is_anonymous = forms.BooleanField(required=False, label=_("对公众匿名（工作人员仍可联系您）"))
    idempotency_key = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    dup_checked = forms.CharField(required=False, max_length=8, widget=forms.HiddenInput)

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [(c.code, c.name) for c in categories]
        # The key is made when the form is first shown and kept across re-renders, so a
        # retry of the same submission (bad network, double tap) is recognised.
        if not self.is_bound and not self.initial.get("idempotency_key"):
            self.initial["idempotency_key"] = uuid.uuid4().hex

    def clean_idempotency_key(self):
        return (self.cleaned_data.get("idempotency_key") or "").strip()

    def clean(self):
        data = super().clean()
        if "lat" in data and "lng" in data and (data.get("lat") is None) != (data.get("lng") is None):
            self.add_error("lat", _("请同时填写纬度和经度"))
        return data


class PlaceForm(forms.Form):
    """The duplicates step / extra fields query (all optional; a partial with nothing
    to show when a part is missing)."""

    category = forms.CharField(required=False, max_length=40)
    lat = forms.FloatField(required=False, min_value=-90, max_value=90)
    lng = forms.FloatField(required=False, min_value=-180, max_value=180)


class ConfirmForm(CleanTextFormMixin, forms.Form):
    """The reporter's answer on a handled case: fixed (confirm) or not (reopen)."""

    note = forms.CharField(required=False, max_length=500, label=_("补充说明（可选）"),
                           widget=forms.Textarea(attrs={"rows": 2}))


class ReopenForm(CleanTextFormMixin, forms.Form):
    note = forms.CharField(max_length=500, label=_("哪里没有解决？"),
                           error_messages={"required": _("请写明没有解决的原因")},
                           widget=forms.Textarea(attrs={"rows": 2}))


class RateForm(CleanTextFormMixin, forms.Form):
    rating = forms.TypedChoiceField(
        coerce=int, choices=[(i, str(i)) for i in range(1, 6)], label=_("满意度"),
        widget=forms.RadioSelect, error_messages={"required": _("请选择 1–5 星"),
                                                  "invalid_choice": _("请选择 1–5 星")},
    )
    note = forms.CharField(required=False, max_length=500, label=_("评价（可选）"),
                           widget=forms.Textarea(attrs={"rows": 2}))


class PublicFilterForm(forms.Form):
    category = forms.ChoiceField(required=False, label=_("类别"))
    state = forms.ChoiceField(required=False, label=_("状态"))
    page = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, categories=(), states=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("全部类别"))] + [(c.code, localized_name(c)) for c in categories]
        self.fields["state"].choices = [("", _("全部状态"))] + list(states)
