from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from contests.views import public as contest_views

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("", contest_views.home, name="home"),
    path("contests/", include("contests.urls")),
    path("visits/", include("visits.urls")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "TweetUp"
admin.site.site_title = "TweetUp"
admin.site.index_title = _("Back office")
