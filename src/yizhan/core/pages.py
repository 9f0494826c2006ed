"""Helpers every app's pages use: language, HTMX, the login redirect and AppError pages.

The apps' page modules (``stations.views``, ``needs.views``, ``reports.views.*``) build their
decorators from :func:`app_errors`; what differs between them (the error template, which login
page, a permission, how the language is read, extra context) is a parameter here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language

from yizhan.core import permissions
from yizhan.core.errors import AppError, NotAuthenticated

STAFF_LOGIN = "/accounts/login/"
WORKER_LOGIN = "/accounts/otp/"


def request_lang(request) -> str:
    """The language the locale middleware chose for this request."""
    return getattr(request, "LANGUAGE_CODE", "") or settings.LANGUAGE_CODE


def active_lang(request=None) -> str:
    """The active translation language (``request`` is ignored; same signature as ``request_lang``)."""
    return get_language() or settings.LANGUAGE_CODE


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def to_login(request, login_url) -> HttpResponseRedirect:
    """Send the user to ``login_url`` and back here afterwards."""
    return HttpResponseRedirect(f"{login_url}?{urlencode({'next': request.get_full_path()})}")


def login_required_page(view=None, *, staff: bool = False):
    """Anonymous visitors go to the worker code login (or the staff login) and come back."""

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return to_login(request, reverse("accounts:login" if staff else "accounts:otp"))
            return fn(request, *args, **kwargs)

        return wrapper

    return deco(view) if view else deco


def error_page(request, err: AppError, *, template: str, lang: Callable = request_lang, **context):
    """An AppError as a page with its status and its message in the page's language."""
    return render(request, template, {"error": err, "message": err.text(lang(request)), **context},
                  status=err.status)


def app_errors(
    *,
    template: str,
    login_url: str | None = None,
    fallback_login=None,
    perm: str | None = None,
    lang: Callable = request_lang,
    context: Callable[[], dict] | None = None,
):
    """A view decorator: AppErrors become ``template`` with their status.

    ``login_url``: anonymous users are sent there before the view runs (else the view runs).
    ``fallback_login``: where a ``NotAuthenticated`` raised inside goes (default ``login_url``).
    ``perm``: the user must hold it somewhere (``permissions.require``) before the view runs.
    ``context``: extra context for the error page, computed per request.
    """
    if fallback_login is None:
        fallback_login = login_url

    def deco(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if login_url and not request.user.is_authenticated:
                return to_login(request, login_url)
            extra = context() if context else {}
            try:
                if perm:
                    permissions.require(request.user, perm)
                return view(request, *args, **kwargs)
            except NotAuthenticated:
                return to_login(request, fallback_login)
            except AppError as err:
                return error_page(request, err, template=template, lang=lang, **extra)

        return wrapper

    return deco
