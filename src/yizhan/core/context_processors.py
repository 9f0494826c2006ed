from django.conf import settings
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from yizhan.core import permissions
from yizhan.core.manifest import nav_entries
from yizhan.core.selectors import notifications_unread_count


def nav_for(user) -> list[dict]:
    """The top-bar entries ``user`` sees, from every installed app's manifest, in order:
    ``[{"key", "label", "url"}]``. Public entries for everyone; the others by the
    permission (held somewhere) or the role they name."""
    signed_in = user is not None and user.is_authenticated
    items = []
    for entry in nav_entries():
        if entry.public:
            shown = True
        elif not signed_in:
            shown = False
        elif entry.perm is not None:
            shown = permissions.has_perm_anywhere(user, entry.perm)
        else:
            shown = permissions.has_role(user, entry.role)
        if shown:
            items.append({"key": entry.key, "label": entry.label, "url": reverse(entry.url_name),
                          "home": entry.home})
    return items


def home_for(user) -> str:
    """Where ``user`` lands after login: their role's home page (the top-bar entry they
    see with the lowest ``home`` rank: dispatch console, work inbox, keeper page, station
    management, audit log), else the site's home page."""
    ranked = [item for item in nav_for(user) if item["home"] is not None]
    if ranked:
        return min(ranked, key=lambda item: item["home"])["url"]
    return next((reverse(e.url_name) for e in nav_entries() if e.public), "/")


def yizhan(request):
    """``YIZHAN_NAV``: the top bar's entries for this user (queried only if a template uses
    them); ``YIZHAN_HOME``: the first public entry (the brand links there);
    ``YIZHAN_UNREAD``: the user's unread inbox count."""

    def unread():
        return notifications_unread_count(user=getattr(request, "user", None))

    def home():
        return next((reverse(e.url_name) for e in nav_entries() if e.public), "/")

    return {
        "YIZHAN_NAV": SimpleLazyObject(lambda: nav_for(getattr(request, "user", None))),
        "YIZHAN_HOME": SimpleLazyObject(home),
        "YIZHAN_DEFAULT_CENTER": settings.YIZHAN_DEFAULT_CENTER,
        "YIZHAN_DEBUG": settings.DEBUG,
        "YIZHAN_UNREAD": SimpleLazyObject(unread),
    }
