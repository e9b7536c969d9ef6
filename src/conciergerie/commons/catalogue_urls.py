"""The catalogue's pages: list and search, a commons' page and history, FAQ, grid."""

from __future__ import annotations

from functools import cache
from importlib import import_module

from django.urls import URLPattern, path, register_converter

from conciergerie.commons import catalogue_views as views

C = "lieux/<slug:place_slug>/communs/"
# The other parts of the app put their own pages beside the commons (communs/proposer/…):
# a commons' slug never takes their place, whatever order the url modules come in.


@cache
def taken_words() -> frozenset[str]:
    """The fixed first words after communs/ that the app's pages use (read once, lazily:
    the url modules are all loaded by the time a request is resolved)."""
    module = import_module("conciergerie.commons.urls")
    words = set()
    for pattern in getattr(module, "urlpatterns", []):
        route = str(getattr(pattern, "pattern", ""))
        if route.startswith(C):
            first = route[len(C) :].split("/", 1)[0]
            if first and "<" not in first:
                words.add(first)
    return frozenset(words)


class CommonsSlugConverter:
    regex = "[-a-zA-Z0-9_]+"

    def to_python(self, value: str) -> str:
        if value in taken_words():
            raise ValueError(value)  # not a commons: let the next pattern answer
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(CommonsSlugConverter, "commons_slug")

D = C + "<commons_slug:slug>/"

urlpatterns: list[URLPattern] = [
    path(C, views.commons_list, name="list"),
    path(C + "questions/", views.faq, name="faq"),
    path(C + "questions/nouvelle/", views.faq_edit, name="faq_edit"),
    path(C + "questions/<int:pk>/", views.faq_edit, name="faq_edit"),
    path(C + "questions/<int:pk>/supprimer/", views.faq_delete, name="faq_delete"),
    path(C + "grille/", views.grid_page, name="grid"),
    path(C + "grille/ajouter/", views.grid_add, name="grid_add"),
    path(C + "grille/par-defaut/", views.grid_reset, name="grid_reset"),
    path(C + "grille/q/<slug:key>/", views.grid_question, name="grid_question"),
    path(C + "grille/q/<slug:key>/retirer/", views.grid_delete, name="grid_delete"),
    path(D, views.commons_detail, name="detail"),
    path(D + "etat/", views.commons_status, name="status"),
    path(D + "historique/", views.commons_history, name="history"),
    path(D + "historique/<int:number>/", views.revision_diff, name="revision_diff"),
]
