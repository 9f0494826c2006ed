"""Page forms for stations. They only parse and check shapes (numbers are
numbers, a choice is a choice); every rule about the domain lives in the
services, whose ``AppError`` is put back beside the field with ``add_app_error``.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from yizhan.core.errors import AppError
from yizhan.core.text import CleanTextFormMixin
from yizhan.stations.choices import (
    FINDER_AMENITIES,
    Amenity,
    ConditionKind,
    GiverKind,
    HostType,
    StationStatus,
    StationType,
    SupplyItem,
)

DAYS = [
    ("mon", _("周一")),
    ("tue", _("周二")),
    ("wed", _("周三")),
    ("thu", _("周四")),
    ("fri", _("周五")),
    ("sat", _("周六")),
    ("sun", _("周日")),
]

INT_ERRORS = {
    "required": _("请填写数量"),
    "invalid": _("请输入整数"),
    "min_value": _("不能小于 %(limit_value)s"),
    "max_value": _("不能大于 %(limit_value)s"),
}


def add_app_error(form: forms.Form, err: AppError, language: str | None) -> None:
    """Show a service error beside its field (or on top when the form has no such field)."""
    field = err.field if err.field in form.fields else None
    form.add_error(field, err.text(language))


class FinderForm(forms.Form):
    """The station finder's query. Every field is optional: no point, no list."""

    lat = forms.FloatField(required=False, widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, widget=forms.HiddenInput)
    place = forms.CharField(required=False)
    open_now = forms.BooleanField(required=False, label=_("营业中"))
    amenity = forms.MultipleChoiceField(
        required=False,
        choices=[(a.value, a.label) for a in FINDER_AMENITIES],
        widget=forms.CheckboxSelectMultiple,
    )
    mode = forms.ChoiceField(
        required=False, choices=[("walk", _("步行")), ("ebike", _("电动车"))], initial="walk"
    )


class SupplyMovementForm(CleanTextFormMixin, forms.Form):
    kind = forms.ChoiceField(
        choices=[("take", _("领用")), ("restock", _("补货")), ("adjust", _("盘点调整"))]
    )
    quantity = forms.IntegerField(min_value=0, max_value=100000, error_messages=INT_ERRORS)
    note = forms.CharField(required=False, max_length=200)


class ThresholdForm(forms.Form):
    threshold = forms.IntegerField(min_value=0, max_value=100000, error_messages=INT_ERRORS)


class DonationForm(CleanTextFormMixin, forms.Form):
    giver_kind = forms.ChoiceField(choices=GiverKind.choices, label=_("捐赠方类型"))
    giver_name = forms.CharField(max_length=100, label=_("捐赠方名称"),
                                 error_messages={"required": _("请填写捐赠方名称")})
    description = forms.CharField(max_length=200, label=_("捐赠内容"),
                                  error_messages={"required": _("请填写捐赠内容")})
    item = forms.ChoiceField(
        required=False, choices=[("", _("（不入库）"))] + list(SupplyItem.choices), label=_("入库物资")
    )
    quantity = forms.IntegerField(required=False, min_value=0, max_value=100000, label=_("数量"),
                                  error_messages=INT_ERRORS)
    received_on = forms.DateField(required=False, label=_("接收日期"),
                                  widget=forms.DateInput(attrs={"type": "date"}),
                                  error_messages={"invalid": _("请输入有效日期")})

    def clean(self):
        data = super().clean()
        if data.get("item") and not data.get("quantity"):
            self.add_error("quantity", _("选择了入库物资时请填写数量"))
        return data


class PhotoForm(CleanTextFormMixin, forms.Form):
    photo = forms.FileField(label=_("照片"), error_messages={"required": _("请选择照片")},
                            widget=forms.ClearableFileInput(attrs={"accept": "image/*"}))
    caption = forms.CharField(required=False, max_length=100, label=_("说明（可选）"))


class ConditionReportForm(CleanTextFormMixin, forms.Form):
    kind = forms.ChoiceField(choices=ConditionKind.choices,
                             error_messages={"required": _("请选择您看到的情况")})
    note = forms.CharField(required=False, max_length=300, label=_("补充说明（可选）"),
                           widget=forms.Textarea(attrs={"rows": 2}))
    checkin = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ReviewForm(CleanTextFormMixin, forms.Form):
    rating = forms.TypedChoiceField(
        coerce=int, choices=[(i, str(i)) for i in range(5, 0, -1)], label=_("评分"),
        widget=forms.RadioSelect, error_messages={"required": _("请选择评分")},
    )
    comment = forms.CharField(required=False, max_length=500, label=_("评价（可选）"),
                              widget=forms.Textarea(attrs={"rows": 2}))


