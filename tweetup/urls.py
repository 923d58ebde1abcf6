from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django_ratelimit.decorators import ratelimit

from contests.views import public as contest_views

from . import views


def _login_rate(group, request) -> str:
    return settings.LOGIN_RATE_LIMIT


# The admin's login form is public: limit password guesses per client address
# (a 429 page once over the limit). It answers before the admin's own URL.
admin_login = ratelimit(key="ip", rate=_login_rate, method="POST", block=True, group="login")(
    admin.site.login
)

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("", contest_views.home, name="home"),
    path("favicon.ico", views.favicon),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/status.json", views.job_status, name="job_status"),
    path("jobs/<int:pk>/download/", views.job_download, name="job_download"),
    path("privacy/", views.privacy_notice, name="privacy"),
    path("imprint/", views.imprint, name="imprint"),
    # Before the contests' and visits' own: its pages live at their addresses.
    path("", include("visitors.urls")),
    path("contests/", include("contests.urls")),
    path("visits/", include("visits.urls")),
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
]
# Uploads (MEDIA_ROOT) in development only: static() adds nothing unless DEBUG;
# nginx serves them in production (deploy/nginx.conf).
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

admin.site.site_header = "TweetUp"
admin.site.site_title = "TweetUp"
admin.site.index_title = _("Back office")

# The 403 page names the groups that may open a staff page (tweetup.roles).
handler403 = "tweetup.views.permission_denied"
