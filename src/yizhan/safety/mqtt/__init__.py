"""MQTT transport of the fire-safety ingest (owner: mqtt helper).

* :mod:`.settings` — the client settings from ``YIZHAN_MQTT_*`` environment variables;
* :mod:`.broker` — the embedded amqtt broker ``yizhan up`` runs when nothing else answers;
* :mod:`.consumer` — the paho consumer of ``yizhan ingest`` (batches into the pipeline);
* :mod:`.simulator` — the publisher of ``yizhan simulate-sensors``.
"""
