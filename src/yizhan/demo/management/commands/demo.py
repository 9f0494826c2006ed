from django.core.management.base import BaseCommand

from yizhan.demo.services import demo_load, demo_logins
from yizhan.stations.models import Station


class Command(BaseCommand):
    help = "Load the demo district from the seeds (idempotent). 加载演示辖区数据。"

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true",
                            help="load only into an empty database (no stations); else print the logins")
        parser.add_argument("--logins", action="store_true", help="only print the demo logins")

    def handle(self, *args, **options):
        if options["logins"] or (options["if_empty"] and Station.objects.exists()):
            self._print_logins()
            return
        if options["if_empty"]:
            self.stdout.write("Empty database: loading the demo district 正在加载演示辖区…")
        summary = demo_load(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(
            f"demo district ready: {summary.stations_total} stations "
            f"({summary.stations_created} new), {summary.workers} workers"
        ))
        self.stdout.write("Demo logins 演示账号:")
        for login in summary.logins:
            self.stdout.write(f"  {login.role:<22} {login.username:<34} {login.password:<20} {login.scope} {login.note}")

    def _print_logins(self):
        rows = demo_logins()
        if rows:
            self.stdout.write("Demo logins 演示账号:")
            for login in rows:
                self.stdout.write(f"  {login.role:<16} {login.username:<30} {login.password:<20} {login.note}")
