"""The commons' pages, under /lieux/<slug>/communs/ (one url module per part of the app)."""

from conciergerie.commons import (
    aiguillage_urls,
    campaign_urls,
    catalogue_urls,
    moderation_urls,
    page_urls,
)

app_name = "commons"

urlpatterns = [
    *catalogue_urls.urlpatterns,
    *moderation_urls.urlpatterns,
    *page_urls.urlpatterns,
    *aiguillage_urls.urlpatterns,
    *campaign_urls.urlpatterns,
]
