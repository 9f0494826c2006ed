"""Account housekeeping jobs."""

from datetime import timedelta

from django.utils import timezone

from yizhan.accounts.models import OneTimeCode
from yizhan.core.scheduler import every


@every(3600)
def prune_one_time_codes() -> int:
    """Login codes are personal data: keep them a day (rate limits look back an hour)."""
    deleted, _ = OneTimeCode.objects.filter(created_at__lt=timezone.now() - timedelta(days=1)).delete()
    return deleted
