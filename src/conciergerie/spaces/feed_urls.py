from django.urls import path

from conciergerie.spaces import feeds

app_name = "spaces_feeds"

P = "lieux/<slug:place_slug>/"

urlpatterns = [
    path(P + "ressources/<uuid:uuid>/calendrier.ics", feeds.resource_ics, name="resource_ics"),
    path(P + "calendrier/reinitialiser", feeds.person_feed_reset, name="person_feed_reset"),
    path("calendrier/<str:token>.ics", feeds.person_ics, name="person_ics"),
]
