"""Writes of the community domain: people, organisations, tags, memberships, introductions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from conciergerie.community.models import (
    FACET_FIELD,
    PROFILE_FIELDS,
    Affiliation,
    Facet,
    Introduction,
    Membership,
    Organisation,
    Person,
    PersonTag,
    Tag,
    Visibility,
)
from conciergerie.core.audit import audit_record, diff, snapshot
from conciergerie.core.errors import Conflict, InvalidInput, NotFound
from conciergerie.core.models import Place, User
from conciergerie.core.text import fold, keywords

PERSON_FIELDS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "kind",
    "bio",
    "skills_text",
    "needs_text",
    "interests_text",
    "lendables_text",
    *[f"{f}_visibility" for f in PROFILE_FIELDS],
]
ORGANISATION_FIELDS = ["name", "kind", "siret", "email", "phone", "website", "description"]
MEMBERSHIP_FIELDS = ["organisation", "period", "start", "end", "fee", "status", "note"]


def _clean(obj: Any, exclude: list[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=exclude, validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error(exc)


# --- Vocabulary -------------------------------------------------------------------------------


def tags_ensure(*, place: Place, labels: Iterable[str], by: User | None) -> list[Tag]:
    """The tags for these labels, creating the missing ones (matched without case or accents)."""
    wanted: dict[str, str] = {}
    for label in labels:
        label = " ".join(label.split())[:80]
        if label:
            wanted.setdefault(fold(label), label)
    if not wanted:
        return []
    existing = {t.folded: t for t in Tag.objects.filter(place=place, folded__in=wanted)}
    for key, label in wanted.items():
        if key not in existing:
            existing[key] = Tag.objects.create(place=place, label=label, folded=key)
            audit_record(
                place=place,
                actor=by,
                action="tag.create",
                target=existing[key],
                changes={"label": [None, label]},
            )
    return [existing[k] for k in wanted]


@transaction.atomic
def tag_rename(*, tag: Tag, label: str, by: User) -> Tag:
    label = " ".join(label.split())
    if not label:
        raise InvalidInput({"label": [_("Le libellé ne peut pas être vide.")]})
    other = Tag.objects.filter(place=tag.place, folded=fold(label)).exclude(pk=tag.pk).first()
    if other is not None:
        raise Conflict(
            _("Le mot « %(label)s » existe déjà : fusionnez plutôt.") % {"label": label},
            field="label",
        )
    old = tag.label
    tag.label, tag.folded = label, fold(label)
    tag.save()
    audit_record(
        place=tag.place, actor=by, action="tag.rename", target=tag, changes={"label": [old, label]}
    )
    _reindex(Person.objects.filter(person_tags__tag=tag).distinct())
    return tag


@transaction.atomic
def tag_merge(*, source: Tag, into: Tag, by: User) -> Tag:
    """Move every use of `source` to `into`, then delete `source`."""
    if source.place_id != into.place_id or source.pk == into.pk:
        raise InvalidInput({"into": [_("Choisissez un autre mot du même lieu.")]})
    for link in PersonTag.objects.filter(tag=source):
        PersonTag.objects.get_or_create(person_id=link.person_id, tag=into, facet=link.facet)
    people = list(Person.objects.filter(person_tags__tag=source).distinct())
    audit_record(
        place=source.place,
        actor=by,
        action="tag.merge",
        target=into,
        changes={"label": [source.label, into.label]},
    )
    source.delete()
    _reindex(people)
    return into


@transaction.atomic
def tag_delete(*, tag: Tag, by: User) -> None:
    people = list(Person.objects.filter(person_tags__tag=tag).distinct())
    audit_record(
        place=tag.place,
        actor=by,
        action="tag.delete",
        target=tag,
        changes={"label": [tag.label, None]},
    )
    tag.delete()
    _reindex(people)


# --- People -----------------------------------------------------------------------------------


def _person_tag_labels(person: Person) -> dict[str, list[str]]:
    labels: dict[str, list[str]] = {f: [] for f in Facet.values}
    for link in person.person_tags.select_related("tag").order_by("tag__label"):
        labels[link.facet].append(link.tag.label)
    return labels


def _search_texts(person: Person, tags: dict[str, list[str]], orgs: list[str]) -> dict[str, str]:
    """Folded text per audience: a field counts only where its visibility lets it be read."""
    pieces: dict[str, str] = {
        "name": person.full_name,
        "email": person.email,
        "phone": person.phone,
        "bio": person.bio,
        "organisations": " ".join(orgs),
    }
    for facet, field in FACET_FIELD.items():
        pieces[field] = " ".join([*tags.get(facet, []), getattr(person, f"{field}_text")])
    audiences = {
        "all": {v.value for v in Visibility},
        "members": {"members", "public"},
        "public": {"public"},
    }
    texts = {
        audience: fold(
            " ".join(
                text
                for field, text in pieces.items()
                if getattr(person, f"{field}_visibility") in allowed
            )
        )
        for audience, allowed in audiences.items()
    }
    # Stems, not words: matching a need compares stems (souder ~ soudure).
    texts["offers"] = " ".join(keywords(" ".join([pieces["skills"], pieces["lendables"]])))
    return texts


def _reindex(people: Iterable[Person]) -> None:
    for person in people:
        tags = _person_tag_labels(person)
        orgs = list(person.organisations.values_list("name", flat=True))
        texts = _search_texts(person, tags, orgs)
        Person.objects.filter(pk=person.pk).update(
            search_all=texts["all"],
            search_members=texts["members"],
            search_public=texts["public"],
            search_offers=texts["offers"],
        )


def _set_tags(person: Person, tags: dict[str, list[str]], by: User | None) -> dict[str, list]:
    """Replace the person's tags per facet; returns the audit changes."""
    changes: dict[str, list] = {}
    before = _person_tag_labels(person)
    for facet, labels in tags.items():
        if facet not in Facet.values:
            raise InvalidInput({facet: [_("Catégorie inconnue.")]})
        new_tags = tags_ensure(place=person.place, labels=labels, by=by)
        PersonTag.objects.filter(person=person, facet=facet).exclude(tag__in=new_tags).delete()
        for tag in new_tags:
            PersonTag.objects.get_or_create(person=person, tag=tag, facet=facet)
        after = sorted(t.label for t in new_tags)
        if sorted(before[facet]) != after:
            changes[f"tags_{facet}"] = [sorted(before[facet]), after]
    return changes


