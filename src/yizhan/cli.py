"""The ``yizhan`` command: ``yizhan up | web | worker | scheduler | demo | check | <manage.py command>``."""

from __future__ import annotations

import os
import sys


def _django_setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yizhan.config.settings")


def main(argv: list[str] | None = None) -> None:
    _django_setup()
    argv = list(sys.argv[1:] if argv is None else argv)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["yizhan", *argv] if argv else ["yizhan", "help"])


if __name__ == "__main__":
    main()
