"""Schemathesis over the whole API (issue 8): generated valid and invalid requests for every
operation, anonymous and with a staff token, through Django's WSGI handler in-process.
Zero 5xx, and every answer has a documented status, content type and shape.

Bounded: a fixed number of examples per operation, derandomized (the same run every time),
no shrinking; the whole file takes about two minutes per database. More examples while
hunting: ``SCHEMATHESIS_EXAMPLES=50 pytest tests/test_schemathesis.py``."""

from __future__ import annotations

import logging
import os
from functools import cached_property

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from yizhan.core.testing.factories import bearer, grant, make_jurisdiction_tree, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.schemathesis]
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "4"))
# GZipMiddleware would compress for a client that asks; this in-process client does not unzip
PLAIN = {"Accept-Encoding": "identity"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
BOUNDED = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _load_schema():
    """The document as served (no database needed), requests through Django's WSGI handler.
    (Loaded at import: schemathesis' lazy ``from_fixture`` does not run under pytest 9.)"""
    from django.core.wsgi import get_wsgi_application

    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


schema = _load_schema()


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go through the WSGI handler, whose request_started/finished close the
    connection (CONN_MAX_AGE=0 on PostgreSQL) and with it the test's transaction; Django's
    test client disconnects the same signal handler for the same reason."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


class World:
    """A small district, a staff user who sees all of it, and, made only when an operation's
    path names them, one object of each kind: the staff call goes to a thing that exists
    (generated path values almost never do), the anonymous call keeps the generated ones."""

    def __init__(self):
        self.tree = make_jurisdiction_tree()
        self.staff = make_staff("city_admin", self.tree.city)
        grant(self.staff, "auditor", self.tree.city)
        grant(self.staff, "district_admin", self.tree.district)
        self.headers = bearer(self.staff)

    @cached_property
    def station(self):
        from yizhan.stations.tests.factories import make_station, make_supply

        station = make_station(self.tree.community)
        make_supply(station, "water")
        return station

    @cached_property
    def case(self):
        from yizhan.reports.tests.factories import make_case

        return make_case(jurisdiction=self.tree.grid)

    @cached_property
    def wish(self):
        from yizhan.needs.tests.factories import make_wish

        return make_wish(self.tree.community, approved_by=self.staff)

    @cached_property
    def need(self):
        from yizhan.needs.tests.factories import make_need

        return make_need(self.tree.community, actor=self.staff)

    @cached_property
    def forum(self):
        from yizhan.needs.tests.factories import make_forum

        return make_forum(self.tree.community, actor=self.staff)

    @cached_property
    def suggestion(self):
        from yizhan.needs.tests.factories import make_suggestion

        return make_suggestion(self.tree.community)

    def path_values(self, path: str) -> dict:
        if path.startswith("/api/v1/stations/{code}"):
            return {"code": self.station.code, "item": "water"}
        if path.startswith("/api/v1/reports/cases/") and "{number}" in path:
            return {"number": self.case.number}
        if path.startswith("/api/v1/reports/categories/{code}"):
            return {"code": self.case.category.code}
        if path.startswith("/api/v1/reports/calendars/"):
            return {"jurisdiction": self.tree.district.code}
        if path.startswith("/api/v1/needs/wishes/{wish_id}"):
            return {"wish_id": self.wish.pk}
        if path.startswith("/api/v1/needs/needs/{need_id}"):
            return {"need_id": self.need.pk}
        if path.startswith("/api/v1/needs/forums/{forum_id}"):
            return {"forum_id": self.forum.pk}
        if path.startswith("/api/v1/needs/suggestions/{suggestion_id}"):
            return {"suggestion_id": self.suggestion.pk}
        if path.startswith("/api/v1/needs/suggestions/track/"):
            return {"code": self.suggestion.tracking_code}
        if path.startswith("/api/v1/accounts/staff/{user_id}"):
            return {"user_id": make_staff("grid_worker", self.tree.grid).pk}
        return {}


@pytest.fixture
def world():
    return World()


@schema.parametrize()
@BOUNDED
def test_api(case, world, caplog):
    """Each generated request twice: anonymous, then with the staff token on existing objects.
    A value only the database refused (the 400 safety net in core.api_errors) is a finding too:
    a schema should have said no first."""
    with caplog.at_level(logging.WARNING, logger="yizhan.api"):
        case.call_and_validate(headers=PLAIN, checks=CHECKS)
        known = world.path_values(case.operation.path)
        if known and case.path_parameters:
            case.path_parameters = {**case.path_parameters, **known}
        case.call_and_validate(headers={**PLAIN, **world.headers}, checks=CHECKS)
    refused = [r.getMessage() for r in caplog.records if "refused by the database" in r.getMessage()]
    assert not refused, refused[0]
