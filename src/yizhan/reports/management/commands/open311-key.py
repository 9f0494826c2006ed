"""yizhan open311-key NAME: create a key for an Open311 GeoReport v2 client; the raw
key is the last word of the output (``yizhan open311-key 12345热线 | awk '{print $NF}'``).

``yizhan open311-key --revoke NAME_OR_PREFIX`` revokes the active keys with that name
(or that key prefix, e.g. ``o311_AbCdEf``): their requests get 403 from then on."""

from django.core.management.base import BaseCommand, CommandError

from yizhan.core.errors import AppError
from yizhan.reports.models import Open311Client
from yizhan.reports.services.open311 import open311_client_create, open311_client_revoke


class Command(BaseCommand):
    help = "Create an Open311 client key for NAME and print it (shown once), or --revoke one."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the client's name (or, with --revoke, its name or key prefix)")
        parser.add_argument("--revoke", action="store_true", help="revoke the active keys of NAME instead")

    def handle(self, *args, name, revoke, **options):
        try:
            if revoke:
                self._revoke(name)
                return
            client, raw = open311_client_create(actor=None, name=name)
        except AppError as exc:
            raise CommandError(f"{exc.code}: {exc.message.zh} / {exc.message.en}") from exc
        self.stdout.write(
            f"Open311 key for {client.name!r} (id {client.pk}; store it now, it is not shown again): {raw}"
        )

    def _revoke(self, name: str) -> None:
        active = Open311Client.objects.filter(revoked_at__isnull=True)
        clients = list(active.filter(name=name)) or list(active.filter(prefix=name[:12])) if name else []
        if not clients:
            raise CommandError(f"no active Open311 key named {name!r}")
        for client in clients:
            open311_client_revoke(actor=None, client=client)
            self.stdout.write(f"revoked {client.name!r} ({client.prefix}…)")
