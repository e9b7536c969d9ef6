"""Aiguillage: the public need form, the aiguilleurs' queue and orientations, the aiguilleurs."""

from django.urls import URLPattern, path

from conciergerie.commons import aiguillage_views as views

A = "lieux/<slug:place_slug>/communs/aiguillage/"
ONE = A + "orientations/<uuid:uuid>/"

urlpatterns: list[URLPattern] = [
    path(A, views.aiguillage, name="aiguillage"),
    path(A + "orientations/", views.orientations, name="orientations"),
    path(A + "orientations/nouvelle/", views.orientation_new, name="orientation_new"),
    path(ONE, views.orientation, name="orientation"),
    path(ONE + "suite/", views.orientation_outcome, name="orientation_outcome"),
    path(ONE + "attribuer/", views.orientation_assign, name="orientation_assign"),
    path(A + "aiguilleurs/", views.aiguilleurs, name="aiguilleurs"),
    path(A + "aiguilleurs/enregistrer/", views.aiguilleur_save, name="aiguilleur_save"),
    path(
        A + "aiguilleurs/<uuid:person_uuid>/retirer/",
        views.aiguilleur_remove,
        name="aiguilleur_remove",
    ),
]
