"""``yizhan up``: everything on one machine — migrate, demo data if empty, then the web
server, a task worker and the scheduler as supervised child processes (a crashed child
is restarted with back-off, see ``core/supervisor.py``). The demo logins and the address
are printed once the children have started, after their start-up lines."""

import io
import os
import signal
import socket
import sys
import time

from django.core.cache import cache
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand
from django.utils import timezone

from yizhan.core.manifest import process_commands
from yizhan.core.scheduler import HEARTBEAT_KEY
from yizhan.core.staticfiles import collect
from yizhan.core.supervisor import Supervisor

LOGINS_MARK = "Demo logins"  # the demo command's heading of the logins block
READY_TIMEOUT = 60.0


class _HoldFrom(io.TextIOBase):
    """Passes text through until ``mark`` appears, then holds the rest for later."""

    def __init__(self, out, mark: str):
        self.out, self.mark, self.held = out, mark, []

    def write(self, text: str) -> int:
        if not self.held and self.mark in text:
            self.held.append("")
        if self.held:
            self.held.append(text)
        else:
            self.out.write(text)
            self.out.flush()
        return len(text)


class Command(BaseCommand):
    help = "Migrate, load the demo district if empty, and run web + worker + scheduler. 一键启动。"

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("YIZHAN_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("YIZHAN_PORT", "8000")))
        parser.add_argument("--no-demo", action="store_true", help="do not load the demo district")

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=1)

        collect()  # hashed, gzip-compressed, long-cached static files, DEBUG or not
        # The demo app (when installed) loads its district into an empty database, or
        # prints the demo logins; core names no app, only the command. The logins are
        # held back and printed after the children's start-up lines.
        held = _HoldFrom(self.stdout, LOGINS_MARK)
        if "demo" in get_commands():
            call_command("demo", "--logins" if options["no_demo"] else "--if-empty", stdout=held)
        exe = [sys.executable, "-m", "yizhan"]
        host, port = options["host"], options["port"]
        sup = Supervisor({
            "web": [*exe, "web", "--host", host, "--port", str(port)],
            "worker": [*exe, "worker"],
            "scheduler": [*exe, "scheduler"],
            # what the apps add (sensor ingest, protocol listeners), from their manifests
            **{name: [*exe, *argv] for name, argv in process_commands().items()},
        })

        def stop(signum, frame):
            sup.stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            sup.start()
            web_up = self._wait_ready(sup, host, port)
            if not sup.stopping:
                self.stdout.write("".join(held.held), ending="")
                url = f"http://{host}:{port}/"
                if web_up:
                    self.stdout.write(self.style.SUCCESS(
                        f"Yizhan 驿站 is up: {url}  (API docs: {url}api/v1/docs)  Ctrl-C stops"))
                else:
                    self.stdout.write(self.style.WARNING(
                        f"{url} is not answering after {READY_TIMEOUT:g} s (see the web log above); "
                        "the supervisor keeps restarting it. Ctrl-C stops"))
                self.stdout.flush()
            sup.run()
        finally:
            sup.stop()
        self.stdout.write("stopped")

    def _wait_ready(self, sup: Supervisor, host: str, port: int) -> bool:
        """Until the web port answers and the scheduler has beaten (bounded), so what is
        printed next comes after the children's start-up lines."""
        started = timezone.now()
        deadline = time.monotonic() + READY_TIMEOUT
        web_up = beat = False
        while not sup.stopping and time.monotonic() < deadline and not (web_up and beat):
            sup.step()
            if not web_up:
                try:
                    with socket.create_connection((host, port), timeout=0.5):
                        web_up = True
                except OSError:
                    pass
            if not beat:
                try:
                    last = cache.get(HEARTBEAT_KEY)
                    beat = last is not None and last >= started
                except Exception:  # noqa: BLE001 - the cache table may be busy; try again
                    pass
            time.sleep(0.3)
        time.sleep(0.3)  # the worker's first lines
        return web_up
