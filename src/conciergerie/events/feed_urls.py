from django.urls import path

from conciergerie.events import feeds

app_name = "events_feeds"

P = "lieux/<slug:place_slug>/"

urlpatterns = [
    path(P + "evenements.ics", feeds.events_ics, name="events_ics"),
    path(P + "evenements.atom", feeds.events_atom, name="events_atom"),
    path(P + "evenements/<uuid:uuid>/evenement.ics", feeds.event_ics, name="event_ics"),
    path(P + "evenements/<uuid:uuid>/billets/<str:token>/", feeds.ticket, name="ticket"),
    path(
        P + "evenements/<uuid:uuid>/billets/<str:token>/qr.png", feeds.ticket_qr, name="ticket_qr"
    ),
]