def _set_organisations(person: Person, organisations: list[Organisation]) -> dict[str, list]:
    before = sorted(o.name for o in person.organisations.all())
    for org in organisations:
        if org.place_id != person.place_id:
            raise InvalidInput({"organisations": [_("Organisation inconnue dans ce lieu.")]})
    Affiliation.objects.filter(person=person).exclude(organisation__in=organisations).delete()
    for org in organisations:
        Affiliation.objects.get_or_create(person=person, organisation=org)
    after = sorted(o.name for o in organisations)
    return {"organisations": [before, after]} if before != after else {}


def _check_email_free(place: Place, email: str, exclude_pk: int | None = None) -> None:
    if not email:
        return
    clash = Person.objects.filter(place=place, email__iexact=email)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise Conflict(
            _("Une personne de ce lieu a déjà l'e-mail %(email)s.") % {"email": email},
            field="email",
        )


@transaction.atomic
def person_create(
    *,
    place: Place,
    by: User | None,
    tags: dict[str, list[str]] | None = None,
    organisations: list[Organisation] | None = None,
    user: User | None = None,
    **fields: Any,
) -> Person:
    fields["email"] = (fields.get("email") or "").strip().lower()
    unknown = set(fields) - set(PERSON_FIELDS)
    if unknown:
        raise InvalidInput({f: [_("Champ inconnu.")] for f in sorted(unknown)})
    person = Person(place=place, user=user, **fields)
    _clean(person, exclude=["user"])
    _check_email_free(place, person.email)
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError:  # a concurrent insert with the same e-mail won the race
        raise Conflict(
            _("Une personne de ce lieu a déjà l'e-mail %(email)s.") % {"email": person.email},
            field="email",
        )
    changes = diff({}, snapshot(person, PERSON_FIELDS))
    changes.update(_set_tags(person, tags or {}, by))
    if organisations:
        changes.update(_set_organisations(person, organisations))
    _reindex([person])
    audit_record(place=place, actor=by, action="person.create", target=person, changes=changes)
    return person


@transaction.atomic
def person_update(
    *,
    person: Person,
    by: User | None,
    tags: dict[str, list[str]] | None = None,
    organisations: list[Organisation] | None = None,
    **fields: Any,
) -> Person:
    person = Person.objects.select_for_update().get(pk=person.pk)
    before = snapshot(person, PERSON_FIELDS)
    if "email" in fields:
        fields["email"] = (fields["email"] or "").strip().lower()
    for field, value in fields.items():
        if field not in PERSON_FIELDS:
            raise InvalidInput({field: [_("Champ inconnu.")]})
        setattr(person, field, value)
    _clean(person, exclude=["user"])
    _check_email_free(person.place, person.email, exclude_pk=person.pk)
    person.updated_at = timezone.now()
    person.save()
    changes = diff(before, snapshot(person, PERSON_FIELDS))
    if tags is not None:
        changes.update(_set_tags(person, tags, by))
    if organisations is not None:
        changes.update(_set_organisations(person, organisations))
    _reindex([person])
    if changes:
        audit_record(
            place=person.place, actor=by, action="person.update", target=person, changes=changes
        )
    return person


