"""The wall's change feed and its server-sent-events stream.

The stream is driven through Django's AsyncClient (the ASGI path ``yizhan web`` serves)
inside ``async_to_sync``: the feed's polls run ``thread_sensitive`` in this test's
thread, so they read this test's (uncommitted) rows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient
from django.utils import timezone

from yizhan.core.testing.factories import make_worker
from yizhan.safety.choices import AlarmKind, AlarmState, AssignmentState, Severity
from yizhan.safety.models import Alarm
from yizhan.safety.selectors import wall as feed_mod
from yizhan.safety.selectors.wall import WallFeed, cursor_from_id, cursor_to_id
from yizhan.safety.tests.wall_data import make_alarm, make_dispatch
from yizhan.safety.views import wall as wall_views

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outside_playwright_loop")]

STREAM = "/safety/wall/stream/"


def parse(frames) -> list[dict]:
    """SSE frames -> [{"event", "id", "data"}] (comments dropped)."""
    text = b"".join(frames).decode() if isinstance(frames, list) else frames
    out = []
    for block in text.split("\n\n"):
        ev = {}
        for line in block.splitlines():
            if line.startswith(":") or not line:
                continue
            name, _, value = line.partition(": ")
            if name == "data":
                ev["data"] = json.loads(value)
            else:
                ev[name] = value
        if "event" in ev:
            out.append(ev)
    return out


def events_of(frames, name):
    """Events called ``name`` of raw frames (bytes list / text) or of already parsed events."""
    evs = frames if isinstance(frames, list) and frames and isinstance(frames[0], dict) else parse(frames)
    return [e for e in evs if e["event"] == name]


# ---- the feed ------------------------------------------------------------------------------


def test_feed_sends_changes_once_scoped_and_in_order(safety_tree):
    st = safety_tree
    feed = WallFeed(user=st.duty_officer, since=timezone.now() - timedelta(seconds=1))
    first = parse(feed.poll())  # the responders written just now, and the header's counts
    assert {e["event"] for e in first} == {"responder", "counts"}
    assert events_of(first, "counts")[0]["data"]["active_alarms"] == 0
    assert parse(feed.poll()) == []  # nothing changed since, counts unchanged

    fire = make_alarm(st.smoke, AlarmKind.FIRE, Severity.CRITICAL)
    make_alarm(st.other_device, AlarmKind.SMOKE)  # community B: never on A's wall
    got = parse(feed.poll())
    alarms = [e for e in got if e["event"] == "alarm"]
    assert [e["data"]["id"] for e in alarms] == [fire.pk]
    assert alarms[0]["data"]["kind"] == "fire" and alarms[0]["data"]["place"]["name"] == "东渚出租房1"
    assert alarms[0]["id"] == cursor_to_id(Alarm.objects.get(pk=fire.pk).updated_at)
    counts = [e for e in got if e["event"] == "counts"]
    assert counts and counts[0]["data"]["active_alarms"] == 1 and counts[0]["data"]["fire"] == 1

    assert events_of(feed.poll(), "alarm") == []  # sent once, not again while in the lag window

    Alarm.objects.filter(pk=fire.pk).update(state=AlarmState.ACKNOWLEDGED, acknowledged_at=timezone.now(),
                                            updated_at=timezone.now())
    acked = events_of(feed.poll(), "alarm")
    assert [(e["data"]["id"], e["data"]["state"]) for e in acked] == [(fire.pk, "acknowledged")]

    Alarm.objects.filter(pk=fire.pk).update(state=AlarmState.CLEARED, open=False, cleared_at=timezone.now(),
                                            updated_at=timezone.now())
    cleared = events_of(feed.poll(), "alarm_cleared")
    assert [e["data"]["id"] for e in cleared] == [fire.pk]


def test_feed_assignments_and_responders(safety_tree):
    st = safety_tree
    fire = make_alarm(st.smoke, AlarmKind.FIRE, Severity.CRITICAL, ago=20)
    feed = WallFeed(user=st.duty_officer)
    feed.poll()
    dispatch, rows = make_dispatch(fire, st.responders, notified_ago=15)
    got = events_of(feed.poll(), "assignment")
    assert len(got) == 1
    d = got[0]["data"]
    assert d["id"] == dispatch.pk and d["alarm"] == fire.pk and d["open"] is True
    assert [a["responder"]["name"] for a in d["assignments"]] == ["网格员", "微站队员"]
    assert d["started_at"] and d["notified_at"]

    rows[0].state = AssignmentState.ACKNOWLEDGED
    rows[0].acknowledged_at = timezone.now()
    rows[0].save()
    again = events_of(feed.poll(), "assignment")
    assert again[0]["data"]["assignments"][0]["state"] == "acknowledged"
    assert again[0]["data"]["assignments"][0]["acknowledged_at"]

    r = st.responders[0]
    r.lat, r.lng = r.lat + 0.001, r.lng
    r.save()
    moved = events_of(feed.poll(), "responder")
    assert [(e["data"]["id"], e["data"]["lat"]) for e in moved] == [(r.pk, r.lat)]
    r.on_duty = False
    r.save()
    off = events_of(feed.poll(), "responder")[0]["data"]
    assert off["on_duty"] is False and off["lat"] is None  # no position off duty


def test_feed_resumes_from_a_cursor(safety_tree):
    st = safety_tree
    before = timezone.now() - timedelta(seconds=1)
    fire = make_alarm(st.smoke, AlarmKind.FIRE)
    resumed = WallFeed(user=st.duty_officer, since=cursor_from_id(cursor_to_id(before)))
    assert [e["data"]["id"] for e in events_of(resumed.poll(), "alarm")] == [fire.pk]


def test_feed_reads_past_a_storm_sharing_one_updated_at(safety_tree, monkeypatch):
    """Thousands of alarms written by one statement share an updated_at: the feed sends
    them a batch per poll and moves on, never re-reading the first batch for ever."""
    st = safety_tree
    monkeypatch.setattr(feed_mod, "FEED_BATCH", 3)
    feed = WallFeed(user=st.duty_officer)
    feed.poll()
    made = [make_alarm(d, AlarmKind.OFFLINE, Severity.WARNING).pk
            for d in (st.smoke, st.gas, st.electrical, st.shed_temp, st.transmitter, st.component)]
    made += [make_alarm(d, AlarmKind.TAMPER, Severity.MINOR).pk for d in (st.smoke, st.gas)]
    Alarm.objects.filter(pk__in=made).update(updated_at=timezone.now())
    got = []
    for _ in range(4):
        got += [e["data"]["id"] for e in events_of(feed.poll(), "alarm")]
    assert sorted(got) == sorted(made)


@pytest.mark.parametrize("raw", [None, "", "abc", "-5", "1" * 25, "99999999999999999", "0"])
def test_cursor_from_bad_ids(raw):
    assert cursor_from_id(raw) is None


def test_cells_fold_devices_by_state(safety_tree, client):
    st = safety_tree
    make_alarm(st.smoke, AlarmKind.SMOKE)
    client.force_login(st.duty_officer)
    body = client.get("/safety/wall/cells.json", {"res": 8}).json()
    assert body["count"] == len(body["items"]) >= 1
    assert sum(c["total"] for c in body["items"]) == 6  # community A's six devices, not B's
    assert sum(c["alarm"] for c in body["items"]) == 1
    assert sum(c["new"] for c in body["items"]) == 5
    fine = client.get("/safety/wall/cells.json", {"res": 10}).json()
    assert sum(c["total"] for c in fine["items"]) == 6 and fine["count"] >= body["count"]
    assert client.get("/safety/wall/cells.json", {"res": 15}).status_code == 400
    client.force_login(st.grid_worker)  # no safety.duty
    assert client.get("/safety/wall/cells.json").status_code == 403


# ---- the stream (ASGI) ----------------------------------------------------------------------


async def _read(resp, *, seconds: float, on_first=None) -> bytes:
    """Collect the stream until it ends (it lives ``seconds``); after the first chunk
    run ``on_first`` (e.g. write an alarm)."""
    chunks = []
    async for chunk in resp.streaming_content:
        chunks.append(chunk)
        if on_first is not None and len(chunks) == 1:
            await on_first()
    return b"".join(chunks)


@pytest.fixture
def short_streams(settings, monkeypatch):
    settings.YIZHAN_WALL_STREAM_SECONDS = 2.5
    monkeypatch.setattr(wall_views, "POLL_SECONDS", 0.2)
    monkeypatch.setattr(wall_views, "HEARTBEAT_SECONDS", 0.5)
    monkeypatch.setattr(feed_mod, "CELLS_TTL_SECONDS", 0)


def test_stream_refuses_anonymous_and_other_roles(safety_tree):
    worker = make_worker()

    async def run():
        c = AsyncClient()
        codes = [(await c.get(STREAM)).status_code]
        for user in (safety_tree.grid_worker, worker):  # safety.view but not safety.duty; no safety role
            await c.aforce_login(user)
            codes.append((await c.get(STREAM)).status_code)
        return codes

    assert async_to_sync(run)() == [401, 403, 403]


def test_stream_sends_an_alarm_created_after_it_opened(safety_tree, short_streams):
    st = safety_tree
    made = {}

    async def create():
        made["alarm"] = await sync_to_async(make_alarm)(st.smoke, AlarmKind.FIRE, Severity.CRITICAL)

    async def run():
        c = AsyncClient()
        await c.aforce_login(st.duty_officer)
        resp = await c.get(STREAM, headers={"Accept-Encoding": "gzip"})
        assert resp.status_code == 200
        assert resp["Content-Type"].startswith("text/event-stream")
        assert resp["Cache-Control"].startswith("no-cache")
        assert not resp.has_header("Content-Encoding")  # never gzipped: each event goes out at once
        return await _read(resp, seconds=2.5, on_first=create)

    text = async_to_sync(run)().decode()
    assert text.startswith("retry: ")
    assert ": ping" in text  # heartbeat comments while nothing changes
    alarms = events_of(text, "alarm")
    assert [e["data"]["id"] for e in alarms] == [made["alarm"].pk]
    assert alarms[0]["id"].isdigit()
    assert events_of(text, "counts")[-1]["data"]["fire"] == 1


def test_stream_resumes_with_last_event_id(safety_tree, short_streams):
    st = safety_tree
    cursor = cursor_to_id(timezone.now() - timedelta(seconds=20))
    fire = make_alarm(st.smoke, AlarmKind.FIRE, Severity.CRITICAL, ago=10)
    Alarm.objects.filter(pk=fire.pk).update(updated_at=timezone.now() - timedelta(seconds=10))  # behind the lag

    async def run():
        c = AsyncClient()
        await c.aforce_login(st.duty_officer)
        resumed = await _read(await c.get(STREAM, headers={"Last-Event-ID": cursor}), seconds=2.5)
        fresh = await _read(await c.get(STREAM), seconds=2.5)  # no id: from now on (less FEED_LAG)
        return resumed.decode(), fresh.decode()

    resumed, fresh = async_to_sync(run)()
    assert [e["data"]["id"] for e in events_of(resumed, "alarm")] == [fire.pk]
    assert events_of(fresh, "alarm") == []


def test_stream_under_wsgi_too(safety_tree, client, short_streams):
    """``runserver`` (WSGI): the same feed from a plain generator."""
    fire = make_alarm(safety_tree.smoke, AlarmKind.FIRE)
    client.force_login(safety_tree.duty_officer)
    resp = client.get(STREAM, {"since": cursor_to_id(timezone.now() - timedelta(seconds=1))})
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/event-stream")
    text = b"".join(resp.streaming_content).decode()
    assert [e["data"]["id"] for e in events_of(text, "alarm")] == [fire.pk]


def test_each_poll_gives_the_connection_back(safety_tree):
    """An open wall holds no database connection between polls (on PostgreSQL they come
    from a pool of ``YIZHAN_DB_POOL_MAX``; ten walls holding one each emptied it).
    Polled from another thread, outside any transaction, as uvicorn runs it."""
    import threading

    from django.db import connection

    if connection.vendor == "sqlite":  # the in-memory test database ignores close(); PostgreSQL pools
        pytest.skip("what is given back is a pooled PostgreSQL connection")
    feed = WallFeed(user=safety_tree.duty_officer)
    seen = {}

    def run():
        try:
            seen["frames"] = wall_views.poll_and_release(feed)
            seen["held"] = connection.connection is not None
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(30)
    assert "frames" in seen and seen["held"] is False
