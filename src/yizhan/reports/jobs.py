"""Scheduled jobs of the reports app (``core.scheduler``; ``yizhan scheduler`` runs them)."""

from yizhan.core.scheduler import every
from yizhan.reports.services.cases import case_clocks_check


@every(60)
def case_clocks() -> dict:
    """Warn at 80 % of a stage's time limit, escalate overdue cases (idempotent)."""
    return case_clocks_check()
