"""``yizhan up``: everything on one machine — migrate, demo data if empty, then the web
server, a task worker and the scheduler as child processes."""

import os
import signal
import subprocess
import sys
import time

from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Migrate, load the demo district if empty, and run web + worker + scheduler. 一键启动。"

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("YIZHAN_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("YIZHAN_PORT", "8000")))
        parser.add_argument("--no-demo", action="store_true", help="do not load the demo district")

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=1)
        from yizhan.core.staticfiles import collect

        collect()  # hashed, gzip-compressed, long-cached static files, DEBUG or not
        # The demo app (when installed) loads its district into an empty database, or
        # prints the demo logins; core names no app, only the command.
        if "demo" in get_commands():
            call_command("demo", "--logins" if options["no_demo"] else "--if-empty")
        exe = [sys.executable, "-m", "yizhan"]
        children = {
            "web": subprocess.Popen([*exe, "web", "--host", options["host"], "--port", str(options["port"])]),
            "worker": subprocess.Popen([*exe, "worker"]),
            "scheduler": subprocess.Popen([*exe, "scheduler"]),
        }
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"Yizhan 驿站 is up: {url}  (API docs: {url}api/v1/docs)  Ctrl-C stops"))
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, proc in children.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with {proc.returncode}; stopping the others")
                        stopping = True
                time.sleep(0.5)
        finally:
            for proc in children.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for proc in children.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.stdout.write("stopped")
