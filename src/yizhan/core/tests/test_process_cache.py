"""core.process_cache.ProcessCache: one build under concurrent callers, the stamp asked at
most every N seconds, forget()."""

import threading
import time

from yizhan.core.process_cache import ProcessCache


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _counting(stamp_value):
    calls = {"build": 0, "stamp": 0}

    def build(stamp):
        calls["build"] += 1
        return {"stamp": stamp, "n": calls["build"]}

    def stamp():
        calls["stamp"] += 1
        return stamp_value[0]

    return calls, build, stamp


def test_built_once_under_concurrent_threads():
    calls = {"build": 0}
    started = threading.Barrier(8)

    def build(stamp):
        calls["build"] += 1
        time.sleep(0.05)  # long enough for every thread to arrive while building
        return object()

    cache = ProcessCache("t", build=build, stamp=lambda: 1, refresh_default=60)
    results = []

    def worker():
        started.wait()
        results.append(cache.get())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls["build"] == 1
    assert len(results) == 8 and len({id(r) for r in results}) == 1


def test_stamp_checked_at_most_every_refresh_seconds_and_rebuilt_when_changed():
    clock, value = Clock(), [1]
    calls, build, stamp = _counting(value)
    cache = ProcessCache("t", build=build, stamp=stamp, refresh_default=5, clock=clock)
    first = cache.get()
    assert (calls["build"], calls["stamp"]) == (1, 1)
    value[0] = 2  # another process changed the data
    clock.now += 4.9
    assert cache.get() is first and calls["stamp"] == 1  # not asked within 5 s
    clock.now += 0.2
    second = cache.get()
    assert calls["stamp"] == 2 and calls["build"] == 2 and second["stamp"] == 2
    clock.now += 5.1
    assert cache.get() is second and (calls["stamp"], calls["build"]) == (3, 2)  # same stamp: kept


def test_refresh_interval_from_a_setting(settings):
    clock, value = Clock(), [1]
    calls, build, stamp = _counting(value)
    settings.YIZHAN_TEST_CACHE_REFRESH_SECONDS = 0.5
    cache = ProcessCache("t", build=build, stamp=stamp, refresh_setting="YIZHAN_TEST_CACHE_REFRESH_SECONDS",
                         refresh_default=60, clock=clock)
    cache.get()
    clock.now += 0.6
    cache.get()
    assert calls["stamp"] == 2


def test_fresh_asks_the_stamp_now():
    clock, value = Clock(), [1]
    calls, build, stamp = _counting(value)
    cache = ProcessCache("t", build=build, stamp=stamp, refresh_default=60, clock=clock)
    cache.get()
    value[0] = 2
    assert cache.get(fresh=True)["stamp"] == 2 and calls["build"] == 2


def test_forget_rebuilds_on_next_get():
    clock, value = Clock(), [1]
    calls, build, stamp = _counting(value)
    cache = ProcessCache("t", build=build, stamp=stamp, refresh_default=60, clock=clock)
    first = cache.get()
    assert cache.peek() is first
    cache.forget()
    assert cache.peek() is None
    second = cache.get()
    assert second is not first and calls["build"] == 2


def test_a_failed_build_leaves_nothing_half_built():
    clock = Clock()
    state = {"fail": True}

    def build(stamp):
        if state["fail"]:
            raise RuntimeError("database went away")
        return "ok"

    cache = ProcessCache("t", build=build, stamp=lambda: 1, refresh_default=60, clock=clock)
    try:
        cache.get()
    except RuntimeError:
        pass
    assert cache.peek() is None
    state["fail"] = False
    assert cache.get() == "ok"