@transaction.atomic
def person_set_visibility(*, person: Person, by: User, visibility: dict[str, str]) -> Person:
    fields: dict[str, Any] = {}
    for field, level in visibility.items():
        if field not in PROFILE_FIELDS:
            raise InvalidInput({field: [_("Champ inconnu.")]})
        if level not in Visibility.values:
            raise InvalidInput({field: [_("Visibilité inconnue.")]})
        fields[f"{field}_visibility"] = level
    return person_update(person=person, by=by, **fields)


@transaction.atomic
def person_delete(*, person: Person, by: User) -> None:
    audit_record(
        place=person.place,
        actor=by,
        action="person.delete",
        target=person,
        changes={"name": [person.full_name, None], "email": [person.email, None]},
    )
    try:
        with transaction.atomic():
            person.delete()
    except ProtectedError:
        # Invoices, payments and subscriptions keep their customer: the law keeps invoices
        # ten years, and an issued invoice never changes.
        raise Conflict(
            _(
                "%(name)s a des factures, des paiements ou des abonnements : la fiche ne peut "
                "pas être supprimée (les factures se conservent dix ans)."
            )
            % {"name": person.full_name}
        ) from None


def person_link_account(*, place: Place, user: User) -> Person | None:
    """Attach an account to the directory entry with its e-mail in this place (or create one)."""
    person = Person.objects.filter(place=place, email__iexact=user.email).first()
    if person is None:
        first, _sep, last = (user.full_name or user.email.split("@")[0]).partition(" ")
        return person_create(
            place=place, by=user, user=user, first_name=first, last_name=last, email=user.email
        )
    if person.user_id != user.pk:
        Person.objects.filter(pk=person.pk).update(user=user)
        audit_record(
            place=place,
            actor=user,
            action="person.link_account",
            target=person,
            changes={"account": [None, user.email]},
        )
    return person


# --- Organisations ----------------------------------------------------------------------------


@transaction.atomic
def organisation_create(*, place: Place, by: User | None, **fields: Any) -> Organisation:
    org = Organisation(place=place, **fields)
    _clean(org)
    if Organisation.objects.filter(place=place, name__iexact=org.name).exists():
        raise Conflict(_("Une organisation porte déjà ce nom."), field="name")
    org.save()
    audit_record(
        place=place,
        actor=by,
        action="organisation.create",
        target=org,
        changes=diff({}, snapshot(org, ORGANISATION_FIELDS)),
    )
    return org


@transaction.atomic
def organisation_update(*, organisation: Organisation, by: User, **fields: Any) -> Organisation:
    org = Organisation.objects.select_for_update().get(pk=organisation.pk)
    before = snapshot(org, ORGANISATION_FIELDS)
    for field, value in fields.items():
        if field not in ORGANISATION_FIELDS:
            raise InvalidInput({field: [_("Champ inconnu.")]})
        setattr(org, field, value)
    _clean(org)
    if (
        Organisation.objects.filter(place=org.place, name__iexact=org.name)
        .exclude(pk=org.pk)
        .exists()
    ):
        raise Conflict(_("Une organisation porte déjà ce nom."), field="name")
    org.save()
    changes = diff(before, snapshot(org, ORGANISATION_FIELDS))
    if changes:
        audit_record(
            place=org.place, actor=by, action="organisation.update", target=org, changes=changes
        )
        if "name" in changes:
            _reindex(org.people.all())
    return org


def organisation_ensure(*, place: Place, name: str, by: User | None) -> Organisation:
    org = Organisation.objects.filter(place=place, name__iexact=name.strip()).first()
    return org or organisation_create(place=place, by=by, name=name.strip())


# --- Memberships ------------------------------------------------------------------------------


def membership_default_end(*, start: dt.date, period: str) -> dt.date:
    if period == Membership.Period.CALENDAR:
        return dt.date(start.year, 12, 31)
    try:
        return start.replace(year=start.year + 1) - dt.timedelta(days=1)
    except ValueError:  # 29 February
        return dt.date(start.year + 1, 2, 28)


