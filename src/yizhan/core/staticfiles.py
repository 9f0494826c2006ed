"""Static files: hashed names, gzip copies and a year-long cache in every mode.

``collectstatic`` (run by ``yizhan up`` / ``make run`` on every start, and once by hand
before ``yizhan web`` in production) writes hashed, gzip-compressed copies to
``STATIC_ROOT``; WhiteNoise serves them with ``Cache-Control: max-age=315360000, immutable``
and picks the ``.gz`` copy when the browser accepts gzip.

Django's manifest storage gives plain (unhashed) URLs whenever ``DEBUG`` is on, which is
why ``make run`` used to send every script uncompressed with ``max-age=0``. This storage
uses the manifest whenever one exists, DEBUG or not. With no manifest at all (a fresh
checkout under ``runserver``, the test suite) it falls back to plain URLs, which
WhiteNoise serves straight from the app and project static folders (its finders mode).
"""

from __future__ import annotations

from django.contrib.staticfiles.storage import StaticFilesStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns):
    # Vendored bundles name source maps we do not ship (leaflet.js.map): keep url()/@import only.
    return tuple(
        (ext, tuple(p for p in pats if "sourceMappingURL" not in (p[0] if isinstance(p, tuple) else p)))
        for ext, pats in patterns
    )


class StaticStorage(CompressedManifestStaticFilesStorage):
    manifest_strict = False
    patterns = _without_source_maps(CompressedManifestStaticFilesStorage.patterns)

    def url(self, name, force=False):
        if self.hashed_files:
            try:
                return super().url(name, force=True)
            except ValueError:  # a file added since the last collectstatic
                pass
        return StaticFilesStorage.url(self, name)


def collect(*, verbosity: int = 0) -> None:
    """Run collectstatic quietly (``yizhan up`` calls it before starting the web server)."""
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=verbosity)
