from django.urls import path

from conciergerie.spaces import manage_views, views

app_name = "spaces"

P = "lieux/<slug:place_slug>/"

urlpatterns = [
    path(P + "ressources/", views.resource_list, name="resources"),
    path(P + "ressources/<uuid:uuid>/", views.resource_page, name="resource"),
    path(P + "ressources/<uuid:uuid>/reserver/", views.booking_create, name="book"),
    path(P + "ressources/<uuid:uuid>/hors-service/", views.out_of_service, name="out_of_service"),
    # The team's screens (manage_views.py)
    path(P + "ressources/nouvelle/", manage_views.resource_create, name="resource_create"),
    path(P + "ressources/<uuid:uuid>/gerer/", manage_views.resource_edit, name="resource_edit"),
    path(P + "ressources/<uuid:uuid>/gerer/photos/", manage_views.photo_add, name="photo_add"),
    path(
        P + "ressources/<uuid:uuid>/gerer/photos/<uuid:photo_uuid>/supprimer/",
        manage_views.photo_delete,
        name="photo_delete",
    ),
    path(
        P + "ressources/<uuid:uuid>/gerer/photos/<uuid:photo_uuid>/description/",
        manage_views.photo_describe,
        name="photo_describe",
    ),
    path(
        P + "ressources/<uuid:uuid>/gerer/photos/<uuid:photo_uuid>/deplacer/",
        manage_views.photo_move,
        name="photo_move",
    ),
    path(
        P + "ressources/<uuid:uuid>/gerer/entretien/",
        manage_views.maintenance_add,
        name="maintenance_add",
    ),
    path(
        P + "ressources/<uuid:uuid>/gerer/habilitations/",
        manage_views.qualification_grant,
        name="qualification_grant",
    ),
    path(
        P + "ressources/<uuid:uuid>/gerer/habilitations/<uuid:qualification_uuid>/retirer/",
        manage_views.qualification_revoke,
        name="qualification_revoke",
    ),
    path(P + "reservations/", views.my_bookings, name="my_bookings"),
    path(P + "reservations/<uuid:uuid>/", views.booking_page, name="booking"),
    path(P + "reservations/<uuid:uuid>/action/", views.booking_action, name="booking_action"),
    path(P + "reservations/a-valider/", views.pending, name="pending"),
    path(P + "ressources/<uuid:uuid>/liste-attente/", views.waitlist_join, name="waitlist_join"),
    path(P + "reservations/liste-attente/quitter/", views.waitlist_leave, name="waitlist_leave"),
    path(P + "ressources/<uuid:uuid>/recurrente/", views.series, name="series"),
]
