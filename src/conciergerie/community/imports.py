"""CSV import of people and memberships: keep the file, plan it (read only), then apply it.

The plan is recomputed from the stored text every time (preview and apply), so what is
applied is checked against the database as it is at that moment, not at upload time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from conciergerie.community import csv_io, services
from conciergerie.community.models import ImportBatch, Membership, Organisation, Person, PersonTag
from conciergerie.core.audit import audit_record
from conciergerie.core.errors import Conflict, DomainError, InvalidInput
from conciergerie.core.models import Place, User
from conciergerie.core.text import fold

CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"
_LOOKUP_CHUNK = 500  # keeps IN (...) lists well under SQLite's bound-parameter limit


@dataclass
class RowPlan:
    row: csv_io.Row
    action: str = CREATE
    person: Person | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # keyword arguments for the service
    tags: dict[str, list[str]] = field(default_factory=dict)  # only the facets that change
    organisations: list[str] | None = None  # None: leave the person's organisations alone
    changed: list[str] = field(default_factory=list)  # column names, for the preview
    membership: dict[str, Any] | None = None  # to create
    membership_exists: bool = False  # same person, same start: already imported

    @property
    def line(self) -> int:
        return self.row.line

    @property
    def errors(self) -> list[str]:
        return self.row.errors

    @property
    def membership_status_label(self) -> str:
        return str(Membership.Status(self.membership["status"]).label) if self.membership else ""


@dataclass
class ImportPlan:
    parsed: csv_io.ParsedFile
    rows: list[RowPlan]

    @property
    def errors(self) -> list[tuple[int, str]]:
        return self.parsed.errors

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows": len(self.rows),
            "created": self.count(CREATE),
            "updated": self.count(UPDATE),
            "unchanged": self.count(UNCHANGED),
            "memberships": sum(1 for r in self.rows if r.membership and not r.errors),
            "errors": len(self.errors),
        }


# --- Plan (reads only) ------------------------------------------------------------------------


def _existing_people(place: Place, emails: list[str]) -> dict[str, Person]:
    found: dict[str, Person] = {}
    for i in range(0, len(emails), _LOOKUP_CHUNK):
        chunk = emails[i : i + _LOOKUP_CHUNK]
        people = (
            Person.objects.filter(place=place)
            .annotate(email_lower=Lower("email"))
            .filter(email_lower__in=chunk)
            .prefetch_related(
                Prefetch("person_tags", queryset=PersonTag.objects.select_related("tag")),
                "organisations",
                Prefetch("memberships", queryset=Membership.objects.order_by("start")),
            )
        )
        for person in people:
            found[person.email.lower()] = person
    return found


def _period(start: dt.date, end: dt.date | None) -> tuple[str, dt.date]:
    yearly = services.membership_default_end(start=start, period=Membership.Period.YEARLY)
    if end is None or end == yearly:
        return Membership.Period.YEARLY, yearly
    if end == dt.date(start.year, 12, 31):
        return Membership.Period.CALENDAR, end
    return Membership.Period.CUSTOM, end


def _plan_person(plan: RowPlan, person: Person | None) -> None:
    values = plan.row.values
    simple = [*csv_io.TEXT_FIELDS, "kind"]
    if person is None:
        plan.action = CREATE
        plan.fields = {k: values[k] for k in simple if k in values}
        plan.fields["email"] = values.get("email", "")
        plan.tags = dict(values.get("tags", {}))
        plan.organisations = values.get("organisations")
        return
    plan.person = person
    for key in simple:
        if key in values and values[key] != getattr(person, key):
            plan.fields[key] = values[key]
            plan.changed.append(csv_io.COLUMN[key].header)
    current: dict[str, set[str]] = {}
    for link in person.person_tags.all():
        current.setdefault(link.facet, set()).add(link.tag.folded)
    for key, facet in csv_io.TAG_COLUMNS.items():
        labels = values.get("tags", {}).get(facet)
        if labels is not None and {fold(label) for label in labels} != current.get(facet, set()):
            plan.tags[facet] = labels
            plan.changed.append(csv_io.COLUMN[key].header)
    names = values.get("organisations")
    if names is not None:
        # casefold mirrors organisation_ensure's case-insensitive match on the name
        now = {o.name.strip().casefold() for o in person.organisations.all()}
        if {n.casefold() for n in names} != now:
            plan.organisations = names
            plan.changed.append(csv_io.COLUMN["organisations"].header)
    plan.action = UPDATE if plan.changed else UNCHANGED


def _plan_membership(plan: RowPlan, person: Person | None) -> None:
    wanted = plan.row.values.get("membership")
    if wanted is None:
        return
    start = wanted["start"]
    period, end = _period(start, wanted.get("end"))
    status = wanted.get("status", Membership.Status.PENDING)
    existing = list(person.memberships.all()) if person is not None else []
    if any(m.start == start for m in existing):
        plan.membership_exists = True
        return
    if status != Membership.Status.CANCELLED:
        for m in existing:
            if m.status != Membership.Status.CANCELLED and m.start <= end and m.end >= start:
                plan.row.errors.append(
                    _(
                        "Cette personne a déjà une adhésion du %(start)s au %(end)s, qui "
                        "chevauche celle du fichier (%(new_start)s – %(new_end)s)."
                    )
                    % {
                        "start": f"{m.start:%d/%m/%Y}",
                        "end": f"{m.end:%d/%m/%Y}",
                        "new_start": f"{start:%d/%m/%Y}",
                        "new_end": f"{end:%d/%m/%Y}",
                    }
                )
                return
    plan.membership = {
        "start": start,
        "end": end,
        "period": period,
        "fee": wanted.get("fee", Decimal("0")),
        "status": status,
    }


def import_plan(*, place: Place, text: str) -> ImportPlan:
    """What applying this text would do, line by line; raises csv_io.CsvFileError."""
    parsed = csv_io.read_people(text)
    people = _existing_people(place, sorted({r.email for r in parsed.rows if r.email}))
    rows: list[RowPlan] = []
    for row in parsed.rows:
        plan = RowPlan(row=row)
        person = people.get(row.email) if row.email else None
        _plan_person(plan, person)
        _plan_membership(plan, person)
        if row.errors:
            plan.action = ERROR
        rows.append(plan)
    return ImportPlan(parsed=parsed, rows=rows)


def import_batch_plan(*, batch: ImportBatch) -> ImportPlan:
    return import_plan(place=batch.place, text=batch.content)


# --- Writes -----------------------------------------------------------------------------------


@transaction.atomic
def import_batch_create(
    *, place: Place, by: User | None, filename: str, content: bytes
) -> ImportBatch:
    """Keep an uploaded file for its preview; a file that cannot be read is refused."""
    try:
        text, encoding = csv_io.decode(content)
        parsed = csv_io.read_people(text)
    except csv_io.CsvFileError as exc:
        raise InvalidInput({"file": [str(exc)]}, message=str(exc))
    batch = ImportBatch.objects.create(
        place=place,
        filename=filename[:255],
        content=text.lstrip("\ufeff"),
        created_by=by if by is not None and by.pk else None,
        report={
            "rows": len(parsed.rows),
            "errors": len(parsed.errors),
            "ignored_columns": parsed.ignored,
            "encoding": encoding,
            "delimiter": parsed.delimiter,
        },
    )
    audit_record(
        place=place,
        actor=by,
        action="import.create",
        target=batch,
        changes={"filename": [None, batch.filename], "rows": [None, len(parsed.rows)]},
    )
    return batch


@transaction.atomic
def import_batch_apply(*, batch: ImportBatch, by: User | None) -> dict[str, int]:
    """All the file's people and memberships, or nothing: any error rolls everything back."""
    locked = ImportBatch.objects.select_for_update().select_related("place").get(pk=batch.pk)
    if locked.imported_at is not None:
        raise Conflict(
            _("Ce fichier a déjà été importé le %(date)s.")
            % {"date": timezone.localtime(locked.imported_at).strftime("%d/%m/%Y %H:%M")}
        )
    place = locked.place
    try:
        plan = import_plan(place=place, text=locked.content)
    except csv_io.CsvFileError as exc:
        raise InvalidInput({"file": [str(exc)]}, message=str(exc))
    if plan.errors:
        n = len(plan.errors)
        raise InvalidInput(
            {
                "__all__": [
                    _("Ligne %(line)s : %(message)s") % {"line": line, "message": msg}
                    for line, msg in plan.errors
                ]
            },
            message=ngettext(
                "Le fichier contient %(n)s erreur : corrigez-la puis importez-le à nouveau.",
                "Le fichier contient %(n)s erreurs : corrigez-les puis importez-le à nouveau.",
                n,
            )
            % {"n": n},
        )
    organisations: dict[str, Organisation] = {}

    def ensure(names: list[str]) -> list[Organisation]:
        for name in names:
            if name.casefold() not in organisations:
                organisations[name.casefold()] = services.organisation_ensure(
                    place=place, name=name, by=by
                )
        return [organisations[n.casefold()] for n in names]

    memberships = 0
    for row in plan.rows:
        try:
            person = row.person
            if row.action == CREATE:
                person = services.person_create(
                    place=place,
                    by=by,
                    tags=row.tags,
                    organisations=ensure(row.organisations or []),
                    **row.fields,
                )
            elif row.action == UPDATE and person is not None:
                services.person_update(
                    person=person,
                    by=by,
                    tags=row.tags or None,
                    organisations=None if row.organisations is None else ensure(row.organisations),
                    **row.fields,
                )
            if row.membership is not None and person is not None:
                services.membership_create(person=person, by=by, **row.membership)
                memberships += 1
        except DomainError as exc:
            # Raised inside the transaction: everything written so far is rolled back.
            details = "; ".join(m for msgs in exc.as_errors().values() for m in msgs)
            raise InvalidInput(
                {"__all__": [details]},
                message=_("Ligne %(line)s : %(message)s")
                % {"line": row.line, "message": details or exc.message},
            )
    report = {
        "created": plan.count(CREATE),
        "updated": plan.count(UPDATE),
        "unchanged": plan.count(UNCHANGED),
        "memberships_created": memberships,
    }
    locked.imported_at = timezone.now()
    locked.report = report
    locked.save(update_fields=["imported_at", "report"])
    audit_record(
        place=place,
        actor=by,
        action="import.apply",
        target=locked,
        changes={"filename": [None, locked.filename], **{k: [None, v] for k, v in report.items()}},
    )
    batch.imported_at, batch.report = locked.imported_at, report
    return report
