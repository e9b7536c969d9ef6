"""`conciergerie token create --email E` prints a new API token as its last line."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from conciergerie.core import services
from conciergerie.core.models import User


class Command(BaseCommand):
    help = "Gère les jetons d'API."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Crée un jeton")
        create.add_argument("--email", required=True)
        create.add_argument("--name", default="")

    def handle(self, *args: Any, action: str, **o: Any) -> None:
        user = User.objects.filter(email__iexact=o["email"].strip()).first()
        if user is None:
            raise CommandError(f"Aucun compte avec l'e-mail {o['email']}")
        raw = services.token_create(user=user, name=o["name"])
        self.stdout.write("Jeton créé. Il ne sera plus affiché : gardez-le en lieu sûr.")
        self.stdout.write(raw)
