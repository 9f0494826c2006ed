"""Signed station QR codes that rotate every day (Asia/Shanghai).

A token is ``<code>.<yymmdd>.<sig>``: the station code in URL-safe base64, the
day it is valid on, and the first 16 bytes of HMAC-SHA256(YIZHAN_QR_SECRET,
"yizhan-qr|<code>|<yyyy-mm-dd>") in URL-safe base64 — about 40 characters, safe
in a URL path (``/c/<token>/``). A photo of yesterday's code fails with
``qr_expired``; a code forged for another station fails with ``qr_bad_signature``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from datetime import date, datetime

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.utils import timezone

from yizhan.core.tz import SHANGHAI
from yizhan.stations.choices import StationStatus
from yizhan.stations.errors import QrBadSignature, QrExpired, QrMalformed, QrUnknownStation
from yizhan.stations.models import Station

SIG_BYTES = 16
_TOKEN_RE = re.compile(r"^([A-Za-z0-9_-]{1,64})\.([0-9]{6})\.([A-Za-z0-9_-]{22})$")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def shanghai_today(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(SHANGHAI).date()


def _signature(code: str, day: date) -> str:
    key = str(settings.YIZHAN_QR_SECRET).encode()
    msg = f"yizhan-qr|{code}|{day.isoformat()}".encode()
    return _b64(hmac.new(key, msg, hashlib.sha256).digest()[:SIG_BYTES])


def qr_token_for(*, station, day: date | None = None) -> str:
    """The check-in token of ``station`` for ``day`` (default: today in Shanghai)."""
    day = day or shanghai_today()
    return f"{_b64(station.code.encode())}.{day:%y%m%d}.{_signature(station.code, day)}"


def qr_url_for(*, station, day: date | None = None) -> str:
    return f"/c/{qr_token_for(station=station, day=day)}/"


def qr_token_verify(*, token: str, now: datetime | None = None):
    """The station a token belongs to, if it is genuine and for today."""
    match = _TOKEN_RE.match((token or "").strip())
    if not match:
        raise QrMalformed()
    code_b64, day_text, sig = match.groups()
    try:
        code = _unb64(code_b64).decode("utf-8")
        day = datetime.strptime(day_text, "%y%m%d").date()
    except (binascii.Error, ValueError):
        raise QrMalformed() from None
    if not code or _b64(code.encode()) != code_b64:  # non-canonical encoding
        raise QrMalformed()
    if not hmac.compare_digest(sig, _signature(code, day)):
        raise QrBadSignature()
    if day != shanghai_today(now):
        raise QrExpired()
    station = Station.objects.filter(code=code).exclude(status=StationStatus.REMOVED).first()
    if station is None:
        raise QrUnknownStation()
    return station


def qr_svg(*, url: str) -> str:
    """Inline SVG (no XML declaration) of a QR code for ``url``."""

    img = qrcode.make(
        url,
        image_factory=qrcode.image.svg.SvgPathImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=10,
        border=2,
    )
    svg = img.to_string(encoding="unicode")
    return re.sub(r"^<\?xml[^>]*\?>\s*", "", svg)
