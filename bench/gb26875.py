#!/usr/bin/env python
"""Benchmark of the GB/T 26875.3 listener (issue 9, "Performance": frames/s through the
TCP listener, and confirm latency).

    .venv/bin/python bench/gb26875.py [--connections 50] [--seconds 12] [--postgres]

* **Load**: ``--connections`` transmitters (用户信息传输装置), each on its own TCP
  connection, each stop-and-wait like a real device: send a frame, wait for its confirm
  (30 bytes), send the next. The latency of a frame is write → its confirm read, on the
  client. The frames cycle through what a transmitter sends: the empty heartbeat, a type-21
  status (normal), a type-2 component status (normal) for one of its five points, a type-1
  system status; every 200th frame of a connection (staggered between connections) is a component fire
  (status 0x0003) — alternately on a point in the table and on one that is not — and the
  next status of that point is normal again. Fire frames' confirm latency is also shown
  on its own (the alarm, its DeviceEvent and the dispatch happen before the confirm).
* **Paths**, each measured for ``--seconds`` with the same client in the same run:
  1. *echo* — an asyncio server that writes back every byte it reads (the client waits for
     the whole frame back): the ceiling of this client, asyncio and loopback TCP;
  2. *listener, no-op pipeline* — ``Gb26875Listener`` parsing, unit decoding, messages and
     confirms, with a pipeline that does nothing (the listener's own cost);
  3. *yizhan gb26875* — the real command on a fresh database (SQLite file under /tmp, or
     ``--postgres``: a database this script creates and drops): ``default_pipeline()``,
     liveness batched, alarms and ``DeviceEvent`` rows written, dispatch started.
  Each server runs in its own process; the client in this one.
* **Parser alone**, in process: ``FrameStream.feed`` + ``frame_messages`` over the same
  frames in 64 KiB segments (frames/s of one core).

The ratio column is frames/s ÷ the echo path's frames/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQLITE_PATH = Path("/tmp/yizhan-bench-gb26875.sqlite3")
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
BASE_ADDRESS = 0x000012345678   # the demo transmitter; the others follow it
POINTS = 5
FIRE_EVERY = 200
sys.path.insert(0, str(ROOT / "src"))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    pos = q * (len(xs) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on {port}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


# ---- frames ---------------------------------------------------------------------------------


def frame_source(conn: int):
    """The endless frame sequence of transmitter ``conn`` (built as they are sent, with
    the current time label)."""
    from yizhan.safety.gb26875 import objects as ob
    from yizhan.safety.gb26875.codec import build_frame

    src = BASE_ADDRESS + conn
    serial = 0
    while True:
        serial = (serial + 1) & 0xFFFF
        now = datetime.now()
        k = serial % 4
        nth, fire_now = divmod(serial + conn * 37, FIRE_EVERY)   # fires spread over the connections
        if fire_now == 0:
            addr = 0x0100 + nth % POINTS if nth % 2 else 0x9000 + conn
            unit = ob.unit_bytes(2, [ob.component_status_bytes(sys_type=1, sys_addr=0, comp_type=40, comp_addr=addr,
                                                                status=0x0003, description="压测火警", time=now)])
        elif k == 0:
            unit = b""
        elif k == 1:
            unit = ob.unit_bytes(21, [ob.transmitter_status_bytes(status=0x01, time=now)])
        elif k == 2:
            unit = ob.unit_bytes(2, [ob.component_status_bytes(sys_type=1, sys_addr=0, comp_type=40,
                                                                comp_addr=0x0100 + serial % POINTS, status=0x0001,
                                                                description="2楼走廊", time=now)])
        else:
            unit = ob.unit_bytes(1, [ob.system_status_bytes(sys_type=1, sys_addr=0, status=0x0001, time=now)])
        yield build_frame(serial=serial, command=2, src=src, dst=0, time=now, app_data=unit)


# ---- the client -----------------------------------------------------------------------------


async def _device(port: int, conn: int, until: float, echo: bool, lat: list[float], fire_lat: list[float],
                  counts: dict) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    frames = frame_source(conn)
    pc = time.perf_counter
    try:
        while pc() < until:
            frame = next(frames)
            t0 = pc()
            writer.write(frame)
            reply = await asyncio.wait_for(reader.readexactly(len(frame) if echo else 30), 30)
            (fire_lat if len(frame) == 78 and frame[36] == 3 else lat).append(pc() - t0)
            counts["frames"] += 1
            if not echo and reply[26] != 3:
                counts["not_confirm"] += 1
    finally:
        writer.close()


def drive(port: int, *, connections: int, seconds: float, echo: bool = False) -> dict:
    lat: list[float] = []
    fire_lat: list[float] = []
    counts = {"frames": 0, "not_confirm": 0}

    async def main():
        until = time.perf_counter() + seconds
        t0 = time.perf_counter()
        await asyncio.gather(*(_device(port, c, until, echo, lat, fire_lat, counts) for c in range(connections)))
        return time.perf_counter() - t0

    wall = asyncio.run(main())
    fires = {"fires": len(fire_lat), "fire_p50_ms": pct(fire_lat, 0.5) * 1000,
             "fire_max_ms": max(fire_lat, default=float("nan")) * 1000}
    lat += fire_lat
    return {**fires, "frames": counts["frames"], "wall": wall, "per_s": counts["frames"] / wall,
            "p50_ms": pct(lat, 0.5) * 1000, "p99_ms": pct(lat, 0.99) * 1000, "max_ms": max(lat) * 1000,
            "not_confirm": counts["not_confirm"]}


# ---- servers (child processes) ------------------------------------------------------------


async def _echo(port: int) -> None:
    async def handle(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


async def _noop_listener(port: int) -> None:
    from yizhan.safety.gb26875.server import Gb26875Listener

    class Noop:
        def handle_many(self, msgs):
            return [None] * len(msgs)

        def reject(self, **kw):
            pass

        def flush(self):
            pass

    listener = Gb26875Listener(pipeline=Noop())
    await listener.start("127.0.0.1", port)
    await asyncio.Event().wait()


def serve_child(kind: str, port: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yizhan.config.settings")
    if kind == "noop":
        import django

        django.setup()
        asyncio.run(_noop_listener(port))
    else:
        asyncio.run(_echo(port))


# ---- the database -------------------------------------------------------------------------------


def prepare_db(env: dict, connections: int) -> None:
    """Migrate a fresh database and register the transmitters and their points (in a child
    process, so this one never holds Django settings of a database it drops)."""
    code = f"""
