import asyncio
import signal

from django.core.management.base import BaseCommand, CommandError

from yizhan.safety.gb26875.server import listener_settings, parse_address, serve


class Command(BaseCommand):
    help = ("GB/T 26875.3 listener: user information transmission devices (用户信息传输装置) connect over TCP; "
            "valid frames go to the ingest pipeline and are confirmed. 消防用户信息传输装置接入。")

    def add_arguments(self, parser):
        parser.add_argument("--host", help="default YIZHAN_GB26875_HOST or 127.0.0.1")
        parser.add_argument("--port", type=int, help="default YIZHAN_GB26875_PORT or 9026")
        parser.add_argument("--centre-address", help="the centre's address, decimal or 0x hex "
                            "(default YIZHAN_GB26875_CENTRE_ADDRESS or 0)")

    def handle(self, *args, **options):
        try:
            cfg = listener_settings()
            if options["centre_address"] is not None:
                cfg["centre_address"] = parse_address(options["centre_address"])
        except ValueError as e:
            raise CommandError(f"YIZHAN_GB26875_*: {e}") from None
        if options["host"]:
            cfg["host"] = options["host"]
        if options["port"] is not None:
            cfg["port"] = options["port"]
        asyncio.run(self._run(cfg))

    async def _run(self, cfg):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

        def ready(listener):
            self.stdout.write(f"GB/T 26875.3 listener on {cfg['host']}:{listener.port} "
                              f"(centre address 0x{cfg['centre_address']:012x})")
            self.stdout.flush()

        await serve(host=cfg["host"], port=cfg["port"], centre_address=cfg["centre_address"], stop=stop, ready=ready)
