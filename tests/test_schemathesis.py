"""Schemathesis over the whole API (issue 8): generated valid and invalid requests for every
operation, anonymous and with a staff token, through Django's WSGI handler in-process.
Zero 5xx, and every answer has a documented status, content type and shape.

Bounded: a fixed number of examples per operation, derandomized (the same run every time),
no shrinking; the whole file takes about two minutes per database. More examples while
hunting: ``SCHEMATHESIS_EXAMPLES=50 pytest tests/test_schemathesis.py``."""

from __future__ import annotations

import os

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
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "6"))
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


@pytest.fixture
def staff_headers():
    """A city admin who is also an auditor: the widest staff view of the API."""
    tree = make_jurisdiction_tree()
    user = make_staff("city_admin", tree.city)
    grant(user, "auditor", tree.city)
    grant(user, "district_admin", tree.district)
    return bearer(user)


@schema.parametrize()
@BOUNDED
def test_api(case, staff_headers):
    """Each generated request twice: anonymous, then with the staff token."""
    case.call_and_validate(headers=PLAIN, checks=CHECKS)
    case.call_and_validate(headers={**PLAIN, **staff_headers}, checks=CHECKS)
