from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from conciergerie.api.urls import api

# Django tries the patterns in order, and the domains' pages are all mounted at "" (some 200
# patterns): the routes with a prefix of their own come first, so that an API call does not
# try every page's pattern before its own (0.2 to 0.4 ms of CPU per request, measured).
urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-admin/", admin.site.urls),
    # Uploaded media (logos…) served by the app itself: one process is enough for a small place.
    path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}),
]
if settings.BENCH_ENDPOINTS:
    urlpatterns.append(path("bench/", include("conciergerie.spaces.bench_urls")))

urlpatterns += [
    path("", include("conciergerie.core.urls")),
    path("", include("conciergerie.community.urls")),
    path("", include("conciergerie.spaces.urls")),
    path("", include("conciergerie.spaces.feed_urls")),
    path("", include("conciergerie.events.urls")),
    path("", include("conciergerie.events.feed_urls")),
    path("", include("conciergerie.events.report_urls")),
    path("", include("conciergerie.billing.urls")),
    path("", include("conciergerie.billing.report_urls")),
    path("", include("conciergerie.commons.urls")),
    path("", include("conciergerie.opendata.urls")),
    path("", include("conciergerie.federation.network_urls")),
    path("", include("conciergerie.federation.urls")),
]
