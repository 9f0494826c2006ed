"""The embedded MQTT broker (amqtt) for a laptop: ``yizhan mqtt-broker``.

``yizhan up`` runs it only when ``YIZHAN_MQTT_URL`` is unset and nothing answers on
127.0.0.1:1883 (a Mosquitto already there is used instead). amqtt speaks MQTT 3.1.1 and
has no ``$share`` shared subscriptions, so with it one ingest process takes the plain
topic. Anonymous, bound to loopback only.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

log = logging.getLogger("yizhan.safety.mqtt")

HOST = "127.0.0.1"
PORT = 1883


def broker_answers(host: str = HOST, port: int = PORT, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def broker_config(host: str = HOST, port: int = PORT) -> dict:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 1000}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


async def serve(host: str = HOST, port: int = PORT, stop: asyncio.Event | None = None,
                started: threading.Event | None = None) -> None:
    """Run the broker until ``stop`` is set (forever without one)."""
    from amqtt.broker import Broker  # noqa: PLC0415 - amqtt's import is slow; only the broker process needs it

    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.WARNING)
    broker = Broker(broker_config(host, port))
    await broker.start()
    if started is not None:
        started.set()
    try:
        await (stop.wait() if stop is not None else asyncio.Event().wait())
    finally:
        await broker.shutdown()


class EmbeddedBroker:
    """The broker in a background thread (tests, benchmarks): ``with EmbeddedBroker(port=p): ...``;
    ``stop()`` then ``start()`` again is a broker restart (its sessions are lost, as amqtt
    keeps none across a restart)."""

    def __init__(self, host: str = HOST, port: int = PORT):
        self.host, self.port = host, port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        started = threading.Event()
        ready = threading.Event()

        def main():
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._stop = asyncio.Event()
            ready.set()
            try:
                loop.run_until_complete(serve(self.host, self.port, self._stop, started))
            finally:
                loop.close()

        self._thread = threading.Thread(target=main, name=f"amqtt-{self.port}", daemon=True)
        self._thread.start()
        ready.wait(timeout)
        if not started.wait(timeout):
            raise RuntimeError(f"embedded broker did not start on {self.host}:{self.port}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def free_port(host: str = HOST) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
