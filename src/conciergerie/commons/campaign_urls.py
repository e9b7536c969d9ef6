"""Co-financing campaigns, under /lieux/<slug>/communs/financements/."""

from django.urls import URLPattern, path

from conciergerie.commons import campaign_views as views

P = "lieux/<slug:place_slug>/communs/financements/"

urlpatterns: list[URLPattern] = [
    path(P, views.campaign_list, name="campaigns"),
    path(P + "nouvelle/", views.campaign_new, name="campaign_new"),
    path(P + "<uuid:uuid>/", views.campaign_page, name="campaign"),
    path(P + "<uuid:uuid>/modifier/", views.campaign_edit, name="campaign_edit"),
    path(P + "<uuid:uuid>/promesse/", views.pledge, name="pledge"),
    path(P + "<uuid:uuid>/promesse/annuler/", views.pledge_cancel, name="pledge_cancel"),
]
