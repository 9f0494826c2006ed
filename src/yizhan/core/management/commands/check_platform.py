"""``yizhan check``: is this installation healthy? Exit 1 when not."""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from yizhan.core.scheduler import heartbeat_age_seconds


class Command(BaseCommand):
    help = "Health check: system checks, database, migrations, vendored assets, scheduler heartbeat."

    def add_arguments(self, parser):
        parser.add_argument("--max-heartbeat-age", type=float, default=120.0)
        parser.add_argument("--require-scheduler", action="store_true")

    def handle(self, *args, **options):
        problems = []
        call_command("check", verbosity=0)
        self.stdout.write("system checks: ok")
        try:
            connection.ensure_connection()
            self.stdout.write(f"database: ok ({connection.vendor})")
        except Exception as exc:  # noqa: BLE001 - report any connection failure
            raise CommandError(f"database unreachable: {exc}") from exc
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            problems.append(f"{len(pending)} migrations not applied (run 'yizhan migrate')")
        else:
            self.stdout.write("migrations: ok")
        vendor = Path(settings.BASE_DIR) / "static" / "vendor"
        for rel in ("leaflet/leaflet.js", "leaflet/leaflet.css", "htmx/htmx.min.js", "echarts/echarts.min.js"):
            if not (vendor / rel).is_file():
                problems.append(f"vendored asset missing: static/vendor/{rel} (run 'make vendor')")
        if not any(p.startswith("vendored") for p in problems):
            self.stdout.write("vendored assets: ok")

        age = heartbeat_age_seconds()
        if age is None:
            msg = "scheduler: no heartbeat yet"
            (problems.append(msg) if options["require_scheduler"] else self.stdout.write(msg))
        elif age > options["max_heartbeat_age"]:
            problems.append(f"scheduler heartbeat is {age:.0f} s old")
        else:
            self.stdout.write(f"scheduler: ok (heartbeat {age:.0f} s ago)")
        if problems:
            raise CommandError("; ".join(problems))
        self.stdout.write(self.style.SUCCESS("yizhan is healthy"))
