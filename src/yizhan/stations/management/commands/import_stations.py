"""``yizhan import-stations FILE [--as USERNAME] [--dry-run]`` (also ``import_stations``).

Imports stations and keepers from .xlsx/.csv through ``stations_import`` acting as
``--as`` (an admin whose jurisdiction covers the file's communities) and prints
the row-by-row report in Chinese and English. Exits non-zero when nothing was
written because of errors.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from yizhan.core.errors import AppError


class Command(BaseCommand):
    help = "从 .xlsx/.csv 批量导入驿站和站长 / Bulk import stations and keepers from .xlsx or .csv"

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of the .xlsx or .csv file")
        parser.add_argument(
            "--as", dest="username", default=os.environ.get("YIZHAN_IMPORT_AS", ""),
            help="username of the admin to import as (default: $YIZHAN_IMPORT_AS)",
        )
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")

    def handle(self, *args, file, username, dry_run, **options):
        from yizhan.accounts.models import User
        from yizhan.stations.imports import stations_import

        if not username:
            raise CommandError("请用 --as 指定导入人（管理员用户名） / give the importing admin with --as USERNAME")
        actor = User.objects.filter(username=username, is_active=True).first()
        if actor is None:
            raise CommandError(f"用户不存在 / no such active user: {username}")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"文件不存在 / no such file: {file}")
        try:
            report = stations_import(actor=actor, file_name=path.name, content=path.read_bytes(), dry_run=dry_run)
        except AppError as err:
            raise CommandError(f"{err.message.zh} / {err.message.en}") from None
        for line in report.lines():
            self.stdout.write(line)
        if not report.ok:
            raise CommandError("导入失败，未写入任何数据 / import failed, nothing was written")
