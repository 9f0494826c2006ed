"""Fire-safety pages: respond."""

from django.http import HttpResponse


def respond(request):
    return HttpResponse("")
