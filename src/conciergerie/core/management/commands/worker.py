"""Run the background task queue kept in the database (e-mails, imports, later billing)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Exécute les tâches de fond (file d'attente en base de données)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Traite ce qui est en attente, puis s'arrête."
        )
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args: Any, once: bool, interval: float, **options: Any) -> None:
        argv = [
            "--queue-name",
            "*",
            "--interval",
            str(interval),
            "--no-startup-delay",
            "--no-reload",
        ]
        if once:
            argv.append("--batch")
        call_command("db_worker", *argv, verbosity=options.get("verbosity", 1))
