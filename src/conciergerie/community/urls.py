from django.urls import path

from conciergerie.community import csv_views, views

app_name = "community"

P = "lieux/<slug:place_slug>/"
G = P + "gestion/"

urlpatterns = [
    path(P + "annuaire/", views.directory, name="directory"),
    path(P + "mon-profil/", views.my_profile, name="my_profile"),
    path(P + "personnes/nouvelle/", views.person_create, name="person_create"),
    path(P + "personnes/<uuid:uuid>/", views.person_page, name="person"),
    path(P + "personnes/<uuid:uuid>/modifier/", views.person_edit, name="person_edit"),
    path(P + "personnes/<uuid:uuid>/supprimer/", views.person_delete, name="person_delete"),
    path(
        P + "personnes/<uuid:person_uuid>/adhesion/",
        views.membership_form,
        name="membership_create",
    ),
    path(P + "organisations/", views.organisation_list, name="organisations"),
    path(P + "organisations/nouvelle/", views.organisation_form, name="organisation_create"),
    path(P + "organisations/<uuid:uuid>/", views.organisation_page, name="organisation"),
    path(
        P + "organisations/<uuid:uuid>/modifier/", views.organisation_form, name="organisation_edit"
    ),
    path(G + "personnes/suggestions/", views.person_suggest, name="person_suggest"),
    path(G + "adhesions/", views.membership_list, name="memberships"),
    path(G + "adhesions/<uuid:uuid>/modifier/", views.membership_form, name="membership_edit"),
    path(G + "adhesions/<uuid:uuid>/renouveler/", views.membership_renew, name="membership_renew"),
    path(G + "mises-en-relation/", views.introduction_list, name="introductions"),
    path(G + "mises-en-relation/nouvelle/", views.introduction_new, name="introduction_new"),
    path(G + "mises-en-relation/<uuid:uuid>/", views.introduction_page, name="introduction"),
    path(G + "vocabulaire/", views.vocabulary, name="vocabulary"),
    path(G + "import/", csv_views.import_upload, name="import"),
    path(G + "import/modele.csv", csv_views.import_template, name="import_template"),
    path(G + "import/<uuid:uuid>/", csv_views.import_preview, name="import_preview"),
    path(G + "export/personnes.csv", csv_views.export_people, name="export"),
]
