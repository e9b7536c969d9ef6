from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FederationConfig(AppConfig):
    """Places as ActivityPub actors: WebFinger, NodeInfo, inbox/outbox, signatures, delivery."""

    name = "conciergerie.federation"
    label = "federation"
    verbose_name = _("Réseau")

    def ready(self) -> None:
        from conciergerie.federation import publishing

        publishing.connect()
