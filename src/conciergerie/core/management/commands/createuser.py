"""Create an account, optionally with a role in a place."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from conciergerie.core import services
from conciergerie.core.errors import DomainError
from conciergerie.core.models import Place, Role


class Command(BaseCommand):
    help = "Crée un compte (et son rôle dans un lieu)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", choices=Role.values)
        parser.add_argument("--place", help="slug du lieu")
        parser.add_argument("--name", default="")
        parser.add_argument("--password", help="sinon demandé (ou compte sans mot de passe)")
        parser.add_argument("--superuser", action="store_true")

    def handle(self, *args: Any, **o: Any) -> None:
        if bool(o["role"]) != bool(o["place"]):
            raise CommandError("--role et --place vont ensemble.")
        place = None
        if o["place"]:
            place = Place.objects.filter(slug=o["place"]).first()
            if place is None:
                raise CommandError(f"Lieu inconnu : {o['place']}")
        password = o["password"]
        if password is None and self.stdin_is_tty():
            password = getpass.getpass("Mot de passe (vide : aucun) : ") or None
        try:
            user = services.user_create(
                email=o["email"],
                password=password,
                full_name=o["name"],
                place=place,
                role=o["role"],
            )
        except DomainError as exc:
            raise CommandError(exc.message)
        if o["superuser"]:
            user.is_superuser = user.is_staff = True
            user.save(update_fields=["is_superuser", "is_staff"])
        self.stdout.write(self.style.SUCCESS(f"Compte créé : {user.email}"))

    @staticmethod
    def stdin_is_tty() -> bool:
        import sys

        return sys.stdin is not None and sys.stdin.isatty()
