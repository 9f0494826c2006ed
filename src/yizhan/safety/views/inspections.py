"""Fire-safety pages: inspections."""

from django.http import HttpResponse


def inspections(request):
    return HttpResponse("")
