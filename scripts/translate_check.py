#!/usr/bin/env python3
"""Fail (exit 1) when the English catalogue has an untranslated or fuzzy message.

Source strings are Chinese; every msgid needs an English msgstr. Stdlib only, so it
runs anywhere: `python scripts/translate_check.py [path/to/django.po]`.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent.parent / "src/yizhan/locale/en/LC_MESSAGES/django.po"


def entries(text: str):
    """Yield (flags, msgid, msgstrs) for each entry of a .po file (header skipped)."""
    flags: set[str] = set()
    fields: dict[str, str] = {}
    key = None

    def flush():
        if fields.get("msgid"):
            yield flags, fields["msgid"], [v for k, v in fields.items() if k.startswith("msgstr")]

    for raw in text.splitlines() + [""]:
        line = raw.strip()
        if not line:
            yield from flush()
            flags, fields, key = set(), {}, None
        elif line.startswith("#,"):
            flags |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"') and key:
            fields[key] += ast.literal_eval(line)
        else:
            key, _, value = line.partition(" ")
            fields[key] = ast.literal_eval(value)


def problems(path: Path) -> list[str]:
    out = []
    for flags, msgid, msgstrs in entries(path.read_text(encoding="utf-8")):
        if "fuzzy" in flags:
            out.append(f"fuzzy: {msgid!r}")
        elif not msgstrs or not all(msgstrs):
            out.append(f"untranslated: {msgid!r}")
    return out


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT
    found = problems(path)
    for line in found:
        print(line)
    print(f"{path}: {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
