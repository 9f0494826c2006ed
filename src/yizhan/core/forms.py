"""Page helpers: show an AppError beside the field it names, in the page's language."""

from __future__ import annotations

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from yizhan.core.audit_labels import action_label
from yizhan.core.errors import AppError
from yizhan.core.models import AuditAction


def add_app_error(form, exc: AppError, *, field_map: dict[str, str] | None = None) -> None:
    """Attach ``exc`` to ``form`` beside ``exc.field`` (or as a form-wide error).
    ``field_map`` renames service fields to form fields (e.g. {"jurisdiction": "node"})."""
    field = (field_map or {}).get(exc.field or "", exc.field)
    text = exc.text(get_language())
    form.add_error(field if field in form.fields else None, text)


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("操作"), required=False)
    actor = forms.CharField(label=_("操作人"), max_length=150, required=False)
    object_type = forms.CharField(label=_("对象类型"), max_length=60, required=False)
    q = forms.CharField(label=_("摘要包含"), max_length=100, required=False)
    since = forms.DateField(label=_("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

        self.fields["action"].choices = [("", "—"), *((code, action_label(code)) for code in AuditAction.values)]
