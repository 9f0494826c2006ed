"""The ``yizhan`` command.

    yizhan up          migrate, demo data if empty, web + worker + scheduler (Ctrl-C stops)
    yizhan web         uvicorn only (--workers N)
    yizhan worker      background task worker (django-tasks, database backend)
    yizhan scheduler   periodic jobs and heartbeat
    yizhan demo        load the demo district (idempotent)
    yizhan check       health check (Django checks, database, migrations, assets, scheduler)

Any other word is a Django management command: ``yizhan migrate``, ``yizhan token USER``,
``yizhan import-stations FILE``, ``yizhan import-jurisdictions FILE``, ``yizhan createsuperuser``.
"""

from __future__ import annotations

import os
import sys

# `yizhan check` is the platform health check (it runs Django's own checks first).
ALIASES = {"check": "check_platform"}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yizhan.config.settings")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ALIASES:
        argv[0] = ALIASES[argv[0]]
    from django.core.management import execute_from_command_line

    execute_from_command_line(["yizhan", *(argv or ["help"])])


if __name__ == "__main__":
    main()
