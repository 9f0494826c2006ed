"""``yizhan mqtt-broker``: the embedded amqtt broker on 127.0.0.1:1883 (see safety/mqtt/broker.py).

When a broker already answers there (a local Mosquitto), it does nothing: without
``--standby`` it says so and exits 0; with ``--standby`` (how ``yizhan up`` runs it) it
stays idle and takes over the port if that broker goes away, so the supervisor has
nothing to restart."""

import asyncio
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from yizhan.safety.mqtt.broker import HOST, PORT, broker_answers, serve

STANDBY_CHECK = 5.0  # seconds between looks at the other broker


class Command(BaseCommand):
    help = "Run the embedded MQTT broker (amqtt) on 127.0.0.1:1883 unless one answers there. 内置MQTT代理。"

    def add_arguments(self, parser):
        parser.add_argument("--host", default=HOST, help="bind address (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=PORT, choices=range(1, 65536), metavar="PORT")
        parser.add_argument("--standby", action="store_true",
                            help="when another broker answers, wait and take over if it goes away")

    def handle(self, *args, **options):
        host, port = options["host"], options["port"]
        stop = threading.Event()

        def on_signal(signum, frame):
            stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        if broker_answers(host, port):
            self.stdout.write(f"mqtt-broker: a broker already answers on {host}:{port}; using it")
            self.stdout.flush()
            if not options["standby"]:
                return
            while broker_answers(host, port) and not stop.wait(STANDBY_CHECK):
                pass
            if stop.is_set():
                return
        self.stdout.write(f"mqtt-broker: embedded amqtt broker on {host}:{port} (MQTT 3.1.1, no $share)")
        self.stdout.flush()
        try:
            asyncio.run(self._serve(host, port, stop))
        except OSError as exc:
            raise CommandError(f"mqtt-broker: cannot listen on {host}:{port}: {exc}") from exc

    async def _serve(self, host, port, stop: threading.Event):
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        threading.Thread(target=lambda: (stop.wait(), loop.call_soon_threadsafe(done.set)), daemon=True).start()
        await serve(host, port, done)
