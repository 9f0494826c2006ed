from django.conf import settings
from django.utils.functional import SimpleLazyObject


def yizhan(request):
    """``YIZHAN_UNREAD``: the user's unread inbox count, queried only if a template uses it."""

    def unread():
        from yizhan.core.selectors import notifications_unread_count

        return notifications_unread_count(user=getattr(request, "user", None))

    return {
        "YIZHAN_DEFAULT_CENTER": settings.YIZHAN_DEFAULT_CENTER,
        "YIZHAN_DEBUG": settings.DEBUG,
        "YIZHAN_UNREAD": SimpleLazyObject(unread),
    }
