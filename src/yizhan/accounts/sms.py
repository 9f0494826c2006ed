"""Pluggable SMS sending. ``settings.YIZHAN_SMS_BACKEND`` names the class.

Backends receive the phone and the text; only the backend ever sees a code in the
clear. Tests read ``ConsoleSmsBackend.outbox`` (like ``django.core.mail.outbox``).
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.utils.module_loading import import_string

from yizhan.core.pii import mask_phone


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str
    code: str = ""
    sent_at: datetime | None = None


class BaseSmsBackend:
    def send(self, *, phone: str, text: str, code: str = "") -> None:  # pragma: no cover
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    """Prints the message (development) and keeps it in ``outbox`` (tests)."""

    outbox: list[SmsMessage] = []
    _lock = threading.Lock()

    def send(self, *, phone: str, text: str, code: str = "") -> None:
        msg = SmsMessage(phone=phone, text=text, code=code, sent_at=datetime.now(UTC))
        with self._lock:
            type(self).outbox.append(msg)
            del type(self).outbox[:-100]

        print(f"[SMS to {mask_phone(phone)}] {text}", file=sys.stdout, flush=True)

    @classmethod
    def last_code(cls, phone: str | None = None) -> str | None:
        """The last login code sent (to ``phone`` when given). Notifications go
        through SMS backends too and carry no code: they are skipped."""
        with cls._lock:
            messages = list(cls.outbox)
        for msg in reversed(messages):
            if msg.code and (phone is None or msg.phone == phone):
                return msg.code
        return None


class FileSmsBackend(BaseSmsBackend):
    """Appends to ``var/sms.log`` (demo servers without a console)."""

    def send(self, *, phone: str, text: str, code: str = "") -> None:
        path = settings.VAR_DIR / "sms.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{datetime.now(UTC).isoformat()} {mask_phone(phone)} {text}\n")


class NullSmsBackend(BaseSmsBackend):
    def send(self, *, phone: str, text: str, code: str = "") -> None:
        return None


def get_backend() -> BaseSmsBackend:
    return import_string(settings.YIZHAN_SMS_BACKEND)()


def send_sms(*, phone: str, text: str, code: str = "") -> None:
    get_backend().send(phone=phone, text=text, code=code)
