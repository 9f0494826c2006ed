"""What the platform core keeps about a person, cut loose when they delete their
account (PIPL art. 47). ``accounts.services.account_delete`` calls ``erase`` in its
transaction, after every app's hook and before the user row is made anonymous.

* **Audit log**: the rows they acted in stay (the log is the district's record) but
  lose the person: ``actor`` → null, ``actor_label`` → "已注销用户", ``ip`` → null.
  Rows about their own account (logins, profile edits) also lose the IP and the
  recorded changes. Any summary, label or change that names them (username, display
  name, phone, masked phone, e-mail, ID number) has the name replaced.
* **Messages**: their inbox and outbound copies addressed to them are deleted (they
  can no longer be delivered: the phone and the WeChat binding go); messages to other
  people that name them (inbox titles and bodies, outbound payloads) have the name
  replaced. Their channel bindings and preferences are deleted; webhook subscriptions
  they created lose ``created_by``.
* **Domain events** (facts for later consumers such as a points ledger): a person's id
  in a payload (``PERSON_KEYS``: ``reporter_id`` …) → null, names replaced.
* Django admin's history (``admin.LogEntry``): their entries are deleted (the audit log
  keeps the record), names in others' entries are replaced.

``identifiers(user)`` lists what names a person; ``scrub`` replaces them in a text and
``scrub_rows`` in the rows of a model (apps use it for their free texts).
"""

from __future__ import annotations

import json
import re

from django.apps import apps
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from yizhan.core.models import (
    AuditLog,
    ChannelBinding,
    DomainEvent,
    Notification,
    NotificationPreference,
    OutboundMessage,
    WebhookSubscription,
)
from yizhan.core.pii import mask_id, mask_phone

DELETED_LABEL = "已注销用户"

# A needle shorter than this is too likely to be part of other words ("王" in "王府井").
MIN_NEEDLE = 2


def identifiers(user) -> list[str]:
    """Every string that names ``user`` in free text: username, display and real
    names, e-mail, phone (raw and masked), ID number. Longest first."""
    values = {
        user.get_username(),
        getattr(user, "display_name", ""),
        getattr(user, "first_name", ""),
        getattr(user, "last_name", ""),
        f"{getattr(user, 'last_name', '')}{getattr(user, 'first_name', '')}",
        getattr(user, "email", ""),
    }
    phone = getattr(user, "phone", None)
    if phone:
        values |= {phone, mask_phone(phone)}
    id_number = getattr(user, "id_number", "")
    if id_number:
        values |= {id_number, mask_id(id_number)}
    try:
        values.add(str(user))
    except Exception:  # noqa: BLE001 - a broken __str__ names nobody
        pass
    needles = {v.strip() for v in values if v and len(v.strip()) >= MIN_NEEDLE}
    return sorted(needles, key=lambda v: (-len(v), v))


_ASCII_NAME = re.compile(r"^[A-Za-z0-9_.@+*-]+$")


def _needle_re(needle: str) -> str:
    """A needle as a regex: an ASCII name (username, e-mail, phone) only as a whole
    word, so "admin" is not found in "community_admin" nor a phone in a longer number;
    a Chinese name anywhere (there are no word boundaries to use)."""
    escaped = re.escape(needle)
    if _ASCII_NAME.match(needle):
        # a trailing "." ends a sentence; one followed by a letter continues the name
        return rf"(?<![A-Za-z0-9_.@+-]){escaped}(?![A-Za-z0-9_@+-]|\.[A-Za-z0-9])"
    return escaped


def _pattern(needles) -> re.Pattern | None:
    if not needles:
        return None
    return re.compile("|".join(_needle_re(n) for n in needles), re.IGNORECASE)


def names_in(text, needles) -> list[str]:
    """The needles found in ``text`` (a string or any JSON value)."""
    if not isinstance(text, str):
        text = json.dumps(text, ensure_ascii=False)
    return [n for n in needles if re.search(_needle_re(n), text or "", re.IGNORECASE)]


def scrub(text: str, needles, *, limit: int | None = None) -> str:
    """``text`` with every needle replaced by "已注销用户" (cut to ``limit``)."""
    pattern = _pattern(needles)
    if not text or pattern is None:
        return text
    out = pattern.sub(DELETED_LABEL, text)
    return out[:limit] if limit else out


def scrub_json(value, needles):
    """A JSON value with every string (keys too) scrubbed."""
    if isinstance(value, str):
        return scrub(value, needles)
    if isinstance(value, list):
        return [scrub_json(v, needles) for v in value]
    if isinstance(value, dict):
        return {scrub(str(k), needles): scrub_json(v, needles) for k, v in value.items()}
    return value


def json_forms(needle: str) -> set[str]:
    """How ``needle`` may appear in a JSON column read as text (raw, or escaped as
    ``\\uXXXX`` where the database keeps the JSON as ASCII text, e.g. SQLite)."""
    return {needle, json.dumps(needle)[1:-1], json.dumps(needle, ensure_ascii=False)[1:-1]}


