"""yizhan token USERNAME [--name N]: create a personal API token; the raw token is
the last word of the output (scripts: ``yizhan token alice | awk '{print $NF}'``)."""

from django.core.management.base import BaseCommand, CommandError

from yizhan.accounts.models import User
from yizhan.accounts.services import api_token_create
from yizhan.core.errors import AppError


class Command(BaseCommand):
    help = "Create a personal API token for USERNAME and print it (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="a label for the token (default: cli)")

    def handle(self, *args, username, name, **options):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user named {username!r}")
        try:
            token, raw = api_token_create(actor=None, user=user, name=name)
        except AppError as exc:
            raise CommandError(exc.message.en) from exc
        self.stdout.write(f"API token {token.name!r} for {user.username} (store it now, it is not shown again): {raw}")
