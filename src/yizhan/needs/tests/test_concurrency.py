"""Support (+1) under concurrent taps, on a real server database (PostgreSQL):
the unique constraint and F() keep the counter exact without check-then-act."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from yizhan.core.testing.factories import make_jurisdiction_tree, make_staff, make_worker
from yizhan.needs import services
from yizhan.needs.models import Wish, WishSupport
from yizhan.needs.tests.factories import make_wish

pytestmark = pytest.mark.django_db(transaction=True)


def _race(calls):
    barrier = threading.Barrier(len(calls))
    errors = []

    def run(fn):
        try:
            barrier.wait()
            fn()
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises writers; the race needs a server database")
def test_concurrent_supports_are_counted_exactly():
    tree = make_jurisdiction_tree()
    admin = make_staff("community_admin", tree.community)
    wish = make_wish(tree.community, approved_by=admin)
    same = make_worker()
    others = [make_worker() for _ in range(5)]
    calls = [lambda: services.wish_support(actor=same, wish=wish) for _ in range(4)]
    calls += [lambda u=u: services.wish_support(actor=u, wish=wish) for u in others]
    assert _race(calls) == []
    assert WishSupport.objects.filter(wish=wish).count() == 6
    assert Wish.objects.get(pk=wish.pk).support_count == 6
