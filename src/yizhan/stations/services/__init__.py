"""Every write to the stations app.

Each service takes keyword-only arguments with ``actor`` first, runs in one
transaction, checks permission through ``core.permissions`` and leaves an audit
row in the same transaction. Counters and stock move with ``F()`` under
``select_for_update`` so concurrent writers cannot lose updates or go negative
(the database CHECK constraints are the last line). Station writes schedule the
nearby index refresh with ``transaction.on_commit``.

Who may do what:
* admins: ``stations.manage`` on the station's jurisdiction (create, edit, status, keepers);
* keepers: ``stations.stock`` there AND listed in ``StationKeeper`` (stock, donations,
  resolving reports) — admins may do those too;
* workers: any logged-in user checks in, reports conditions and reviews.
"""

from yizhan.stations.services.common import (
    CODE_RE,
    FIELD_CLEANERS,
    MAX_QUANTITY,
    PUBLIC_PHONE_RE,
    STATION_FIELDS,
    clean_amenities,
    clean_hours,
    clean_public_phone,
    station_clean,
)
from yizhan.stations.services.keepers import (
    keeper_user_for_phone,
    station_keeper_assign,
    station_keeper_remove,
)
from yizhan.stations.services.photos import (
    MAX_PHOTOS_PER_STATION,
    station_photo_add,
    station_photo_remove,
)
from yizhan.stations.services.stations import (
    station_create,
    station_set_status,
    station_update,
)
from yizhan.stations.services.supplies import (
    donation_record,
    supplies_bulk_set,
    supply_record,
    supply_set_threshold,
)
from yizhan.stations.services.visits import (
    CheckInResult,
    checkin_create,
    condition_report_create,
    condition_report_resolve,
    review_upsert,
)

__all__ = [
    "CODE_RE",
    "MAX_QUANTITY",
    "clean_amenities",
    "clean_hours",
    "PUBLIC_PHONE_RE",
    "clean_public_phone",
    "FIELD_CLEANERS",
    "STATION_FIELDS",
    "station_clean",
    "station_create",
    "station_update",
    "station_set_status",
    "station_keeper_assign",
    "station_keeper_remove",
    "keeper_user_for_phone",
    "supply_record",
    "supply_set_threshold",
    "supplies_bulk_set",
    "donation_record",
    "CheckInResult",
    "checkin_create",
    "condition_report_create",
    "condition_report_resolve",
    "review_upsert",
    "MAX_PHOTOS_PER_STATION",
    "station_photo_add",
    "station_photo_remove",
]
