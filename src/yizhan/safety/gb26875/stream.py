"""A TCP byte stream → GB/T 26875.3 frames.

TCP keeps no message boundaries: one segment may hold several frames (粘包), a frame may
arrive in several segments, and a broken sender may put garbage between frames.
``FrameStream.feed`` returns, in stream order, every valid ``Frame`` and one ``BadFrame``
per stretch of bytes it had to throw away, and keeps only what may still become a frame.

How a frame is found: the next ``@@``; L at offset 24; wait for 30 + L bytes; ``##`` at
28 + L; the checksum; then the application unit's count against L (``parse_frame``).

Resynchronising without losing the valid frames around a bad one:
* bytes before a ``@@`` are dropped (``bad_marker``); a trailing ``@`` is kept (it may be
  the first half of the next marker);
* L over 1024 is refused at once (``bad_length``);
* a candidate that fails only ever moves the scan one byte on, so a real ``@@`` right
  after a stray ``@`` is still found; and when a frame-shaped run of bytes (markers,
  length and checksum agree) starts inside the failed candidate's span, the bad stretch
  ends there, so a lying length never swallows the frame after it;
* a candidate still waiting for its 30 + L bytes is given up as soon as a complete frame
  shows up behind it (a declared length larger than the data), or when the caller calls
  ``expire()`` (the listener does after a quiet spell).
The buffer therefore never holds more than one incomplete frame: under 1,054 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from yizhan.safety.gb26875.codec import (
    END,
    MAX_APP_LEN,
    MAX_FRAME_LEN,
    OVERHEAD,
    START,
    Frame,
    FrameError,
    parse_frame,
)

KEEP_RAW = 256      # bytes of a bad stretch kept for the reject's excerpt
HOLD_GARBAGE = 4096  # stray bytes are reported once this many pile up, or at the next frame / expire()
_AT = 0x40


@dataclass(frozen=True, slots=True)
class BadFrame:
    reason: str         # bad_marker | bad_length | bad_checksum | bad_command | bad_object_count
    detail: str
    raw: bytes          # the first KEEP_RAW bytes dropped
    size: int           # how many bytes were dropped


class FrameStream:
    """One per connection. Not thread-safe (one reader per connection)."""

    __slots__ = ("_buf", "_held", "frames", "bad")

    def __init__(self):
        self._buf = bytearray()
        self._held: BadFrame | None = None  # stray bytes not reported yet (more may follow)
        self.frames = 0     # valid frames returned
        self.bad = 0        # bad stretches returned

    def pending(self) -> int:
        """Bytes held back: a frame still arriving, half a start marker, or stray bytes
        not reported yet (``expire()`` reports them)."""
        return len(self._buf) + (self._held.size if self._held is not None else 0)

    def feed(self, data: bytes) -> list[Frame | BadFrame]:
        if data:
            self._buf += data
        return self._scan(flush=False)

    def expire(self) -> list[Frame | BadFrame]:
        """Give up the incomplete frame held (the sender went quiet): it becomes a
        ``BadFrame`` and whatever follows its start is scanned again."""
        return self._scan(flush=True)

    # ---- internals ------------------------------------------------------------------

    def _frame_at(self, j: int) -> int:
        """Length of the frame-shaped run at ``j`` (markers, L ≤ 1024, checksum agree), or 0."""
        buf = self._buf
        n = len(buf)
        if n - j < OVERHEAD or buf[j] != _AT or buf[j + 1] != _AT:
            return 0
        length = buf[j + 24] | buf[j + 25] << 8
        total = OVERHEAD + length
        if length > MAX_APP_LEN or n - j < total or buf[j + 28 + length:j + total] != END:
            return 0
        if sum(buf[j + 2:j + 27 + length]) & 0xFF != buf[j + 27 + length]:
            return 0
        return total

    def _next_frame(self, start: int, stop: int) -> int:
        """Start of the first frame-shaped run beginning in [start, stop), or -1."""
        buf = self._buf
        j = buf.find(START, start)
        while 0 <= j < stop:
            if self._frame_at(j):
                return j
            j = buf.find(START, j + 1)
        return -1

    def _scan(self, *, flush: bool) -> list[Frame | BadFrame]:
        buf = self._buf
        n = len(buf)
        out: list[Frame | BadFrame] = []
        pos = 0
        expiring = flush
        # the bad stretch being built; bytes outside frames held from the last call are
        # continued here, so garbage cut into several reads is still one reject
        cur: list = []  # [reason, detail, raw, size] or empty
        if self._held is not None:
            held = self._held
            cur = [held.reason, held.detail, held.raw, held.size]
            self._held = None

        def emit():
            if cur:
                out.append(BadFrame(cur[0], cur[1], cur[2], cur[3]))
                cur.clear()

        def drop(reason: str, detail: str, start: int, end: int):
            if end <= start:
                return
            raw = bytes(buf[start:min(end, start + KEEP_RAW)])
            if cur and cur[0] == "bad_marker" and reason == "bad_marker":
                if len(cur[2]) < KEEP_RAW:
                    cur[2] = (cur[2] + raw)[:KEEP_RAW]
                cur[3] += end - start
                return
            emit()
            cur.extend((reason, detail, raw, end - start))

        while pos < n:
            i = buf.find(START, pos)
            if i < 0:
                keep = n - 1 if buf[n - 1] == _AT and not flush else n
                drop("bad_marker", "bytes outside a frame", pos, keep)
                pos = keep
                break
            if i > pos:
                drop("bad_marker", "bytes outside a frame", pos, i)
                pos = i
            avail = n - pos
            if avail < 26:
                if flush:
                    drop("bad_length", f"incomplete frame: {avail} bytes", pos, n)
                    pos = n
                break
            length = buf[pos + 24] | buf[pos + 25] << 8
            if length > MAX_APP_LEN:
                end = self._resync_point(pos, n)
                # "@@@": a stray "@" before a real start marker, not a header
                drop("bad_marker" if end == pos + 1 else "bad_length",
                     f"declared application length {length} over 1024", pos, end)
                pos = end
                continue
            total = OVERHEAD + length
            if avail < total:
                j = self._next_frame(pos + 1, n)
                if j >= 0:
                    drop(_span_reason(pos, j), f"declared application length {length}, a frame starts "
                         f"after {j - pos} bytes", pos, j)
                    pos = j
                    continue
                if flush:
                    end = self._resync_point(pos, n)
                    drop("bad_length", f"incomplete frame: {avail} of {total} bytes", pos, end)
                    pos = end
                    flush = False  # one frame given up per call; what follows is scanned as usual
                    continue
                break
            if buf[pos + 28 + length:pos + total] != END:
                # a length that lies (the frame ends elsewhere) or a broken end marker;
                # wait until the bytes tell which, at most one frame's worth
                j = self._next_frame(pos + 1, n)
                if 0 <= j < pos + total:
                    drop(_span_reason(pos, j), f"declared application length {length}, a frame starts "
                         f"after {j - pos} bytes", pos, j)
                    pos = j
                    continue
                q = self._true_end(pos, n if j < 0 else j)
                if q:
                    drop("bad_length", f"declared application length {length}, the frame has {q - pos - OVERHEAD}",
                         pos, q)
                    pos = q
                    continue
                if j < 0 and not flush and avail < MAX_FRAME_LEN:
                    break
                end = j if j >= 0 else self._resync_point(pos, n)
                drop("bad_marker", "no end marker ## where the length says", pos, end)
                pos = end
                flush = False
                continue
            try:
                frame = parse_frame(bytes(buf[pos:pos + total]))
            except FrameError as e:
                # a checksum-valid frame (bad command, bad count) ends where it says; a
                # bad checksum may be stray bytes, so a "@@" inside it is scanned again
                j = buf.find(START, pos + 1, pos + total) if e.reason == "bad_checksum" else -1
                end = j if j >= 0 else pos + total
                drop(e.reason, e.detail, pos, end)
                pos = end
                continue
            emit()
            out.append(frame)
            self.frames += 1
            pos += total
        if pos:
            del buf[:pos]
        if cur:
            if cur[0] == "bad_marker" and not expiring and cur[3] < HOLD_GARBAGE:
                self._held = BadFrame(cur[0], cur[1], cur[2], cur[3])
            else:
                emit()
        self.bad += sum(1 for item in out if isinstance(item, BadFrame))
        return out

    def _resync_point(self, pos: int, n: int) -> int:
        """Where scanning resumes after a bad candidate at ``pos``: the next ``@@`` after
        its first byte, else the end (keeping a trailing ``@``)."""
        j = self._buf.find(START, pos + 1)
        if j >= 0:
            return j
        return n - 1 if self._buf[n - 1] == _AT and n - 1 > pos else n

    def _true_end(self, pos: int, stop: int) -> int:
        """If the candidate at ``pos`` is a whole frame whose L lies (a ``##`` behind a
        matching checksum, before ``stop``), the index just after that ``##``; else 0."""
        buf = self._buf
        limit = min(stop, pos + MAX_FRAME_LEN)
        j = buf.find(START, pos + 1, limit)
        if j >= 0:
            limit = j  # never reach into what may be the next frame
        q = buf.find(END, pos + 28, limit)
        while q >= 0:
            if sum(buf[pos + 2:q - 1]) & 0xFF == buf[q - 1]:
                return q + 2
            q = buf.find(END, q + 1, limit)
        return 0


def _span_reason(pos: int, j: int) -> str:
    """A bad candidate cut short by the next frame: a whole header before it means a
    length that lies; less is stray bytes that merely began with ``@@``."""
    return "bad_length" if j - pos >= 27 else "bad_marker"
