from django.urls import path

from conciergerie.federation import views

app_name = "federation"

A = "ap/<slug:place_slug>"

urlpatterns = [
    path(".well-known/webfinger", views.webfinger, name="webfinger"),
    path(".well-known/nodeinfo", views.nodeinfo_links, name="nodeinfo_links"),
    path("nodeinfo/2.1", views.nodeinfo, name="nodeinfo"),
    path("ap/inbox", views.inbox, name="shared_inbox"),
    path(A, views.actor, name="actor"),
    path(A + "/inbox", views.inbox, name="inbox"),
    path(A + "/outbox", views.outbox, name="outbox"),
    path(A + "/followers", views.followers, name="followers"),
    path(A + "/following", views.following, name="following"),
    path(A + "/activites/<uuid:uuid>", views.activity_view, name="activity"),
    path(A + "/<str:kind>/<uuid:uuid>", views.published_object, name="object"),
]
