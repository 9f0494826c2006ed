from django.conf import settings


def yizhan(request):
    return {
        "YIZHAN_DEFAULT_CENTER": settings.YIZHAN_DEFAULT_CENTER,
        "YIZHAN_DEBUG": settings.DEBUG,
    }
