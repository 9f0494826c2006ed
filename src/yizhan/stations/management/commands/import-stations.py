"""``yizhan import-stations``: Django names commands after their module file, so
this hyphenated alias makes the documented spelling work (``import_module``
accepts the name even though ``import`` statements cannot)."""

from .import_stations import Command  # noqa: F401
