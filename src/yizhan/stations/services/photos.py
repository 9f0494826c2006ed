"""Station photos."""


from __future__ import annotations

from django.db import transaction

from yizhan.core.audit import audit_record
from yizhan.core.models import AuditAction
from yizhan.stations import errors as E
from yizhan.stations.models import (
    Station,
    StationPhoto,
)
from yizhan.stations.selectors import require_station_stock
from yizhan.stations.services.common import (
    _text,
)

# ---- photos ----------------------------------------------------------------------

MAX_PHOTOS_PER_STATION = 12


def station_photo_add(*, actor, station: Station, upload, caption: str = "") -> StationPhoto:
    """A photo of the station (keeper or admin). Checked by content, at most 10 MB,
    re-encoded so no EXIF (GPS) survives; at most 12 per station."""
    from yizhan.core.images import image_clean

    require_station_stock(actor=actor, station=station)
    caption = _text(caption, field="caption", limit=100)
    clean = image_clean(upload, field="photo")
    with transaction.atomic():
        Station.objects.select_for_update().filter(pk=station.pk).first()
        if StationPhoto.objects.filter(station=station).count() >= MAX_PHOTOS_PER_STATION:
            raise E.TooManyPhotos()
        photo = StationPhoto(station=station, caption=caption, uploaded_by=actor)
        photo.image.save(clean.name, clean, save=False)
        photo.save()
        audit_record(
            actor=actor, action=AuditAction.CREATE, obj=photo, summary=f"{station.code} photo",
            jurisdiction_path=station.jurisdiction.path,
        )
    return photo


def station_photo_remove(*, actor, station: Station, photo: StationPhoto) -> None:
    require_station_stock(actor=actor, station=station)
    if photo.station_id != station.pk:
        raise E.PhotoNotFound()
    with transaction.atomic():
        audit_record(
            actor=actor, action=AuditAction.DELETE, obj=photo, summary=f"{station.code} photo removed",
            jurisdiction_path=station.jurisdiction.path,
        )
        name = photo.image.name
        photo.delete()
        transaction.on_commit(lambda: photo.image.storage.delete(name))