@transaction.atomic
def membership_create(
    *,
    person: Person,
    by: User | None,
    start: dt.date,
    end: dt.date | None = None,
    period: str = Membership.Period.YEARLY,
    fee: Decimal = Decimal("0"),
    status: str = Membership.Status.PENDING,
    organisation: Organisation | None = None,
    note: str = "",
) -> Membership:
    if end is None:
        if period == Membership.Period.CUSTOM:
            raise InvalidInput({"end": [_("Indiquez la date de fin pour une période libre.")]})
        end = membership_default_end(start=start, period=period)
    membership = Membership(
        place=person.place,
        person=person,
        start=start,
        end=end,
        period=period,
        fee=fee,
        status=status,
        organisation=organisation,
        note=note,
    )
    _validate_membership(membership)
    membership.save()
    audit_record(
        place=person.place,
        actor=by,
        action="membership.create",
        target=membership,
        changes=diff({}, snapshot(membership, MEMBERSHIP_FIELDS)),
    )
    return membership


def _validate_membership(membership: Membership) -> None:
    _clean(membership)
    if membership.end < membership.start:
        raise InvalidInput({"end": [_("La fin doit être après le début.")]})
    if membership.organisation and membership.organisation.place_id != membership.place_id:
        raise InvalidInput({"organisation": [_("Organisation inconnue dans ce lieu.")]})
    overlapping = Membership.objects.filter(
        person=membership.person,
        start__lte=membership.end,
        end__gte=membership.start,
    ).exclude(status=Membership.Status.CANCELLED)
    if membership.pk:
        overlapping = overlapping.exclude(pk=membership.pk)
    if membership.status != Membership.Status.CANCELLED and overlapping.exists():
        raise Conflict(_("Cette personne a déjà une adhésion sur cette période."), field="start")


@transaction.atomic
def membership_update(*, membership: Membership, by: User, **fields: Any) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    before = snapshot(membership, MEMBERSHIP_FIELDS)
    for field, value in fields.items():
        if field not in MEMBERSHIP_FIELDS:
            raise InvalidInput({field: [_("Champ inconnu.")]})
        setattr(membership, field, value)
    _validate_membership(membership)
    membership.save()
    changes = diff(before, snapshot(membership, MEMBERSHIP_FIELDS))
    if changes:
        audit_record(
            place=membership.place,
            actor=by,
            action="membership.update",
            target=membership,
            changes=changes,
        )
    return membership


@transaction.atomic
def membership_renew(*, membership: Membership, by: User) -> Membership:
    """The next period, same fee and kind, starting the day after this one ends."""
    start = membership.end + dt.timedelta(days=1)
    length = membership.end - membership.start
    end = (
        start + length
        if membership.period == Membership.Period.CUSTOM
        else membership_default_end(start=start, period=membership.period)
    )
    if membership.period == Membership.Period.CALENDAR:
        end = dt.date(start.year, 12, 31)
    return membership_create(
        person=membership.person,
        by=by,
        start=start,
        end=end,
        period=membership.period,
        fee=membership.fee,
        organisation=membership.organisation,
    )


# --- Introductions (mise en relation) ---------------------------------------------------------


@transaction.atomic
def introduction_create(
    *,
    place: Place,
    by: User,
    need: str,
    helper: Person,
    requester: Person | None = None,
    reason: str = "",
    note: str = "",
) -> Introduction:
    if not need.strip():
        raise InvalidInput({"need": [_("Décrivez le besoin.")]})
    for person in (helper, requester):
        if person is not None and person.place_id != place.pk:
            raise NotFound(_("Personne inconnue dans ce lieu."))
    if requester is not None and requester.pk == helper.pk:
        raise InvalidInput(
            {"helper": [_("Choisissez une autre personne que celle qui a le besoin.")]}
        )
    intro = Introduction.objects.create(
        place=place,
        need=need.strip(),
        helper=helper,
        requester=requester,
        reason=reason[:255],
        note=note,
        made_by=by,
    )
    audit_record(
        place=place,
        actor=by,
        action="introduction.create",
        target=intro,
        changes={
            "need": [None, intro.need],
            "helper": [None, str(helper)],
            "requester": [None, str(requester) if requester else None],
        },
    )
    return intro


@transaction.atomic
def introduction_set_outcome(
    *, introduction: Introduction, by: User, outcome: str, note: str = ""
) -> Introduction:
    if outcome not in Introduction.Outcome.values:
        raise InvalidInput({"outcome": [_("Suite inconnue.")]})
    intro = Introduction.objects.select_for_update().get(pk=introduction.pk)
    before = [intro.outcome, intro.outcome_note]
    intro.outcome, intro.outcome_note, intro.outcome_at = outcome, note, timezone.now()
    intro.save(update_fields=["outcome", "outcome_note", "outcome_at"])
    audit_record(
        place=intro.place,
        actor=by,
        action="introduction.outcome",
        target=intro,
        changes={"outcome": [before[0], outcome], "outcome_note": [before[1], note]},
    )
    return intro
