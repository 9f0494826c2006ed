#!/usr/bin/env python3
"""Fail (exit 1) when the English catalogue has an untranslated or fuzzy message.

Source strings are Chinese; every msgid needs an English msgstr. Stdlib only, so it
runs anywhere: `python scripts/translate_check.py [path/to/django.po]`.

With no argument it also reads the Python sources: a string wrapped in a gettext function
imported under an alias xgettext does not know (``gettext_lazy as _l``) is never extracted
by `make messages`, so it is reported when the catalogue lacks it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src/yizhan"
DEFAULT = PACKAGE / "locale/en/LC_MESSAGES/django.po"
# what Django's makemessages passes to xgettext for Python (plus xgettext's own defaults)
KNOWN = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy",
         "npgettext", "npgettext_lazy", "dgettext", "dngettext"}


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


def hidden_strings(package: Path):
    """Yield (file:line, msgid) for strings wrapped in a gettext alias xgettext cannot see."""
    for source in sorted(package.rglob("*.py")):
        if {"tests", "migrations"} & set(source.relative_to(package).parts):
            continue
        tree = ast.parse(source.read_text(encoding="utf-8"))
        aliases = {a.asname for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                   and node.module == "django.utils.translation" for a in node.names
                   if a.asname and a.asname not in KNOWN}
        for node in ast.walk(tree):
            if (aliases and isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in aliases and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                yield f"{source.relative_to(package)}:{node.lineno} ({node.func.id})", node.args[0].value


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT
    found = problems(path)
    if len(argv) == 1 and PACKAGE.is_dir():
        known = {msgid for _flags, msgid, _msgstrs in entries(path.read_text(encoding="utf-8"))}
        found += [f"not extracted by makemessages, missing: {msgid!r} at {where}"
                  for where, msgid in hidden_strings(PACKAGE) if msgid not in known]
    for line in found:
        print(line)
    print(f"{path}: {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
