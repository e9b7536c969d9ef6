"""`conciergerie backup`: one consistent archive (database + media + manifest)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from conciergerie.core.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Sauvegarde l'instance (base de données, médias, manifeste) dans une archive .tar.gz."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--output",
            "-o",
            help="fichier (ou dossier) de l'archive ; par défaut DATA_DIR/backups/",
        )

    def handle(self, *args: Any, output: str | None = None, **options: Any) -> None:
        try:
            result = backup_create(
                output=Path(output) if output else None, progress=sys.stderr.isatty()
            )
        except BackupError as exc:
            raise CommandError(exc.message)
        for name in result.missing_media:
            self.stderr.write(self.style.WARNING(f"Fichier média absent du disque : {name}"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Sauvegarde écrite : {result.path} ({result.rows} lignes, "
                f"{result.media_files} fichiers médias, {result.size / 1e6:.1f} Mo)"
            )
        )
