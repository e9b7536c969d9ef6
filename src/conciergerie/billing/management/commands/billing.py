"""`conciergerie billing run --period 2026-11 [--place slug] [--date 2026-12-01]`: invoice and
issue every subscription month and consumption due (see billing/services/runs.py); running
it twice bills nothing twice, a run stopped half-way resumes.

`conciergerie billing verify [--place slug]`: walk each place's hash chain of issued
documents; exits with 1 and lists the breaks if any.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from conciergerie.billing import periods
from conciergerie.billing.chain import chain_verify
from conciergerie.billing.services.runs import BATCH_SIZE, billing_run
from conciergerie.core.errors import DomainError, InvalidInput
from conciergerie.core.models import Place

REASONS = {
    "missing": "document manquant ou déplacé dans la chaîne",
    "previous": "ne suit pas le document précédent (hash précédent différent)",
    "content": "contenu modifié après émission (hash différent)",
}


def _errors(exc: DomainError) -> str:
    if isinstance(exc, InvalidInput):
        return " ; ".join(m for messages in exc.as_errors().values() for m in messages)
    return exc.message


class Command(BaseCommand):
    help = "Facturation : campagne mensuelle (run) et vérification de la chaîne (verify)."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="Facture et émet ce que la période doit")
        run.add_argument("--period", required=True, help="mois facturé, AAAA-MM")
        run.add_argument("--place", default="", help="identifiant du lieu (tous sinon)")
        run.add_argument("--date", default="", help="date d'émission AAAA-MM-JJ (aujourd'hui)")
        run.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="factures par lot")
        run.add_argument(
            "--progress",
            action="store_true",
            help="barre de progression même hors terminal (sinon : seulement dans un terminal)",
        )
        verify = sub.add_parser("verify", help="Vérifie la chaîne des factures émises")
        verify.add_argument("--place", default="", help="identifiant du lieu (tous sinon)")

    def _places(self, slug: str) -> list[Place]:
        if slug:
            place = Place.objects.filter(slug=slug).first()
            if place is None:
                raise CommandError(f"Aucun lieu « {slug} ».")
            return [place]
        return list(Place.objects.order_by("slug"))

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "run":
            self._run(**options)
        else:
            self._verify(**options)

    def _run(self, **o: Any) -> None:
        try:
            period = periods.parse_period(o["period"])
        except InvalidInput as exc:
            raise CommandError(_errors(exc)) from None
        on = None
        if o["date"]:
            try:
                on = dt.date.fromisoformat(o["date"])
            except ValueError:
                raise CommandError("Date d'émission attendue sous la forme AAAA-MM-JJ.") from None
            if on > dt.date.today() + dt.timedelta(days=1):
                # A future date would also block every invoice of the series until that day.
                raise CommandError("Une facture ne peut pas être datée dans le futur.")
        progress = o["progress"] or (o["verbosity"] > 0 and sys.stderr.isatty())
        total = 0
        failed: list[str] = []
        for place in self._places(o["place"]):
            started = time.monotonic()
            try:
                run = billing_run(
                    place=place,
                    period=period,
                    on=on,
                    batch_size=o["batch_size"],
                    progress=progress,
                )
            except DomainError as exc:
                # One place not ready (no SIRET yet…) must not stop the others' billing.
                failed.append(f"{place.name} : {_errors(exc)}")
                self.stderr.write(failed[-1])
                continue
            total += run.invoices_created
            if o["verbosity"] > 0:
                self.stdout.write(
                    f"{place.name}, {periods.month_label(period)} : "
                    f"{run.invoices_created} facture(s) émise(s) "
                    f"en {time.monotonic() - started:.1f} s."
                )
        if o["verbosity"] > 0:
            self.stdout.write(self.style.SUCCESS(f"Total : {total} facture(s) émise(s)."))
        if failed:
            raise CommandError(f"{len(failed)} lieu(x) non facturé(s) : " + " ; ".join(failed))

    def _verify(self, **o: Any) -> None:
        broken = []
        for place in self._places(o["place"]):
            count, breaks = chain_verify(place.pk)
            if not breaks:
                if o["verbosity"] > 0:
                    self.stdout.write(
                        f"{place.name} : {count} document(s) vérifié(s), chaîne intacte."
                    )
                continue
            self.stdout.write(
                f"{place.name} : {count} document(s) vérifié(s), {len(breaks)} rupture(s) :"
            )
            for b in breaks:
                self.stdout.write(
                    f"  - position {b.position}, {b.number} : {REASONS.get(b.reason, b.reason)}"
                )
            broken.append(place.name)
        if broken:
            raise CommandError(f"Chaîne rompue : {', '.join(broken)}.", returncode=1)
