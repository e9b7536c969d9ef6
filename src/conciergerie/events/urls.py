from django.urls import path  # noqa: F401

app_name = "events"

P = "lieux/<slug:place_slug>/"

urlpatterns: list = []
