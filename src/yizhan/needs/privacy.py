"""What the needs app (问需) stores about a person, for the PIPL export and erasure
(``accounts.services.account_export`` / ``account_delete`` call these through
``EXPORT_HOOKS`` / ``DELETION_HOOKS``: ``NeedsConfig.manifest`` names this module, and
``AccountsConfig.ready`` adds its ``EXPORTS`` and ``erase``).

Export (``needs_*`` keys, plain JSON, times ISO 8601 with offset):
* ``needs_suggestions`` — their suggestions: text, category, anonymous flag, where,
  state, the reply they received and when, the tracking code that lets them read it;
  never who replied.
* ``needs_wishes`` — their wishes: text, anonymous flag, state, +1 count, the reason
  if not published, when fulfilled (not who fulfilled it: that may be a person).
* ``needs_wish_supports`` — which wish they supported (id) and when.
* ``needs_staff_records`` — for staff: the needs they own (id, state, dates) and the
  forums they recorded (id, date, group); no titles or notes, which may name others.

Erasure (inside ``account_delete``'s transaction; the user row stays as an anonymous,
inactive shell). What was said stays — the district counts and answers it — but no
longer points at the person:
* suggestions: anonymous ones stay as they are, named ones become anonymous; both
  lose ``author`` (it was kept on anonymous ones only so the author could read the
  reply in "mine") and the point they were sent from (the community stays). The text,
  reply and tracking code stay (a visitor holding the code can still read the answer);
  we cannot know of personal data in the text;
* wishes stay on the wall (and keep feeding the needs raised from them), anonymous and
  without ``author``;
* their +1s are dropped and each wish's ``support_count`` moves down with ``F()``;
* staff traces (replied by, reviewed by, forum recorded by, need created by, timeline
  actor) → null, timeline labels → "已注销用户". ``Need.owner`` → null: the need
  stays in its jurisdiction's list with no owner until a manager reassigns it;
* free texts that name them (forum hosts and notes, suggestions, wishes, needs,
  timeline notes) have the name replaced by "已注销用户", whoever wrote them.
"""

from __future__ import annotations

from django.db.models import F

from yizhan.core.privacy import identifiers, scrub_rows
from yizhan.needs.models import Forum, Need, NeedEvent, Suggestion, Wish, WishSupport

DELETED_LABEL = "已注销用户"


def _iso(value):
    return value.isoformat() if value is not None else None


# ---- export ----------------------------------------------------------------------


def export_suggestions(user) -> tuple[str, list[dict]]:
    rows = Suggestion.objects.filter(author=user).select_related("jurisdiction").order_by("created_at", "id")
    return "needs_suggestions", [
        {"id": s.pk, "tracking_code": s.tracking_code, "text": s.text, "category": s.category,
         "is_anonymous": s.is_anonymous, "jurisdiction": s.jurisdiction.code, "lat": s.lat, "lng": s.lng,
         "state": s.state, "reply": s.reply, "replied_at": _iso(s.replied_at), "created_at": _iso(s.created_at)}
        for s in rows
    ]


def export_wishes(user) -> tuple[str, list[dict]]:
    rows = Wish.objects.filter(author=user).select_related("jurisdiction").order_by("created_at", "id")
    return "needs_wishes", [
        {"id": w.pk, "text": w.text, "is_anonymous": w.is_anonymous, "jurisdiction": w.jurisdiction.code,
         "state": w.state, "support_count": w.support_count, "reject_reason": w.reject_reason,
         "fulfilled_at": _iso(w.fulfilled_at), "created_at": _iso(w.created_at)}
        for w in rows
    ]


def export_wish_supports(user) -> tuple[str, list[dict]]:
    rows = WishSupport.objects.filter(user=user).order_by("at", "id")
    return "needs_wish_supports", [{"wish": s.wish_id, "at": _iso(s.at)} for s in rows]


def export_staff_records(user) -> tuple[str, list[dict]]:
    out: list[dict] = []
    for n in Need.objects.filter(owner=user).order_by("due_on", "id"):
        out.append({"type": "need_owned", "need": n.pk, "state": n.state, "raised_on": n.raised_on.isoformat(),
                    "due_on": n.due_on.isoformat(), "solved_at": _iso(n.solved_at)})
    for f in Forum.objects.filter(recorded_by=user).order_by("held_on", "id"):
        out.append({"type": "forum_recorded", "forum": f.pk, "held_on": f.held_on.isoformat(), "group": f.group})
    return "needs_staff_records", out


EXPORTS = (export_suggestions, export_wishes, export_wish_supports, export_staff_records)


# ---- erasure ---------------------------------------------------------------------


def erase(user) -> None:
    """Keep what was said, cut every path back to the person (module docstring). Runs
    in the caller's transaction."""
    # Text and reply stay (no personal data we can know of); the sender's position goes.
    Suggestion.objects.filter(author=user).update(author=None, is_anonymous=True, lat=None, lng=None)
    Wish.objects.filter(author=user).update(author=None, is_anonymous=True)
    supported = list(WishSupport.objects.filter(user=user).values_list("wish_id", flat=True))
    if supported:
        WishSupport.objects.filter(user=user).delete()
        # One row per (wish, user): each supported wish loses exactly one +1.
        Wish.objects.filter(pk__in=supported, support_count__gt=0).update(support_count=F("support_count") - 1)
    Suggestion.objects.filter(replied_by=user).update(replied_by=None)
    Wish.objects.filter(reviewed_by=user).update(reviewed_by=None)
    Forum.objects.filter(recorded_by=user).update(recorded_by=None)
    Need.objects.filter(created_by=user).update(created_by=None)
    Need.objects.filter(owner=user).update(owner=None)
    # Free texts that name them (a forum's hosts, a note quoting them): name replaced.
    needles = identifiers(user)
    scrub_rows(Suggestion, needles, text_fields=("text", "reply"))
    scrub_rows(Wish, needles, text_fields=("text", "reject_reason", "fulfil_note"))
    scrub_rows(Forum, needles, text_fields=("title", "hosts", "notes"))
    scrub_rows(Need, needles, text_fields=("title", "detail", "resolution", "decline_reason"))
    scrub_rows(NeedEvent, needles, text_fields=("note", "actor_label"))
    NeedEvent.objects.filter(actor=user).update(actor=None, actor_label=DELETED_LABEL)
