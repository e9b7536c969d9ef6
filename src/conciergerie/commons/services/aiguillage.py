"""Aiguillage writes: the aiguilleurs, the public "be called back" requests, then the
orientation an aiguilleur records and its follow-up (contacted? adopted? dropped, and why?).

Recording, assigning and following up are for the place's team and its active aiguilleurs
(`permissions.can_orient`); managing the aiguilleurs is for the team. `by=None` is the system
(demo data, command line) and is not checked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from conciergerie.commons.models import Aiguilleur, Commons, Orientation
from conciergerie.commons.selectors.aiguillage import Suggestion, clean_request
from conciergerie.commons.selectors.orientations import place_today
from conciergerie.commons.services.catalogue import domains_for
from conciergerie.community.models import Person
from conciergerie.core import permissions
from conciergerie.core.audit import audit_record
from conciergerie.core.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from conciergerie.core.mail import email_send_on_commit
from conciergerie.core.models import Place, User

FOLLOW_UP_DAYS = 14
MAX_DOMAINS = 20
MAX_MESSAGE = 2000
# Public requests: this many per hour from one address or for one e-mail.
REQUESTS_PER_HOUR = 5
WINDOW_SECONDS = 3600


class TooManyRequests(DomainError):
    status = 429


def follow_up_default(place: Place) -> dt.date:
    return place_today(place) + dt.timedelta(days=FOLLOW_UP_DAYS)


def _system(by: Any) -> bool:
    return by is None


def _check_manage(place: Place, by: User | None) -> None:
    if not _system(by) and not permissions.can(by, "aiguillage.manage", place):
        raise PermissionDenied(_("Seule l'équipe du lieu gère les aiguilleur·euses."))


def _check_orient(place: Place, by: User | None) -> None:
    if not _system(by) and not permissions.can_orient(by, place):
        raise PermissionDenied(
            _("Seules l'équipe du lieu et ses aiguilleur·euses suivent les orientations.")
        )


def _user(by: Any) -> User | None:
    return by if by is not None and getattr(by, "pk", None) else None


def _email(value: str, field: str, errors: dict[str, list[str]]) -> str:
    value = (value or "").strip().lower()
    if value:
        try:
            validate_email(value)
        except ValidationError:
            errors[field] = [_("Adresse e-mail invalide.")]
    return value


# --- Aiguilleurs ------------------------------------------------------------------------------


def _domain_names(domains: Iterable[str], errors: dict[str, list[str]]) -> list[str]:
    names = list(dict.fromkeys(d.strip() for d in domains if d and d.strip()))
    if len(names) > MAX_DOMAINS or any(len(n) > 80 for n in names):
        errors["domains"] = [
            _("Au plus %(n)s domaines, de 80 caractères chacun.") % {"n": MAX_DOMAINS},
        ]
    return names


def aiguilleur_set(
    *,
    place: Place,
    person: Person,
    by: User | None,
    domains: Sequence[str] = (),
    availability: str = "",
    active: bool = True,
) -> Aiguilleur:
    """Make a person of the place an aiguilleur, or change their domains and availability."""
    _check_manage(place, by)
    errors: dict[str, list[str]] = {}
    if person.place_id != place.pk:
        errors["person"] = [_("Cette personne n'est pas dans l'annuaire de ce lieu.")]
    availability = (availability or "").strip()
    if len(availability) > 255:
        errors["availability"] = [_("Trop long (255 caractères au plus).")]
    names = _domain_names(domains, errors)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        aiguilleur = Aiguilleur.objects.select_for_update().filter(person=person).first()
        if aiguilleur is None:
            aiguilleur = Aiguilleur.objects.create(
                place=place, person=person, availability=availability, active=active
            )
            before: dict[str, Any] = {}
            action = "aiguilleur.create"
        else:
            before = {
                "availability": aiguilleur.availability,
                "active": aiguilleur.active,
                "domains": sorted(aiguilleur.domains.values_list("name", flat=True)),
            }
            aiguilleur.availability, aiguilleur.active = availability, active
            aiguilleur.save(update_fields=["availability", "active"])
            action = "aiguilleur.update"
        found = domains_for(place=place, names=names)
        aiguilleur.domains.set(found)
        after = {
            "availability": availability,
            "active": active,
            "domains": sorted(d.name for d in found),
        }
        changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        if changes:
            audit_record(
                place=place,
                actor=_user(by),
                action=action,
                target=person,
                target_type="aiguilleur",
                changes=changes,
            )
    return aiguilleur


def aiguilleur_remove(*, aiguilleur: Aiguilleur, by: User | None) -> None:
    """No longer an aiguilleur; their orientations stay, unassigned."""
    place = aiguilleur.place
    _check_manage(place, by)
    with transaction.atomic():
        person = aiguilleur.person
        Aiguilleur.objects.filter(pk=aiguilleur.pk).delete()
        audit_record(
            place=place,
            actor=_user(by),
            action="aiguilleur.remove",
            target=person,
            target_type="aiguilleur",
        )


# --- Public requests --------------------------------------------------------------------------


def _limit_keys(ip: str | None, email: str) -> list[str]:
    keys = []
    if ip:
        keys.append("aiguillage:ip:" + hashlib.sha256(ip.encode()).hexdigest()[:32])
    if email:
        keys.append("aiguillage:email:" + hashlib.sha256(email.encode()).hexdigest()[:32])
    return keys


def request_admitted(*, ip: str | None, email: str) -> bool:
    """Count one more public request and say whether it stays within the limit (a light
    anti-spam limit). Counting comes first and is atomic (`add` then `incr`), so parallel
    requests cannot all pass; a refused or failed request still counts: it is a limit."""
    admitted = True
    for key in _limit_keys(ip, email.strip().lower()):
        cache.add(key, 0, WINDOW_SECONDS)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: a new window starts
            cache.add(key, 1, WINDOW_SECONDS)
            count = 1
        if count > REQUESTS_PER_HOUR:
            admitted = False
    return admitted


def shown(suggestions: Iterable[Suggestion | dict[str, Any]]) -> list[dict[str, str]]:
    """The suggestions as kept on an orientation: what was shown, without scores."""
    out = []
    for s in suggestions:
        if isinstance(s, Suggestion):
            item = {"type": s.type, "id": s.id, "name": s.name, "reason": s.reason}
        else:
            item = {k: str(s.get(k, "")) for k in ("type", "id", "name", "reason")}
        if item["type"] in ("commons", "person") and item["id"]:
            out.append(item)
    return out


def orientation_request(
    *,
    place: Place,
    need: Any,
    answers: Any,
    suggestions: Iterable[Suggestion | dict[str, Any]],
    contact_name: str,
    contact_email: str,
    person: Person | None = None,
    by: User | None = None,
    message: str = "",
    ip: str | None = None,
) -> Orientation:
    """Someone asks to be called back about a need: an orientation waiting for an aiguilleur.

    A visitor leaves a name and an e-mail; someone of the directory may leave theirs out.
    With `ip`, at most REQUESTS_PER_HOUR requests per hour from one address or e-mail.
    """
    errors: dict[str, list[str]] = {}
    try:
        need, answers = clean_request(need, answers)
    except InvalidInput as exc:
        errors.update(exc.errors)
    if person is not None and person.place_id != place.pk:
        person = None
    contact_name = (contact_name or "").strip()
    if not contact_name and person is not None:
        contact_name = person.full_name
    if not contact_name:
        errors["contact_name"] = [_("Indiquez votre nom.")]
    elif len(contact_name) > 200:
        errors["contact_name"] = [_("Trop long (200 caractères au plus).")]
    contact_email = _email(contact_email, "contact_email", errors)
    if not contact_email and person is not None:
        contact_email = person.email
    if not contact_email and "contact_email" not in errors:
        errors["contact_email"] = [_("Indiquez une adresse e-mail pour être recontacté·e.")]
    message = (message or "").strip()
    if len(message) > MAX_MESSAGE:
        errors["message"] = [_("Trop long (%(n)s caractères au plus).") % {"n": MAX_MESSAGE}]
    if errors:
        raise InvalidInput(errors)
    if ip is not None and not request_admitted(ip=ip, email=contact_email):
        raise TooManyRequests(
            _("Vous avez déjà envoyé plusieurs demandes : réessayez dans une heure.")
        )
    text = need
    if message:
        text += "\n\n" + _("Message : %(message)s") % {"message": message}
    with transaction.atomic():
        orientation = Orientation.objects.create(
            place=place,
            need=text,
            answers=answers,
            person=person,
            contact_name=contact_name,
            contact_email=contact_email,
            suggestions=shown(suggestions),
            created_by=_user(by),
        )
        audit_record(
            place=place,
            actor=_user(by),
            action="orientation.request",
            target=orientation,
            changes={"need": [None, need], "contact_email": [None, contact_email]},
        )
    return orientation


# --- Recording an orientation, following it up ------------------------------------------------


def _locked(orientation: Orientation, place: Place | None = None) -> Orientation:
    current = (
        Orientation.objects.select_for_update(of=("self",))
        .select_related("place", "person", "aiguilleur__person")
        .filter(pk=orientation.pk)
        .first()
    )
    if current is None or (place is not None and current.place_id != place.pk):
        raise InvalidInput({"orientation": [_("Orientation inconnue dans ce lieu.")]})
    return current


def _aiguilleur_of(place: Place, by: User | None) -> Aiguilleur | None:
    if by is None or not getattr(by, "pk", None):
        return None
    return Aiguilleur.objects.filter(place=place, person__user=by).first()


def _public_name(person: Person) -> str:
    return person.full_name if person.name_visibility == "public" else person.first_name


def recipient(orientation: Orientation) -> str:
    """Where the orientation is e-mailed: the address left, else the directory's."""
    if orientation.contact_email:
        return orientation.contact_email
    return orientation.person.email if orientation.person is not None else ""


