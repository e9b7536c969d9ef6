"""Contributions and moderation pages, under /lieux/<slug>/communs/."""

from django.urls import URLPattern, path

# Imported first: it registers the `commons_slug` converter, which steps aside for the
# other pages' fixed words (communs/documentation/modifier/ is a documentation page).
from conciergerie.commons import catalogue_urls
from conciergerie.commons import moderation_views as views

C = catalogue_urls.C
P = C + "propositions/"
S = C + "signalements/"

urlpatterns: list[URLPattern] = [
    path(C + "proposer/", views.propose, name="propose"),
    path(C + "<commons_slug:slug>/modifier/", views.propose_edit, name="propose_edit"),
    path(C + "<commons_slug:slug>/signaler/", views.report, name="report"),
    path(P, views.proposals, name="proposals"),
    path(P + "<uuid:uuid>/", views.proposal, name="proposal"),
    path(P + "<uuid:uuid>/vote/", views.proposal_vote, name="proposal_vote"),
    path(P + "<uuid:uuid>/decision/", views.proposal_decide, name="proposal_decide"),
    path(S, views.reports, name="reports"),
    path(S + "<uuid:uuid>/", views.report_handle, name="report_handle"),
    path(C + "moderation/reglages/", views.moderation_settings, name="moderation_settings"),
]
