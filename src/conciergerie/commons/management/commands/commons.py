"""`conciergerie commons import FILE --place SLUG [--format json|csv]`: import commons (format in
docs/commons-format.md), one line per item in error; exits with 1 if any item failed.

`conciergerie commons export --place SLUG [--format json|csv] [--output FILE]`: the place's
validated commons, in the import format (standard output without --output).

`conciergerie commons starter --place SLUG`: load the starter catalogue and its FAQ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from conciergerie.commons import exchange
from conciergerie.commons.services.imports import ImportReport, commons_import
from conciergerie.commons.starter import starter_load
from conciergerie.core.errors import DomainError
from conciergerie.core.models import Place


def _errors(exc: DomainError) -> str:
    return " ; ".join(m for messages in exc.as_errors().values() for m in messages)


class Command(BaseCommand):
    help = "Communs : import et export (JSON ou CSV), catalogue de départ."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="Importe des communs depuis un fichier JSON ou CSV")
        imp.add_argument("file", help="chemin du fichier")
        imp.add_argument("--place", required=True, help="identifiant du lieu")
        imp.add_argument(
            "--format", choices=["json", "csv"], default="", help="deviné d'après le nom sinon"
        )
        exp = sub.add_parser("export", help="Exporte les communs validés d'un lieu")
        exp.add_argument("--place", required=True, help="identifiant du lieu")
        exp.add_argument("--format", choices=["json", "csv"], default="json")
        exp.add_argument("--output", default="", help="fichier à écrire (sortie standard sinon)")
        start = sub.add_parser("starter", help="Charge le catalogue de départ dans un lieu")
        start.add_argument("--place", required=True, help="identifiant du lieu")

    def _place(self, slug: str) -> Place:
        place = Place.objects.filter(slug=slug).first()
        if place is None:
            raise CommandError(f"Aucun lieu « {slug} ».")
        return place

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        place = self._place(options["place"])
        if action == "import":
            self._import(place, options)
        elif action == "export":
            self._export(place, options)
        else:
            report = starter_load(place, None)
            self._report(report.commons, options["verbosity"])
            for error in report.faq_errors:
                self.stderr.write(error)
            self.stdout.write(report.summary())
            if not report.ok:
                raise CommandError("Des éléments n'ont pas été chargés.", returncode=1)

    def _import(self, place: Place, o: dict[str, Any]) -> None:
        path = Path(o["file"])
        if not path.is_file():
            raise CommandError(f"Fichier introuvable : {path}")
        if path.stat().st_size > exchange.MAX_BYTES:
            raise CommandError(exchange.too_big_message())
        content = path.read_bytes()
        name = f"x.{o['format']}" if o["format"] else path.name
        try:
            items = exchange.read_file(content, name).items
            report = commons_import(place=place, items=items, by=None)
        except DomainError as exc:
            raise CommandError(_errors(exc)) from None
        self._report(report, o["verbosity"])
        self.stdout.write(report.summary())
        if not report.ok:
            raise CommandError(
                f"{len(report.failed)} commun(s) non importé(s) : corrigez-les et relancez "
                "(les autres sont enregistrés ; relancer ne les duplique pas).",
                returncode=1,
            )

    def _report(self, report: ImportReport, verbosity: int) -> None:
        for line in report.items:
            if line.errors:
                problems = " ; ".join(
                    f"{exchange.field_label(key)} : {' '.join(messages)}"
                    for key, messages in line.errors.items()
                )
                self.stderr.write(f"n°{line.index} {line.name or line.slug or '?'} : {problems}")
            elif verbosity > 1:
                self.stdout.write(f"n°{line.index} {line.name} : {line.outcome_label}")

    def _export(self, place: Place, o: dict[str, Any]) -> None:
        items = exchange.export_items(exchange.export_commons(place=place))
        if o["format"] == "csv":
            text = exchange.write_csv(items, exchange.grid_columns(place=place, items=items))
        else:
            text = exchange.write_json(items)
        if o["output"]:
            Path(o["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"{len(items)} commun(s) exporté(s) dans {o['output']}.")
        else:
            self.stdout.write(text, ending="")
