"""The visitors app's pages, at the addresses they had before it was an app of its own.

The addresses are in mail already sent (the offer's answer links, the
visitor's own pages), so they stay under /contests/ and /visits/; the root
URLconf includes these before both apps' own.
"""

from django.urls import path

from .views import places, staff, visitor, withdraw

app_name = "visitors"

urlpatterns = [
    # The winner's answer to an offer, through the signed link of their mail.
    path("contests/place/<str:token>/accept/", places.place_accept_page, name="place_accept"),
    path("contests/place/<str:token>/decline/", places.place_decline_page, name="place_decline"),
    # An entrant withdraws their entry through the signed link of their mail.
    path(
        "contests/entry/<str:token>/withdraw/", withdraw.entry_withdraw_page, name="entry_withdraw"
    ),
    # A visitor's own pages, through the signed link of their mail.
    path("visits/profile/<str:token>/", visitor.profile_edit, name="profile"),
    path(
        "visits/profile/<str:token>/itinerary/",
        visitor.visitor_itinerary,
        name="visitor_itinerary",
    ),
    path(
        "visits/profile/<str:token>/itinerary/print/",
        visitor.visitor_itinerary_print,
        name="visitor_itinerary_print",
    ),
    path(
        "visits/profile/<str:token>/itinerary.ics",
        visitor.visitor_calendar,
        name="visitor_calendar",
    ),
    path("visits/profile/<str:token>/badge/", visitor.visitor_badge, name="badge"),
    path("visits/check-in/<str:token>/", staff.check_in_link, name="check_in_link"),
    # Organizers and tour admins.
    path("visits/<slug:slug>/group/", staff.group_summary, name="group"),
    path("visits/<slug:slug>/check-in/", staff.check_in_list, name="check_in"),
    path("visits/<slug:slug>/message/", staff.message_visitors, name="message"),
    path(
        "visits/<slug:slug>/site-access.csv",
        staff.site_access_export,
        name="site_access_export",
    ),
]
