from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from conciergerie.core import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("compte/", views.account, name="account"),
    path("compte/connexion/", views.ConciergerieLoginView.as_view(), name="login"),
    path("compte/deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "compte/mot-de-passe/oubli/",
        auth_views.PasswordResetView.as_view(
            template_name="core/password_reset.html",
            email_template_name="core/password_reset_email.txt",
            subject_template_name="core/password_reset_subject.txt",
            success_url=reverse_lazy("core:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "compte/mot-de-passe/oubli/envoye/",
        auth_views.PasswordResetDoneView.as_view(template_name="core/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "compte/mot-de-passe/nouveau/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="core/password_reset_confirm.html",
            success_url=reverse_lazy("core:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "compte/mot-de-passe/change/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="core/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("compte/invitation/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("lieux/<slug:place_slug>/", views.place_page, name="place"),
    path("lieux/<slug:place_slug>/gestion/", views.backoffice, name="backoffice"),
    path("lieux/<slug:place_slug>/gestion/lieu/", views.place_edit, name="place_edit"),
    path("lieux/<slug:place_slug>/gestion/equipe/", views.team, name="team"),
    path(
        "lieux/<slug:place_slug>/gestion/equipe/<uuid:user_uuid>/role/",
        views.role_change,
        name="role_change",
    ),
    path("lieux/<slug:place_slug>/gestion/journal/", views.audit_log, name="audit"),
    path("lieux/<slug:place_slug>/gestion/courriels/", views.outbox, name="outbox"),
]
