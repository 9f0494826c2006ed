from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run a background task worker (django-tasks database backend). 运行后台任务进程。"

    def handle(self, *args, **options):
        call_command("db_worker")
