"""A confirmed fire is forwarded to the 119 interface: a signed JSON POST (HMAC-SHA256
over the body), sent right after the commit that confirmed it, retried on failure, and
recorded on the dispatch. A real HTTP server on 127.0.0.1 receives it."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import TestCase
from django.utils import timezone

from yizhan.core.errors import AppError
from yizhan.core.testing.factories import make_staff
from yizhan.safety import errors as E
from yizhan.safety.choices import AlarmKind
from yizhan.safety.models import Assignment, Dispatch
from yizhan.safety.services import dispatch as svc
from yizhan.safety.tests.dispatch_kit import make_alarm

pytestmark = pytest.mark.django_db
SECRET = "test-119-secret-0123456789"


class Receiver:
    """A 119 endpoint: answers the queued statuses in turn (then 200), keeps what it got."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.got: list[tuple[dict, bytes, float]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.got.append((dict(self.headers), body, time.monotonic()))
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/119/alarms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    r = Receiver()
    settings.YIZHAN_119_URL = r.url
    settings.YIZHAN_119_SECRET = SECRET
    yield r
    r.close()


@pytest.fixture
def fire(safety_tree):
    st = safety_tree
    alarm = make_alarm(st.smoke, kind=AlarmKind.FIRE)
    d = svc.dispatch_start(alarm=alarm)
    a = Assignment.objects.get(dispatch=d, responder__user=st.grid_worker)
    h = st.rental_house
    a = svc.assignment_act(actor=st.grid_worker, assignment=a, action="arrive", lat=h.lat, lng=h.lng)
    return st, d, a


def _verify(headers, body) -> bool:
    mac = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, headers["X-Yizhan-Signature"])


def test_confirmed_fire_reaches_119_signed_within_3_s_of_the_commit(fire, receiver, monkeypatch):
    st, d, a = fire
    # the thread would use its own connection (this test's data is not committed): run it here
    monkeypatch.setattr(svc, "start_forward_thread", lambda pk: svc.forward_119(pk))
    t0 = time.monotonic()
    with TestCase.captureOnCommitCallbacks(execute=True):
        svc.assignment_act(actor=st.grid_worker, assignment=a, action="resolve", outcome="real_fire", note="厨房起火")
    assert len(receiver.got) == 1
    headers, body, at = receiver.got[0]
    assert at - t0 < 3.0
    assert _verify(headers, body)
    assert headers["X-Yizhan-Delivery"] == f"dispatch-{d.pk}" and headers["X-Yizhan-Event"] == "fire_confirmed"
    payload = json.loads(body)
    assert payload["event"] == "fire_confirmed" and payload["dispatch_id"] == d.pk
    assert payload["place"]["address"] == st.rental_house.address and payload["alarm"]["device"] == st.smoke.code
    assert payload["outcome"] == "real_fire"
    assert "landlord_phone" not in json.dumps(payload)
    d.refresh_from_db()
    assert d.forwarded_119_at is not None and d.forward_119_status == "sent 1"


def test_failures_are_retried_with_back_off_then_by_the_scheduler(fire, receiver):
    st, d, a = fire
    Dispatch.objects.filter(pk=d.pk).update(forward_119_status="pending")
    receiver.statuses = [500, 503]
    waits = []
    assert svc.forward_119(d.pk, sleep=waits.append) is True
    assert waits == [0.5, 1.0] and len(receiver.got) == 3
    assert all(_verify(h, b) for h, b, _ in receiver.got)
    d.refresh_from_db()
    assert d.forward_119_status == "sent 3" and d.forwarded_119_at
    # sent once: a second call sends nothing
    assert svc.forward_119(d.pk, sleep=waits.append) is True and len(receiver.got) == 3


def test_a_119_that_stays_down_is_failed_then_retried_by_the_job(fire, receiver):
    st, d, a = fire
    receiver.statuses = [500] * 5
    assert svc.forward_119(d.pk, sleep=lambda s: None) is False
    d.refresh_from_db()
    assert d.forward_119_status == "failed 5: HTTP 500" and d.forwarded_119_at is None
    assert svc.forward_119_retry_due(sleep=lambda s: None) == 1  # the 119 side is back
    d.refresh_from_db()
    assert d.forward_119_status == "sent 6" and d.forwarded_119_at


def test_wrong_secret_does_not_verify(fire, receiver, settings):
    st, d, a = fire
    settings.YIZHAN_119_SECRET = "another-secret-xxxxxxxxxxxx"
    svc.forward_119(d.pk, sleep=lambda s: None)
    headers, body, _ = receiver.got[0]
    assert not _verify(headers, body)


def test_not_configured_is_recorded(fire, settings):
    st, d, a = fire
    settings.YIZHAN_119_URL = ""
    assert svc.forward_119(d.pk) is False
    d.refresh_from_db()
    assert d.forward_119_status == "not_configured"


def test_a_stale_sending_row_is_retried(fire, receiver):
    st, d, a = fire
    Dispatch.objects.filter(pk=d.pk).update(forward_119_status="sending 1",
                                            updated_at=timezone.now() - timedelta(minutes=5))
    assert svc.forward_119_retry_due() == 1


def test_duty_officer_confirms_a_fire_before_resolution(fire, monkeypatch):
    st, d, a = fire
    started = []
    monkeypatch.setattr(svc, "start_forward_thread", started.append)
    with pytest.raises(AppError) as err:
        svc.dispatch_confirm_fire(actor=make_staff("duty_officer", st.tree.other_community), dispatch=d)
    assert err.value.status == 403
    with TestCase.captureOnCommitCallbacks(execute=True):
        svc.dispatch_confirm_fire(actor=st.duty_officer, dispatch=d)
    d.refresh_from_db()
    assert started == [d.pk] and d.forward_119_status == "pending"
    # a second confirmation does not send again
    with TestCase.captureOnCommitCallbacks(execute=True):
        svc.dispatch_confirm_fire(actor=st.duty_officer, dispatch=d)
    assert started == [d.pk]


def test_a_false_alarm_is_not_forwarded(fire):
    st, d, a = fire
    svc.assignment_act(actor=st.grid_worker, assignment=a, action="resolve", outcome="false_alarm")
    with pytest.raises(E.NoFireToForward):
        svc.dispatch_confirm_fire(actor=st.duty_officer, dispatch=d)


def test_the_target_comes_from_the_environment_without_a_setting(settings, monkeypatch):
    for name in ("YIZHAN_119_URL", "YIZHAN_119_SECRET"):
        if hasattr(settings, name):
            delattr(settings, name)
    monkeypatch.setenv("YIZHAN_119_URL", "https://119.example.cn/hook")
    monkeypatch.setenv("YIZHAN_119_SECRET", "s3cret-value-123456")
    assert svc.forward_119_target() == ("https://119.example.cn/hook", "s3cret-value-123456")
