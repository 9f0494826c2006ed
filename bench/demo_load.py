#!/usr/bin/env python
"""How long ``yizhan demo`` takes on a fresh database (issue 7 item 7).

    .venv/bin/python bench/demo_load.py [--keep DIR] [--profile FILE] [--no-second]

Makes a fresh SQLite database in a temporary var dir (never ``var/``; set ``DATABASE_URL``
to an *empty* PostgreSQL database to measure that instead), migrates it (not timed), then
times ``demo_load()`` — what ``yizhan demo`` runs — and prints wall time, this process's
CPU time (user + system; on a shared machine judge by CPU), the number of SQL statements and
of commits, and the load average. A second ``demo_load()`` on the same database is timed
too: it must change nothing (the row counts are compared), and it is the baseline a
top-up costs.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def _cpu() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", help="var dir to use and keep (default: a temporary one, removed)")
    ap.add_argument("--profile", help="write a cProfile of the first load to this file")
    ap.add_argument("--no-second", action="store_true", help="skip the second (idempotency) run")
    args = ap.parse_args()

    tmp = None
    if args.keep:
        var = Path(args.keep)
        var.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="yizhan-demo-bench-")
        var = Path(tmp.name)
    os.environ["YIZHAN_VAR_DIR"] = str(var)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yizhan.config.settings")

    import django

    django.setup()
    from django.apps import apps
    from django.core.management import call_command
    from django.db import connection
    from django.db.backends.base.base import BaseDatabaseWrapper

    counts = {"sql": 0, "commits": 0}
    real_commit = BaseDatabaseWrapper._commit

    def counting_commit(self):
        counts["commits"] += 1
        return real_commit(self)

    BaseDatabaseWrapper._commit = counting_commit

    def count_sql(execute, sql, params, many, context):
        counts["sql"] += 1
        return execute(sql, params, many, context)

    vendor = connection.vendor
    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = time.perf_counter() - t

    from yizhan.demo.services import demo_load

    def row_counts() -> dict:
        return {m._meta.label: m.objects.count() for m in apps.get_models()}

    def timed(profile: str | None = None):
        counts.update(sql=0, commits=0)
        u0, s0 = _cpu()
        w0 = time.perf_counter()
        with connection.execute_wrapper(count_sql):
            if profile:
                import cProfile

                prof = cProfile.Profile(time.process_time)  # CPU, not wall: the machine is shared
                prof.enable()
                demo_load()
                prof.disable()
                prof.dump_stats(profile)
            else:
                demo_load()
        wall = time.perf_counter() - w0
        u1, s1 = _cpu()
        return wall, u1 - u0, s1 - s0, dict(counts)

    load = os.getloadavg()
    print(f"Yizhan demo load benchmark — {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"database: {vendor}; {os.cpu_count()} cores; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
          + ("  (busy machine: judge by CPU)" if load[0] > (os.cpu_count() or 1) * 0.5 else ""))
    print(f"migrate (not timed below): {migrate_s:.1f} s")
    wall, user, system, c = timed(args.profile)
    print(f"first load (fresh database): wall {wall:.1f} s, CPU {user + system:.1f} s "
          f"(user {user:.1f}, system {system:.1f}), {c['sql']:,} SQL statements, {c['commits']:,} commits")
    if not args.no_second:
        before = row_counts()
        wall, user, system, c = timed()
        changed = {k: (before[k], v) for k, v in row_counts().items() if before[k] != v}
        print(f"second load (idempotent):    wall {wall:.1f} s, CPU {user + system:.1f} s "
              f"(user {user:.1f}, system {system:.1f}), {c['sql']:,} SQL statements, {c['commits']:,} commits; "
              + ("rows changed: " + ", ".join(f"{k} {a}->{b}" for k, (a, b) in changed.items()) if changed
                 else "no rows changed"))
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    if tmp is not None:
        connection.close()
        tmp.cleanup()


if __name__ == "__main__":
    main()
