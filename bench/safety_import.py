#!/usr/bin/env python
"""How long the fire-safety Excel import takes for Hongzhuang's size: 200 rental houses
and 11,810 smoke detectors in one workbook (sheets 场所 and 设备).

    .venv/bin/python bench/safety_import.py [--devices 11810] [--places 200]

A fresh SQLite database in a temporary var dir (set ``DATABASE_URL`` to an *empty*
PostgreSQL database to measure that instead), migrated (not timed), the test tree and a
street admin; then the import is timed twice: the first creates everything, the second
(the same file) must write nothing (every row "unchanged"). Prints wall and CPU time (on
a shared machine judge by CPU) and the SQL statement count.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", type=int, default=11810)
    ap.add_argument("--places", type=int, default=200)
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="yizhan-safety-import-bench-")
    os.environ["YIZHAN_VAR_DIR"] = tmp.name
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yizhan.config.settings")

    import django

    django.setup()
    import openpyxl
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from yizhan.core.testing.factories import make_jurisdiction_tree, make_staff
    from yizhan.safety.models import Device
    from yizhan.safety.services.imports import safety_import

    tree = make_jurisdiction_tree()
    admin = make_staff("street_admin", tree.street)
    lat, lng = tree.point(tree.grid)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "场所"
    ws.append(["场所编号", "场所类型", "名称", "地址", "纬度", "经度", "房间数", "房东姓名", "房东电话"])
    for i in range(args.places):
        ws.append([f"RH-{i:04d}", "出租房", f"出租房{i}", f"洪庄村 {i} 号", lat + i * 0.00001, lng, 12, "王房东",
                   "13900000001"])
    ws = wb.create_sheet("设备")
    ws.append(["设备编号", "设备类型", "场所编号", "楼层", "房间", "心跳间隔(秒)", "电量"])
    for i in range(1, args.devices + 1):
        ws.append([f"HZ-{i:05d}", "烟感", f"RH-{i % args.places:04d}", str(1 + i % 4), str(100 + i % 12), 300, 100])
    buf = io.BytesIO()
    wb.save(buf)
    content = buf.getvalue()

    counts = {"sql": 0}

    def count_sql(execute, sql, params, many, context):
        counts["sql"] += 1
        return execute(sql, params, many, context)

    load = os.getloadavg()
    print(f"Fire-safety import benchmark — {time.strftime('%Y-%m-%d %H:%M %Z')}; {connection.vendor}; "
          f"{os.cpu_count()} cores; load average {load[0]:.1f}")
    print(f"workbook: {args.places} places + {args.devices} devices, {len(content) / 1024:.0f} KB")
    for label in ("first import (creates)", "same file again (writes nothing)"):
        counts["sql"] = 0
        c0, w0 = _cpu(), time.perf_counter()
        with connection.execute_wrapper(count_sql):
            report = safety_import(actor=admin, file_name="bench.xlsx", content=content)
        wall, cpu = time.perf_counter() - w0, _cpu() - c0
        assert report.ok, report.lines()[:5]
        print(f"{label}: wall {wall:.1f} s, CPU {cpu:.1f} s, {counts['sql']:,} SQL statements; "
              f"places {report.places_created}+{report.places_updated}, "
              f"devices {report.devices_created}+{report.devices_updated}")
    assert Device.objects.count() == args.devices
    tmp.cleanup()


if __name__ == "__main__":
    main()
