from django.urls import path

from conciergerie.spaces import views

app_name = "spaces"

P = "lieux/<slug:place_slug>/"

urlpatterns = [
    path(P + "ressources/", views.resource_list, name="resources"),
    path(P + "ressources/<uuid:uuid>/", views.resource_page, name="resource"),
    path(P + "ressources/<uuid:uuid>/reserver/", views.booking_create, name="book"),
    path(P + "ressources/<uuid:uuid>/hors-service/", views.out_of_service, name="out_of_service"),
    path(P + "reservations/", views.my_bookings, name="my_bookings"),
    path(P + "reservations/<uuid:uuid>/", views.booking_page, name="booking"),
    path(P + "reservations/<uuid:uuid>/action/", views.booking_action, name="booking_action"),
]
