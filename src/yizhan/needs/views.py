"""Needs pages: the wish wall, the suggestion box, "my suggestions", and the
staff page (suggestions, moderation, forums, needs with their figures).

Thin: parse the form -> call a service/selector -> render. A domain error goes
beside its field with what was typed kept; other AppErrors render an error page.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yizhan.core import pages, permissions
from yizhan.core.errors import AppError
from yizhan.core.forms import add_app_error
from yizhan.core.pages import STAFF_LOGIN, WORKER_LOGIN
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.needs import forms as f
from yizhan.needs import selectors, services
from yizhan.needs.choices import NeedAction, NeedState, SuggestionState, WishAction, WishState

_is_htmx = pages.is_htmx
_to_login = pages.to_login


def app_errors(login_url: str | None = None):
    """Render uncaught AppErrors as a page; send anonymous users to log in."""
    return pages.app_errors(template="needs/error.html", login_url=login_url,
                            fallback_login=login_url or WORKER_LOGIN)


# ---- public: wish wall ----------------------------------------------------------------


def _wall_context(request, *, code: str = ""):
    node = Jurisdiction.objects.filter(code=code).first() if code else None
    wishes = list(selectors.wish_public_list(filters={"jurisdiction": node.code if node else ""})[:60])
    mine = selectors.supported_ids(actor=request.user, wishes=wishes)
    return {
        "node": node,
        "wishes": [selectors.wish_view(wish=w, supported=w.pk in mine) for w in wishes],
        "figures": selectors.needs_figures(jurisdiction=node),
        "places": selectors.community_choices(),
        "code": node.code if node else "",
    }


@require_GET
@app_errors()
def home(request):
    return render(request, "needs/home.html", _wall_context(request, code=request.GET.get("j", "")))


@require_POST
@app_errors(login_url=WORKER_LOGIN)
def wish_support(request, wish_id):
    wish = selectors.wish_get_for_support(pk=wish_id)
    wish, _created = services.wish_support(actor=request.user, wish=wish)
    view = selectors.wish_view(wish=wish, supported=True)
    if _is_htmx(request):
        return render(request, "needs/_support.html", {"w": view})
    return redirect(f"{reverse('needs:home')}#wish-{wish.pk}")


@require_http_methods(["GET", "POST"])
@app_errors(login_url=WORKER_LOGIN)
def wish_new(request):
    communities = selectors.community_choices()
    form = f.WishForm(request.POST or None, communities=communities)
    if request.method == "POST" and form.is_valid():
        try:
            services.wish_submit(actor=request.user, text=form.cleaned_data["text"],
                                 jurisdiction=form.cleaned_data["jurisdiction"],
                                 is_anonymous=form.cleaned_data["is_anonymous"])
        except AppError as err:
            add_app_error(form, err)
        else:
            messages.success(request, _("心愿已提交，审核通过后会在心愿墙展示"))
            return redirect("needs:mine")
    return render(request, "needs/wish_new.html", {"form": form}, status=400 if form.errors else 200)


# ---- public: suggestion box -----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@app_errors()
def suggest(request):
    form = f.SuggestionForm(request.POST or None, communities=selectors.community_choices())
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            s = services.suggestion_submit(
                actor=request.user, text=cd["text"], category=cd["category"], jurisdiction=cd["jurisdiction"] or None,
                lat=cd["lat"], lng=cd["lng"], is_anonymous=cd["is_anonymous"],
            )
        except AppError as err:
            add_app_error(form, err, field_map={"lat": "jurisdiction", "lng": "jurisdiction"})
        else:
            return render(request, "needs/suggest_done.html", {"s": selectors.suggestion_view(suggestion=s)})
    return render(request, "needs/suggest.html", {"form": form}, status=400 if form.errors else 200)


@require_GET
@app_errors()
def track(request):
    code = (request.GET.get("code") or "").strip()
    found, error = None, None
    if code:
        try:
            found = selectors.suggestion_view(suggestion=selectors.suggestion_track(code=code))
        except AppError as err:
            error = err.text(getattr(request, "LANGUAGE_CODE", ""))
    return render(request, "needs/track.html", {"code": code, "s": found, "error": error},
                  status=404 if error else 200)


@require_GET
@app_errors(login_url=WORKER_LOGIN)
def mine(request):
    suggestions = [selectors.suggestion_view(suggestion=s) for s in selectors.suggestions_of(actor=request.user)[:100]]
    wishes = [selectors.wish_view(wish=w, staff=True) for w in selectors.wishes_of(actor=request.user)[:100]]
    return render(request, "needs/mine.html", {"suggestions": suggestions, "wishes": wishes})


# ---- staff ----------------------------------------------------------------------------------


def _staff(request):
    permissions.require(request.user, "needs.view")


@require_GET
@app_errors(login_url=STAFF_LOGIN)
def staff(request):
    user = request.user
    if not permissions.has_perm_anywhere(user, "needs.view"):
        # an owner without needs.view (e.g. a grid worker): only the needs they own
        owned = selectors.need_list(actor=user, filters={"owner": "me"})  # PermissionDenied when none
        return render(request, "needs/staff.html", {
            "owner_only": True, "needs": [selectors.need_view(need=n) for n in owned[:100]],
        })
    nodes = selectors.staff_scope_nodes(actor=user)
    today = timezone.localdate()
    period = f.PeriodForm(request.GET or None)
    since = until = None
    if period.is_valid():
        since, until = period.cleaned_data["since"], period.cleaned_data["until"]
    scopes = [
        {"fig": selectors.needs_figures(jurisdiction=n, since=since, until=until, today=today),
         "rows": selectors.needs_figures_rows(jurisdiction=n, since=since, until=until, today=today)}
        for n in nodes[:5]
    ]
    needs = list(selectors.need_list(actor=user, filters={"state": [NeedState.OPEN, NeedState.IN_PROGRESS]})[:100])
    return render(request, "needs/staff.html", {
        "scopes": scopes, "period": period,
        "suggestions": list(selectors.suggestion_staff_list(
            actor=user, filters={"state": SuggestionState.SUBMITTED})[:50]),
        "answered": list(selectors.suggestion_staff_list(actor=user).exclude(state=SuggestionState.SUBMITTED)[:20]),
        "pending_wishes": list(selectors.wish_staff_list(actor=user, filters={"state": WishState.PENDING})[:50]),
        "open_wishes": list(selectors.wish_staff_list(actor=user).filter(
            state__in=[WishState.PUBLIC, WishState.FULFILLING])[:50]),
        "forums": list(selectors.forum_list(actor=user)[:30]),
        "needs": [selectors.need_view(need=n, today=today) for n in needs],
        "can_manage": permissions.has_perm_anywhere(user, "needs.manage"),
    })


@require_http_methods(["GET", "POST"])
@app_errors(login_url=STAFF_LOGIN)
def staff_suggestion(request, suggestion_id):
    _staff(request)
    s = selectors.suggestion_staff_get(actor=request.user, pk=suggestion_id)
    owners = selectors.owner_choices(jurisdiction=s.jurisdiction)
    form = f.AnswerForm(request.POST or None, owners=owners)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            services.suggestion_answer(actor=request.user, suggestion=s, outcome=cd["outcome"], reply=cd["reply"],
                                       owner=cd["owner"] or None, due_on=cd["due_on"], title=cd["title"])
        except AppError as err:
            add_app_error(form, err)
        else:
            messages.success(request, _("已答复"))
            return redirect("needs:staff")
    return render(request, "needs/staff_suggestion.html", {
        "s": selectors.suggestion_view(suggestion=s, staff=True), "form": form,
        "can_answer": s.state in (SuggestionState.SUBMITTED, SuggestionState.REPLIED)
        and permissions.can(request.user, "needs.manage", s.jurisdiction),
    }, status=400 if form.errors else 200)


@require_POST
@app_errors(login_url=STAFF_LOGIN)
def staff_wish_action(request, wish_id):
    _staff(request)
    wish = selectors.wish_staff_get(actor=request.user, pk=wish_id)
    form = f.WishActionForm(request.POST)
    if form.is_valid():
        cd = form.cleaned_data
        try:
            services.wish_act(actor=request.user, wish=wish, action=cd["action"], reason=cd["reason"],
                              fulfiller=cd["fulfiller"], note=cd["note"])
        except AppError as err:
            messages.error(request, err.text(getattr(request, "LANGUAGE_CODE", "")))
        else:
            labels = dict(WishAction.choices)
            messages.success(request, _("心愿：%(action)s") % {"action": labels.get(cd["action"], cd["action"])})
    return redirect(f"{reverse('needs:staff')}#wishes")


@require_http_methods(["GET", "POST"])
@app_errors(login_url=STAFF_LOGIN)
def staff_forum_new(request):
    permissions.require(request.user, "needs.manage")
    places = selectors.manage_place_choices(actor=request.user)
    form = f.ForumForm(request.POST or None, places=places, initial={"held_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            forum = services.forum_create(actor=request.user, **form.cleaned_data)
        except AppError as err:
            add_app_error(form, err)
        else:
            messages.success(request, _("问需会已记录，请逐条登记会上提出的需求"))
            return redirect("needs:staff_forum", forum_id=forum.pk)
    return render(request, "needs/staff_forum_new.html", {"form": form}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@app_errors(login_url=STAFF_LOGIN)
def staff_forum(request, forum_id):
    _staff(request)
    forum = selectors.forum_get(actor=request.user, pk=forum_id)
    owners = selectors.owner_choices(jurisdiction=forum.jurisdiction)
    form = f.NeedForm(request.POST or None, owners=owners)
    if request.method == "POST" and form.is_valid():
        try:
            services.need_create(actor=request.user, forum=forum, **form.cleaned_data)
        except AppError as err:
            add_app_error(form, err)
        else:
            messages.success(request, _("需求已登记"))
            return redirect("needs:staff_forum", forum_id=forum.pk)
    needs = [selectors.need_view(need=n) for n in selectors.need_list(actor=request.user, filters={"forum": forum.pk})]
    return render(request, "needs/staff_forum.html", {
        "forum": forum, "needs": needs, "form": form,
        "can_manage": permissions.can(request.user, "needs.manage", forum.jurisdiction),
    }, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@app_errors(login_url=STAFF_LOGIN)
def staff_need(request, need_id):
    need = selectors.need_get(actor=request.user, pk=need_id)
    form = f.NeedActionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            services.need_act(actor=request.user, need=need, action=cd["action"], note=cd["note"],
                              owner=cd["owner"] or None, due_on=cd["due_on"])
        except AppError as err:
            add_app_error(form, err)
        else:
            messages.success(request, _("已更新"))
            return redirect("needs:staff_need", need_id=need.pk)
    need = selectors.need_get(actor=request.user, pk=need_id)
    labels = dict(NeedAction.choices)
    return render(request, "needs/staff_need.html", {
        "need": selectors.need_view(need=need),
        "timeline": [selectors.event_view(e) for e in selectors.need_timeline(need=need)],
        "actions": [{"code": a, "label": labels[a]} for a in selectors.need_actions_for(actor=request.user, need=need)],
        "owners": selectors.owner_choices(jurisdiction=need.jurisdiction),
        "form": form, "posted_action": form.data.get("action") if form.is_bound else "",
    }, status=400 if form.errors else 200)
