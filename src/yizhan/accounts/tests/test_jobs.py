"""Account housekeeping jobs (moved here from core.jobs with the job)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from yizhan.accounts.jobs import prune_one_time_codes
from yizhan.accounts.models import OneTimeCode

pytestmark = pytest.mark.django_db


def test_old_login_codes_are_pruned():
    old = OneTimeCode.objects.create(phone="13800000009", code_hash="x", expires_at=timezone.now())
    OneTimeCode.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    fresh = OneTimeCode.objects.create(phone="13800000009", code_hash="y", expires_at=timezone.now())
    assert prune_one_time_codes() == 1
    assert list(OneTimeCode.objects.values_list("pk", flat=True)) == [fresh.pk]
