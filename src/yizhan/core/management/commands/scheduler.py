from django.core.management.base import BaseCommand

from yizhan.core.scheduler import run_forever


class Command(BaseCommand):
    help = "Run the scheduler loop (periodic jobs and heartbeat). 运行定时任务循环。"

    def add_arguments(self, parser):
        parser.add_argument("--tick", type=float, default=5.0)

    def handle(self, *args, **options):
        run_forever(tick=options["tick"])
