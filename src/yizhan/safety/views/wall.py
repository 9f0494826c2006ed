"""Fire-safety pages: wall."""

from django.http import HttpResponse


def wall(request):  # placeholder until the wall helper lands it
    return HttpResponse("")


def stream(request):
    return HttpResponse("")
