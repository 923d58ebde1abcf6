from django.urls import path

from .views import draw, organizer, public

app_name = "contests"

urlpatterns = [
    path("", public.contest_list, name="list"),
    path("confirm/<str:token>/", public.entry_confirm, name="confirm"),
    path("verify_draw.py", draw.verifier_download, name="verifier"),
    path("<slug:slug>/", public.contest_detail, name="detail"),
    path("<slug:slug>/thanks/", public.entry_sent, name="entry_sent"),
    path("<slug:slug>/confirm-again/", public.confirm_again, name="confirm_again"),
    path("<slug:slug>/draw.json", draw.draw_json, name="draw_json"),
    path("<slug:slug>/results/", draw.results, name="results"),
    path("<slug:slug>/live/", draw.live_draw, name="live_draw"),
    path("<slug:slug>/freeze/", draw.contest_freeze, name="freeze"),
    path("<slug:slug>/draw/", draw.draw_run, name="draw"),
    path("<slug:slug>/dashboard/", organizer.dashboard, name="dashboard"),
    path("<slug:slug>/dashboard/offers/", organizer.offers_send, name="offers_send"),
    path(
        "<slug:slug>/dashboard/not-chosen/", organizer.not_chosen_notify, name="not_chosen_notify"
    ),
    path(
        "<slug:slug>/dashboard/selections/<int:pk>/disqualify/",
        organizer.selection_disqualify,
        name="selection_disqualify",
    ),
    path(
        "<slug:slug>/dashboard/outbox/<int:pk>/resend/",
        organizer.outbox_resend,
        name="outbox_resend",
    ),
    path("<slug:slug>/export/entries/", organizer.export_entries, name="export_entries"),
    path("<slug:slug>/export/selections/", organizer.export_selections, name="export_selections"),
]
