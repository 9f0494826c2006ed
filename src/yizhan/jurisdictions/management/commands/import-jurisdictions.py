"""yizhan import-jurisdictions FILE: upsert a GeoJSON FeatureCollection of
jurisdictions (properties code, name, name_en, level, parent). All-or-nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from yizhan.core.errors import AppError
from yizhan.jurisdictions.services import jurisdictions_import_geojson


class Command(BaseCommand):
    help = "Import jurisdictions (city > district > street > community > grid) from a GeoJSON file."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"no such file: {file}")
        try:
            summary = jurisdictions_import_geojson(actor=None, content=path.read_bytes())
        except AppError as exc:
            raise CommandError(f"{exc.code} [{exc.field}]: {exc.message.zh} / {exc.message.en}") from exc
        self.stdout.write(
            f"{summary['total']} jurisdictions: {summary['created']} created, "
            f"{summary['updated']} updated, {summary['unchanged']} unchanged"
        )
