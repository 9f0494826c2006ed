"""Outbound copies of notifications: channels, queueing and delivery.

``core.notifications.notify`` writes the inbox row and calls ``outbound_queue``, which
adds one ``OutboundMessage`` per channel that applies, in the caller's transaction
(a rolled-back change queues nothing). After commit a django-tasks task
(``core.tasks.outbox_deliver``) is enqueued to send them at once; the scheduler job
``core.jobs.outbox_deliver_due_job`` sweeps whatever is due (retries, a missed task).

Channels (``settings.YIZHAN_NOTIFY_CHANNELS`` says which are on):

* ``sms``      the user has a phone and the kind is in ``YIZHAN_NOTIFY_SMS_KINDS``; a kind
               not in ``YIZHAN_NOTIFY_URGENT_KINDS`` only when the user keeps "SMS for
               non-urgent messages" on. Sent through an ``accounts.sms`` backend
               (``YIZHAN_NOTIFY_SMS_BACKEND``, default ``YIZHAN_SMS_BACKEND``).
* ``wechat``   the user has a bound openid (``ChannelBinding``); template message through
               ``YIZHAN_WECHAT_BACKEND`` (console by default; ``HttpWechatBackend`` is the
               official-account API).
* ``webhook``  every active ``WebhookSubscription`` whose jurisdiction contains the event's
               jurisdiction (``notify(jurisdiction=...)``; without it, the recipient's:
               their role grants and home community) and whose ``kinds`` match (empty = all).
* ``console`` / ``file``  every notification, for development (stdout / ``var/notifications.log``).

Delivery claims due rows in small batches (``select_for_update(skip_locked=True)`` on
PostgreSQL plus a conditional UPDATE, so two deliverers never take one row; on SQLite
the IMMEDIATE transactions serialise the claims), marks them ``sending`` with a lease,
sends outside any transaction, then marks ``sent``, ``failed`` (retried after an
exponential backoff), ``dead`` after ``YIZHAN_NOTIFY_MAX_ATTEMPTS`` or ``skipped`` when
there is nobody to send to any more. A row whose lease ran out (the deliverer died) is
claimed again: delivery is at least once, so receivers dedupe on ``X-Yizhan-Delivery``.

Personal data: phones are read from the user at send time, never copied into the
outbox; stored texts have phones and ID numbers masked (``pii.redact``); log lines and
``last_error`` carry ids, channels and error types only.

Webhook request: ``POST`` JSON (UTF-8) with headers ``X-Yizhan-Event`` (kind),
``X-Yizhan-Delivery`` (outbound id), ``X-Yizhan-Timestamp`` (unix seconds) and
``X-Yizhan-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>``; any
2xx is success. Receivers check with ``webhook_verify``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from yizhan.core.audit import audit_record
from yizhan.core.errors import PermissionDenied
from yizhan.core.manifest import notification_kinds
from yizhan.core.models import (
    ChannelBinding,
    Notification,
    NotificationPreference,
    OutboundChannel,
    OutboundMessage,
    OutboundState,
    WebhookSubscription,
)
from yizhan.core.permissions import _grants, ancestor_paths
from yizhan.core.pii import redact

log = logging.getLogger("yizhan.outbox")

DEFAULT_SMS_KINDS = ("case_dispatched", "case_overdue", "case_escalated", "case_handled")
DEFAULT_URGENT_KINDS = ("case_dispatched", "case_overdue", "case_escalated")


class Undeliverable(Exception):
    """Nobody to send to any more (phone removed, WeChat unbound, subscription off):
    the row is marked ``skipped`` and not retried."""


class DeliveryError(Exception):
    """A failed attempt worth retrying (the message must not contain personal data)."""


# ---- settings ---------------------------------------------------------------------------


def _setting(name: str, default):
    return getattr(settings, name, default)


def _as_set(value) -> set[str]:
    if isinstance(value, str):
        value = value.split(",")
    return {str(v).strip() for v in value or () if str(v).strip()}


def enabled_channels() -> set[str]:
    return _as_set(_setting("YIZHAN_NOTIFY_CHANNELS", ("console",)))


def sms_kinds() -> set[str]:
    """The settings' kinds plus those the apps' manifests declare ``sms=True``."""
    declared = {k for k, n in notification_kinds().items() if n.sms}
    return _as_set(_setting("YIZHAN_NOTIFY_SMS_KINDS", DEFAULT_SMS_KINDS)) | declared


def urgent_kinds() -> set[str]:
    """The settings' kinds plus those the apps' manifests declare ``urgent=True``."""
    declared = {k for k, n in notification_kinds().items() if n.urgent}
    return _as_set(_setting("YIZHAN_NOTIFY_URGENT_KINDS", DEFAULT_URGENT_KINDS)) | declared


def max_attempts() -> int:
    return int(_setting("YIZHAN_NOTIFY_MAX_ATTEMPTS", 6))


def backoff_seconds(attempts: int) -> float:
    """Wait after the ``attempts``-th failed attempt: base · 2^(attempts-1), capped."""
    base = float(_setting("YIZHAN_NOTIFY_BACKOFF_SECONDS", 30))
    cap = float(_setting("YIZHAN_NOTIFY_BACKOFF_MAX_SECONDS", 3600))
    return min(cap, base * (2 ** max(0, attempts - 1)))


def absolute_url(url: str) -> str:
    base = str(_setting("YIZHAN_PUBLIC_URL", "") or "").rstrip("/")
    if not url or "://" in url or not base:
        return url
    return base + (url if url.startswith("/") else "/" + url)


# ---- choosing channels (in the caller's transaction) -----------------------------------


def sms_wanted(*, user, kind: str) -> bool:
    """Whether ``kind`` goes to ``user`` by SMS (ignoring whether they have a phone)."""
    if kind not in sms_kinds():
        return False
    if kind in urgent_kinds():
        return True
    pref = NotificationPreference.objects.filter(user=user).values_list("sms_non_urgent", flat=True).first()
    return True if pref is None else bool(pref)


def user_jurisdiction_paths(user) -> list[str]:
    """Where a user belongs when an event names no jurisdiction: the nodes of their
    role grants and their home community."""
    paths = {path for _, path in _grants(user)}
    # the user model's worker profile (accounts), reached through the user model
    home = (get_user_model().objects.filter(pk=user.pk)
            .values_list("worker_profile__home_community__path", flat=True).first())
    if home:
        paths.add(home)
    return sorted(paths)


def webhook_subscriptions_for(*, kind: str, paths: list[str]) -> list[WebhookSubscription]:
    """Active subscriptions whose jurisdiction contains one of ``paths`` and whose kinds
    include ``kind`` (empty kinds = every kind)."""
    ancestors = {a for p in paths for a in ancestor_paths(p)}
    if not ancestors:
        return []
    subs = WebhookSubscription.objects.filter(is_active=True, jurisdiction__path__in=ancestors)
    return [s for s in subs.select_related("jurisdiction") if not s.kinds or kind in s.kinds]


def _jurisdiction_path(jurisdiction) -> tuple[str, str]:
    if jurisdiction is None:
        return "", ""
    if isinstance(jurisdiction, str):  # a path
        return "", jurisdiction
    return jurisdiction.code, jurisdiction.path


def outbound_queue(*, notification: Notification, jurisdiction=None) -> list[OutboundMessage]:
    """Queue the outbound copies of ``notification`` (inside the caller's transaction).

    ``jurisdiction`` (a Jurisdiction, its path, or None) is where the event happened;
    it picks the webhook subscriptions."""
    channels = enabled_channels()
    if not channels:
        return []
    user = notification.user
    kind = notification.kind
    code, path = _jurisdiction_path(jurisdiction)
    payload = {
        "notification_id": notification.pk,
        "title": {"zh": redact(notification.title_zh), "en": redact(notification.title_en)},
        "body": {"zh": redact(notification.body_zh), "en": redact(notification.body_en)},
        "url": notification.url,
        "lang": getattr(user, "preferred_language", "") or "",
        "jurisdiction": {"code": code, "path": path} if path else None,
    }
    now = timezone.now()

    def row(channel: str, **extra) -> OutboundMessage:
        return OutboundMessage(notification=notification, user=user, channel=channel, kind=kind,
                               payload=payload, next_attempt_at=now, **extra)

    rows: list[OutboundMessage] = []
    for dev in (OutboundChannel.CONSOLE, OutboundChannel.FILE):
        if dev in channels:
            rows.append(row(dev))
    if OutboundChannel.SMS in channels and getattr(user, "phone", None) and sms_wanted(user=user, kind=kind):
        rows.append(row(OutboundChannel.SMS))
    if OutboundChannel.WECHAT in channels and ChannelBinding.objects.filter(
            user=user, channel=OutboundChannel.WECHAT).exists():
        rows.append(row(OutboundChannel.WECHAT))
    if OutboundChannel.WEBHOOK in channels:
        paths = [path] if path else user_jurisdiction_paths(user)
        for sub in webhook_subscriptions_for(kind=kind, paths=paths):
            rows.append(row(OutboundChannel.WEBHOOK, subscription=sub))
    if rows:
        OutboundMessage.objects.bulk_create(rows)
        _kick_on_commit()
    return rows


def _kick() -> None:
    """After commit: ask a worker to deliver now (the scheduler sweeps anyway)."""
    if not _setting("YIZHAN_NOTIFY_ENQUEUE", True):
        return
    try:
        # imported here: core.tasks imports this module (the task calls back into the outbox)
        from yizhan.core.tasks import outbox_deliver

        outbox_deliver.enqueue()
    except Exception:  # noqa: BLE001 - the scheduler job delivers later
        log.exception("could not enqueue outbox delivery; the scheduler will deliver")


def _kick_on_commit() -> None:
    # One enqueue per transaction, however many notifications it wrote.
    pending = getattr(connection, "run_on_commit", None) or []
    if connection.in_atomic_block and any(item[1] is _kick for item in pending):
        return
    transaction.on_commit(_kick)


# ---- delivery ---------------------------------------------------------------------------


def _claim(*, now, batch: int) -> list[OutboundMessage]:
    lease = now + timedelta(seconds=float(_setting("YIZHAN_NOTIFY_LEASE_SECONDS", 300)))
    due = Q(state__in=[OutboundState.PENDING, OutboundState.FAILED]) | Q(state=OutboundState.SENDING)
    claimed = []
    with transaction.atomic():
        qs = OutboundMessage.objects.filter(due, next_attempt_at__lte=now).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        for msg in qs[:batch]:
            # Conditional update: only the deliverer that still sees the row as it read it wins.
            won = OutboundMessage.objects.filter(
                pk=msg.pk, state=msg.state, attempts=msg.attempts, next_attempt_at__lte=now
            ).update(state=OutboundState.SENDING, attempts=F("attempts") + 1, next_attempt_at=lease)
            if won:
                msg.state, msg.attempts, msg.next_attempt_at = OutboundState.SENDING, msg.attempts + 1, lease
                claimed.append(msg)
    return claimed


def _finish(msg: OutboundMessage, **fields) -> bool:
    done = OutboundMessage.objects.filter(
        pk=msg.pk, state=OutboundState.SENDING, attempts=msg.attempts
    ).update(**fields)
    if not done:
        log.warning("outbound #%s was taken over by another deliverer (lease expired)", msg.pk)
    for key, value in fields.items():
        setattr(msg, key, value)
    return bool(done)


def _error_text(exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return redact(text)[:300]


def outbound_deliver_one(msg: OutboundMessage) -> str:
    """Send one claimed message; returns its new state."""
    now = timezone.now()
    try:
        get_channel(msg.channel).send(msg)
    except Undeliverable as exc:
        _finish(msg, state=OutboundState.SKIPPED, last_error=_error_text(exc))
        log.info("outbound #%s %s skipped: %s", msg.pk, msg.channel, type(exc).__name__)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
        if msg.attempts >= max_attempts():
            _finish(msg, state=OutboundState.DEAD, last_error=_error_text(exc))
            log.error("outbound #%s %s dead after %d attempts: %s", msg.pk, msg.channel, msg.attempts,
                      type(exc).__name__)
        else:
            retry_at = now + timedelta(seconds=backoff_seconds(msg.attempts))
            _finish(msg, state=OutboundState.FAILED, last_error=_error_text(exc), next_attempt_at=retry_at)
            log.warning("outbound #%s %s attempt %d failed (%s); retry at %s", msg.pk, msg.channel,
                        msg.attempts, type(exc).__name__, retry_at.isoformat())
    else:
        _finish(msg, state=OutboundState.SENT, sent_at=now, last_error="")
    return msg.state


def outbound_deliver_due(*, limit: int | None = None, now=None, budget_seconds: float | None = None
                         ) -> dict[str, int]:
    """Deliver due messages (at most ``limit``, default ``YIZHAN_NOTIFY_BATCH``; no new
    claims after ``budget_seconds``). Safe to run in several processes at once.
    Returns counts by new state."""
    limit = int(limit if limit is not None else _setting("YIZHAN_NOTIFY_BATCH", 200))
    batch = max(1, int(_setting("YIZHAN_NOTIFY_CLAIM_SIZE", 10)))
    stop_at = time.monotonic() + budget_seconds if budget_seconds is not None else None
    counts: Counter[str] = Counter()
    done = 0
    while done < limit and (stop_at is None or time.monotonic() < stop_at):
        claimed = _claim(now=now or timezone.now(), batch=min(batch, limit - done))
        if not claimed:
            break
        for msg in claimed:
            counts[outbound_deliver_one(msg)] += 1
        done += len(claimed)
    return dict(counts)


def outbound_retry(*, actor, ids: list[int] | None = None) -> int:
    """Send dead (or failed) copies again from a clean slate: support, after the cause
    is fixed. ``ids`` None = every dead one. ``actor`` None = the command line;
    otherwise superusers only. Returns how many were requeued."""
    if actor is not None and not (getattr(actor, "is_superuser", False) and actor.is_active):
        raise PermissionDenied()
    with transaction.atomic():
        qs = OutboundMessage.objects.filter(state__in=[OutboundState.DEAD, OutboundState.FAILED])
        if ids is None:
            qs = qs.filter(state=OutboundState.DEAD)
        else:
            qs = qs.filter(pk__in=ids)
        count = qs.update(state=OutboundState.PENDING, attempts=0, next_attempt_at=timezone.now())
        if count:
            audit_record(actor=actor, action="update", object_type="core.outboundmessage",
                         summary=f"重发 {count} 条外发消息 requeued {count} outbound messages")
    return count


def outbound_counts() -> dict[str, dict[str, int]]:
    """{channel: {state: count}} for the command line and health checks."""
    out: dict[str, dict[str, int]] = {}
    rows = OutboundMessage.objects.values_list("channel", "state").annotate(n=models.Count("id"))
    for channel, state, n in rows.order_by("channel", "state"):
        out.setdefault(channel, {})[state] = n
    return out


def outbound_prune(*, days: int = 30) -> int:
    """Forget sent / skipped copies after ``days`` (dead ones stay for a look)."""
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = OutboundMessage.objects.filter(
        state__in=[OutboundState.SENT, OutboundState.SKIPPED], created_at__lt=cutoff
    ).delete()
    return deleted


# ---- message texts ------------------------------------------------------------------------


def _lang(msg: OutboundMessage) -> str:
    return "en" if str(msg.payload.get("lang", "")).startswith("en") else "zh"


def message_texts(msg: OutboundMessage) -> tuple[str, str, str]:
    """(title, body, absolute url) in the recipient's language."""
    lang = _lang(msg)
    p = msg.payload
    title = (p.get("title") or {}).get(lang) or (p.get("title") or {}).get("zh", "")
    body = (p.get("body") or {}).get(lang) or (p.get("body") or {}).get("zh", "")
    return title, body, absolute_url(p.get("url", ""))


def sms_text(msg: OutboundMessage) -> str:
    title, body, url = message_texts(msg)
    if _lang(msg) == "en":
        text = f"[Yizhan] {title}" + (f": {body}" if body else "")
    else:
        text = f"【驿站】{title}" + (f"：{body}" if body else "")
    if url:
        text += f" {url}"
    return text[:300]


# ---- channels -------------------------------------------------------------------------------


class Channel:
    name = ""

    def send(self, msg: OutboundMessage) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class ConsoleChannel(Channel):
    """Prints every notification (development). Tests read ``outbox``."""

    name = OutboundChannel.CONSOLE
    outbox: list[dict] = []
    _lock = threading.Lock()

    def send(self, msg: OutboundMessage) -> None:
        title, body, url = message_texts(msg)
        with self._lock:
            type(self).outbox.append({"id": msg.pk, "kind": msg.kind, "user_id": msg.user_id, "title": title})
            del type(self).outbox[:-100]
        print(f"[notify {msg.kind} -> user #{msg.user_id}] {title}" + (f": {body}" if body else "")
              + (f" {url}" if url else ""), file=sys.stdout, flush=True)


class FileChannel(Channel):
    """Appends a JSON line per notification to ``YIZHAN_NOTIFY_FILE``."""

    name = OutboundChannel.FILE

    def send(self, msg: OutboundMessage) -> None:
        from pathlib import Path

        title, body, url = message_texts(msg)
        path = Path(_setting("YIZHAN_NOTIFY_FILE", settings.VAR_DIR / "notifications.log"))
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"at": datetime.now(UTC).isoformat(), "id": msg.pk, "kind": msg.kind,
                           "user_id": msg.user_id, "title": title, "body": body, "url": url}, ensure_ascii=False)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