def _notify_recorded(
    orientation: Orientation, commons: list[Commons], people: list[Person]
) -> None:
    to = recipient(orientation)
    if not to:
        return
    place = orientation.place
    name = orientation.contact_name or (orientation.person.first_name if orientation.person else "")
    lines = [_("Bonjour %(name)s,") % {"name": name} if name else _("Bonjour,"), ""]
    lines.append(_("Suite à votre besoin exprimé auprès de %(place)s :") % {"place": place.name})
    need = orientation.need if len(orientation.need) <= 400 else orientation.need[:400] + "…"
    lines += [f"« {need} »", ""]
    if commons:
        lines.append(_("Des communs qui peuvent vous servir :"))
        for c in commons:
            lines.append(f"- {c.name} : {c.summary}")
            lines.append(f"  {c.get_canonical_url()}")
        lines.append("")
    if people:
        lines.append(_("Des personnes à qui parler :"))
        lines += [f"- {_public_name(p)}" for p in people]
        if place.email:
            lines.append(
                _("Pour les joindre, écrivez au lieu (%(email)s) : nous vous mettrons en relation.")
                % {"email": place.email}
            )
        else:
            lines.append(_("Pour les joindre, adressez-vous au lieu : il vous mettra en relation."))
        lines.append("")
    if orientation.follow_up_on:
        lines.append(
            _("Nous reprendrons de vos nouvelles vers le %(date)s.")
            % {"date": formats.date_format(orientation.follow_up_on, "j F Y")}
        )
        lines.append("")
    lines.append(_("À bientôt,"))
    if orientation.aiguilleur is not None:
        lines.append(
            _("%(name)s, pour %(place)s")
            % {"name": orientation.aiguilleur.person.first_name, "place": place.name}
        )
    else:
        lines.append(place.name)
    email_send_on_commit(
        place=place,
        to=[to],
        subject=_("Votre orientation — %(place)s") % {"place": place.name},
        body="\n".join(lines),
    )


