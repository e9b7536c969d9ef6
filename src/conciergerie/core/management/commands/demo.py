"""`conciergerie demo`: migrate, load the demo data once, run the worker and serve."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from conciergerie.core.models import Place


class Command(BaseCommand):
    help = "Lance l'instance de démonstration sur http://127.0.0.1:8000."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        if not Place.objects.exists():
            call_command("loaddemo")
        from conciergerie.demo.data import LOGINS

        self.stdout.write(
            self.style.SUCCESS("\nDémo prête. Comptes (mot de passe « demo-conciergerie ») :")
        )
        for email, what in LOGINS:
            self.stdout.write(f"  {email:<32} {what}")
        self.stdout.write(f"\nOuvrez http://{host}:{port}/ — Ctrl+C pour arrêter.\n")
        worker = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [sys.executable, "-m", "conciergerie.cli", "worker"],
        )
        try:
            call_command("serve", host=host, port=port)
        finally:
            worker.terminate()
            worker.wait(timeout=10)
