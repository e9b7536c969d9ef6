"""The network pages, under /lieux/<slug>/reseau/ (public) and …/gestion/reseau/ (team)."""

from django.urls import URLPattern, path

from conciergerie.federation import network_views as views

app_name = "network"

P = "lieux/<slug:place_slug>/"
G = P + "gestion/reseau/"

urlpatterns: list[URLPattern] = [
    path(P + "reseau/", views.home, name="home"),
    path(P + "reseau/evenements.ics", views.events_ics, name="events_ics"),
    path(G, views.manage, name="manage"),
    path(G + "suivre/", views.follow, name="follow"),
    path(G + "suivis/<int:follow_id>/ne-plus-suivre/", views.unfollow, name="unfollow"),
    path(G + "abonnes/<int:follow_id>/decision/", views.follower_decide, name="follower_decide"),
    path(G + "bloquer/", views.block, name="block"),
    path(G + "comptes/bloquer/", views.actor_block, name="actor_block"),
    path(G + "comptes/debloquer/", views.actor_unblock, name="actor_unblock"),
]
