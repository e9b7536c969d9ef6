from django.urls import path

from conciergerie.billing import report_views as views

app_name = "billing_reports"

P = "lieux/<slug:place_slug>/facturation/"

urlpatterns: list = [
    path(f"{P}recettes/", views.period_report, name="period_report"),
    path(f"{P}exports/fec/", views.fec_download, name="fec"),
    path(f"{P}exports/journal.csv", views.journal_csv, name="journal_csv"),
    path(f"{P}cloture/", views.close, name="period_close"),
]
