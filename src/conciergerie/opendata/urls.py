from django.urls import path

from conciergerie.opendata import views

app_name = "opendata"

urlpatterns = [
    path("donnees/", views.index, name="index"),
    path("donnees/lieux.geojson", views.places_geojson, name="places_geojson"),
    path("donnees/lieux.csv", views.places_csv, name="places_csv"),
    path("donnees/lieux.jsonld", views.places_jsonld, name="places_jsonld"),
    path("reseau/carte/", views.places_map, name="map"),
]
