from django import forms
from django.utils.translation import gettext_lazy as _

from yizhan.accounts.choices import Trade
from yizhan.core.text import CleanTextFormMixin


class StaffLoginForm(CleanTextFormMixin, forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150,
                               widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(label=_("密码"), max_length=128, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class PhoneForm(CleanTextFormMixin, forms.Form):
    phone = forms.CharField(
        label=_("手机号"), max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "autofocus": True,
                                      "placeholder": "138 0000 0000"}),
    )


class CodeForm(CleanTextFormMixin, forms.Form):
    phone = forms.CharField(widget=forms.HiddenInput, max_length=20)
    code = forms.CharField(
        label=_("验证码"), max_length=6, min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code",
                                      "pattern": "[0-9]{6}", "autofocus": True}),
    )


class ProfileForm(CleanTextFormMixin, forms.Form):
    display_name = forms.CharField(label=_("称呼"), max_length=60, required=False)
    trade = forms.ChoiceField(label=_("职业"), choices=Trade.choices)
    platform = forms.CharField(label=_("平台"), max_length=60, required=False,
                               help_text=_("如美团、饿了么、顺丰、滴滴"))
    employer = forms.CharField(label=_("用工单位"), max_length=100, required=False)
    skills = forms.CharField(label=_("技能"), max_length=500, required=False, help_text=_("用逗号分隔"))
    home_community = forms.ChoiceField(label=_("居住社区"), required=False)

    def __init__(self, *args, communities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["home_community"].choices = [("", "—")] + [(c.code, c.name) for c in communities]


class DeleteAccountForm(CleanTextFormMixin, forms.Form):
    confirm = forms.CharField(label=_("请输入“删除”确认"), max_length=10)


class TokenForm(CleanTextFormMixin, forms.Form):
    name = forms.CharField(label=_("令牌名称"), max_length=80, help_text=_("例如：数据同步脚本"))
