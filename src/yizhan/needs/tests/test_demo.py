"""The needs demo from the seeds: computed figures match the seed's "30 collected, 18 solved"."""

import pytest

from yizhan.core.testing.factories import make_superuser, make_worker
from yizhan.demo.services import DATA_DIR
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.jurisdictions.services import jurisdictions_import_geojson
from yizhan.needs import selectors
from yizhan.needs.demo import needs_demo_load
from yizhan.needs.models import Forum, Suggestion, Wish

pytestmark = pytest.mark.django_db


def test_demo_needs_from_the_seeds_and_idempotent():
    jurisdictions_import_geojson(actor=None, content=(DATA_DIR / "jurisdictions.geojson").read_bytes())
    for _ in range(8):
        make_worker()
    admin = make_superuser()
    assert needs_demo_load(admin=admin)["created"] is True
    yifeng = Jurisdiction.objects.get(code="XN-XA-WQ-C03")
    fig = selectors.needs_figures(jurisdiction=yifeng)
    assert fig["needs"]["collected"] == 30 and fig["needs"]["solved"] == 18  # seed 004
    assert fig["needs"]["in_progress"] == 6 and fig["needs"]["declined"] == 2 and fig["needs"]["overdue"] == 2
    assert fig["forums"]["held"] == 3
    assert Wish.objects.filter(state="fulfilled", fulfiller="团区委").exists()
    assert Suggestion.objects.filter(state="to_need").count() == 1
    counts = (Forum.objects.count(), Suggestion.objects.count(), Wish.objects.count())
    assert needs_demo_load(admin=admin)["created"] is False
    assert (Forum.objects.count(), Suggestion.objects.count(), Wish.objects.count()) == counts
