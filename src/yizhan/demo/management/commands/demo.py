from django.core.management.base import BaseCommand

from yizhan.demo.services import demo_load


class Command(BaseCommand):
    help = "Load the demo district from the seeds (idempotent). 加载演示辖区数据。"

    def handle(self, *args, **options):
        summary = demo_load(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(
            f"demo district ready: {summary.stations_total} stations "
            f"({summary.stations_created} new), {summary.workers} workers"
        ))
        self.stdout.write("Demo logins 演示账号:")
        for login in summary.logins:
            self.stdout.write(f"  {login.role:<22} {login.username:<34} {login.password:<20} {login.scope} {login.note}")
