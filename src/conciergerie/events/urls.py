from django.urls import path

from conciergerie.events import views

app_name = "events"

P = "lieux/<slug:place_slug>/"
E = P + "evenements/<uuid:uuid>/"

urlpatterns = [
    path(P + "evenements/", views.event_list, name="events"),
    path(P + "evenements/nouveau/", views.event_create, name="event_create"),
    path(E, views.event_page, name="event"),
    path(E + "inscription/", views.register, name="register"),
    path(E + "modifier/", views.event_edit, name="event_edit"),
    path(E + "annuler/", views.event_cancel, name="event_cancel"),
    path(E + "accueil/", views.checkin, name="checkin"),
    path(E + "accueil/arrivee/", views.checkin_ticket, name="checkin_ticket"),
    path(P + "inscriptions/", views.my_registrations, name="my_registrations"),
    path(P + "inscriptions/<uuid:uuid>/", views.registration_page, name="registration"),
    path(
        P + "inscriptions/<uuid:uuid>/action/",
        views.registration_action,
        name="registration_action",
    ),
]