def orientation_record(
    *,
    place: Place,
    by: User | None,
    need: Any = "",
    answers: Any = None,
    person: Person | None = None,
    contact_name: str = "",
    contact_email: str = "",
    commons: Sequence[Commons] = (),
    people: Sequence[Person] = (),
    note: str = "",
    follow_up_on: dt.date | None = None,
    aiguilleur: Aiguilleur | None = None,
    orientation: Orientation | None = None,
    suggestions: Iterable[Suggestion | dict[str, Any]] | None = None,
) -> Orientation:
    """The aiguilleur says where they routed someone: the commons and people chosen, a note,
    a date to ask for news (in FOLLOW_UP_DAYS days unless told). On a waiting request
    (`orientation`), or for someone met in person (a new orientation). The person is e-mailed.
    """
    _check_orient(place, by)
    errors: dict[str, list[str]] = {}
    new = orientation is None
    # A waiting request keeps its need unless the aiguilleur rewrites it.
    if new or need:
        try:
            need, answers = clean_request(need, answers)
        except InvalidInput as exc:
            errors.update(exc.errors)
    if person is not None and person.place_id != place.pk:
        errors["person"] = [_("Cette personne n'est pas dans l'annuaire de ce lieu.")]
    contact_name = (contact_name or "").strip()
    if len(contact_name) > 200:
        errors["contact_name"] = [_("Trop long (200 caractères au plus).")]
    contact_email = _email(contact_email, "contact_email", errors)
    if new and person is None and not contact_name and "contact_name" not in errors:
        errors["contact_name"] = [
            _("Pour qui ? Choisissez une personne de l'annuaire ou donnez un nom.")
        ]
    commons, people = list(dict.fromkeys(commons)), list(dict.fromkeys(people))
    others = [c.name for c in commons if c.place_id != place.pk]
    if others:
        errors["commons"] = [
            _("Pas dans le catalogue de ce lieu : %(names)s.") % {"names": ", ".join(others)}
        ]
    elif any(c.status != Commons.Status.VALIDATED for c in commons):
        errors["commons"] = [_("Choisissez des communs validés du catalogue.")]
    if any(p.place_id != place.pk for p in people):
        errors["people"] = [_("Choisissez des personnes de l'annuaire de ce lieu.")]
    if not commons and not people and "commons" not in errors and "people" not in errors:
        errors["commons"] = [_("Choisissez au moins un commun ou une personne à appeler.")]
    note = (note or "").strip()
    if len(note) > 5000:
        errors["note"] = [_("Trop long (5000 caractères au plus).")]
    if follow_up_on is None:
        follow_up_on = follow_up_default(place)
    elif follow_up_on < place_today(place):
        errors["follow_up_on"] = [_("Choisissez une date à venir.")]
    if aiguilleur is not None and aiguilleur.place_id != place.pk:
        errors["aiguilleur"] = [_("Aiguilleur·euse inconnu·e dans ce lieu.")]
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        if new:
            current = Orientation(place=place, created_by=_user(by))
            current.suggestions = shown(suggestions or [])
        else:
            assert orientation is not None
            current = _locked(orientation, place)
            if current.oriented_at is not None:
                raise Conflict(
                    _("Cette orientation a déjà été enregistrée : donnez plutôt sa suite.")
                )
        if need:
            current.need, current.answers = need, answers
        if person is not None:
            current.person = person
        if contact_name:
            current.contact_name = contact_name
        if contact_email:
            current.contact_email = contact_email
        current.aiguilleur = aiguilleur or current.aiguilleur or _aiguilleur_of(place, by)
        current.note, current.follow_up_on = note, follow_up_on
        current.oriented_at = timezone.now()
        current.save()
        current.commons.set(commons)
        current.people.set(people)
        audit_record(
            place=place,
            actor=_user(by),
            action="orientation.record",
            target=current,
            changes={
                "commons": [None, [c.name for c in commons]],
                "people": [None, [p.full_name for p in people]],
                "aiguilleur": [None, str(current.aiguilleur) if current.aiguilleur else None],
                "follow_up_on": [None, follow_up_on],
            },
        )
        _notify_recorded(current, commons, people)
    return current


