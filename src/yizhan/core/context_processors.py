from django.conf import settings
from django.utils.functional import SimpleLazyObject


def yizhan(request):
    """``YIZHAN_UNREAD``: the user's unread inbox count, queried only if a template uses it."""

    def unread():
        from yizhan.core.selectors import notifications_unread_count

        return notifications_unread_count(user=getattr(request, "user", None))

    def nav():
        """Which sections the top bar offers this user (by the roles they hold)."""
        from yizhan.core import permissions

        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return {}
        return {
            "keeper": permissions.has_role(user, "keeper"),
            "manage": permissions.has_perm_anywhere(user, "stations.manage"),
            "audit": permissions.has_perm_anywhere(user, "audit.view"),
            "work": permissions.has_perm_anywhere(user, "reports.handle"),
            "dispatch": permissions.has_perm_anywhere(user, "reports.dispatch"),
            "figures": permissions.has_perm_anywhere(user, "reports.figures"),
            "configure": permissions.has_perm_anywhere(user, "reports.configure"),
            "needs": permissions.has_perm_anywhere(user, "needs.manage"),
            "staff": user.is_staff,
        }

    return {
        "YIZHAN_NAV": SimpleLazyObject(nav),
        "YIZHAN_DEFAULT_CENTER": settings.YIZHAN_DEFAULT_CENTER,
        "YIZHAN_DEBUG": settings.DEBUG,
        "YIZHAN_UNREAD": SimpleLazyObject(unread),
    }