class SmsChannel(Channel):
    name = OutboundChannel.SMS

    def send(self, msg: OutboundMessage) -> None:
        phone = getattr(msg.user, "phone", None) if msg.user_id else None
        if not phone or not getattr(msg.user, "is_active", True):
            raise Undeliverable("no phone")
        # Providers approve notification texts apart from login codes, so notifications
        # may use their own backend (``YIZHAN_NOTIFY_SMS_BACKEND``); default: the login one.
        path = _setting("YIZHAN_NOTIFY_SMS_BACKEND", "") or settings.YIZHAN_SMS_BACKEND
        import_string(path)().send(phone=phone, text=sms_text(msg))


class WechatChannel(Channel):
    name = OutboundChannel.WECHAT

    def send(self, msg: OutboundMessage) -> None:
        openid = ChannelBinding.objects.filter(
            user_id=msg.user_id, channel=OutboundChannel.WECHAT).values_list("address", flat=True).first()
        if not openid:
            raise Undeliverable("not bound")
        title, body, url = message_texts(msg)
        get_wechat_backend().send(openid=openid, kind=msg.kind, title=title, body=body, url=url)


class WebhookChannel(Channel):
    name = OutboundChannel.WEBHOOK

    def send(self, msg: OutboundMessage) -> None:
        sub = msg.subscription if msg.subscription_id else None
        if sub is None or not sub.is_active:
            raise Undeliverable("subscription removed or inactive")
        body = webhook_body(msg)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Yizhan-Webhook/1",
            "X-Yizhan-Event": msg.kind,
            "X-Yizhan-Delivery": str(msg.pk),
            "X-Yizhan-Timestamp": timestamp,
            "X-Yizhan-Signature": "sha256=" + webhook_signature(secret=sub.secret, timestamp=timestamp, body=body),
        }
        status = http_post(sub.url, body, headers)
        if not 200 <= status < 300:
            raise DeliveryError(f"HTTP {status}")


