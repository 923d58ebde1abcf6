from django.urls import path

from . import views

app_name = "visits"

urlpatterns = [
    # The public pages of a visit; `detail` is the public itinerary.
    path("<slug:slug>/", views.visit_detail, name="detail"),
    path("<slug:slug>/print/", views.visit_print, name="print"),
    path("<slug:slug>/itinerary.ics", views.visit_calendar, name="calendar"),
    path("<slug:slug>/stops/<int:pk>/", views.stop_detail, name="stop"),
    path(
        "<slug:slug>/stops/<int:pk>/questions/<int:question_pk>/vote/",
        views.question_vote,
        name="question_vote",
    ),
    path("<slug:slug>/live/", views.live, name="live"),
    path("<slug:slug>/live/updates/", views.live_fragment, name="live_fragment"),
    path("<slug:slug>/updates.atom", views.updates_feed, name="updates_feed"),
]
