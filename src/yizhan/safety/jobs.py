"""Scheduler jobs of the fire-safety app (offline sweep, dispatch escalation, pruning)."""

from yizhan.core.scheduler import every
from yizhan.safety.ingest.pipeline import offline_sweep as ingest_offline_sweep

# ---- ingest liveness (owner: rules) -------------------------------------------------------
OFFLINE_SWEEP_SECONDS = 5


@every(OFFLINE_SWEEP_SECONDS, name="safety_offline_sweep")
def offline_sweep() -> int:
    """Devices whose heartbeat is later than interval + 10 s go offline with an OFFLINE
    alarm (through the indexed ``offline_due_at``, never a scan; the ingest processes'
    own timers usually get there first)."""
    return ingest_offline_sweep()