import django, sys
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
call_command("createcachetable", verbosity=0)
from yizhan.core.testing.factories import make_jurisdiction_tree
from yizhan.safety.tests.conftest import build_safety_tree, _device
from yizhan.safety.choices import DeviceKind
st = build_safety_tree(make_jurisdiction_tree())
for c in range({connections}):
    uitd = st.transmitter if c == 0 else _device(f"B-UITD-{{c}}", DeviceKind.TRANSMITTER, st.centre,
                                                 gb_address={BASE_ADDRESS} + c, heartbeat_interval=60)
    for p in range({POINTS}):
        if c == 0 and p == 2:
            continue  # 0x0102 is the fixture's own point
        _device(f"B-PT-{{c}}-{{p}}", DeviceKind.COMPONENT, st.building, transmitter=uitd, gb_sys_type=1,
                gb_sys_addr=0, gb_comp_type=40, gb_comp_addr=0x0100 + p)
"""
    subprocess.run([sys.executable, "-c", code], env=env, cwd=str(ROOT), check=True)


def db_counts(env: dict) -> dict:
    code = """
import django, json
django.setup()
from yizhan.safety.models import Alarm, DeviceEvent, IngestReject, Device
print(json.dumps({"alarms": Alarm.objects.filter(kind="fire").count(),
                  "events": DeviceEvent.objects.count(), "rejects": IngestReject.objects.count(),
                  "online": Device.objects.filter(status="online").count()}))
