"""`conciergerie loaddemo`: load the demo places, people and accounts (once)."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from conciergerie.demo import data


class Command(BaseCommand):
    help = "Charge les données de démonstration (deux lieux, leurs membres et des comptes)."

    def handle(self, *args: Any, **options: Any) -> None:
        slug = data.existing_demo_slug()
        if slug is not None:
            raise CommandError(
                f"Les données de démonstration sont déjà chargées (le lieu « {slug} » "
                "existe). Rien n'a été modifié."
            )
        started = time.monotonic()
        # tqdm draws on stderr: only when a person is watching it.
        progress = options["verbosity"] > 0 and sys.stderr.isatty()
        summary = data.load_demo(progress=progress)
        if options["verbosity"] > 0:
            places = ", ".join(
                f"{p.name} ({summary['people'][p.slug]} personnes)" for p in summary["places"]
            )
            self.stdout.write(
                self.style.SUCCESS(
                    f"Démo chargée en {time.monotonic() - started:.1f} s : {places}."
                )
            )
