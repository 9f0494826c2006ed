"""The ingest pipeline (owner: rules helper): every transport (MQTT, HTTP push, GB/T
26875.3) hands ``SensorMessage``s to one ``IngestPipeline`` per process.

    pipeline = default_pipeline()
    outcomes = pipeline.handle_many(messages)   # Outcome per message, same order
    pipeline.flush()                            # every ≤ 1 s and on shutdown (or pipeline.start())

What costs a database write, and when:

* a heartbeat or a plain value: nothing at once. Liveness is kept in this process and
  written by ``flush()`` in a few statements per second whatever the number of devices
  (``last_seen_at`` / ``offline_due_at`` / ``status`` grouped by heartbeat interval and
  second; battery levels grouped by level; last values at most every 5 minutes per device);
* an event (alarm, fault, tamper, low battery) or a value that fires a rule: at once, one
  transaction: the ``DeviceEvent`` row (unique per device and dedupe key: a redelivered
  message is a duplicate and raises nothing) and the alarm (``services.alarms``);
* a refused message: an ``IngestReject`` row (at most ``REJECT_ROWS_PER_SECOND`` a second;
  the rest are counted, and one summary row says how many) and a counter.

Offline: each device seen here sits in a hashed timing wheel keyed by its due second
(``last seen + interval + 10 s``: one entry per device, O(1) to move); ``flush()`` ticks
it and checks the due devices against the database (another process may have seen them
since), marking them offline with an OFFLINE alarm. The scheduler's ``offline_sweep``
does the same for every device through the indexed ``offline_due_at`` column (devices no
ingest process has seen since it started, several ingest processes). A device seen again
goes back online and its OFFLINE alarm is cleared.

GB/T 26875.3 (research/gb26875.md): a message from an unregistered transmitter is
refused; the fire bit (status bit1) raises a FIRE alarm whatever bit0 (normal/test) says —
on the component's Device when its address is in the point table, else on the
transmitter with the address and description text in ``details``; fault bits raise FAULT
(cleared when a later status of that point has none); type 21 and the empty heartbeat are
the transmitter's liveness.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import DatabaseError, IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone

from yizhan.safety.choices import AlarmKind, DeviceStatus, IngestChannel, Severity
from yizhan.safety.errors import ImpossibleValue, MalformedMessage, UnknownDevice
from yizhan.safety.ingest.device_cache import (
    DeviceFacts,
    device_by_code,
    gb_point,
    transmitter_by_gb,
)
from yizhan.safety.ingest.message import SensorMessage
from yizhan.safety.models import Alarm, Device, DeviceEvent, IngestReject
from yizhan.safety.rules import DISPATCH_KINDS, Trigger, evaluate
from yizhan.safety.services.alarms import (
    alarm_clear_open,
    alarm_trigger,
    alarms_clear_offline,
    alarms_raise_offline,
)

log = logging.getLogger("yizhan.safety.ingest")

OFFLINE_GRACE_SECONDS = 10  # offline when a heartbeat is later than its interval + this
CHUNK = 500  # ids per UPDATE ... WHERE id IN (...)
VALUES_WRITE_SECONDS = 300  # last_values written at most this often per device
RETRIGGER_QUIET_SECONDS = 60  # low-urgency alarms (battery, fault, tamper) re-written at most this often
REJECT_ROWS_PER_SECOND = 200
RECENT_KEYS = 4  # dedupe keys remembered per device in this process
OPEN_ALARMS_REFRESH_SECONDS = 30.0
SWEEP_BATCH = 2000

# GB status bits (research/gb26875.md)
GB_FIRE = 1 << 1
GB_FAULT = 1 << 2
GB_COMPONENT_FAULTS = {2: "fault", 8: "power_fault"}
GB_SYSTEM_FAULTS = {2: "fault", 8: "main_power_fault", 9: "backup_power_fault", 10: "bus_fault"}
GB_UITD_FAULTS = {2: "fault", 3: "main_power_fault", 4: "backup_power_fault", 5: "centre_link_fault",
                  6: "monitored_line_fault"}


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # accepted | duplicate | rejected | alarm
    reason: str = ""
    alarm_ids: tuple[int, ...] = ()
    device_id: int | None = None

    @property
    def alarm_id(self) -> int | None:
        return self.alarm_ids[0] if self.alarm_ids else None

    @property
    def ok(self) -> bool:
        """Accepted, a duplicate or an alarm (not refused)."""
        return self.status != "rejected"

    @property
    def retry(self) -> bool:
        """Refused by our fault (the database was down...), not the message's: a transport
        that can have it sent again (MQTT QoS 1 without the ack, no GB confirm) should."""
        return self.status == "rejected" and self.reason == "internal_error"


ACCEPTED = Outcome("accepted")
DUPLICATE = Outcome("duplicate")


def _second(dt: datetime) -> int:
    return int(dt.timestamp())


def _gb_hex(address: int) -> str:
    return f"{address:012X}"


class IngestPipeline:
    """One per ingest process; ``handle`` is thread-safe (the in-process state is behind a
    lock that is never held during a database call)."""

    def __init__(self, *, now=timezone.now):
        self._now = now
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self.counters: Counter = Counter()
        self.timings: Counter = Counter()  # seconds spent in flush, by part
        self.alarm_latencies: deque = deque(maxlen=20000)  # seconds, received → alarm committed
        # liveness: device id -> second last seen (pending write), interval
        self._seen: dict[int, int] = {}
        self._written: dict[int, int] = {}  # device id -> second of its last liveness write
        self._interval: dict[int, int] = {}
        self._battery: dict[int, int] = {}  # pending battery writes
        self._battery_known: dict[int, int | None] = {}
        self._values: dict[int, tuple[dict, int | None]] = {}
        self._values_written: dict[int, float] = {}
        # hashed timing wheel: due second -> device ids; device id -> its due second
        self._wheel: dict[int, set[int]] = {}
        self._due: dict[int, int] = {}
        self._ticked_to: int | None = None
        self._recent: dict[int, tuple] = {}
        self._open: set[tuple[int, str]] | None = None
        self._open_loaded = 0.0
        self._quiet: dict[tuple[int, str], float] = {}
        self._reject_second = 0
        self._reject_rows = 0
        self._reject_overflow: Counter = Counter()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # ---- public ---------------------------------------------------------------------

    def handle(self, msg: SensorMessage) -> Outcome:
        try:
            return self._handle(msg)
        except DatabaseError:
            # the database, not the message: raise so the transport keeps the batch
            # unacknowledged and tries again (what was done already is idempotent)
            self.counters["database_error"] += 1
            raise
        except Exception as exc:  # a bug with this message: refuse it, count it, log it; never stop the loop
            log.exception("ingest: message from %s failed", msg.device_code or msg.gb_address)
            self.counters["error"] += 1
            return self.reject(channel=msg.channel, reason="internal_error", device_code=_code_of(msg),
                               detail=f"{type(exc).__name__}: {exc}"[:200])

    def handle_many(self, msgs) -> list[Outcome]:
        """``handle`` for each; heartbeats and values cost nothing until ``flush()``.
        Raises ``DatabaseError`` when the database fails: the caller keeps the batch
        (unacknowledged) and hands it again later — every message is idempotent."""
        return [self.handle(m) for m in msgs]

    def reject(self, *, channel: str, reason: str, device_code: str = "", detail: str = "",
               excerpt: bytes | str = b"", peer: str = "") -> Outcome:
        """Refuse a message: count it by (channel, reason) and keep an ``IngestReject`` row
        (at most ``REJECT_ROWS_PER_SECOND`` rows a second; a flood is counted, and
        summarised in one row at the next flush)."""
        self.counters["rejected"] += 1
        self.counters[f"rejected:{channel}:{reason}"] += 1
        now = self._now()
        sec = _second(now)
        with self._lock:
            if sec != self._reject_second:
                self._reject_second, self._reject_rows = sec, 0
            self._reject_rows += 1
            write = self._reject_rows <= REJECT_ROWS_PER_SECOND
            if not write:
                self._reject_overflow[(channel, reason)] += 1
        if write:
            if isinstance(excerpt, bytes | bytearray | memoryview):
                raw = bytes(excerpt[:256])
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = raw.hex()
            else:
                text = str(excerpt)[:512]
            try:
                IngestReject.objects.create(channel=channel if channel in IngestChannel.values else "mqtt",
                                            reason=reason[:40], device_code=(device_code or "")[:64],
                                            detail=(detail or "")[:200], excerpt=text.replace("\x00", ""),
                                            peer=(peer or "")[:64], at=now)
            except Exception:  # the database is down: the counter still has it
                log.exception("ingest: could not record a reject")
        return Outcome("rejected", reason=reason)

    def flush(self) -> dict:
        """Write the batched liveness, batteries and values; tick the offline timer.
        Returns what it wrote (counts)."""
        with self._flush_lock:
            now_sec = _second(self._now())
            with self._lock:
                seen, held = {}, {}
                for device_id, sec in self._seen.items():
                    # written less than half an interval ago: the stored offline_due_at
                    # (that write + interval + 10 s) is still ahead, so the write can wait
                    written = self._written.get(device_id)
                    if written is not None and now_sec - written < self._interval.get(device_id, 300) // 2:
                        held[device_id] = sec
                    else:
                        seen[device_id] = sec
                self._seen = held
                battery, self._battery = self._battery, {}
                values, self._values = self._values, {}
                overflow, self._reject_overflow = self._reject_overflow, Counter()
            out = {"seen": len(seen), "back_online": 0, "battery": len(battery), "values": len(values),
                   "offline": 0}
            try:
                t = time.perf_counter()
                out["back_online"] = self._write_seen(seen)
                t1 = time.perf_counter()
                self._write_battery(battery)
                self._write_values(values)
                self._write_overflow(overflow)
                t2 = time.perf_counter()
                out["offline"] = self._tick()
                t3 = time.perf_counter()
                self.timings["liveness"] += t1 - t
                self.timings["values"] += t2 - t1
                self.timings["offline"] += t3 - t2
            except Exception:
                # put what was not written back (newer data wins) and try again next time
                with self._lock:
                    for k, v in seen.items():
                        self._seen[k] = max(v, self._seen.get(k, v))
                    for k, v in battery.items():
                        self._battery.setdefault(k, v)
                    for k, v in values.items():
                        self._values.setdefault(k, v)
                log.exception("ingest: flush failed")
                self.counters["flush_error"] += 1
                raise
            self.counters["flushes"] += 1
            return out

    def start(self, interval: float = 1.0) -> None:
        """Flush every ``interval`` seconds in a background thread (``stop()`` ends it)."""
        if self._thread is not None:
            return
        self._stop.clear()

        def run():
            try:
                while not self._stop.wait(interval):
                    try:
                        close_old_connections()
                        self.flush()
                    except Exception:
                        pass  # logged by flush; the next round retries
            finally:
                connection.close()

        self._thread = threading.Thread(target=run, name="safety-ingest-flush", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()

    def stats(self) -> dict:
        lat = sorted(self.alarm_latencies)

        def pct(p):
            return round(lat[min(len(lat) - 1, int(p * len(lat)))], 4) if lat else None

        return {"counters": dict(self.counters), "devices_tracked": len(self._due),
                "flush_seconds": {k: round(v, 3) for k, v in self.timings.items()},
                "alarm_latency_p50": pct(0.5), "alarm_latency_p99": pct(0.99)}

    # ---- one message --------------------------------------------------------------------

    def _handle(self, msg: SensorMessage) -> Outcome:
        if msg.is_gb:
            return self._handle_gb(msg)
        device = device_by_code(msg.device_code) if msg.device_code else None
        if device is None:
            return self.reject(channel=msg.channel, reason=UnknownDevice.code, device_code=msg.device_code or "")
        if device.disabled:
            return self.reject(channel=msg.channel, reason="device_disabled", device_code=device.code)
        if msg.dedupe_key and self._seen_key(device.id, msg.dedupe_key):
            self.counters["duplicate"] += 1
            return DUPLICATE
        try:
            triggers = evaluate(device, msg, is_open=self._opener(device.id)) if (
                msg.values or msg.battery is not None or (msg.event and msg.event != "heartbeat")) else []
        except ImpossibleValue as exc:
            self._forget_key(device.id, msg.dedupe_key)
            return self.reject(channel=msg.channel, reason=ImpossibleValue.code, device_code=device.code,
                               detail=f"{exc.field}: {_values_text(msg)}"[:200])
        self._alive(device, msg)
        if triggers and any(t.clear for t in triggers):
            triggers = self._drop_needless_clears(device.id, triggers)
        if msg.is_heartbeat and not triggers:
            self.counters["heartbeat"] += 1
            return ACCEPTED
        if not triggers and (not msg.event or msg.event == "heartbeat"):
            self.counters["values"] += 1
            return ACCEPTED
        event = msg.event if msg.event and msg.event != "heartbeat" else ""
        return self._record(device, msg, triggers, event=event, dedupe=msg.dedupe_key)

    def _record(self, device: DeviceFacts, msg: SensorMessage, triggers: list[Trigger], *, event: str,
                dedupe: str, extra_values: dict | None = None) -> Outcome:
        """The DeviceEvent row and the alarms, in one transaction (all or nothing)."""
        opens, clears, quiet = [], [], []
        now_mono = time.monotonic()
        self._load_open()
        with self._lock:
            for t in triggers:
                key = (device.id, t.kind)
                if t.clear:
                    if key in self._open:
                        clears.append(t)
                elif (key in self._open and t.kind not in DISPATCH_KINDS and t.severity in
                      (Severity.MINOR, Severity.WARNING) and now_mono - self._quiet.get(key, 0) < RETRIGGER_QUIET_SECONDS):
                    quiet.append(t)
                else:
                    opens.append(t)
        if not opens and not clears and not event:
            self.counters["quiet"] += 1
            return ACCEPTED
        key = dedupe or f"r{msg.received_at.timestamp():.6f}"
        values = dict(msg.values)
        if extra_values:
            values.update(extra_values)
        ids = []
        try:
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        DeviceEvent.objects.create(device_id=device.id, dedupe_key=key[:64], channel=msg.channel,
                                                   event=event or (opens[0].kind if opens else ""), values=values,
                                                   device_ts=msg.ts, received_at=msg.received_at)
                except IntegrityError:
                    self.counters["duplicate"] += 1
                    return DUPLICATE
                # our clock, not the device's (a wrong device clock must not move the
                # alarm's start, which every dispatch interval counts from)
                at = msg.received_at
                for t in opens:
                    alarm, _created = alarm_trigger(device=device, kind=t.kind, severity=t.severity, details=t.details,
                                                    channel=msg.channel, received_at=msg.received_at, at=at)
                    ids.append(alarm.pk)
                for t in clears:
                    alarm_clear_open(device_id=device.id, kind=t.kind, note=_clear_note(t))
        except Exception:
            self._forget_key(device.id, dedupe)
            raise
        done = time.monotonic()
        with self._lock:
            for t in opens:
                self._open.add((device.id, t.kind))
                self._quiet[(device.id, t.kind)] = done
            for t in clears:
                self._open.discard((device.id, t.kind))
        if ids:
            self.counters["alarm"] += 1
            lat = (self._now() - msg.received_at).total_seconds()
            self.alarm_latencies.append(max(lat, 0.0))
            return Outcome("alarm", alarm_ids=tuple(ids), device_id=device.id)
        self.counters["event"] += 1
        return Outcome("accepted", device_id=device.id)

    # ---- GB/T 26875.3 ---------------------------------------------------------------

    def _handle_gb(self, msg: SensorMessage) -> Outcome:
        uitd = transmitter_by_gb(msg.gb_address)
        if uitd is None:
            return self.reject(channel=msg.channel, reason=UnknownDevice.code, device_code=_gb_hex(msg.gb_address),
                               detail=f"gb_address {_gb_hex(msg.gb_address)}")
        if uitd.disabled:
            return self.reject(channel=msg.channel, reason="device_disabled", device_code=uitd.code)
        kind = msg.gb_kind
        if kind not in ("system", "component", "transmitter", "heartbeat"):
            return self.reject(channel=msg.channel, reason=MalformedMessage.code, device_code=uitd.code,
                               detail=f"gb_kind {kind!r}")
        obj_key = f"{msg.dedupe_key}/{kind[0]}{msg.gb_sys_type}.{msg.gb_sys_addr}.{msg.gb_comp_addr}"
        if msg.dedupe_key and self._seen_key(uitd.id, obj_key):
            self.counters["duplicate"] += 1
            return DUPLICATE
        self._alive(uitd, msg)
        if kind == "heartbeat" or msg.gb_status is None:
            self.counters["heartbeat"] += 1
            return ACCEPTED
        status = msg.gb_status
        where = {"gb_address": _gb_hex(msg.gb_address), "gb_kind": kind, "status": f"0x{status:04X}",
                 "test": not bool(status & 1)}
        target = uitd
        faults_map = GB_UITD_FAULTS
        if kind in ("system", "component"):
            where.update(sys_type=msg.gb_sys_type, sys_addr=msg.gb_sys_addr)
            faults_map = GB_SYSTEM_FAULTS
        if kind == "component":
            where.update(comp_type=msg.gb_comp_type, comp_addr=msg.gb_comp_addr)
            faults_map = GB_COMPONENT_FAULTS
            point = gb_point(uitd.id, msg.gb_sys_type, msg.gb_sys_addr, msg.gb_comp_addr)
            where["in_point_table"] = point is not None
            if point is not None and not point.disabled:
                target = point
        if msg.gb_description:
            where["description"] = msg.gb_description
        triggers = []
        if status & GB_FIRE:
            triggers.append(Trigger(AlarmKind.FIRE, Severity.CRITICAL, dict(where)))
        faults = [name for bit, name in faults_map.items() if status & (1 << bit)]
        if faults:
            triggers.append(Trigger(AlarmKind.FAULT, Severity.MINOR, {**where, "faults": faults}))
        elif target is not uitd or kind == "transmitter":
            # a status without fault bits from this point: its fault (if any) is gone
            triggers.append(Trigger(AlarmKind.FAULT, Severity.MINOR, dict(where), clear=True))
        if any(not t.clear for t in triggers):
            return self._record(target, msg, triggers, event="gb_" + kind, dedupe=obj_key, extra_values={"gb": where})
        self._load_open()
        with self._lock:
            needed = any((target.id, t.kind) in self._open for t in triggers)
        if not needed:
            self.counters["gb_status"] += 1
            return ACCEPTED
        return self._record(target, msg, triggers, event="gb_" + kind, dedupe=obj_key, extra_values={"gb": where})

    # ---- in-process state ------------------------------------------------------------

    def _seen_key(self, device_id: int, key: str) -> bool:
        """Seen lately in this process? (a tuple per device: small at a million devices)"""
        with self._lock:
            recent = self._recent.get(device_id, ())
            if key in recent:
                return True
            self._recent[device_id] = (key, *recent[:RECENT_KEYS - 1])
            return False

    def _forget_key(self, device_id: int, key: str) -> None:
        with self._lock:
            recent = self._recent.get(device_id, ())
            if key in recent:
                self._recent[device_id] = tuple(k for k in recent if k != key)

    def _alive(self, device: DeviceFacts, msg: SensorMessage) -> None:
        sec = _second(msg.received_at)
        interval = device.heartbeat_interval
        due = sec + interval + OFFLINE_GRACE_SECONDS
        with self._lock:
            if self._seen.get(device.id, -1) < sec:
                self._seen[device.id] = sec
            self._interval[device.id] = interval
            old = self._due.get(device.id)
            if old is None or due > old:
                if old is not None:
                    bucket = self._wheel.get(old)
                    if bucket is not None:
                        bucket.discard(device.id)
                        if not bucket:
                            del self._wheel[old]
                self._due[device.id] = due
                self._wheel.setdefault(due, set()).add(device.id)
            battery = msg.battery
            if battery is not None and self._battery_known.get(device.id, device.battery) != battery:
                self._battery_known[device.id] = battery
                self._battery[device.id] = battery
            if msg.values:
                last = self._values_written.get(device.id, 0.0)
                mono = time.monotonic()
                if mono - last >= VALUES_WRITE_SECONDS:
                    self._values_written[device.id] = mono
                    self._values[device.id] = (dict(msg.values), msg.seq)

    def _opener(self, device_id: int):
        self._load_open()
        open_set = self._open
        return lambda kind: (device_id, kind) in open_set

    def _drop_needless_clears(self, device_id: int, triggers: list[Trigger]) -> list[Trigger]:
        """A clear is only worth a write when that alarm is open (as far as we know)."""
        self._load_open()
        with self._lock:
            return [t for t in triggers if not t.clear or (device_id, t.kind) in self._open]

    def _load_open(self) -> None:
        mono = time.monotonic()
        if self._open is not None and mono - self._open_loaded < OPEN_ALARMS_REFRESH_SECONDS:
            return
        rows = set(Alarm.objects.filter(open=True).values_list("device_id", "kind"))
        with self._lock:
            self._open = rows
            self._open_loaded = mono

    # ---- flush ------------------------------------------------------------------------

    def _write_seen(self, seen: dict[int, int]) -> int:
        if not seen:
            return 0
        groups: dict[tuple[int, int], list[int]] = {}
        with self._lock:
            for device_id, sec in seen.items():
                groups.setdefault((self._interval.get(device_id, 300), sec), []).append(device_id)
        back: list[int] = []
        live = (DeviceStatus.NEW, DeviceStatus.ONLINE, DeviceStatus.OFFLINE)
        for (interval, sec), ids in groups.items():
            last = datetime.fromtimestamp(sec, UTC)
            due = last + timedelta(seconds=interval + OFFLINE_GRACE_SECONDS)
            for i in range(0, len(ids), CHUNK):
                chunk = ids[i:i + CHUNK]
                # (a sweep marking one of these offline between the two statements leaves
                # an OFFLINE alarm on an online device: offline_sweep clears those)
                back += list(Device.objects.filter(id__in=chunk, status=DeviceStatus.OFFLINE)
                             .values_list("id", flat=True))
                # never move a device's clock backwards (another process saw it later)
                Device.objects.filter(id__in=chunk, status__in=live).exclude(last_seen_at__gt=last).update(
                    last_seen_at=last, offline_due_at=due, status=DeviceStatus.ONLINE)
                with self._lock:
                    for device_id in chunk:
                        self._written[device_id] = sec
        if back:
            alarms_clear_offline(back, at=self._now())
            self._open_loaded = 0.0
            self.counters["back_online"] += len(back)
        return len(back)

    def _write_battery(self, battery: dict[int, int]) -> None:
        groups: dict[int, list[int]] = {}
        for device_id, level in battery.items():
            groups.setdefault(level, []).append(device_id)
        for level, ids in groups.items():
            for i in range(0, len(ids), CHUNK):
                Device.objects.filter(id__in=ids[i:i + CHUNK]).update(battery=level)

    def _write_values(self, values: dict[int, tuple[dict, int | None]]) -> None:
        if not values:
            return
        items = list(values.items())
        if connection.vendor == "postgresql":
            # one UPDATE ... FROM (VALUES ...) per chunk: far cheaper than bulk_update's CASE
            table = Device._meta.db_table
            with connection.cursor() as cur:
                for i in range(0, len(items), CHUNK):
                    chunk = items[i:i + CHUNK]
                    rows = ", ".join(["(%s, %s, %s)"] * len(chunk))
                    params = []
                    for device_id, (v, seq) in chunk:
                        params += [device_id, json.dumps(v), seq]
                    cur.execute(f"UPDATE {table} AS d SET last_values = v.vals::jsonb, last_seq = v.seq::bigint "
                                f"FROM (VALUES {rows}) AS v(id, vals, seq) WHERE d.id = v.id::bigint", params)
            return
        rows = [Device(id=device_id, last_values=v, last_seq=seq) for device_id, (v, seq) in items]
        Device.objects.bulk_update(rows, ["last_values", "last_seq"], batch_size=200)

    def _write_overflow(self, overflow: Counter) -> None:
        if not overflow:
            return
        now = self._now()
        IngestReject.objects.bulk_create([
            IngestReject(channel=channel, reason=reason[:40], detail=f"{n} more refused, not kept one by one", at=now)
            for (channel, reason), n in overflow.items()])

    def _tick(self) -> int:
        """Pop the wheel up to now; check those devices against the database."""
        now = self._now()
        sec = _second(now)
        due: list[int] = []
        with self._lock:
            start = self._ticked_to
            if start is None:
                start = min(self._wheel, default=sec)
            if sec - start > 7 * 86400:  # a clock jump: walk only the seconds that have entries
                seconds = [s for s in self._wheel if s < sec]
            else:
                seconds = range(start, sec)
            for s in seconds:
                bucket = self._wheel.pop(s, None)
                if bucket:
                    for device_id in bucket:
                        if self._due.get(device_id) == s:
                            del self._due[device_id]
                            due.append(device_id)
            self._ticked_to = sec
        if not due:
            return 0
        total = 0
        for i in range(0, len(due), CHUNK):
            total += offline_sweep(now=now, ids=due[i:i + CHUNK])
        if total:
            self._open_loaded = 0.0  # reload the open alarms (new OFFLINE ones)
        return total


def _values_text(msg: SensorMessage) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in msg.values.items())


def _code_of(msg: SensorMessage) -> str:
    if msg.device_code:
        return msg.device_code
    return _gb_hex(msg.gb_address) if msg.gb_address is not None else ""


def _clear_note(t: Trigger) -> str:
    if t.kind == AlarmKind.LOW_BATTERY:
        return "电量恢复 battery recovered"
    if t.kind == AlarmKind.FAULT:
        return "故障消除 fault gone"
    return "条件消失 condition gone"


# ---- the offline sweep (scheduler job and the in-process timer) -------------------------


def offline_sweep(*, now: datetime | None = None, ids=None, limit: int = 50 * SWEEP_BATCH) -> int:
    """Mark offline the devices whose ``offline_due_at`` passed (read through its index,
    oldest first, ``SWEEP_BATCH`` at a time; ``ids`` narrows it to those devices), and
    raise their OFFLINE alarms in bulk. Returns how many went offline."""
    now = now or timezone.now()
    total = 0
    while total < limit:
        with transaction.atomic():
            qs = Device.objects.filter(offline_due_at__lt=now, status=DeviceStatus.ONLINE)
            if ids is not None:
                qs = qs.filter(id__in=list(ids))
            if connection.features.has_select_for_update_skip_locked:
                qs = qs.select_for_update(skip_locked=True, of=("self",))
            rows = list(qs.order_by("offline_due_at").values(
                "id", "place_id", "jurisdiction_id", "last_seen_at", "heartbeat_interval")[:SWEEP_BATCH])
            if not rows:
                break
            Device.objects.filter(id__in=[r["id"] for r in rows], offline_due_at__lt=now).update(
                status=DeviceStatus.OFFLINE, offline_due_at=None)
            alarms_raise_offline(rows, at=now)
        total += len(rows)
        if len(rows) < SWEEP_BATCH or ids is not None:
            break
    if ids is None:
        # an OFFLINE alarm left open on a device that is online again (a flush that died
        # between its two steps): clear it now
        stale = list(Alarm.objects.filter(kind=AlarmKind.OFFLINE, open=True, device__status=DeviceStatus.ONLINE)
                     .values_list("device_id", flat=True)[:SWEEP_BATCH])
        if stale:
            alarms_clear_offline(stale, at=now)
    return total


_default: IngestPipeline | None = None
_default_lock = threading.Lock()


def default_pipeline() -> IngestPipeline:
    """The process-wide pipeline (created on first use)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = IngestPipeline()
    return _default


def pipeline_forget() -> None:
    """Drop the process-wide pipeline (tests)."""
    global _default
    with _default_lock:
        _default = None

