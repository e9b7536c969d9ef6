"""The commons' pages, under /lieux/<slug>/communs/ (one url module per part of the app)."""

from conciergerie.commons import (
    aiguillage_urls,
    campaign_urls,
    catalogue_urls,
    exchange_urls,
    moderation_urls,
    page_urls,
)

app_name = "commons"

# The catalogue comes last: its `communs/<slug>/` would otherwise stand in front of the other
# parts' fixed pages (its slug converter also steps aside for them, and such slugs are refused).
urlpatterns = [
    *exchange_urls.urlpatterns,
    *moderation_urls.urlpatterns,
    *page_urls.urlpatterns,
    *aiguillage_urls.urlpatterns,
    *campaign_urls.urlpatterns,
    *catalogue_urls.urlpatterns,
]
