"""Fire-safety pages: places."""

from django.http import HttpResponse


def places(request):
    return HttpResponse("")
