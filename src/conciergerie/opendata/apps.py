from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpendataConfig(AppConfig):
    """Open data about places: map, GeoJSON, CSV, JSON-LD."""

    name = "conciergerie.opendata"
    label = "opendata"
    verbose_name = _("Données ouvertes")