"""
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=str(ROOT), check=True, stdout=subprocess.PIPE,
                       text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def parser_alone(n: int) -> dict:
    from yizhan.safety.gb26875.messages import frame_messages
    from yizhan.safety.gb26875.stream import FrameStream

    sources = [frame_source(c) for c in range(50)]
    data = b"".join(next(sources[i % 50]) for i in range(n))
    received = datetime.now().astimezone()
    stream = FrameStream()
    t0 = time.perf_counter()
    frames = msgs = 0
    for i in range(0, len(data), 65536):
        for f in stream.feed(data[i:i + 65536]):
            frames += 1
            msgs += len(frame_messages(f, received_at=received))
    wall = time.perf_counter() - t0
    return {"frames": frames, "messages": msgs, "per_s": frames / wall, "bytes": len(data)}


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    return f"{cpu}, {os.cpu_count()} cores, load {load}, Python {platform.python_version()}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--postgres", action="store_true", help="the real listener on PostgreSQL too")
    ap.add_argument("--serve", choices=["echo", "noop"], help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve_child(args.serve, args.port)
        return 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yizhan.config.settings")
    import django

    django.setup()
    started = time.perf_counter()
    rows: list[tuple[str, dict]] = []
    env0 = dict(os.environ)
    env0.update({"DEBUG": "0", "LOG_LEVEL": "WARNING", "YIZHAN_NOTIFY_CHANNELS": "",
                 "SECRET_KEY": env0.get("SECRET_KEY", "bench-only-not-secret-0123456789abcdef"),
                 "PYTHONPATH": str(ROOT / "src") + os.pathsep + env0.get("PYTHONPATH", "")})

    for kind, label in (("echo", "echo server (ceiling)"), ("noop", "listener, no-op pipeline")):
        port = free_port()
        proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port)], env=env0,
                                cwd=str(ROOT))
        try:
            wait_port(port, proc)
            log(f"{label}: {args.connections} connections × {args.seconds:.0f} s ...")
            rows.append((label, drive(port, connections=args.connections, seconds=args.seconds, echo=kind == "echo")))
        finally:
            stop(proc)

    backends = ["sqlite"] + (["postgres"] if args.postgres else [])
    db_results = {}
    for backend in backends:
        env = dict(env0)
        pg_db = f"yizhan_bench_gb26875_{os.getpid()}"
        if backend == "sqlite":
            for p in (SQLITE_PATH, Path(f"{SQLITE_PATH}-wal"), Path(f"{SQLITE_PATH}-shm")):
                p.unlink(missing_ok=True)
            env["DATABASE_URL"] = f"sqlite:///{SQLITE_PATH}"
        else:
            import psycopg

            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as c:
                c.execute(f'CREATE DATABASE "{pg_db}"')
            env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{pg_db}"
        try:
            t = time.perf_counter()
            prepare_db(env, args.connections)
            log(f"{backend}: migrated and registered {args.connections} transmitters in {time.perf_counter() - t:.0f} s")
            port = free_port()
            proc = subprocess.Popen([sys.executable, "-m", "yizhan.cli", "gb26875", "--port", str(port)], env=env,
                                    cwd=str(ROOT), stdout=subprocess.DEVNULL)
            try:
                wait_port(port, proc)
                label = f"yizhan gb26875, {backend}"
                log(f"{label}: {args.connections} connections × {args.seconds:.0f} s ...")
                rows.append((label, drive(port, connections=args.connections, seconds=args.seconds)))
            finally:
                stop(proc)
            db_results[backend] = db_counts(env)
        finally:
            if backend == "postgres":
                import psycopg

                with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)')

    log("parser alone ...")
    alone = parser_alone(100_000)

    print(f"Yizhan GB/T 26875.3 listener benchmark — {datetime.now():%Y-%m-%d %H:%M} (machine's local time)")
    print(f"machine: {machine()}")
    print(f"load: {args.connections} transmitters, one TCP connection each, stop-and-wait (frame → confirm), "
          f"{args.seconds:.0f} s per path; every {FIRE_EVERY}th frame of a connection a fire")
    print()
    head = f"{'path':<34}{'frames':>9}{'frames/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'ratio':>8}"
    print(head)
    print("-" * len(head))
    ceiling = rows[0][1]["per_s"]
    for label, r in rows:
        print(f"{label:<34}{r['frames']:>9,}{r['per_s']:>10,.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
              f"{r['max_ms']:>9.1f}{r['per_s'] / ceiling:>8.2f}")
        if r["fires"] and "echo" not in label:
            print(f"  of which fire frames: {r['fires']}, confirm p50 {r['fire_p50_ms']:.1f} ms, "
                  f"max {r['fire_max_ms']:.1f} ms")
        if r["not_confirm"]:
            print(f"  !! {r['not_confirm']} replies were not confirms")
    print(f"{'parser alone (feed + messages)':<34}{alone['frames']:>9,}{alone['per_s']:>10,.0f}"
          f"{'':>27}{alone['per_s'] / ceiling:>8.2f}")
    for backend, c in db_results.items():
        print(f"{backend}: fire alarms open {c['alarms']}, device events {c['events']}, rejects {c['rejects']}, "
              f"devices online {c['online']}")
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
