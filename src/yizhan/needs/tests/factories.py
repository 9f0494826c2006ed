"""Test data of the needs app, made through the real services where it matters."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from yizhan.core.testing.factories import make_staff, make_worker
from yizhan.needs import services
from yizhan.needs.models import Forum, Need


def make_suggestion(jurisdiction, *, actor=None, text="驿站晚上能不能开到十点？", category="station", **kw):
    return services.suggestion_submit(actor=actor, text=text, category=category, jurisdiction=jurisdiction, **kw)


def make_wish(jurisdiction, *, author=None, text="希望驿站能有一台微波炉", approved_by=None):
    wish = services.wish_submit(actor=author or make_worker(), text=text, jurisdiction=jurisdiction)
    if approved_by is not None:
        wish = services.wish_approve(actor=approved_by, wish=wish)
    return wish


def make_forum(jurisdiction, *, actor=None, held_on=None, group="外卖骑手", attendees=12) -> Forum:
    actor = actor or make_staff("community_admin", jurisdiction)
    return services.forum_create(actor=actor, held_on=held_on or timezone.localdate(), group=group,
                                 jurisdiction=jurisdiction, attendees=attendees, hosts="李书记、王主任")


def make_need(jurisdiction, *, actor=None, owner=None, forum=None, due_in_days=14, title="骑手充电桩不够",
              raised_on=None) -> Need:
    actor = actor or make_staff("community_admin", jurisdiction)
    start = raised_on or (forum.held_on if forum else timezone.localdate())
    return services.need_create(
        actor=actor, title=title, owner=owner or actor, due_on=start + dt.timedelta(days=due_in_days),
        jurisdiction=None if forum else jurisdiction, forum=forum, raised_on=raised_on,
    )
