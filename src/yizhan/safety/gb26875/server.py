"""The GB/T 26875.3 listener: user information transmission devices connect over TCP.

Per connection a ``FrameStream`` cuts the bytes into frames. Valid frames become
``SensorMessage``s and go to the ingest pipeline; the confirm (command 3, same serial
bytes, addresses swapped) is written only after the pipeline has taken them, so a device
that sees no confirm retries and nothing is lost. A bad stretch of bytes is rejected
(``IngestReject`` row + counter) and gets no confirm; the connection stays open for the
frames after it.

The database is touched only in one worker thread (``run_in_executor``), never on the
event loop. Frames that arrive while that thread is busy, from every connection, are
handed to ``handle_many`` together in the next batch, so many transmitters cost one
transaction, not one each.

Settings (environment, or Django settings of the same name):
``YIZHAN_GB26875_HOST`` (127.0.0.1), ``YIZHAN_GB26875_PORT`` (9026),
``YIZHAN_GB26875_CENTRE_ADDRESS`` (0; decimal or 0x hex: the centre's own 6-byte address,
the source of its confirms).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import close_old_connections
from django.urls import get_resolver
from django.utils import timezone

from yizhan.safety.choices import IngestChannel
from yizhan.safety.gb26875.codec import ADDRESS_MAX, Command, Frame, confirm_for
from yizhan.safety.gb26875.messages import frame_messages
from yizhan.safety.gb26875.stream import BadFrame, FrameStream
from yizhan.safety.ingest.pipeline import default_pipeline

log = logging.getLogger("yizhan.safety.gb26875")

CHANNEL = IngestChannel.GB26875.value
READ_SIZE = 65536
EXCERPT_BYTES = 64
MAX_BATCH_MESSAGES = 2000
FLUSH_SECONDS = 1.0


def _setting(name: str, default: str) -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return str(value)


def parse_address(text: str | int) -> int:
    value = text if isinstance(text, int) else int(str(text).strip(), 0)
    if not 0 <= value <= ADDRESS_MAX:
        raise ValueError("a GB/T 26875.3 address is 0 .. 2**48-1")
    return value


def listener_settings() -> dict:
    """``{"host", "port", "centre_address"}`` from the environment / settings."""
    return {
        "host": _setting("YIZHAN_GB26875_HOST", "127.0.0.1"),
        "port": int(_setting("YIZHAN_GB26875_PORT", "9026")),
        "centre_address": parse_address(_setting("YIZHAN_GB26875_CENTRE_ADDRESS", "0")),
    }


def _local_now() -> datetime:
    return timezone.localtime()


@dataclass
class _Job:
    frames: list[list]          # the messages of each valid frame
    bad: list[BadFrame]
    peer: str
    done: asyncio.Future = field(repr=False)

    @property
    def size(self) -> int:
        return sum(len(m) for m in self.frames)


def _transient(outcome) -> bool:
    """The pipeline could not take the message for a reason of its own (the database was
    down): the frame must not be confirmed, so the device sends it again."""
    return getattr(outcome, "reason", "") == "internal_error"


def _source_of(bad: BadFrame) -> str:
    """The sender's address of a bad frame whose header is whole (for the admins' list)."""
    raw = bad.raw
    if len(raw) >= 27 and raw[:2] == b"@@":
        return f"{int.from_bytes(raw[12:18], 'little'):012X}"
    return ""


class Gb26875Listener:
    """``await listener.start(host, port)``, then ``await listener.close()``.

    ``pipeline``: an object with ``handle_many(messages)``, ``reject(**kw)`` and
    (optionally) ``flush()``; ``None`` = ``default_pipeline()``, looked up in the worker
    thread on first use. ``clock``: the confirms' time label (local wall clock).
    ``partial_timeout``: seconds of silence after which an incomplete frame is given up.
    ``idle_timeout``: seconds of silence after which a connection is closed (devices send
    a heartbeat every 20-30 s). ``executor``: where the pipeline runs (default: one
    thread of its own, which also drops stale database connections before each batch;
    tests pass one that runs in the test's thread and transaction)."""

    def __init__(self, *, pipeline=None, centre_address: int = 0, clock: Callable[[], datetime] = _local_now,
                 partial_timeout: float = 5.0, idle_timeout: float = 300.0, executor: Executor | None = None):
        self._pipeline = pipeline
        self.centre_address = parse_address(centre_address)
        self._clock = clock
        self.partial_timeout = partial_timeout
        self.idle_timeout = idle_timeout
        self._own_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="gb26875-db")
        self._queue: asyncio.Queue[_Job] | None = None
        self._tasks: list[asyncio.Task] = []
        self._conns: set[asyncio.Task] = set()
        self.server: asyncio.Server | None = None
        self.stats = {"connections": 0, "frames": 0, "bad": 0, "confirmed": 0, "unconfirmed_batches": 0,
                      "batches": 0, "batch_seconds": 0.0}

    # ---- lifecycle --------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 9026) -> asyncio.Server:
        self._queue = asyncio.Queue()
        # pay the first-use costs (the pipeline, the URL resolver a dispatch's links need)
        # now, not on the first fire alarm
        await asyncio.get_running_loop().run_in_executor(self._executor, self._warm)
        self._tasks = [asyncio.create_task(self._batch_loop(), name="gb26875-batches"),
                       asyncio.create_task(self._flush_loop(), name="gb26875-flush")]
        self.server = await asyncio.start_server(self._connection, host, port, limit=READ_SIZE)
        return self.server

    @property
    def port(self) -> int:
        return self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self._conns):
            task.cancel()
        if self._conns:
            await asyncio.gather(*self._conns, return_exceptions=True)
        if self._queue is not None:
            try:  # let the batch in flight finish (its frames are taken; confirms go nowhere)
                await asyncio.wait_for(self._queue.join(), 30)
            except TimeoutError:
                log.warning("gb26875: a pipeline batch did not finish within 30 s of stopping")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._flush_now)
        finally:
            if self._own_executor:
                self._executor.shutdown(wait=True)
        if self.server is not None:
            await self.server.wait_closed()

    # ---- pipeline side (worker thread) -------------------------------------------------

    def _pipe(self):
        if self._pipeline is None:
            self._pipeline = default_pipeline()
        return self._pipeline

    def _warm(self) -> None:
        self._pipe()
        get_resolver().reverse_dict  # noqa: B018 - builds the resolver's lookup tables

    def _flush_now(self) -> None:
        flush = getattr(self._pipe(), "flush", None)
        if flush is not None:
            try:
                flush()
            except Exception:  # the next flush retries; never stop the listener
                log.exception("gb26875: pipeline flush failed")

    def _reject(self, bad: BadFrame, peer: str) -> None:
        self._pipe().reject(channel=CHANNEL, reason=bad.reason, device_code=_source_of(bad),
                            detail=f"{bad.detail} ({bad.size} bytes)"[:200],
                            excerpt=bad.raw[:EXCERPT_BYTES].hex(), peer=peer)

    def _run_batch(self, jobs: list[_Job]) -> list[list[bool]]:
        """In the worker thread: the rejects, then one ``handle_many`` for every job's
        messages. Answers, per job, per frame: may it be confirmed (the pipeline took
        every message of it)? If ``handle_many`` itself fails, each job is tried again
        on its own, so one frame the pipeline cannot take does not cost the others."""
        started = time.perf_counter()
        try:
            return self._run_batch_timed(jobs)
        finally:
            self.stats["batches"] += 1
            self.stats["batch_seconds"] += time.perf_counter() - started

    def _run_batch_timed(self, jobs: list[_Job]) -> list[list[bool]]:
        if self._own_executor:
            close_old_connections()
        pipeline = self._pipe()
        for job in jobs:
            for bad in job.bad:
                try:
                    self._reject(bad, job.peer)
                except Exception:
                    log.exception("gb26875: recording a reject failed")
        msgs = [m for job in jobs for frame in job.frames for m in frame]
        if not msgs:
            return [[] for _ in jobs]
        try:
            outcomes = pipeline.handle_many(msgs)
            return self._split(jobs, outcomes)
        except Exception:
            log.exception("gb26875: the pipeline failed on a batch of %d messages", len(msgs))
        results = []
        for job in jobs:
            try:
                if self._own_executor:
                    close_old_connections()
                results += self._split([job], pipeline.handle_many([m for f in job.frames for m in f]))
            except Exception:
                log.exception("gb26875: the pipeline failed on frames from %s", job.peer)
                results.append([False] * len(job.frames))
        return results

    @staticmethod
    def _split(jobs: list[_Job], outcomes) -> list[list[bool]]:
        it = iter(outcomes)
        return [[not any(_transient(next(it)) for _ in frame) for frame in job.frames] for job in jobs]

    # ---- event loop side ---------------------------------------------------------------

    async def _batch_loop(self) -> None:
        loop = asyncio.get_running_loop()
        queue = self._queue
        while True:
            jobs = [await queue.get()]
            count = jobs[0].size
            while count < MAX_BATCH_MESSAGES and not queue.empty():
                job = queue.get_nowait()
                jobs.append(job)
                count += job.size
            try:
                results = await loop.run_in_executor(self._executor, self._run_batch, jobs)
            except Exception:  # the executor itself failed: nobody gets a confirm
                log.exception("gb26875: batch failed")
                results = [[False] * len(job.frames) for job in jobs]
            for job, result in zip(jobs, results, strict=True):
                if not job.done.done():
                    job.done.set_result(result)
                queue.task_done()
            if not all(all(r) for r in results):
                self.stats["unconfirmed_batches"] += 1

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await loop.run_in_executor(self._executor, self._flush_now)

    async def _submit(self, frames: list[list], bad: list[BadFrame], peer: str) -> list[bool]:
        done = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(frames, bad, peer, done))
        return await done

    async def _process(self, items: list, writer: asyncio.StreamWriter, peer: str) -> None:
        if not items:
            return
        received_at = datetime.now(UTC)
        frames: list[Frame] = []
        bad: list[BadFrame] = []
        for item in items:
            if isinstance(item, BadFrame):
                bad.append(item)
                log.info("gb26875: %s from %s: %s", item.reason, peer, item.detail)
            else:
                frames.append(item)
        self.stats["frames"] += len(frames)
        self.stats["bad"] += len(bad)
        taken = await self._submit([frame_messages(f, received_at=received_at) for f in frames], bad, peer)
        # confirm the uplink data the pipeline took; never a confirm of a confirm, deny, ...
        to_confirm = [f for f, ok in zip(frames, taken, strict=True) if ok and f.command == Command.SEND]
        if to_confirm and not writer.is_closing():
            now = self._clock()
            writer.write(b"".join(confirm_for(f, self.centre_address, now) for f in to_confirm))
            self.stats["confirmed"] += len(to_confirm)
            await writer.drain()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._conns.add(task)
        self.stats["connections"] += 1
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if isinstance(peername, tuple) else str(peername or "")
        stream = FrameStream()
        try:
            while True:
                wait = self.partial_timeout if stream.pending() else self.idle_timeout
                try:
                    async with asyncio.timeout(wait):
                        data = await reader.read(READ_SIZE)
                except TimeoutError:
                    if stream.pending():
                        await self._process(stream.expire(), writer, peer)
                        continue
                    log.info("gb26875: %s silent for %.0f s, closing", peer, wait)
                    break
                if not data:
                    await self._process(stream.expire(), writer, peer)
                    break
                await self._process(stream.feed(data), writer, peer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._conns.discard(task)
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, asyncio.CancelledError):
                pass


async def serve(*, host: str, port: int, centre_address: int, stop: asyncio.Event | None = None,
                ready: Callable[[Gb26875Listener], None] | None = None, pipeline=None) -> None:
    """Run the listener until ``stop`` is set (the command sets it on SIGTERM/SIGINT)."""
    listener = Gb26875Listener(pipeline=pipeline, centre_address=centre_address)
    await listener.start(host, port)
    if ready is not None:
        ready(listener)
    stop = stop or asyncio.Event()
    try:
        await stop.wait()
    finally:
        await listener.close()
        st = listener.stats
        log.warning("gb26875: stopped; %d connections, %d frames (%d confirmed), %d bad stretches, %d batches "
                    "(%.3f s in the pipeline)", st["connections"], st["frames"], st["confirmed"], st["bad"],
                    st["batches"], st["batch_seconds"])
