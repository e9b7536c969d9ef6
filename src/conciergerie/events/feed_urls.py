from django.urls import path  # noqa: F401

app_name = "events_feeds"

P = "lieux/<slug:place_slug>/"

urlpatterns: list = []
