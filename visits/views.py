from django.shortcuts import get_object_or_404, render

from .models import Visit


def visit_detail(request, slug: str):
    visit = get_object_or_404(Visit, slug=slug)
    return render(request, "visits/visit_detail.html", {"visit": visit})
