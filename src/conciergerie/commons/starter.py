"""The starter catalogue: about forty commons useful to tiers-lieux, and FAQ entries per domain.

`starter/catalogue.json` follows the import format (docs/commons-format.md);
`starter/faq.json` is an array of {"domain": "…", "question": "…", "answer": "…"}
(the answer in Markdown). Loading twice changes nothing: commons are matched by slug or
address, FAQ entries by domain and question.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from conciergerie.commons.models import FaqEntry
from conciergerie.commons.services.catalogue import domains_for
from conciergerie.commons.services.faq import faq_entry_save
from conciergerie.commons.services.imports import ImportReport, commons_import
from conciergerie.core.audit import audit_record
from conciergerie.core.errors import DomainError, InvalidInput
from conciergerie.core.models import Place, User

STARTER_DIR = Path(__file__).resolve().parent / "starter"


@dataclass
class StarterReport:
    commons: ImportReport
    faq_created: int = 0
    faq_updated: int = 0
    faq_unchanged: int = 0
    faq_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.commons.ok and not self.faq_errors

    def summary(self) -> str:
        faq = _(
            "Questions fréquentes : %(created)s ajoutée(s), %(updated)s mise(s) à jour, "
            "%(unchanged)s inchangée(s), %(errors)s en erreur."
        ) % {
            "created": self.faq_created,
            "updated": self.faq_updated,
            "unchanged": self.faq_unchanged,
            "errors": len(self.faq_errors),
        }
        return f"{self.commons.summary()} {faq}"


def _read(path: Path) -> Any:
    if not path.exists():
        return []
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            {
                "__all__": [
                    _("Fichier %(name)s illisible : %(error)s") % {"name": path.name, "error": exc}
                ]
            }
        ) from None


def _faq_entry(entry: Any) -> tuple[str, str, str] | None:
    if not isinstance(entry, dict):
        return None
    values = [entry.get(k) for k in ("domain", "question", "answer")]
    if not all(isinstance(v, str) and v.strip() for v in values):
        return None
    domain, question, answer = (str(v).strip() for v in values)
    return domain, question, answer


def faq_load(*, place: Place, entries: Any, by: User | None, report: StarterReport) -> None:
    """Create or update FAQ entries, matched on their domain and question."""
    if not isinstance(entries, list):
        raise InvalidInput({"faq": [_("Un tableau JSON de questions est attendu.")]})
    positions: dict[int, int] = {}
    for number, raw in enumerate(entries, start=1):
        entry = _faq_entry(raw)
        if entry is None:
            report.faq_errors.append(
                _("Question n°%(n)s : domaine, question et réponse sont obligatoires.")
                % {"n": number}
            )
            continue
        domain_name, question, answer = entry
        try:
            with transaction.atomic():  # a refused entry leaves no new domain behind
                domain = domains_for(place=place, names=[domain_name])[0]
                position = positions.get(domain.pk, 0)
                existing = FaqEntry.objects.filter(
                    place=place, domain=domain, question=question
                ).first()
                if existing is not None and (existing.answer, existing.position) == (
                    answer,
                    position,
                ):
                    positions[domain.pk] = position + 1
                    report.faq_unchanged += 1
                    continue
                faq_entry_save(
                    place=place,
                    by=by,
                    question=question,
                    answer=answer,
                    domain=domain,
                    position=position,
                    entry=existing,
                )
                positions[domain.pk] = position + 1
        except DomainError as exc:
            problems = " ".join(m for messages in exc.as_errors().values() for m in messages)
            report.faq_errors.append(
                _("Question n°%(n)s : %(problems)s") % {"n": number, "problems": problems}
            )
            continue
        if existing is None:
            report.faq_created += 1
        else:
            report.faq_updated += 1


def starter_load(place: Place, by: User | None, *, directory: Path | None = None) -> StarterReport:
    """Load the starter catalogue and its FAQ into a place (validated: ready to read)."""
    directory = directory or STARTER_DIR
    catalogue = _read(directory / "catalogue.json")
    faq = _read(directory / "faq.json")
    with transaction.atomic():
        report = StarterReport(
            commons=commons_import(
                place=place, items=catalogue, by=by, message=_("Catalogue de départ")
            )
        )
        faq_load(place=place, entries=faq, by=by, report=report)
        audit_record(
            place=place,
            actor=by,
            action="commons.starter",
            target_type="faqentry",
            changes={
                "faq_created": [None, report.faq_created],
                "faq_updated": [None, report.faq_updated],
            },
        )
    return report
