"""Contributions and moderation pages, under /lieux/<slug>/communs/."""

from django.urls import URLPattern, path

from conciergerie.commons import moderation_views as views

C = "lieux/<slug:place_slug>/communs/"
P = C + "propositions/"
S = C + "signalements/"

urlpatterns: list[URLPattern] = [
    path(C + "proposer/", views.propose, name="propose"),
    path(C + "<slug:slug>/modifier/", views.propose_edit, name="propose_edit"),
    path(C + "<slug:slug>/signaler/", views.report, name="report"),
    path(P, views.proposals, name="proposals"),
    path(P + "<uuid:uuid>/", views.proposal, name="proposal"),
    path(P + "<uuid:uuid>/vote/", views.proposal_vote, name="proposal_vote"),
    path(P + "<uuid:uuid>/decision/", views.proposal_decide, name="proposal_decide"),
    path(S, views.reports, name="reports"),
    path(S + "<uuid:uuid>/", views.report_handle, name="report_handle"),
    path(C + "moderation/reglages/", views.moderation_settings, name="moderation_settings"),
]
