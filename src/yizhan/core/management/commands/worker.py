from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.crypto import get_random_string

from yizhan.core.task_lease import start_heartbeat


class Command(BaseCommand):
    help = "Run a background task worker (django-tasks database backend). 运行后台任务进程。"

    def handle(self, *args, **options):
        # One id per process: the heartbeat tells the scheduler's lease sweep that the
        # tasks this worker claimed are still being run (core/task_lease.py).
        worker_id = get_random_string(32)
        start_heartbeat(worker_id)
        # No autoreloader (db_worker's default under DEBUG): its extra process would be
        # orphaned when this one is killed; `yizhan up` supervises and restarts instead.
        call_command("db_worker", worker_id=worker_id, reload=False)
