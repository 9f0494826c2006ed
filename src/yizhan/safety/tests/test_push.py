"""HTTP push (``POST /api/v1/safety/push``): HMAC-signed, timestamped, replay refused.
Every refusal is a 4xx with ``{"code","message":{"zh","en"},"field"}``, is counted as an
IngestReject row and writes nothing else."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from yizhan.safety.ingest.pipeline import pipeline_forget
from yizhan.safety.models import Alarm, DeviceEvent, IngestReject
from yizhan.safety.push import push_keys, push_signature

pytestmark = pytest.mark.django_db
URL = "/api/v1/safety/push"
KEY, SECRET = "ctwing", "s3cret-key-of-the-platform"


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    monkeypatch.setenv("YIZHAN_PUSH_KEYS", f"{KEY}:{SECRET},short:tooshort")
    pipeline_forget()
    yield
    pipeline_forget()


def push(client, payload, *, key=KEY, secret=SECRET, ts=None, nonce=None, signature=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    ts = str(int(time.time()) if ts is None else ts)
    nonce = nonce or uuid.uuid4().hex
    sig = signature or push_signature(secret, ts, nonce, body)
    return client.post(URL, data=body, content_type="application/json", HTTP_X_YIZHAN_KEY=key,
                       HTTP_X_YIZHAN_TIMESTAMP=ts, HTTP_X_YIZHAN_NONCE=nonce, HTTP_X_YIZHAN_SIGNATURE=sig)


def alarm_body(code, seq=11):
    return {"device": code, "seq": seq, "ts": int(time.time()), "battery": 80, "event": "alarm",
            "values": {"smoke_obscuration": 0.4}}


def assert_refused(resp, status, code, field):
    assert resp.status_code == status, resp.content
    body = resp.json()
    assert body["code"] == code and body["field"] == field
    assert body["message"]["zh"] and body["message"]["en"]
    assert not DeviceEvent.objects.exists() and not Alarm.objects.exists()
    assert IngestReject.objects.filter(channel="http", reason=code).count() == 1


def test_keys_need_a_long_secret():
    assert push_keys({"YIZHAN_PUSH_KEYS": "a:0123456789abcdef, b:short ,c"}) == {"a": "0123456789abcdef"}


def test_good_signature_raises_the_alarm_once(client, safety_tree):
    resp = push(client, alarm_body(safety_tree.smoke.code))
    assert resp.status_code == 200, resp.content
    assert resp.json()["result"] == "alarm"
    alarm = Alarm.objects.get(device=safety_tree.smoke, kind="smoke")
    assert resp.json()["alarm"] == alarm.id and alarm.channel == "http"
    again = push(client, alarm_body(safety_tree.smoke.code))  # same seq, new nonce: the device's retry
    assert again.status_code == 200 and again.json()["result"] == "duplicate"
    assert Alarm.objects.count() == 1 and DeviceEvent.objects.count() == 1
    assert not IngestReject.objects.exists()


def test_bad_signature(client, safety_tree):
    resp = push(client, alarm_body(safety_tree.smoke.code), signature="0" * 64)
    assert_refused(resp, 403, "bad_signature", "signature")


def test_unknown_key_and_short_secret_refused(client, safety_tree):
    resp = push(client, alarm_body(safety_tree.smoke.code), key="nobody", secret=SECRET)
    assert_refused(resp, 403, "bad_signature", "key")
    resp = push(client, alarm_body(safety_tree.smoke.code), key="short", secret="tooshort")
    assert resp.status_code == 403 and resp.json()["field"] == "key"


def test_stale_timestamp(client, safety_tree):
    resp = push(client, alarm_body(safety_tree.smoke.code), ts=int(time.time()) - 301)
    assert_refused(resp, 403, "stale_timestamp", "timestamp")


def test_replay_refused(client, safety_tree):
    body = json.dumps(alarm_body(safety_tree.gas.code, seq=5) | {"values": {}, "event": "heartbeat"}).encode()
    ts, nonce = str(int(time.time())), uuid.uuid4().hex
    sig = push_signature(SECRET, ts, nonce, body)
    first = push(client, None, raw=body, ts=ts, nonce=nonce, signature=sig)
    assert first.status_code == 200, first.content
    replay = push(client, None, raw=body, ts=ts, nonce=nonce, signature=sig)
    assert replay.status_code == 409
    assert replay.json()["code"] == "replayed_message" and replay.json()["field"] == "nonce"
    assert IngestReject.objects.filter(channel="http", reason="replayed_message").count() == 1


def test_unknown_device(client, safety_tree):
    resp = push(client, alarm_body("NO-SUCH-DEVICE"))
    assert resp.status_code == 400, resp.content
    body = resp.json()
    assert body["code"] == "unknown_device" and body["field"] == "device"
    assert not DeviceEvent.objects.exists() and not Alarm.objects.exists()
    assert IngestReject.objects.filter(channel="http", reason="unknown_device").count() == 1


@pytest.mark.parametrize("raw, field", [
    (b"{not json", "payload"),
    (b"[1, 2]", "device"),
    (b'{"seq": 1}', "device"),
    (b'{"device": "T-SMOKE-1", "event": "explode"}', "event"),
])
def test_bad_json(client, safety_tree, raw, field):
    resp = push(client, None, raw=raw)
    assert_refused(resp, 400, "malformed_message", field)


def test_impossible_value(client, safety_tree):
    resp = push(client, {"device": safety_tree.smoke.code, "seq": 1, "battery": 180})
    assert_refused(resp, 400, "impossible_value", "battery")
