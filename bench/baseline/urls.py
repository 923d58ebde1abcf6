"""The baseline's URLs, under the names the site's templates reverse."""

from django.urls import include, path

from . import views

contest_urls = (
    [
        path("", views.home, name="list"),
        path("<slug:slug>/", views.contest_detail, name="detail"),
        path("<slug:slug>/thanks/", views.entry_sent, name="entry_sent"),
        path("<slug:slug>/confirm-again/", views.entry_sent, name="confirm_again"),
        path("<slug:slug>/results/", views.entry_sent, name="results"),
    ],
    "contests",
)

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("", views.home, name="home"),
    # The site's footer links to these; the baseline never serves them in a run.
    path("privacy/", views.entry_sent, {"slug": "privacy"}, name="privacy"),
    path("imprint/", views.entry_sent, {"slug": "imprint"}, name="imprint"),
    path("contests/", include(contest_urls)),
]
