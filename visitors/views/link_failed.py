"""The page a signed link that does not work answers: what is wrong, and what to do (400)."""

from django.shortcuts import render


def link_failed(request, error: str):
    return render(request, "visitors/places/link_failed.html", {"error": error}, status=400)