class StationForm(CleanTextFormMixin, forms.Form):
    """Create/edit a station. ``hours_<day>`` are "08:00-20:00, 21:00-02:00"."""

    code = forms.CharField(max_length=32, label=_("编号"),
                           error_messages={"required": _("请填写编号")})
    name = forms.CharField(max_length=100, label=_("名称"),
                           error_messages={"required": _("请填写名称")})
    name_en = forms.CharField(max_length=150, required=False, label=_("英文名称"))
    type = forms.ChoiceField(choices=StationType.choices, label=_("类型"))
    host_type = forms.ChoiceField(choices=HostType.choices, label=_("主办方类型"))
    host_name = forms.CharField(max_length=120, required=False, label=_("主办方名称"))
    address = forms.CharField(max_length=200, label=_("地址"),
                              error_messages={"required": _("请填写地址")})
    public_phone = forms.CharField(max_length=32, required=False, label=_("对外联系电话（可选）"),
                                   widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))
    lat = forms.FloatField(label=_("纬度"), error_messages={"required": _("请填写纬度"),
                                                          "invalid": _("请输入数字")})
    lng = forms.FloatField(label=_("经度"), error_messages={"required": _("请填写经度"),
                                                          "invalid": _("请输入数字")})
    jurisdiction = forms.ChoiceField(label=_("所属社区/网格"))
    hub = forms.ChoiceField(required=False, label=_("所属服务总站"))
    amenities = forms.MultipleChoiceField(required=False, choices=Amenity.choices,
                                          widget=forms.CheckboxSelectMultiple, label=_("设施"))
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                  label=_("简介"))
    opened_on = forms.DateField(required=False, label=_("开放日期"),
                                widget=forms.DateInput(attrs={"type": "date"}),
                                error_messages={"invalid": _("请输入有效日期")})
    status = forms.ChoiceField(choices=StationStatus.choices, label=_("状态"))
    status_reason = forms.CharField(max_length=200, required=False, label=_("状态原因"))
    keeper_phones = forms.CharField(required=False, label=_("站长手机号（多个用逗号分隔）"))
    # Not typed: carries the service's "hours" errors to the weekly-hours fieldset.
    hours = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, jurisdictions=(), hubs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["jurisdiction"].choices = [(j.code, f"{j.name} ({j.code})") for j in jurisdictions]
        self.fields["hub"].choices = [("", "—")] + [(h.code, h.name) for h in hubs]
        for day, label in DAYS:
            self.fields[f"hours_{day}"] = forms.CharField(
                required=False, label=label,
                widget=forms.TextInput(attrs={"placeholder": "08:00-20:00", "inputmode": "numeric"}),
            )

    def hours_fields(self):
        return [self[f"hours_{day}"] for day, _label in DAYS]

    def clean(self):
        data = super().clean()
        hours = {}
        for day, _label in DAYS:
            text = (data.get(f"hours_{day}") or "").replace("，", ",").replace("－", "-")
            intervals = []
            for part in [p.strip() for p in text.split(",") if p.strip()]:
                bits = [b.strip() for b in part.replace("~", "-").replace("—", "-").split("-")]
                if len(bits) != 2 or not all(bits):
                    self.add_error(f"hours_{day}", _("格式应为 08:00-20:00，多个时段用逗号分隔"))
                    break
                intervals.append(bits)
            hours[day] = intervals
        data["hours"] = hours
        phones = (data.get("keeper_phones") or "").replace("，", ",").replace(" ", ",")
        data["keeper_phone_list"] = [p.strip() for p in phones.split(",") if p.strip()]
        if data.get("status") == StationStatus.REMOVED and not data.get("status_reason"):
            self.add_error("status_reason", _("撤除驿站时请填写原因"))
        return data

    @staticmethod
    def hours_initial(hours: dict) -> dict:
        return {
            f"hours_{day}": ", ".join(f"{a}-{b}" for a, b in (hours or {}).get(day, []))
            for day, _label in DAYS
        }


class ImportForm(forms.Form):
    file = forms.FileField(label=_("文件（.xlsx 或 .csv）"),
                           error_messages={"required": _("请选择要导入的文件")})

    def clean_file(self):
        f = self.cleaned_data["file"]
        name = f.name.lower()
        if not (name.endswith(".xlsx") or name.endswith(".csv")):
            raise forms.ValidationError(_("只支持 .xlsx 或 .csv 文件"))
        if f.size > 5 * 1024 * 1024:
            raise forms.ValidationError(_("文件不能超过 5 MB"))
        return f


class CoverageForm(forms.Form):
    jurisdiction = forms.ChoiceField(label=_("辖区"))
    mode = forms.ChoiceField(choices=[("walk", _("步行")), ("ebike", _("电动车"))],
                             required=False, label=_("出行方式"))

    def __init__(self, *args, jurisdictions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["jurisdiction"].choices = [(j.code, "　" * max(j.depth - 1, 0) + j.name)
                                               for j in jurisdictions]
