"""``yizhan simulate-sensors --devices 11810``: heartbeats and an alarm now and then over MQTT."""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from yizhan.safety.models import Device
from yizhan.safety.mqtt.settings import mqtt_settings
from yizhan.safety.mqtt.simulator import SimDevice, Simulator

MAX_DEVICES = 200_000
MAX_RATE = 20_000.0


def _bounded(kind, lo, hi, name):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise CommandError(f"--{name}: not a number: {text!r}") from None
        if not lo <= value <= hi:
            raise CommandError(f"--{name}: must be between {lo} and {hi}")
        return value
    return parse


class Command(BaseCommand):
    help = ("Publish simulated sensor heartbeats and occasional alarms over MQTT (the registered HZ-… "
            "devices, or generated codes). 模拟传感器上报。")

    def add_arguments(self, parser):
        parser.add_argument("--devices", type=_bounded(int, 1, MAX_DEVICES, "devices"), default=11810,
                            help="how many devices (default 11810)")
        parser.add_argument("--prefix", default="HZ-", help="device code prefix (default HZ-)")
        parser.add_argument("--rate", type=_bounded(float, 0.1, MAX_RATE, "rate"), default=None,
                            help="messages per second in all (default: each device once per its heartbeat interval)")
        parser.add_argument("--interval", type=_bounded(int, 10, 86400, "interval"), default=None,
                            help="heartbeat interval in seconds for every device (default: the registered one, else 300)")
        parser.add_argument("--alarm-every", type=_bounded(float, 0, 86400, "alarm-every"), default=120.0,
                            help="seconds between two alarms from random devices (0: none; default 120)")
        parser.add_argument("--duration", type=_bounded(float, 0, 7 * 86400, "duration"), default=0.0,
                            help="stop after this many seconds (0: until Ctrl-C)")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, **options):
        n, prefix = options["devices"], options["prefix"]
        registered = list(Device.objects.filter(code__startswith=prefix, transmitter__isnull=True)
                          .exclude(kind="transmitter").order_by("code")
                          .values_list("code", "kind", "heartbeat_interval")[:n])
        if registered:
            devices = [SimDevice(code, kind, options["interval"] or interval) for code, kind, interval in registered]
        else:
            width = max(5, len(str(n)))
            devices = [SimDevice(f"{prefix}{i:0{width}d}", "smoke", options["interval"] or 300) for i in range(1, n + 1)]
        settings = mqtt_settings()
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *a: stop.set())
        signal.signal(signal.SIGTERM, lambda *a: stop.set())
        sim = Simulator(settings=settings, devices=devices, rate=options["rate"], alarm_every=options["alarm_every"],
                        duration=options["duration"], seed=options["seed"],
                        log=lambda text: (self.stdout.write(text), self.stdout.flush()))
        source = "registered" if registered else "generated"
        self.stdout.write(f"simulate-sensors: {len(devices)} {source} devices → {settings.host}:{settings.port}")
        self.stdout.flush()
        sim.run(stop)
        self.stdout.write(f"simulate-sensors: {sim.sent} heartbeats, {sim.alarms} alarms sent")