def webhook_body(msg: OutboundMessage) -> bytes:
    p = msg.payload
    user = msg.user if msg.user_id else None
    data = {
        "id": msg.pk,
        "event": msg.kind,
        "occurred_at": msg.created_at.astimezone(UTC).isoformat() if msg.created_at else None,
        "jurisdiction": p.get("jurisdiction"),
        "title": p.get("title"),
        "body": p.get("body"),
        "url": absolute_url(p.get("url", "")),
        "recipient": {"id": user.pk, "name": redact(str(user))} if user is not None else None,
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def webhook_verify(*, secret: str, timestamp: str, body: bytes, signature: str, tolerance: int = 300,
                   now: float | None = None) -> bool:
    """For receivers: the signature header matches and the timestamp is fresh."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except (TypeError, ValueError):
        return False
    expected = "sha256=" + webhook_signature(secret=secret, timestamp=timestamp, body=body)
    return age <= tolerance and hmac.compare_digest(expected, signature or "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a redirect is an answer (3xx), not a place to resend the payload


def http_post(url: str, body: bytes, headers: dict[str, str], *, timeout: float | None = None) -> int:
    """POST and return the status code (errors other than HTTP statuses raise)."""
    timeout = float(timeout if timeout is not None else _setting("YIZHAN_WEBHOOK_TIMEOUT_SECONDS", 5))
    opener = urllib.request.build_opener(_NoRedirect)
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with opener.open(req, timeout=timeout) as resp:
            resp.read(65536)
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(type(reason).__name__ if not isinstance(reason, str) else reason) from None


# ---- WeChat senders ---------------------------------------------------------------------------


def _mask_openid(openid: str) -> str:
    return f"{openid[:4]}…{openid[-2:]}" if len(openid) > 8 else "…"


class BaseWechatBackend:
    def send(self, *, openid: str, kind: str, title: str, body: str, url: str) -> None:  # pragma: no cover
        raise NotImplementedError


class ConsoleWechatBackend(BaseWechatBackend):
    """Prints the template message (development); tests read ``outbox``."""

    outbox: list[dict] = []
    _lock = threading.Lock()

    def send(self, *, openid, kind, title, body, url):
        with self._lock:
            type(self).outbox.append({"openid": openid, "kind": kind, "title": title, "body": body, "url": url})
            del type(self).outbox[:-100]
        print(f"[WeChat to {_mask_openid(openid)}] {title}" + (f": {body}" if body else ""), flush=True)


class FileWechatBackend(BaseWechatBackend):
    """Appends to ``var/wechat.log`` (demo servers without a console)."""

    def send(self, *, openid, kind, title, body, url):
        path = settings.VAR_DIR / "wechat.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{datetime.now(UTC).isoformat()} {_mask_openid(openid)} {kind} {title} {body} {url}\n")


class HttpWechatBackend(BaseWechatBackend):
    """The official-account template message API.

    Settings: ``YIZHAN_WECHAT_APPID``, ``YIZHAN_WECHAT_APPSECRET``,
    ``YIZHAN_WECHAT_TEMPLATES`` ({kind: template_id, "*": default}), ``YIZHAN_WECHAT_API_BASE``
    (default https://api.weixin.qq.com). Shape:

        GET  {base}/cgi-bin/token?grant_type=client_credential&appid=..&secret=..
             -> {"access_token": "...", "expires_in": 7200}     (cached until 5 min before expiry)
        POST {base}/cgi-bin/message/template/send?access_token=TOKEN
             {"touser": openid, "template_id": id, "url": url,
              "data": {"first": {"value": title}, "keyword1": {"value": title},
                       "keyword2": {"value": "2026-11-23 15:00"}, "remark": {"value": body}}}
             -> {"errcode": 0, "errmsg": "ok", "msgid": 1}

    errcode 40001/40014/42001 (token invalid or expired) drops the cached token; any
    non-zero errcode raises ``DeliveryError`` so the outbox retries.
    """

    TOKEN_KEY = "yizhan:wechat:access_token"

    def _base(self) -> str:
        return str(_setting("YIZHAN_WECHAT_API_BASE", "https://api.weixin.qq.com")).rstrip("/")

    def _json(self, req, timeout: float) -> dict:
        try:
            with urllib.request.build_opener(_NoRedirect).open(req, timeout=timeout) as resp:
                return json.loads(resp.read(65536).decode("utf-8"))
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            raise DeliveryError(f"wechat {type(exc).__name__}") from None

    def access_token(self, timeout: float) -> str:
        token = cache.get(self.TOKEN_KEY)
        if token:
            return token
        query = urllib.parse.urlencode({"grant_type": "client_credential",
                                        "appid": _setting("YIZHAN_WECHAT_APPID", ""),
                                        "secret": _setting("YIZHAN_WECHAT_APPSECRET", "")})
        data = self._json(urllib.request.Request(f"{self._base()}/cgi-bin/token?{query}"), timeout)
        token = data.get("access_token")
        if not token:
            raise DeliveryError(f"wechat token errcode {data.get('errcode')}")
        cache.set(self.TOKEN_KEY, token, timeout=max(60, int(data.get("expires_in", 7200)) - 300))
        return token

    def template_id(self, kind: str) -> str:
        templates = _setting("YIZHAN_WECHAT_TEMPLATES", {}) or {}
        if isinstance(templates, str):
            templates = json.loads(templates)
        tid = templates.get(kind) or templates.get("*")
        if not tid:
            raise Undeliverable(f"no WeChat template for {kind}")
        return tid

    def send(self, *, openid, kind, title, body, url):
        timeout = float(_setting("YIZHAN_WEBHOOK_TIMEOUT_SECONDS", 5))
        tid = self.template_id(kind)
        token = self.access_token(timeout)
        when = timezone.localtime().strftime("%Y-%m-%d %H:%M")
        payload = {"touser": openid, "template_id": tid, "url": url, "data": {
            "first": {"value": title}, "keyword1": {"value": title}, "keyword2": {"value": when},
            "remark": {"value": body}}}
        req = urllib.request.Request(
            f"{self._base()}/cgi-bin/message/template/send?access_token={urllib.parse.quote(token)}",
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
        data = self._json(req, timeout)
        errcode = int(data.get("errcode", 0) or 0)
        if errcode in (40001, 40014, 42001):
            cache.delete(self.TOKEN_KEY)
        if errcode:
            raise DeliveryError(f"wechat errcode {errcode}")


def get_wechat_backend() -> BaseWechatBackend:
    return import_string(_setting("YIZHAN_WECHAT_BACKEND", "yizhan.core.outbox.ConsoleWechatBackend"))()


CHANNELS: dict[str, Channel] = {
    c.name: c for c in (ConsoleChannel(), FileChannel(), SmsChannel(), WechatChannel(), WebhookChannel())
}


def get_channel(name: str) -> Channel:
    try:
        return CHANNELS[name]
    except KeyError:
        raise Undeliverable(f"unknown channel {name}") from None
