"""Telling people things. Inbox rows are written in the caller's transaction."""

from __future__ import annotations

from yizhan.core.errors import Message
from yizhan.core.models import Notification


def notify(*, user, kind: str, title: Message, body: Message | None = None, url: str = "") -> Notification:
    return Notification.objects.create(
        user=user,
        kind=kind,
        title_zh=title.zh,
        title_en=title.en,
        body_zh=body.zh if body else "",
        body_en=body.en if body else "",
        url=url,
    )
