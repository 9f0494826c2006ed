"""Pages of the shared kernel: the inbox (everyone) and the audit log (auditors)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from yizhan.core import selectors, services
from yizhan.core.api import notification_dict
from yizhan.core.audit_labels import action_label, object_label
from yizhan.core.errors import AppError
from yizhan.core.forms import AuditFilterForm, add_app_error
from yizhan.core.notifications import kind_label
from yizhan.core.pages import login_required_page
from yizhan.core.permissions import has_perm_anywhere

PAGE_SIZE = 50


@login_required_page
@require_http_methods(["GET", "POST"])
def inbox_view(request):
    if request.method == "POST":
        if request.POST.get("all"):
            services.notifications_mark_read(actor=request.user)
        elif (request.POST.get("id") or "").isdigit():
            services.notifications_mark_read(actor=request.user, ids=[int(request.POST["id"])])
        return redirect("inbox:list")
    qs = selectors.notifications_for(user=request.user)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "core/inbox.html", {
        "page": page,
        "items": [notification_dict(n, request.LANGUAGE_CODE) for n in page],
        "unread": selectors.notifications_unread_count(user=request.user),
        "query": "",
    })


@login_required_page
@require_http_methods(["GET", "POST"])
def notification_settings_view(request):
    """The user's outbound channels: masked phone, WeChat bound or not, SMS for
    non-urgent kinds on/off, unbind WeChat."""
    if request.method == "POST":
        if request.POST.get("action") == "unbind_wechat":
            services.channel_binding_remove(actor=request.user, channel="wechat")
            done = "unbound"
        else:
            services.notification_preference_set(
                actor=request.user, sms_non_urgent=request.POST.get("sms_non_urgent") == "1")
            done = "saved"
        return redirect(reverse("inbox:settings") + f"?done={done}")
    info = selectors.notification_channels_for(user=request.user)
    return render(request, "core/notification_settings.html", {
        "info": info,
        "urgent_labels": [kind_label(k) for k in info["sms_urgent_kinds"]],
        "other_labels": [kind_label(k) for k in info["sms_other_kinds"]],
        "done": request.GET.get("done", ""),
    })


@login_required_page(staff=True)
def audit_view(request):
    if not has_perm_anywhere(request.user, "audit.view"):
        return render(request, "accounts/forbidden.html", status=403)
    form = AuditFilterForm(request.GET or None)
    filters = {}
    if form.is_bound and form.is_valid():
        filters = {k: v for k, v in form.cleaned_data.items() if v}
        if "until" in filters:  # inclusive end date
            import datetime as dt

            filters["until"] = filters["until"] + dt.timedelta(days=1)
        for key in ("since", "until"):
            if key in filters:
                filters[key] = filters[key].isoformat()
    try:
        qs = selectors.audit_list(actor=request.user, filters=filters)
    except AppError as exc:
        add_app_error(form, exc)
        qs = selectors.audit_list(actor=request.user)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))

    for row in page:
        row.action_label = action_label(row.action)
        row.object_label = object_label(row.object_type)
    params = {k: v for k, v in request.GET.items() if k != "page" and v}
    query = urlencode(params) + "&" if params else ""
    return render(request, "core/audit.html", {"form": form, "page": page, "query": query},
                  status=400 if form.errors else 200)
