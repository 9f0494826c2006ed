"""The duty officer's alarm wall (消防值守大屏): ``/safety/wall/``, its live stream
``/safety/wall/stream/`` (server-sent events) and the map's device cells
``/safety/wall/cells.json``.

The stream is an async view over an async generator: under uvicorn (``yizhan web``) an
open wall holds no worker thread while it waits; each poll of the change feed
(``selectors.wall.WallFeed``) runs in the request's own sync thread and gives its
database connection back afterwards, so open walls hold no connection between polls.
Each stream lives at most ``YIZHAN_WALL_STREAM_SECONDS`` (300 s) and then ends; the
browser's EventSource reconnects at once with ``Last-Event-ID`` and resumes from there. Under a WSGI server
(``runserver``) the same feed is served by a plain generator.
"""

from __future__ import annotations

import asyncio
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_GET

from yizhan.core import maps, pages, permissions
from yizhan.core.pages import STAFF_LOGIN
from yizhan.safety.errors import InvalidCellResolution
from yizhan.safety.selectors import wall as selectors
from yizhan.safety.selectors.wall import WALL_PERM

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
RETRY_MS = 2000


def stream_seconds() -> float:
    return float(getattr(settings, "YIZHAN_WALL_STREAM_SECONDS", 300))


app_errors = pages.app_errors(template="safety/wall_error.html", login_url=STAFF_LOGIN, perm=WALL_PERM)


@require_GET
@app_errors
def wall(request):
    user = request.user
    cursor = timezone.now()
    state = {
        "cursor": selectors.cursor_to_id(cursor),
        "alarms": selectors.wall_alarms(user=user),
        "dispatches": selectors.wall_dispatches(user=user),
        "responders": selectors.wall_responders(user=user),
        "counts": selectors.wall_counts(user=user),
        "urls": {
            "stream": reverse("safety:wall_stream"),
            "cells": reverse("safety:wall_cells"),
            "api": "/api/v1/safety/alarms/",
            "sound": static("safety/alarm.wav"),
        },
        "lang": "en" if pages.request_lang(request).startswith("en") else "zh",
    }
    center = None
    places = [a["place"] for a in state["alarms"]] or [r for r in state["responders"] if r["lat"] is not None]
    if places:
        center = [places[0]["lat"], places[0]["lng"]]
    return render(request, "safety/wall.html", {
        "state": state,
        "alarms": state["alarms"],
        "dispatches": state["dispatches"],
        "responders": state["responders"],
        "counts": state["counts"],
        "map_config": maps.map_config(center=center, zoom=14, bounds=selectors.wall_bounds(user=user)),
    })


@require_GET
@app_errors
def cells(request):
    raw = request.GET.get("res", "8")
    if not raw.isdigit() or int(raw) not in selectors.CELL_RES:
        raise InvalidCellResolution()
    items = selectors.wall_device_cells(user=request.user, res=int(raw))
    return JsonResponse({"items": items, "count": len(items)}, json_dumps_params={"ensure_ascii": False})


# ---- the stream -----------------------------------------------------------------------------


def _since(request):
    return selectors.cursor_from_id(request.headers.get("Last-Event-ID") or request.GET.get("since"))


def _refused(status: int) -> HttpResponse:
    # EventSource gives up on a non-200 answer; the page shows "reconnecting" and retries later
    return HttpResponse(status=status, content_type="text/plain; charset=utf-8")


def _stream_response(content) -> StreamingHttpResponse:
    resp = StreamingHttpResponse(content, content_type="text/event-stream; charset=utf-8")
    resp["Cache-Control"] = "no-cache, no-transform"
    resp["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return resp


def poll_and_release(feed: selectors.WallFeed) -> list[bytes]:
    """One poll, then the database connection goes back (to the pool on PostgreSQL):
    an open wall must not hold one of ``YIZHAN_DB_POOL_MAX`` connections for its whole
    life. Inside a transaction (a test's) there is nothing to give back."""
    try:
        return feed.poll()
    finally:
        if not connection.in_atomic_block:
            connection.close()


async def _events(feed: selectors.WallFeed, seconds: float):
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    last = loop.time()
    yield f"retry: {RETRY_MS}\n: wall stream\n\n".encode()
    poll = sync_to_async(poll_and_release, thread_sensitive=True)
    while loop.time() < end:
        frames = await poll(feed)
        if frames:
            yield b"".join(frames)
            last = loop.time()
        elif loop.time() - last >= HEARTBEAT_SECONDS:
            yield b": ping\n\n"
            last = loop.time()
        await asyncio.sleep(POLL_SECONDS)


def _events_sync(feed: selectors.WallFeed, seconds: float):
    end = time.monotonic() + seconds
    last = time.monotonic()
    yield f"retry: {RETRY_MS}\n: wall stream\n\n".encode()
    while time.monotonic() < end:
        frames = poll_and_release(feed)
        if frames:
            yield b"".join(frames)
            last = time.monotonic()
        elif time.monotonic() - last >= HEARTBEAT_SECONDS:
            yield b": ping\n\n"
            last = time.monotonic()
        time.sleep(POLL_SECONDS)


def _no_gzip(request) -> None:
    # GZipMiddleware would compress each event (async: a gzip member per chunk; sync: held
    # in its buffer until it fills); an event stream is sent as it is.
    request.META["HTTP_ACCEPT_ENCODING"] = ""


async def stream(request):
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    if not isinstance(request, ASGIRequest):
        return await sync_to_async(_stream_wsgi)(request)
    user = await request.auser()
    if not user.is_authenticated:
        return _refused(401)
    if not await sync_to_async(permissions.has_perm_anywhere)(user, WALL_PERM):
        return _refused(403)
    _no_gzip(request)
    feed = selectors.WallFeed(user=user, since=_since(request), lang=translation.get_language())
    return _stream_response(_events(feed, stream_seconds()))


def _stream_wsgi(request):
    user = request.user
    if not user.is_authenticated:
        return _refused(401)
    if not permissions.has_perm_anywhere(user, WALL_PERM):
        return _refused(403)
    _no_gzip(request)
    feed = selectors.WallFeed(user=user, since=_since(request), lang=translation.get_language())
    return _stream_response(_events_sync(feed, stream_seconds()))
