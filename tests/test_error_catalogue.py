"""One error catalogue per app (issue 7, item 5): every code an app raises is an
``AppError`` subclass in the app's ``errors.py`` (core's own in ``core/errors.py``), and
one code means one thing.

Two checks:
* an AST scan of non-test code: a ``raise`` that spells its code inline
  (``raise ValidationError(..., code="x")``) is refused — none is left;
* every ``AppError`` subclass: within one app a code belongs to one class (aliases are one
  class), and classes live in ``errors.py``. The exceptions below are the known ones left.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections import defaultdict
from pathlib import Path

import yizhan
from yizhan.core.errors import AppError

ROOT = Path(yizhan.__file__).resolve().parent

# (app, code) -> the classes that share it today, with why. Nothing may be added.
SHARED_CODE_KNOWN = {
    # one code, two statuses by where the category is named (body: 400, path: 404)
    ("reports", "unknown_category"): {"yizhan.reports.errors.CategoryNotFound",
                                      "yizhan.reports.errors.UnknownCategory"},
}

# AppError subclasses defined outside an errors.py, still to move (module prefixes).
OUTSIDE_CATALOGUE_KNOWN: tuple[str, ...] = ()


def _inline_code_raises() -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if "/tests/" in f"/{rel}" or rel.startswith(("core/testing/",)) or "/migrations/" in rel:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=rel)):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) \
                    and any(k.arg == "code" for k in node.exc.keywords):
                found[rel].append(node.lineno)
    return found


def test_no_new_inline_error_codes():
    found = dict(_inline_code_raises())
    assert not found, (
        "raise with an inline code= (file: lines) — add an AppError subclass to the "
        f"app's errors.py instead: {found}"
    )


def _app_errors() -> list[type[AppError]]:
    for info in pkgutil.walk_packages(yizhan.__path__, "yizhan."):
        if ".tests" in info.name or ".migrations" in info.name or info.name.endswith(".testing"):
            continue
        if info.name.rsplit(".", 1)[-1] in ("errors", "services", "views", "staff", "api", "selectors") \
                or ".services." in info.name or ".views." in info.name or ".selectors." in info.name:
            importlib.import_module(info.name)
    seen, todo = set(), [AppError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen and sub.__module__.startswith("yizhan.") and ".tests" not in sub.__module__:
                seen.add(sub)
                todo.append(sub)
    return sorted(seen, key=lambda c: (c.__module__, c.__qualname__))


def _app_of(module: str) -> str:
    return module.split(".")[1]


def test_one_code_one_class_per_app():
    by_code: dict[tuple[str, str], set[str]] = defaultdict(set)
    for cls in _app_errors():
        if "code" in cls.__dict__:
            by_code[(_app_of(cls.__module__), cls.code)].add(f"{cls.__module__}.{cls.__qualname__}")
    shared = {key: names for key, names in by_code.items() if len(names) > 1}
    unexpected = {key: names for key, names in shared.items() if SHARED_CODE_KNOWN.get(key) != names}
    assert not unexpected, f"one code, several classes in one app (one meaning, one class): {unexpected}"


def test_error_classes_live_in_the_catalogue():
    outside = sorted(
        f"{cls.__module__}.{cls.__qualname__}" for cls in _app_errors()
        if not cls.__module__.endswith("errors")  # errors.py, core/api_errors.py
        and not cls.__module__.startswith(OUTSIDE_CATALOGUE_KNOWN)
    )
    assert not outside, f"AppError subclasses outside an errors.py: {outside}"


def test_every_catalogue_error_has_both_languages():
    for cls in _app_errors():
        if cls.__module__.endswith(".errors") and "message" in cls.__dict__:
            assert cls.message.zh and cls.message.en, cls
