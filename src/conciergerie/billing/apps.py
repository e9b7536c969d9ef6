from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "conciergerie.billing"
    label = "billing"
    verbose_name = _("Facturation")

    def ready(self) -> None:
        from conciergerie.billing import signals

        signals.connect()
