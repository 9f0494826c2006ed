"""Domain events: facts one app records for others to act on later.

``event_emit`` writes a ``DomainEvent`` row inside the caller's transaction (so the
event exists if and only if the change committed) and, on commit, calls the
in-process subscribers registered with ``@subscribe(name)``. A subscriber must be
idempotent: a consumer that runs later (a task, a new app catching up) reads the
rows with ``events_pending(name=..., consumer=...)`` and receipts them with
``event_mark_consumed``.

An event is recorded at most once per (name, aggregate): emitting it again for the
same aggregate returns the existing row (e.g. a case verified, reopened and verified
again earns its reporter one "case_verified", not two).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from yizhan.core.models import DomainEvent, DomainEventReceipt

log = logging.getLogger("yizhan.events")
_SUBSCRIBERS: dict[str, list[Callable[[DomainEvent], object]]] = defaultdict(list)


def subscribe(name: str):
    def register(func):
        _SUBSCRIBERS[name].append(func)
        return func

    return register


def _deliver(event: DomainEvent) -> None:
    for func in _SUBSCRIBERS.get(event.name, ()):
        try:
            func(event)
        except Exception:  # a subscriber's failure must not undo the committed change
            log.exception("subscriber %s of %s failed", getattr(func, "__name__", func), event.name)


def event_emit(*, name: str, aggregate_type: str = "", aggregate_id: str | int = "",
               payload: dict | None = None) -> DomainEvent:
    aggregate_id = str(aggregate_id or "")
    if aggregate_id:
        existing = DomainEvent.objects.filter(
            name=name, aggregate_type=aggregate_type, aggregate_id=aggregate_id
        ).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            event = DomainEvent.objects.create(
                name=name, aggregate_type=aggregate_type, aggregate_id=aggregate_id, payload=payload or {}
            )
    except IntegrityError:  # a concurrent emit won the race
        return DomainEvent.objects.get(name=name, aggregate_type=aggregate_type, aggregate_id=aggregate_id)
    transaction.on_commit(lambda: _deliver(event))
    return event


def events_pending(*, name: str, consumer: str) -> QuerySet:
    """Events of ``name`` that ``consumer`` has not yet receipted, oldest first."""
    return DomainEvent.objects.filter(name=name).exclude(receipts__consumer=consumer).order_by("occurred_at", "id")


def event_mark_consumed(*, event: DomainEvent, consumer: str) -> bool:
    """Record that ``consumer`` handled ``event``; False if it already had."""
    _, created = DomainEventReceipt.objects.get_or_create(event=event, consumer=consumer)
    return created
