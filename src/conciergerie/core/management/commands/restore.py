"""`conciergerie restore ARCHIVE`: bring a backup back into an empty instance."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from conciergerie.core.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restaure une archive de « conciergerie backup » dans une instance vide "
        "(migrations comprises). Refuse toute base qui contient déjà des données."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("archive", help="fichier .tar.gz écrit par « conciergerie backup »")

    def handle(self, *args: Any, archive: str, **options: Any) -> None:
        try:
            result = backup_restore(archive=Path(archive), progress=sys.stderr.isatty())
        except BackupError as exc:
            raise CommandError(exc.message)
        self.stdout.write(
            self.style.SUCCESS(
                f"Restauration terminée : {result.rows} lignes, {result.media_files} fichiers "
                f"médias (sauvegarde du {result.created_at}, Conciergerie {result.app_version}, "
                f"{result.source_database})."
            )
        )
