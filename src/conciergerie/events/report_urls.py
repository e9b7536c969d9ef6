from django.urls import path

from conciergerie.events import report_views as views

app_name = "events_reports"

P = "lieux/<slug:place_slug>/"

urlpatterns: list = [
    path(f"{P}evenements/bilan/", views.period_report, name="period_report"),
    path(f"{P}evenements/<uuid:uuid>/bilan/", views.event_report, name="event_report"),
    path(f"{P}evenements/<uuid:uuid>/emargement.csv", views.attendance_csv, name="attendance_csv"),
    path(f"{P}evenements/<uuid:uuid>/emargement.pdf", views.signin_sheet, name="signin_sheet"),
]
