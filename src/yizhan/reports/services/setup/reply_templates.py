"""Canned replies per case action."""

from __future__ import annotations

from django.db import transaction

from yizhan.core.audit import audit_record
from yizhan.core.errors import Message
from yizhan.core.models import AuditAction
from yizhan.reports.choices import CaseAction
from yizhan.reports.models import ReplyTemplate
from yizhan.reports.services.setup.common import (
    _apply,
    _choice,
    _require_template_scope,
    _text,
)

__all__ = ["reply_template_save", "reply_template_delete"]


# ---- reply templates -------------------------------------------------------------------


def reply_template_save(*, actor, template: ReplyTemplate | None = None, jurisdiction=None, action, title, text,
                        text_en="") -> ReplyTemplate:
    """Create (``template`` None) or edit a canned reply for ``action``."""
    if template is not None:
        _require_template_scope(actor, template.jurisdiction)
    _require_template_scope(actor, jurisdiction)
    fields = {
        "jurisdiction": jurisdiction,
        "action": _choice(action, CaseAction, field="action", what=Message("操作", "action")),
        "title": _text(title, field="title", limit=60, required=True, label=Message("标题", "title")),
        "text": _text(text, field="text", limit=2000, required=True, label=Message("回复内容", "text")),
        "text_en": _text(text_en, field="text_en", limit=2000),
    }
    with transaction.atomic():
        created = template is None
        tpl = ReplyTemplate() if created else ReplyTemplate.objects.select_for_update().get(pk=template.pk)
        changes = _apply(tpl, fields)
        if changes:
            tpl.save()
            changes.pop("jurisdiction", None)
            audit_record(actor=actor, action=AuditAction.CREATE if created else AuditAction.UPDATE, obj=tpl,
                         summary=f"reply template {tpl.title}",
                         changes={k: v for k, v in changes.items() if k != "text_en"},
                         jurisdiction_path=jurisdiction.path if jurisdiction else "")
    return tpl


def reply_template_delete(*, actor, template: ReplyTemplate) -> None:
    _require_template_scope(actor, template.jurisdiction)
    with transaction.atomic():
        audit_record(actor=actor, action=AuditAction.DELETE, obj=template, summary=f"reply template {template.title}",
                     jurisdiction_path=template.jurisdiction.path if template.jurisdiction else "")
        template.delete()
