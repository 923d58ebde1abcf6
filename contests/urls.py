from django.urls import path

from .views import public

app_name = "contests"

urlpatterns = [
    path("", public.contest_list, name="list"),
    path("confirm/<str:token>/", public.entry_confirm, name="confirm"),
    path("<slug:slug>/", public.contest_detail, name="detail"),
    path("<slug:slug>/thanks/", public.entry_sent, name="entry_sent"),
    path("<slug:slug>/confirm-again/", public.confirm_again, name="confirm_again"),
]
