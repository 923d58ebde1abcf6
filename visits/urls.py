from django.urls import path

from . import views

app_name = "visits"

urlpatterns = [
    # A visitor's own pages, through the signed link of their mail.
    path("profile/<str:token>/", views.profile_edit, name="profile"),
    path("profile/<str:token>/itinerary/", views.visitor_itinerary, name="visitor_itinerary"),
    path(
        "profile/<str:token>/itinerary/print/",
        views.visitor_itinerary_print,
        name="visitor_itinerary_print",
    ),
    path("profile/<str:token>/itinerary.ics", views.visitor_calendar, name="visitor_calendar"),
    path("profile/<str:token>/badge/", views.visitor_badge, name="badge"),
    path("check-in/<str:token>/", views.check_in_link, name="check_in_link"),
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
    # Organizers and tour admins.
    path("<slug:slug>/group/", views.group_summary, name="group"),
    path("<slug:slug>/check-in/", views.check_in_list, name="check_in"),
    path("<slug:slug>/message/", views.message_visitors, name="message"),
]
