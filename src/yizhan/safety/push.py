"""HTTP push from NB-IoT carrier platforms (电信/移动 AEP, OneNET) — a transport beside
``mqtt/`` and ``gb26875/``, not under ``services/``: it feeds the ingest, and the ingest
calls the alarm services, so ``services -> ingest`` would close a cycle: one sensor message per
request, HMAC-signed, timestamped, replay refused.

Headers: ``X-Yizhan-Key`` (the platform's key id), ``X-Yizhan-Timestamp`` (unix seconds,
within ±300 s of ours), ``X-Yizhan-Nonce`` (8-64 of ``A-Za-z0-9_-``, never twice per key
within the window), ``X-Yizhan-Signature`` = hex HMAC-SHA256(secret, timestamp + "\\n" +
nonce + "\\n" + body). Body: the MQTT JSON plus ``"device": "HZ-00001"``. Keys:
``YIZHAN_PUSH_KEYS="id:secret,id2:secret2"`` (each secret ≥ 16 characters).

Checked in this order so an unsigned request learns nothing and cannot burn nonces:
key and signature, timestamp, nonce (stored only once the signature holds), then the
payload and the device. Every refusal is counted through ``pipeline.reject`` (channel
``http``) and raised as the error it is; nothing else is written. The message itself goes
through the same pipeline as MQTT, so a push and an MQTT delivery of the same ``seq`` are
one event. No actor and no audit row: a system write whose record is the pipeline's
DeviceEvent (or the IngestReject row).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
from datetime import UTC, datetime

from django.core.cache import cache

from yizhan.core.errors import AppError
from yizhan.safety.choices import IngestChannel
from yizhan.safety.errors import (
    BadSignature,
    MalformedMessage,
    ReplayedMessage,
    StaleTimestamp,
    UnknownDevice,
)
from yizhan.safety.ingest.message import MAX_PAYLOAD, parse_json_payload
from yizhan.safety.ingest.pipeline import default_pipeline

WINDOW = 300  # seconds either side of our clock
NONCE_TTL = 2 * WINDOW + 60  # a nonce is remembered longer than any timestamp it could carry is accepted
NONCE_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")
MIN_SECRET = 16
EXCERPT = 200


def push_keys(env=None) -> dict[str, str]:
    """``{key id: secret}`` from ``YIZHAN_PUSH_KEYS`` (pairs with a short secret are ignored)."""
    raw = (env if env is not None else os.environ).get("YIZHAN_PUSH_KEYS", "")
    keys = {}
    for pair in raw.split(","):
        key_id, sep, secret = pair.strip().partition(":")
        if sep and key_id and len(secret) >= MIN_SECRET:
            keys[key_id] = secret
    return keys


def push_signature(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The hex HMAC-SHA256 a platform sends (also what tests and the benchmark sign with)."""
    message = timestamp.encode("ascii", "replace") + b"\n" + nonce.encode("ascii", "replace") + b"\n" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def push_receive(*, key_id: str, timestamp: str, nonce: str, signature: str, body: bytes, peer: str = "",
                 now: float | None = None, pipeline=None):
    """Verify and ingest one pushed message; returns the pipeline's outcome. Raises
    ``BadSignature``, ``StaleTimestamp``, ``ReplayedMessage``, ``MalformedMessage``,
    ``ImpossibleValue`` or ``UnknownDevice`` (each counted as a reject first)."""
    pipeline = pipeline or default_pipeline()
    now = time.time() if now is None else now
    key_id, timestamp, nonce, signature = (key_id or "")[:64], (timestamp or "")[:20], (nonce or "")[:80], signature or ""
    device_code = ""

    def refuse(error: AppError):
        pipeline.reject(channel=IngestChannel.HTTP, reason=error.code, device_code=device_code[:64],
                        detail=f"key {key_id}: {error.field or ''}"[:200], excerpt=body[:EXCERPT], peer=peer[:64])
        raise error

    secret = push_keys().get(key_id)
    if secret is None:
        refuse(BadSignature(field="key"))
    if not hmac.compare_digest(push_signature(secret, timestamp, nonce, body), signature.strip().lower()):
        refuse(BadSignature())
    if not timestamp.isdigit() or abs(int(timestamp) - now) > WINDOW:
        refuse(StaleTimestamp())
    if not NONCE_RE.fullmatch(nonce):
        refuse(MalformedMessage(field="nonce"))
    if not cache.add(f"safety:push:nonce:{key_id}:{nonce}", 1, timeout=NONCE_TTL):
        refuse(ReplayedMessage())

    if len(body) > MAX_PAYLOAD:
        refuse(MalformedMessage(field="payload"))
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        refuse(MalformedMessage(field="payload"))
    if not isinstance(data, dict) or not isinstance(data.get("device"), str) or not data["device"].strip():
        refuse(MalformedMessage(field="device"))
    device_code = data["device"].strip()
    try:
        message = parse_json_payload(device_code, body, channel=IngestChannel.HTTP, received_at=datetime.now(UTC))
    except AppError as exc:
        refuse(exc)
    outcome = pipeline.handle(message)
    if outcome_status(outcome) == "rejected":
        # the pipeline counted it; the platform is told why
        if outcome_reason(outcome) == UnknownDevice.code:
            raise UnknownDevice()
        raise MalformedMessage(field=outcome_reason(outcome) or None)
    return outcome


def outcome_status(outcome) -> str:
    return str(getattr(outcome, "status", None) or getattr(outcome, "kind", None) or "accepted")


def outcome_reason(outcome) -> str:
    return str(getattr(outcome, "reason", "") or "")


def outcome_alarm_id(outcome) -> int | None:
    return getattr(outcome, "alarm_id", None)
