"""The outbox: which channels get a copy, queueing in the caller's transaction,
delivery with retries / backoff / dead letters, webhook signatures checked by a real
HTTP server on 127.0.0.1, the WeChat API shape against a fake on 127.0.0.1, and two
deliverers never sending one message twice (PostgreSQL)."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection, transaction
from django.utils import timezone

from yizhan.accounts.sms import ConsoleSmsBackend
from yizhan.core import outbox
from yizhan.core.errors import Message
from yizhan.core.models import (
    ChannelBinding,
    Notification,
    NotificationPreference,
    OutboundMessage,
    WebhookSubscription,
)
from yizhan.core.notifications import notify
from yizhan.core.testing.factories import make_staff, make_worker

pytestmark = pytest.mark.django_db

TITLE = Message("工单已派给你", "A case was dispatched to you")
BODY = Message("请联系报告人 13812345678 处理", "Call the reporter 13812345678")
SECRET = "s3cret-s3cret-s3cret-s3cret"


@pytest.fixture(autouse=True)
def _channels(settings):
    settings.YIZHAN_NOTIFY_CHANNELS = ["sms", "wechat", "webhook", "console"]
    settings.YIZHAN_NOTIFY_SMS_KINDS = ["case_dispatched", "case_overdue", "case_escalated", "case_handled"]
    settings.YIZHAN_NOTIFY_URGENT_KINDS = ["case_dispatched", "case_overdue", "case_escalated"]
    settings.YIZHAN_NOTIFY_MAX_ATTEMPTS = 4
    settings.YIZHAN_NOTIFY_BACKOFF_SECONDS = 30
    settings.YIZHAN_NOTIFY_BACKOFF_MAX_SECONDS = 3600
    settings.YIZHAN_NOTIFY_ENQUEUE = False
    settings.YIZHAN_SMS_BACKEND = "yizhan.accounts.sms.ConsoleSmsBackend"
    settings.YIZHAN_WECHAT_BACKEND = "yizhan.core.outbox.ConsoleWechatBackend"
    settings.YIZHAN_PUBLIC_URL = "https://yizhan.example.cn"
    outbox.ConsoleChannel.outbox.clear()
    outbox.ConsoleWechatBackend.outbox.clear()
    ConsoleSmsBackend.outbox.clear()


def channels_of(notification) -> list[str]:
    return sorted(OutboundMessage.objects.filter(notification=notification).values_list("channel", flat=True))


# ---- which channels -------------------------------------------------------------------------


def test_sms_and_console_for_an_sms_kind_to_a_user_with_a_phone():
    worker = make_worker()
    n = notify(user=worker, kind="case_dispatched", title=TITLE, body=BODY, url="/work/c/1/")
    assert Notification.objects.filter(pk=n.pk).exists()
    assert channels_of(n) == ["console", "sms"]


def test_not_an_sms_kind_no_sms():
    n = notify(user=make_worker(), kind="case_new", title=TITLE)
    assert channels_of(n) == ["console"]


def test_no_phone_no_sms(tree):
    staff = make_staff("handler", tree.community)  # no phone
    n = notify(user=staff, kind="case_overdue", title=TITLE)
    assert channels_of(n) == ["console"]


def test_wechat_only_when_bound():
    worker = make_worker()
    assert "wechat" not in channels_of(notify(user=worker, kind="case_new", title=TITLE))
    ChannelBinding.objects.create(user=worker, channel="wechat", address="oABCDEFG1234567890")
    assert channels_of(notify(user=worker, kind="case_new", title=TITLE)) == ["console", "wechat"]


def test_user_can_turn_off_sms_for_non_urgent_kinds_but_not_urgent_ones():
    worker = make_worker()
    assert "sms" in channels_of(notify(user=worker, kind="case_handled", title=TITLE))
    NotificationPreference.objects.create(user=worker, sms_non_urgent=False)
    assert "sms" not in channels_of(notify(user=worker, kind="case_handled", title=TITLE))
    assert "sms" in channels_of(notify(user=worker, kind="case_overdue", title=TITLE))


def test_channels_switched_off_by_setting(settings):
    settings.YIZHAN_NOTIFY_CHANNELS = []
    n = notify(user=make_worker(), kind="case_dispatched", title=TITLE)
    assert Notification.objects.filter(pk=n.pk).exists()
    assert channels_of(n) == []
    settings.YIZHAN_NOTIFY_CHANNELS = "file, sms"  # a comma string works too
    assert channels_of(notify(user=make_worker(), kind="case_dispatched", title=TITLE)) == ["file", "sms"]


def test_webhooks_of_the_events_jurisdiction_and_its_ancestors_only(tree):
    street = WebhookSubscription.objects.create(jurisdiction=tree.street, name="街道", url="http://127.0.0.1:1/",
                                                secret=SECRET)
    community = WebhookSubscription.objects.create(jurisdiction=tree.community, name="社区", secret=SECRET,
                                                   url="http://127.0.0.1:1/", kinds=["case_overdue"])
    other = WebhookSubscription.objects.create(jurisdiction=tree.other_community, name="别的社区", secret=SECRET,
                                               url="http://127.0.0.1:1/")
    WebhookSubscription.objects.create(jurisdiction=tree.city, name="停用", url="http://127.0.0.1:1/",
                                       secret=SECRET, is_active=False)
    worker = make_worker()

    def subs(n):
        return set(OutboundMessage.objects.filter(notification=n, channel="webhook")
                   .values_list("subscription_id", flat=True))

    assert subs(notify(user=worker, kind="case_overdue", title=TITLE, jurisdiction=tree.grid)) == {
        street.pk, community.pk}
    assert subs(notify(user=worker, kind="case_new", title=TITLE, jurisdiction=tree.grid)) == {street.pk}
    assert subs(notify(user=worker, kind="case_new", title=TITLE, jurisdiction=tree.grids[2])) == {
        street.pk, other.pk}
    assert subs(notify(user=worker, kind="case_new", title=TITLE, jurisdiction=tree.far_grid)) == set()
    # no jurisdiction given: the recipient's own (role grants, home community)
    handler = make_staff("handler", tree.other_community)
    assert subs(notify(user=handler, kind="case_new", title=TITLE)) == {street.pk, other.pk}
    assert subs(notify(user=make_worker(home_community=tree.community), kind="case_overdue", title=TITLE)) == {
        street.pk, community.pk}
    assert subs(notify(user=worker, kind="case_overdue", title=TITLE)) == set()  # belongs nowhere


# ---- queued with the caller's transaction ------------------------------------------------------


def test_outbound_texts_are_stored_with_phones_masked_and_no_phone_copied():
    worker = make_worker()
    n = notify(user=worker, kind="case_dispatched", title=TITLE, body=BODY)
    for msg in OutboundMessage.objects.filter(notification=n):
        dumped = json.dumps(msg.payload, ensure_ascii=False)
        assert "13812345678" not in dumped and "138****5678" in dumped
        assert worker.phone not in dumped


def test_rolled_back_savepoint_queues_nothing(django_capture_on_commit_callbacks):
    worker = make_worker()
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            notify(user=worker, kind="case_dispatched", title=TITLE)
            assert OutboundMessage.objects.count() == 2
            raise RuntimeError("the change failed")
    assert Notification.objects.count() == 0 and OutboundMessage.objects.count() == 0
    assert callbacks == []


def test_one_delivery_kick_per_transaction(settings, django_capture_on_commit_callbacks, monkeypatch):
    settings.YIZHAN_NOTIFY_ENQUEUE = True
    kicks = []

    class FakeTask:
        @staticmethod
        def enqueue():
            kicks.append(1)

    monkeypatch.setattr("yizhan.core.tasks.outbox_deliver", FakeTask)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            notify(user=make_worker(), kind="case_dispatched", title=TITLE)
            notify(user=make_worker(), kind="case_overdue", title=TITLE)
    assert kicks == [1]
    # nothing is sent inside the transaction: the task does it
    assert OutboundMessage.objects.filter(state="pending").count() == 4


@pytest.mark.django_db(transaction=True)
def test_committed_enqueues_the_task_rolled_back_sends_nothing(settings):
    from django_tasks_db.models import DBTaskResult

    settings.YIZHAN_NOTIFY_ENQUEUE = True
    worker, other = make_worker(), make_worker()
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(user=other, kind="case_dispatched", title=TITLE)
        raise RuntimeError("rolled back")
    assert OutboundMessage.objects.count() == 0 and DBTaskResult.objects.count() == 0
    with transaction.atomic():
        notify(user=worker, kind="case_dispatched", title=TITLE)
        assert DBTaskResult.objects.count() == 0  # not before commit
    assert list(DBTaskResult.objects.values_list("task_path", flat=True)) == ["yizhan.core.tasks.outbox_deliver"]
    assert outbox.outbound_deliver_due() == {"sent": 2}
    assert [m.phone for m in ConsoleSmsBackend.outbox] == [worker.phone]


# ---- delivery -------------------------------------------------------------------------------


def test_delivery_sends_sms_with_masked_text_and_marks_sent(capsys):
    worker = make_worker()
    n = notify(user=worker, kind="case_dispatched", title=TITLE, body=BODY, url="/work/c/1/")
    assert outbox.outbound_deliver_due() == {"sent": 2}
    (sms,) = ConsoleSmsBackend.outbox
    assert sms.phone == worker.phone
    assert sms.text == "【驿站】工单已派给你：请联系报告人 138****5678 处理 https://yizhan.example.cn/work/c/1/"
    assert outbox.ConsoleChannel.outbox[0]["title"] == "工单已派给你"
    rows = OutboundMessage.objects.filter(notification=n)
    assert {r.state for r in rows} == {"sent"} and all(r.sent_at and r.attempts == 1 for r in rows)
    assert worker.phone not in capsys.readouterr().out
    assert outbox.outbound_deliver_due() == {}  # idempotent: nothing left


def test_notifications_may_use_their_own_sms_backend(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.YIZHAN_NOTIFY_SMS_BACKEND = "yizhan.accounts.sms.FileSmsBackend"
    worker = make_worker()
    notify(user=worker, kind="case_overdue", title=TITLE, body=BODY)
    outbox.outbound_deliver_due()
    assert ConsoleSmsBackend.outbox == []
    line = (tmp_path / "sms.log").read_text(encoding="utf-8")
    assert "【驿站】工单已派给你" in line and worker.phone not in line


def test_english_speakers_get_english_sms():
    worker = make_worker()
    worker.preferred_language = "en"
    worker.save(update_fields=["preferred_language"])
    notify(user=worker, kind="case_overdue", title=TITLE)
    outbox.outbound_deliver_due()
    assert ConsoleSmsBackend.outbox[0].text == "[Yizhan] A case was dispatched to you"


def test_wechat_template_message_to_the_bound_openid():
    worker = make_worker()
    ChannelBinding.objects.create(user=worker, channel="wechat", address="oABCDEFG1234567890")
    notify(user=worker, kind="case_new", title=TITLE, body=BODY, url="/reports/c/X/")
    outbox.outbound_deliver_due()
    (msg,) = outbox.ConsoleWechatBackend.outbox
    assert msg == {"openid": "oABCDEFG1234567890", "kind": "case_new", "title": "工单已派给你",
                   "body": "请联系报告人 138****5678 处理", "url": "https://yizhan.example.cn/reports/c/X/"}


class Boom(outbox.Channel):
    name = "console"

    def __init__(self):
        self.calls = 0

    def send(self, msg):
        self.calls += 1
        raise outbox.DeliveryError(f"gateway said no to {msg.user.phone}")  # must be masked when stored


def test_retries_with_exponential_backoff_then_dead(monkeypatch, caplog, settings):
    settings.YIZHAN_NOTIFY_CHANNELS = ["console"]
    boom = Boom()
    monkeypatch.setitem(outbox.CHANNELS, "console", boom)
    worker = make_worker()
    notify(user=worker, kind="case_new", title=TITLE)
    msg = OutboundMessage.objects.get()
    caplog.set_level(logging.INFO, logger="yizhan.outbox")
    t0 = timezone.now()

    assert outbox.outbound_deliver_due(now=t0) == {"failed": 1}
    msg.refresh_from_db()
    assert (msg.state, msg.attempts) == ("failed", 1)
    assert timedelta(seconds=29) < msg.next_attempt_at - t0 < timedelta(seconds=35)
    assert msg.last_error.startswith("DeliveryError: gateway said no to ")
    assert worker.phone not in msg.last_error and worker.phone[:3] + "****" in msg.last_error

    assert outbox.outbound_deliver_due(now=t0 + timedelta(seconds=10)) == {}  # not due yet
    assert boom.calls == 1
    waits = []
    for _ in range(2):
        before = timezone.now()
        assert outbox.outbound_deliver_due(now=msg.next_attempt_at) == {"failed": 1}
        msg.refresh_from_db()
        waits.append(round((msg.next_attempt_at - before).total_seconds()))
    assert waits == [60, 120]  # 30 · 2^(n-1)
    assert outbox.outbound_deliver_due(now=msg.next_attempt_at) == {"dead": 1}
    msg.refresh_from_db()
    assert (msg.state, msg.attempts, boom.calls) == ("dead", 4, 4)
    assert outbox.outbound_deliver_due(now=t0 + timedelta(days=1)) == {}  # dead stays dead
    assert worker.phone not in caplog.text
    assert "dead after 4 attempts" in caplog.text


def test_backoff_is_capped(settings):
    settings.YIZHAN_NOTIFY_BACKOFF_SECONDS = 30
    settings.YIZHAN_NOTIFY_BACKOFF_MAX_SECONDS = 600
    assert [outbox.backoff_seconds(n) for n in (1, 2, 3, 4, 5, 6)] == [30, 60, 120, 240, 480, 600]


def test_nobody_to_send_to_any_more_is_skipped_not_retried():
    worker = make_worker()
    ChannelBinding.objects.create(user=worker, channel="wechat", address="oXYZ1234567890")
    notify(user=worker, kind="case_overdue", title=TITLE)
    worker.phone = None
    worker.save(update_fields=["phone"])
    ChannelBinding.objects.all().delete()
    assert outbox.outbound_deliver_due() == {"sent": 1, "skipped": 2}
    assert ConsoleSmsBackend.outbox == []


def test_a_deliverer_that_died_mid_send_is_taken_over_after_the_lease():
    notify(user=make_worker(), kind="case_new", title=TITLE)
    now = timezone.now()
    (claimed,) = outbox._claim(now=now, batch=10)  # a deliverer claims it, then dies
    assert outbox.outbound_deliver_due(now=now) == {}  # leased: nobody else takes it
    later = now + timedelta(seconds=301)
    assert outbox.outbound_deliver_due(now=later) == {"sent": 1}
    # the dead deliverer's late finish does not overwrite the new outcome
    assert outbox._finish(claimed, state="failed", last_error="late") is False
    assert OutboundMessage.objects.get().state == "sent"


def test_scheduler_job_sweeps_due_messages():
    from yizhan.core.jobs import outbox_deliver_due_job

    notify(user=make_worker(), kind="case_dispatched", title=TITLE)
    assert outbox_deliver_due_job() == {"sent": 2}


def test_prune_forgets_old_sent_rows_but_keeps_dead_ones():
    notify(user=make_worker(), kind="case_new", title=TITLE)
    notify(user=make_worker(), kind="case_new", title=TITLE)
    outbox.outbound_deliver_due()
    OutboundMessage.objects.filter(pk=OutboundMessage.objects.first().pk).update(state="dead")
    OutboundMessage.objects.update(created_at=timezone.now() - timedelta(days=31))
    assert outbox.outbound_prune(days=30) == 1
    assert list(OutboundMessage.objects.values_list("state", flat=True)) == ["dead"]


# ---- webhooks against a real HTTP server on 127.0.0.1 ------------------------------------------


class Receiver:
    """A tiny HTTP server that records requests and answers with ``status``; with a
    ``secret`` it checks the signature as a real receiver would (401 when wrong)."""

    def __init__(self, status=200, secret: str | None = None):
        self.status = status
        self.secret = secret
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                valid = receiver.secret is None or outbox.webhook_verify(
                    secret=receiver.secret, timestamp=self.headers.get("X-Yizhan-Timestamp", ""),
                    body=body, signature=self.headers.get("X-Yizhan-Signature", ""))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                          "valid": valid})
                self.send_response(receiver.status if valid else 401)
                if 300 <= receiver.status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?x=1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver(secret=SECRET)
    yield r
    r.close()


def test_webhook_with_a_wrong_secret_is_refused_by_the_receiver_and_retried(tree, receiver):
    sub = WebhookSubscription.objects.create(jurisdiction=tree.community, name="x", url=receiver.url,
                                             secret="not-the-receivers-secret")
    notify(user=make_worker(), kind="case_new", title=TITLE, jurisdiction=tree.community)
    assert outbox.outbound_deliver_due() == {"sent": 1, "failed": 1}
    assert [r["valid"] for r in receiver.requests] == [False]
    msg = sub.messages.get()
    assert msg.last_error == "DeliveryError: HTTP 401"
    sub.secret = SECRET  # the admin fixes the secret; the retry goes through
    sub.save()
    assert outbox.outbound_deliver_due(now=msg.next_attempt_at) == {"sent": 1}
    assert [r["valid"] for r in receiver.requests] == [False, True]


def test_webhook_post_is_signed_and_verifiable(tree, receiver):
    sub = WebhookSubscription.objects.create(jurisdiction=tree.community, name="区指挥中心", url=receiver.url,
                                             secret=SECRET, kinds=["case_overdue"])
    handler = make_staff("handler", tree.community, display_name="张师傅")
    notify(user=handler, kind="case_overdue", title=TITLE, body=BODY, url="/work/c/SZ-1/",
           jurisdiction=tree.grid)
    assert outbox.outbound_deliver_due() == {"sent": 2}
    (req,) = receiver.requests
    assert req["valid"]  # the receiver checked the signature itself
    headers = {k.lower(): v for k, v in req["headers"].items()}
    assert req["path"] == "/hook?x=1"
    assert headers["content-type"].startswith("application/json")
    assert headers["x-yizhan-event"] == "case_overdue"
    msg = OutboundMessage.objects.get(channel="webhook")
    assert headers["x-yizhan-delivery"] == str(msg.pk)
    assert outbox.webhook_verify(secret=SECRET, timestamp=headers["x-yizhan-timestamp"], body=req["body"],
                                 signature=headers["x-yizhan-signature"])
    assert not outbox.webhook_verify(secret="another-secret-another", timestamp=headers["x-yizhan-timestamp"],
                                     body=req["body"], signature=headers["x-yizhan-signature"])
    assert not outbox.webhook_verify(secret=SECRET, timestamp=headers["x-yizhan-timestamp"],
                                     body=req["body"] + b" ", signature=headers["x-yizhan-signature"])
    assert not outbox.webhook_verify(secret=SECRET, timestamp=headers["x-yizhan-timestamp"], body=req["body"],
                                     signature=headers["x-yizhan-signature"], now=time.time() + 3600)
    data = json.loads(req["body"])
    assert data["id"] == msg.pk and data["event"] == "case_overdue"
    assert data["jurisdiction"] == {"code": tree.grid.code, "path": tree.grid.path}
    assert data["title"] == {"zh": "工单已派给你", "en": "A case was dispatched to you"}
    assert data["body"]["zh"] == "请联系报告人 138****5678 处理"
    assert data["url"] == "https://yizhan.example.cn/work/c/SZ-1/"
    assert data["recipient"] == {"id": handler.pk, "name": "张师傅"}
    assert "13812345678" not in req["body"].decode()
    assert sub.messages.get().state == "sent"


@pytest.mark.parametrize("status", [500, 302, 404])
def test_webhook_non_2xx_is_retried_and_redirects_are_not_followed(tree, status):
    receiver = Receiver(status=status)
    try:
        WebhookSubscription.objects.create(jurisdiction=tree.community, name="x", url=receiver.url, secret=SECRET)
        notify(user=make_worker(), kind="case_new", title=TITLE, jurisdiction=tree.community)
        assert outbox.outbound_deliver_due() == {"sent": 1, "failed": 1}
        msg = OutboundMessage.objects.get(channel="webhook")
        assert msg.last_error == f"DeliveryError: HTTP {status}"
        assert [r["path"] for r in receiver.requests] == ["/hook?x=1"]  # /elsewhere never asked
        receiver.status = 204
        assert outbox.outbound_deliver_due(now=msg.next_attempt_at) == {"sent": 1}
        assert len(receiver.requests) == 2
    finally:
        receiver.close()


def test_webhook_unreachable_is_retried_without_leaking_the_url(tree):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens there now
    WebhookSubscription.objects.create(jurisdiction=tree.community, name="x", secret=SECRET,
                                       url=f"http://127.0.0.1:{port}/token=abc")
    notify(user=make_worker(), kind="case_new", title=TITLE, jurisdiction=tree.community)
    outbox.outbound_deliver_due()
    msg = OutboundMessage.objects.get(channel="webhook")
    assert msg.state == "failed" and msg.last_error.startswith("DeliveryError")
    assert "token=abc" not in msg.last_error


def test_webhook_of_a_deactivated_subscription_is_skipped(tree, receiver):
    sub = WebhookSubscription.objects.create(jurisdiction=tree.community, name="x", url=receiver.url,
                                             secret=SECRET)
    notify(user=make_worker(), kind="case_new", title=TITLE, jurisdiction=tree.community)
    sub.is_active = False
    sub.save()
    assert outbox.outbound_deliver_due() == {"sent": 1, "skipped": 1}
    assert receiver.requests == []


# ---- the WeChat API shape, against a fake on 127.0.0.1 ------------------------------------------


class FakeWechat:
    def __init__(self):
        self.tokens_issued = 0
        self.sent: list[dict] = []
        self.errcodes: list[int] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, data):
                raw = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):  # noqa: N802
                assert self.path.startswith("/cgi-bin/token?grant_type=client_credential&appid=wxAPP&secret=")
                fake.tokens_issued += 1
                self._json({"access_token": f"T{fake.tokens_issued}", "expires_in": 7200})

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.sent.append({"path": self.path, "body": body})
                code = fake.errcodes.pop(0) if fake.errcodes else 0
                self._json({"errcode": code, "errmsg": "ok" if not code else "bad", "msgid": 1})

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_http_wechat_backend_token_template_and_expired_token(settings):
    from django.core.cache import cache

    fake = FakeWechat()
    try:
        settings.YIZHAN_WECHAT_BACKEND = "yizhan.core.outbox.HttpWechatBackend"
        settings.YIZHAN_WECHAT_API_BASE = fake.base
        settings.YIZHAN_WECHAT_APPID = "wxAPP"
        settings.YIZHAN_WECHAT_APPSECRET = "appsecret"
        settings.YIZHAN_WECHAT_TEMPLATES = json.dumps({"case_new": "TPL-NEW", "*": "TPL-ANY"})
        settings.YIZHAN_NOTIFY_CHANNELS = ["wechat"]
        cache.delete(outbox.HttpWechatBackend.TOKEN_KEY)
        worker = make_worker()
        ChannelBinding.objects.create(user=worker, channel="wechat", address="oOPENID12345")
        notify(user=worker, kind="case_new", title=TITLE, body=BODY, url="/reports/c/1/")
        notify(user=worker, kind="case_closed", title=TITLE)
        assert outbox.outbound_deliver_due() == {"sent": 2}
        assert fake.tokens_issued == 1  # cached
        first = fake.sent[0]
        assert first["path"] == "/cgi-bin/message/template/send?access_token=T1"
        assert first["body"]["touser"] == "oOPENID12345" and first["body"]["template_id"] == "TPL-NEW"
        assert first["body"]["url"] == "https://yizhan.example.cn/reports/c/1/"
        assert first["body"]["data"]["first"] == {"value": "工单已派给你"}
        assert first["body"]["data"]["remark"] == {"value": "请联系报告人 138****5678 处理"}
        assert fake.sent[1]["body"]["template_id"] == "TPL-ANY"
        # an expired token: the attempt fails, the token is dropped, the retry gets a new one
        fake.errcodes = [42001]
        notify(user=worker, kind="case_new", title=TITLE)
        assert outbox.outbound_deliver_due() == {"failed": 1}
        msg = OutboundMessage.objects.get(state="failed")
        assert msg.last_error == "DeliveryError: wechat errcode 42001"
        assert outbox.outbound_deliver_due(now=msg.next_attempt_at) == {"sent": 1}
        assert fake.tokens_issued == 2 and fake.sent[-1]["path"].endswith("access_token=T2")
    finally:
        fake.close()
        cache.delete(outbox.HttpWechatBackend.TOKEN_KEY)


# ---- two deliverers, one send (PostgreSQL row locks) ----------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="real row locks need PostgreSQL")
def test_two_deliverers_never_send_one_message_twice(settings, monkeypatch):
    settings.YIZHAN_NOTIFY_CHANNELS = ["console"]
    settings.YIZHAN_NOTIFY_CLAIM_SIZE = 3
    sent: list[int] = []
    lock = threading.Lock()

    class Slow(outbox.Channel):
        name = "console"

        def send(self, msg):
            time.sleep(0.01)
            with lock:
                sent.append(msg.pk)

    monkeypatch.setitem(outbox.CHANNELS, "console", Slow())
    worker = make_worker()
    for i in range(40):
        notify(user=worker, kind="case_new", title=Message(f"第 {i} 条", f"No. {i}"))
    results = []
    start = threading.Barrier(2)

    def deliver():
        try:
            start.wait()
            results.append(outbox.outbound_deliver_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sent) == 40 and len(set(sent)) == 40
    assert sum(r.get("sent", 0) for r in results) == 40
    assert all(r.get("sent", 0) > 0 for r in results)  # both really worked, in parallel
    assert set(OutboundMessage.objects.values_list("state", flat=True)) == {"sent"}
    assert set(OutboundMessage.objects.values_list("attempts", flat=True)) == {1}


# ---- support: requeue, counts, the command ---------------------------------------------------------


def test_dead_messages_can_be_requeued_by_superusers_and_the_command(monkeypatch, settings):
    from django.core.management import call_command

    from yizhan.core.errors import PermissionDenied
    from yizhan.core.testing.factories import make_superuser

    settings.YIZHAN_NOTIFY_CHANNELS = ["console"]
    settings.YIZHAN_NOTIFY_MAX_ATTEMPTS = 1
    monkeypatch.setitem(outbox.CHANNELS, "console", Boom())
    worker = make_worker()
    notify(user=worker, kind="case_new", title=TITLE)
    notify(user=worker, kind="case_new", title=TITLE)
    assert outbox.outbound_deliver_due() == {"dead": 2}
    assert outbox.outbound_counts() == {"console": {"dead": 2}}
    with pytest.raises(PermissionDenied):
        outbox.outbound_retry(actor=worker)
    first = OutboundMessage.objects.order_by("id").first()
    assert outbox.outbound_retry(actor=make_superuser(), ids=[first.pk]) == 1
    first.refresh_from_db()
    assert (first.state, first.attempts) == ("pending", 0)

    monkeypatch.setitem(outbox.CHANNELS, "console", outbox.ConsoleChannel())
    from io import StringIO

    out = StringIO()
    call_command("outbox", "--retry-dead", "--deliver", stdout=out)
    assert out.getvalue().splitlines() == ["requeued 1", "delivered: sent 2", "console  sent 2"]


def test_superuser_requeues_from_the_admin(client, monkeypatch, settings):
    from yizhan.core.testing.factories import make_superuser

    settings.YIZHAN_NOTIFY_CHANNELS = ["console"]
    settings.YIZHAN_NOTIFY_MAX_ATTEMPTS = 1
    monkeypatch.setitem(outbox.CHANNELS, "console", Boom())
    notify(user=make_worker(), kind="case_new", title=TITLE)
    outbox.outbound_deliver_due()
    msg = OutboundMessage.objects.get()
    client.force_login(make_superuser())
    resp = client.post("/admin/core/outboundmessage/", {"action": "retry", "_selected_action": [msg.pk]})
    assert resp.status_code == 302
    msg.refresh_from_db()
    assert msg.state == "pending"
