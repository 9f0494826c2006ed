"""Page forms of the needs app: shapes only; the rules live in the services, whose
``AppError`` goes back beside its field with ``core.forms.add_app_error``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from yizhan.core.text import CleanTextFormMixin
from yizhan.needs.choices import SuggestionCategory, SuggestionOutcome

TEXT_ERRORS = {"required": _("请填写内容"), "max_length": _("内容过长（最多 %(limit_value)d 字）")}


class SuggestionForm(CleanTextFormMixin, forms.Form):
    category = forms.ChoiceField(label=_("类别"), choices=SuggestionCategory.choices, widget=forms.RadioSelect,
                                 error_messages={"required": _("请选择建议类别"),
                                                 "invalid_choice": _("请选择建议类别")})
    text = forms.CharField(label=_("您的意见或建议"), max_length=2000, error_messages=TEXT_ERRORS,
                           widget=forms.Textarea(attrs={"rows": 5, "maxlength": 2000}),
                           help_text=_("最多 2000 字。请不要写身份证号、手机号等个人信息。"))
    jurisdiction = forms.ChoiceField(label=_("所在社区"), required=False)
    lat = forms.FloatField(required=False, widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, widget=forms.HiddenInput)
    is_anonymous = forms.BooleanField(label=_("匿名提交（工作人员看不到您是谁）"), required=False)

    def __init__(self, *args, communities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["jurisdiction"].choices = [("", _("— 选择社区，或用我的位置 —")), *communities]


class WishForm(CleanTextFormMixin, forms.Form):
    text = forms.CharField(label=_("我的心愿"), max_length=500, error_messages=TEXT_ERRORS,
                           widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
                           help_text=_("审核通过后在心愿墙公开，最多 500 字。"))
    jurisdiction = forms.ChoiceField(label=_("所在社区"), error_messages={"required": _("请选择所在社区")})
    is_anonymous = forms.BooleanField(label=_("匿名展示"), required=False)

    def __init__(self, *args, communities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["jurisdiction"].choices = [("", _("— 选择社区 —")), *communities]


class AnswerForm(CleanTextFormMixin, forms.Form):
    outcome = forms.ChoiceField(label=_("处理方式"), choices=SuggestionOutcome.choices, widget=forms.RadioSelect,
                                initial=SuggestionOutcome.REPLY)
    reply = forms.CharField(label=_("答复内容"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}),
                            error_messages={"required": _("请填写答复内容")})
    title = forms.CharField(label=_("需求标题（转为需求时）"), max_length=200, required=False)
    owner = forms.ChoiceField(label=_("责任人（转为需求时）"), required=False)
    due_on = forms.DateField(label=_("办理期限（转为需求时）"), required=False,
                             widget=forms.DateInput(attrs={"type": "date"}),
                             error_messages={"invalid": _("请输入有效日期")})

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "—"), *owners]


class ForumForm(CleanTextFormMixin, forms.Form):
    held_on = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}),
                              error_messages={"required": _("请填写日期"), "invalid": _("请输入有效日期")})
    group = forms.CharField(label=_("参会群体（行业）"), max_length=60,
                            widget=forms.TextInput(attrs={"list": "group-options"}),
                            error_messages={"required": _("请填写参会群体")})
    title = forms.CharField(label=_("会议名称"), max_length=120, required=False)
    jurisdiction = forms.ChoiceField(label=_("所属辖区"))
    venue = forms.CharField(label=_("地点"), max_length=120, required=False)
    attendees = forms.IntegerField(label=_("参会人数"), min_value=0, max_value=100000, initial=0,
                                   error_messages={"invalid": _("请输入整数"), "min_value": _("不能小于 0")})
    hosts = forms.CharField(label=_("主持人"), max_length=200, required=False)
    notes = forms.CharField(label=_("会议记录"), required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, places=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["jurisdiction"].choices = list(places)


class NeedForm(CleanTextFormMixin, forms.Form):
    title = forms.CharField(label=_("需求事项"), max_length=200, error_messages={"required": _("请填写需求事项")})
    detail = forms.CharField(label=_("详细情况"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    owner = forms.ChoiceField(label=_("责任人"), error_messages={"required": _("请选择责任人")})
    due_on = forms.DateField(label=_("办理期限"), widget=forms.DateInput(attrs={"type": "date"}),
                             error_messages={"required": _("请填写办理期限"), "invalid": _("请输入有效日期")})

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "—"), *owners]


class NeedActionForm(CleanTextFormMixin, forms.Form):
    action = forms.CharField(widget=forms.HiddenInput)
    note = forms.CharField(label=_("说明"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    owner = forms.CharField(required=False)
    due_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                             error_messages={"invalid": _("请输入有效日期")})


class WishActionForm(CleanTextFormMixin, forms.Form):
    action = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("不予公开的原因"), required=False, max_length=200)
    fulfiller = forms.CharField(label=_("认领方（爱心商家、志愿者…）"), required=False, max_length=100)
    note = forms.CharField(label=_("说明"), required=False, max_length=500)


class PeriodForm(forms.Form):
    """The period of the staff page's figures (needs by the day they were raised)."""

    since = forms.DateField(label=_("从"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            error_messages={"invalid": _("请输入有效日期")})
    until = forms.DateField(label=_("到"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            error_messages={"invalid": _("请输入有效日期")})

    def clean(self):
        cd = super().clean()
        if cd.get("since") and cd.get("until") and cd["since"] > cd["until"]:
            self.add_error("until", _("结束日期不能早于开始日期"))
        return cd
