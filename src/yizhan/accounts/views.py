"""Pages: staff login, worker phone + code login, my profile (edit, export, delete),
personal API tokens. Thin: form → service → redirect or re-render with the message
beside the field."""

from __future__ import annotations

import json

from django.contrib.auth import login
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from yizhan.accounts import forms as f
from yizhan.accounts import selectors, services
from yizhan.core.context_processors import home_for
from yizhan.core.errors import AppError
from yizhan.core.forms import add_app_error
from yizhan.core.middleware import client_ip
from yizhan.core.pages import login_required_page
from yizhan.core.permissions import roles_of
from yizhan.core.pii import mask_id, normalize_phone
from yizhan.jurisdictions.models import Jurisdiction

SESSION_BACKEND = "yizhan.accounts.backends.StaffPasswordBackend"


def _next_url(request, default: str = "/") -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return default


@require_http_methods(["GET", "POST"])
def staff_login_view(request):
    form = f.StaffLoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.staff_login(
                username=form.cleaned_data["username"], password=form.cleaned_data["password"],
                ip=client_ip(request),
            )
        except AppError as exc:
            add_app_error(form, exc)
            status = exc.status
        else:
            login(request, user, backend=SESSION_BACKEND)
            return redirect(_next_url(request, home_for(user)))
    else:
        status = 400 if form.errors else 200
    return render(request, "accounts/login.html", {"form": form, "next": _next_url(request, "")}, status=status)


@require_http_methods(["GET", "POST"])
def otp_view(request):
    """Step 1: phone → code sent. Step 2: phone + code → logged in → ?next=."""
    step = request.POST.get("step", "phone")
    phone_form = f.PhoneForm(request.POST if step == "phone" and request.method == "POST" else None)
    code_form = None
    status = None
    if request.method == "POST" and step == "phone" and phone_form.is_valid():
        try:
            services.otp_request(phone=phone_form.cleaned_data["phone"], ip=client_ip(request))
        except AppError as exc:
            # The per-IP limit names no field: it is shown above the form (429).
            add_app_error(phone_form, exc)
            status = exc.status
        else:
            code_form = f.CodeForm(initial={"phone": normalize_phone(phone_form.cleaned_data["phone"])})
    elif request.method == "POST" and step == "code":
        code_form = f.CodeForm(request.POST)
        if code_form.is_valid():
            try:
                user = services.otp_verify(
                    phone=code_form.cleaned_data["phone"], code=code_form.cleaned_data["code"],
                    ip=client_ip(request),
                )
            except AppError as exc:
                if exc.code in ("otp_expired", "otp_too_many_tries"):
                    # This code is dead: back to step 1 with the phone kept and the reason shown.
                    code_form = None
                    phone_form = f.PhoneForm({"phone": request.POST.get("phone", "")})
                    phone_form.is_valid()
                    phone_form.add_error("phone", exc.text(request.LANGUAGE_CODE))
                else:
                    add_app_error(code_form, exc)
                status = exc.status
            else:
                login(request, user, backend=SESSION_BACKEND)
                return redirect(_next_url(request, home_for(user)))
    if status is None:
        status = 400 if (phone_form.errors or (code_form is not None and code_form.errors)) else 200
    otp_phone = ""
    if code_form is not None:
        otp_phone = code_form.initial.get("phone") or code_form.data.get("phone", "")
    return render(request, "accounts/otp.html", {
        "phone_form": phone_form, "code_form": code_form, "next": _next_url(request, ""), "otp_phone": otp_phone,
        "consent_version": services.CONSENT_VERSION,
    }, status=status)


@login_required_page
@require_http_methods(["GET", "POST"])
def me_view(request):
    user = request.user
    profile = selectors.worker_profile_of(user=user)
    communities = Jurisdiction.objects.filter(level="community").order_by("path")
    initial = {"display_name": user.display_name}
    if profile:
        initial.update(trade=profile.trade, platform=profile.platform, employer=profile.employer,
                       skills="，".join(profile.skills or []),
                       home_community=profile.home_community.code if profile.home_community else "")
    form = f.ProfileForm(request.POST or None, initial=initial, communities=communities)
    saved = False
    if request.method == "POST" and form.is_valid():
        try:
            services.worker_profile_update(actor=user, user=user, data=dict(form.cleaned_data))
        except AppError as exc:
            add_app_error(form, exc)
        else:
            saved = True
            profile = selectors.worker_profile_of(user=user)

    return render(request, "accounts/me.html", {
        "form": form, "profile": profile, "saved": saved, "id_masked": mask_id(user.id_number),
    }, status=400 if form.errors else 200)


@login_required_page
def me_export_view(request):
    data = services.account_export(actor=request.user, user=request.user)
    resp = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2, default=str),
                        content_type="application/json; charset=utf-8")
    resp["Content-Disposition"] = 'attachment; filename="yizhan-my-data.json"'
    return resp


@login_required_page
@require_http_methods(["GET", "POST"])
def me_delete_view(request):
    form = f.DeleteAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["confirm"].strip() not in ("删除", "DELETE", "delete"):
            form.add_error("confirm", _("请输入“删除”以确认"))
        else:
            from django.contrib.auth import logout

            services.account_delete(actor=request.user, user=request.user)
            logout(request)
            return render(request, "accounts/deleted.html")
    return render(request, "accounts/delete.html", {"form": form}, status=400 if form.errors else 200)


@login_required_page(staff=True)
@require_http_methods(["GET", "POST"])
def tokens_view(request):
    user = request.user
    is_staff = user.is_superuser or user.is_staff or bool(roles_of(user) - {"worker"})
    if not is_staff:
        return render(request, "accounts/forbidden.html", status=403)
    form = f.TokenForm(request.POST or None if request.POST.get("action") == "create" else None)
    raw = None
    if request.method == "POST" and request.POST.get("action") == "create" and form.is_valid():
        try:
            _token, raw = services.api_token_create(actor=user, user=user, name=form.cleaned_data["name"])
        except AppError as exc:
            add_app_error(form, exc)
        else:
            form = f.TokenForm()
    tokens = selectors.api_tokens_of(user=user)
    return render(request, "accounts/tokens.html", {"form": form, "tokens": tokens, "raw": raw},
                  status=400 if form.errors else 200)


@login_required_page(staff=True)
@require_POST
def token_revoke_view(request, token_id: int):
    try:
        token = selectors.api_token_get(actor=request.user, token_id=token_id)
        services.api_token_revoke(actor=request.user, token=token)
    except AppError as exc:
        return render(request, "accounts/forbidden.html", {"message": exc.text(request.LANGUAGE_CODE)},
                      status=exc.status)
    return redirect("accounts:tokens")