def orientation_assign(
    *, orientation: Orientation, aiguilleur: Aiguilleur | None, by: User | None
) -> Orientation:
    """Give an orientation to an aiguilleur (None: back to the shared queue)."""
    place = orientation.place
    _check_orient(place, by)
    if aiguilleur is not None and (aiguilleur.place_id != place.pk or not aiguilleur.active):
        raise InvalidInput(
            {"aiguilleur": [_("Choisissez un·e aiguilleur·euse disponible de ce lieu.")]}
        )
    with transaction.atomic():
        current = _locked(orientation)
        before = str(current.aiguilleur) if current.aiguilleur else None
        current.aiguilleur = aiguilleur
        current.save(update_fields=["aiguilleur"])
        audit_record(
            place=place,
            actor=_user(by),
            action="orientation.assign",
            target=current,
            changes={"aiguilleur": [before, str(aiguilleur) if aiguilleur else None]},
        )
    return current


def orientation_outcome(
    *, orientation: Orientation, by: User | None, outcome: str, reason: str = ""
) -> Orientation:
    """What came of it: contact made, adopted, dropped (say why), or still waiting."""
    place = orientation.place
    _check_orient(place, by)
    errors: dict[str, list[str]] = {}
    if outcome not in Orientation.Outcome.values:
        errors["outcome"] = [_("Suite inconnue.")]
    reason = (reason or "").strip()
    if outcome == Orientation.Outcome.DROPPED and not reason:
        errors["reason"] = [_("Dites pourquoi c'est abandonné : c'est ce qui fait progresser.")]
    elif len(reason) > 2000:
        errors["reason"] = [_("Trop long (2000 caractères au plus).")]
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        current = _locked(orientation)
        before = [current.outcome, current.outcome_reason]
        current.outcome, current.outcome_reason = outcome, reason
        current.outcome_at = timezone.now()
        current.save(update_fields=["outcome", "outcome_reason", "outcome_at"])
        audit_record(
            place=place,
            actor=_user(by),
            action="orientation.outcome",
            target=current,
            changes={"outcome": [before[0], outcome], "outcome_reason": [before[1], reason]},
        )
    return current