def text_match(fields, needles, *, json_fields=()) -> Q:
    """A filter: any of ``fields`` (or of the JSON ``json_fields``, read as text: use
    it on ``with_json_text(qs, json_fields)``) contains a needle."""
    q = Q(pk__in=[])
    for needle in needles:
        for name in fields:
            q |= Q(**{f"{name}__contains": needle})
        for name in json_fields:
            for form in json_forms(needle):
                q |= Q(**{f"{_text_alias(name)}__contains": form})
    return q


def _text_alias(name: str) -> str:
    return f"{name}_as_text"


def with_json_text(qs, json_fields):
    """``qs`` with each JSON field also read as text (for ``text_match``)."""
    return qs.annotate(**{_text_alias(name): Cast(name, TextField()) for name in json_fields})


def scrub_rows(model, needles, *, text_fields=(), json_fields=(), base=None) -> int:
    """Replace the needles in ``text_fields`` / ``json_fields`` of the rows of ``model``
    (or of the queryset ``base``) that contain one; returns how many rows changed.
    Apps call it from their ``erase`` hook for the free texts where people's words
    or names end up (notes, comments, descriptions)."""
    if not needles:
        return 0
    qs = with_json_text(base if base is not None else model.objects.all(), json_fields)
    changed = 0
    for row in qs.filter(text_match(text_fields, needles, json_fields=json_fields)).iterator():
        updates = {}
        for name in text_fields:
            field = model._meta.get_field(name)
            new = scrub(getattr(row, name), needles, limit=field.max_length)
            if new != getattr(row, name):
                updates[name] = new
        for name in json_fields:
            new = scrub_json(getattr(row, name), needles)
            if new != getattr(row, name):
                updates[name] = new
        if updates:
            model.objects.filter(pk=row.pk).update(**updates)
            changed += 1
    return changed


# Keys of a JSON payload that hold a person's id (DomainEvent payloads: "reporter_id").
PERSON_KEYS = ("user_id", "reporter_id", "actor_id", "author_id", "owner_id", "assignee_id", "requested_by_id",
               "created_by_id", "recorded_by_id", "decided_by_id", "uploaded_by_id")


def person_key_match(field: str, user) -> Q:
    """Rows whose JSON ``field`` holds ``user``'s id under one of ``PERSON_KEYS``."""
    q = Q(pk__in=[])
    for key in PERSON_KEYS:
        q |= Q(**{f"{field}__{key}": user.pk})
    return q


def unlink_json_ids(model, field: str, user) -> int:
    """Set the ``PERSON_KEYS`` of ``model.field`` that hold ``user``'s id to null."""
    changed = 0
    for row in model.objects.filter(person_key_match(field, user)).iterator():
        value = dict(getattr(row, field))
        for key in PERSON_KEYS:
            if value.get(key) == user.pk:
                value[key] = None
        model.objects.filter(pk=row.pk).update(**{field: value})
        changed += 1
    return changed


def erase(user, *, needles=None, own_objects=()) -> None:
    """Cut the core's paths back to ``user`` (module docstring). ``needles`` are their
    identifiers taken before the account was made anonymous; ``own_objects`` are
    (object_type, object_id) pairs of rows that were theirs (profile, tokens), whose
    audit rows lose the IP and the recorded changes too."""
    needles = list(needles if needles is not None else identifiers(user))
    AuditLog.objects.filter(actor=user).update(actor=None, actor_label=DELETED_LABEL, ip=None)
    own = Q(object_type=user._meta.label_lower, object_id=str(user.pk))
    for object_type, object_id in own_objects:
        own |= Q(object_type=object_type, object_id=str(object_id))
    AuditLog.objects.filter(own).update(ip=None, changes={})
    scrub_rows(AuditLog, needles, text_fields=("actor_label", "summary"), json_fields=("changes",))

    OutboundMessage.objects.filter(user=user).delete()
    Notification.objects.filter(user=user).delete()
    scrub_rows(Notification, needles, text_fields=("title_zh", "title_en", "body_zh", "body_en"))
    scrub_rows(OutboundMessage, needles, text_fields=("last_error",), json_fields=("payload",))
    # Facts other apps consume later (e.g. "reports.case_verified" names the reporter).
    unlink_json_ids(DomainEvent, "payload", user)
    scrub_rows(DomainEvent, needles, json_fields=("payload",))
    ChannelBinding.objects.filter(user=user).delete()
    NotificationPreference.objects.filter(user=user).delete()
    WebhookSubscription.objects.filter(created_by=user).update(created_by=None)

    if apps.is_installed("django.contrib.admin"):
        from django.contrib.admin.models import LogEntry

        LogEntry.objects.filter(user=user).delete()
        scrub_rows(LogEntry, needles, text_fields=("object_repr", "change_message"))
