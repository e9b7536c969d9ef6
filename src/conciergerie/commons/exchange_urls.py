"""Import and export of a place's commons; the starter catalogue."""

from __future__ import annotations

from django.urls import URLPattern, path

from conciergerie.commons import exchange_views as views

C = "lieux/<slug:place_slug>/communs/"

urlpatterns: list[URLPattern] = [
    path(C + "import/", views.import_commons, name="import"),
    path(C + "import/catalogue-de-depart/", views.starter, name="starter"),
    path(C + "export.json", views.export_json, name="export_json"),
    path(C + "export.csv", views.export_csv, name="export_csv"),
]
