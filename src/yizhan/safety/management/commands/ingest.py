"""``yizhan ingest``: the MQTT consumer feeding the ingest pipeline (see safety/mqtt/consumer.py)."""

import signal
import threading

from django.core.management.base import BaseCommand

from yizhan.safety.ingest.pipeline import default_pipeline
from yizhan.safety.mqtt.consumer import Consumer
from yizhan.safety.mqtt.settings import mqtt_settings


class Command(BaseCommand):
    help = ("Consume sensor messages from MQTT (YIZHAN_MQTT_URL, default mqtt://127.0.0.1:1883) into the "
            "ingest pipeline. 接收传感器MQTT消息。")

    def add_arguments(self, parser):
        parser.add_argument("--instance", type=int, choices=range(0, 64), metavar="N", default=None,
                            help="this process's number when several run (client id suffix, 0-63)")

    def handle(self, *args, **options):
        settings = mqtt_settings()
        stop = threading.Event()

        def on_signal(signum, frame):
            stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        pipeline = default_pipeline()
        pipeline.start(interval=1.0)  # batched liveness written every second, beside the consumer
        consumer = Consumer(settings=settings, pipeline=pipeline, instance=options["instance"], flush_every=None)
        self.stdout.write(f"ingest: {settings.host}:{settings.port} {settings.subscription} as {consumer.client_id}")
        self.stdout.flush()
        try:
            stats = consumer.run(stop)
        finally:
            pipeline.stop()  # the last liveness batch
        self.stdout.write(f"ingest stopped: {stats.received} received, {stats.rejected} refused, "
                          f"{stats.batches} batches")
