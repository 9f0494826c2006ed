"""The long-running parts of fire safety that ``yizhan up`` supervises (the manifest's
``processes``): each function answers the ``yizhan`` sub-command and its arguments, or
``None`` to run nothing here.

* ``mqtt-broker``: only when ``YIZHAN_MQTT_URL`` is unset (a laptop). When a broker
  already answers on 127.0.0.1:1883 at start-up (a local Mosquitto) nothing is started
  and ingest uses that one; otherwise the embedded amqtt broker runs in ``--standby``
  mode (should something else take the port first, it waits instead of crash-looping).
* ``ingest``: always — the MQTT consumer (``YIZHAN_INGEST=0`` turns it off, e.g. a web-only
  machine when ingest runs elsewhere).
* ``gb26875``: the GB/T 26875.3 TCP listener (``YIZHAN_GB26875_HOST``/``PORT``, default
  127.0.0.1:9026; ``YIZHAN_GB26875=0`` turns it off).
"""

from __future__ import annotations

import os

from yizhan.safety.mqtt.broker import HOST, PORT, broker_answers


def _on(name: str) -> bool:
    return os.environ.get(name, "1").strip().lower() not in ("0", "false", "no", "off")


def broker_argv() -> list[str] | None:
    if os.environ.get("YIZHAN_MQTT_URL", "").strip() or not _on("YIZHAN_INGEST"):
        return None
    if broker_answers(HOST, PORT):
        return None  # a broker (Mosquitto) already answers: ingest uses it
    return ["mqtt-broker", "--standby"]


def ingest_argv() -> list[str] | None:
    return ["ingest"] if _on("YIZHAN_INGEST") else None


def gb26875_argv() -> list[str] | None:
    return ["gb26875"] if _on("YIZHAN_GB26875") else None
