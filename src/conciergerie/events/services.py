"""Writes for events and registrations. Every seat-changing write goes through the capacity
guard (core.capacity), keyed on the event: the seats held (confirmed or offered tickets) are
read and checked, and the new tickets written, with no other writer in between.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from conciergerie.community.models import Person
from conciergerie.community.selectors import member_on
from conciergerie.core import capacity
from conciergerie.core.audit import audit_entry, audit_record
from conciergerie.core.batch import insert_statement
from conciergerie.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from conciergerie.core.mail import email_send_on_commit
from conciergerie.core.models import Place, User
from conciergerie.core.money import CENT, format_amount, parse_amount
from conciergerie.core.permissions import Level
from conciergerie.events.models import Event, Registration, SeatCount, Ticket, TicketTier

GUARD_NAMESPACE = "events.event"
TIER_FIELDS = {
    "name",
    "position",
    "price",
    "pay_what_you_can",
    "floor",
    "suggested",
    "members_only",
    "quota",
    "price_unit",
}


def _clean(obj: Any, exclude: list[str]) -> None:
    """Field validation; the check constraints are checked by the callers, per field."""
    try:
        obj.full_clean(exclude=exclude, validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error(exc) from None


def _fmt(event: Event, at: dt.datetime) -> str:
    """A date and time in the place's zone, written as the reader's language does."""
    return formats.date_format(at.astimezone(event.zone()), "SHORT_DATETIME_FORMAT")


# --- Events --------------------------------------------------------------------------------------


def _event_errors(event: Event, place: Place) -> dict[str, list[str]]:
    """Field checks of an event, beyond each field's own (full_clean)."""
    _clean(event, ["place", "uuid"])
    errors: dict[str, list[str]] = {}
    if event.capacity < 1:
        errors["capacity"] = [_("Au moins une place.")]
    if event.max_per_order < 1:
        errors["max_per_order"] = [_("Au moins une place par inscription.")]
    if event.end_at <= event.start_at:
        errors["end_at"] = [_("La fin doit être après le début.")]
    opens, closes = event.registration_opens_at, event.registration_closes_at
    if opens and closes and closes <= opens:
        errors["registration_closes_at"] = [_("La clôture doit être après l'ouverture.")]
    if event.resource is not None and event.resource.place_id != place.pk:
        errors["resource"] = [_("Cette salle n'est pas dans ce lieu.")]
    if event.is_stay and event.nights < 1:
        errors["end_at"] = [_("Un séjour dure au moins une nuit.")]
    return errors


def _tiers_built(
    event: Event, tiers: list[dict[str, Any]] | None, errors: dict[str, list[str]]
) -> list[TicketTier]:
    built: list[TicketTier] = []
    for i, spec in enumerate(tiers or [{"name": _("Entrée")}]):
        unknown = set(spec) - TIER_FIELDS
        if unknown:
            raise InvalidInput({f"tiers.{i}": [_("Champ inconnu : %s") % ", ".join(unknown)]})
        tier = TicketTier(event=event, **{"position": i, **spec})
        try:
            tier.full_clean(exclude=["event", "uuid"], validate_constraints=False)
        except ValidationError as exc:
            errors.update(
                {f"tiers.{i}.{k}": [str(m) for m in v] for k, v in exc.message_dict.items()}
            )
            continue
        for name in ("price", "floor", "suggested"):
            if getattr(tier, name) < 0:
                errors[f"tiers.{i}.{name}"] = [_("Un montant ne peut pas être négatif.")]
        if tier.quota is not None and tier.quota < 1:
            errors[f"tiers.{i}.quota"] = [_("Au moins une place, ou vide.")]
        if tier.pay_what_you_can and tier.floor > tier.suggested:
            errors[f"tiers.{i}.floor"] = [_("Le minimum ne peut dépasser le montant suggéré.")]
        built.append(tier)
    return built


def _room_book(event: Event, by: User | None) -> None:
    """Book the event's room for its whole duration through the bookings service."""
    from conciergerie.spaces import services as spaces

    if event.resource is None:
        return
    try:
        event.room_booking = spaces.booking_create(
            resource=event.resource,
            by=by,
            level=Level.CONCIERGE,
            start=event.start_at,
            end=event.end_at,
            seats=event.resource.capacity,
            title=event.title,
            notify=False,
        )
    except (Conflict, InvalidInput, PermissionDenied) as exc:
        raise InvalidInput(
            {"resource": [_("Salle non réservée : %(why)s") % {"why": exc.message}]}
        ) from None


def _room_release(event: Event, by: User | None) -> None:
    from conciergerie.spaces import services as spaces
    from conciergerie.spaces.models import Booking

    booking = event.room_booking
    if booking is not None and booking.status not in (
        Booking.Status.CANCELLED,
        Booking.Status.REFUSED,
    ):
        spaces.booking_cancel(booking=booking, by=by, level=Level.CONCIERGE)
    event.room_booking = None


def event_create(
    *,
    place: Place,
    by: User | None,
    tiers: list[dict[str, Any]] | None = None,
    series: uuid.UUID | None = None,
    **fields: Any,
) -> Event:
    """Create an event and its tiers (one free tier "Entrée" when none is given); a room of
    the place is booked for the event's duration, or nothing is created."""
    event = Event(place=place, series=series, **fields)
    errors = _event_errors(event, place)
    built = _tiers_built(event, tiers, errors)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        event.save()
        _room_book(event, by)
        if event.room_booking is not None:
            event.save(update_fields=["room_booking"])
        for tier in built:
            tier.event = event
        TicketTier.objects.bulk_create(built)
        audit_record(
            place=place,
            actor=by,
            action="event.create",
            target=event,
            changes={
                "title": [None, event.title],
                "start": [None, event.start_at],
                "end": [None, event.end_at],
                "capacity": [None, event.capacity],
                "room": [None, event.resource.name if event.resource else None],
                "tiers": [None, [t.name for t in built]],
            },
        )
    return event


SERIES_MAX = 52


def event_series_create(
    *,
    place: Place,
    by: User | None,
    every_days: int,
    count: int,
    tiers: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> list[Event]:
    """The same event repeated `count` times, `every_days` apart (on the place's local clock,
    so 18:00 stays 18:00 across a daylight-saving change): all created, or none."""
    if not 2 <= count <= SERIES_MAX:
        raise InvalidInput({"count": [_("Entre 2 et %(max)s dates.") % {"max": SERIES_MAX}]})
    if every_days < 1:
        raise InvalidInput({"every_days": [_("Au moins un jour entre deux dates.")]})
    zone = zoneinfo.ZoneInfo(place.timezone or "Europe/Paris")
    first_start = fields["start_at"].astimezone(zone)
    first_end = fields["end_at"].astimezone(zone)
    opens = fields.get("registration_opens_at")
    closes = fields.get("registration_closes_at")
    series = uuid.uuid4()
    created = []
    with transaction.atomic():
        for n in range(count):
            shift = dt.timedelta(days=every_days * n)

            def moved(at: dt.datetime, shift: dt.timedelta = shift) -> dt.datetime:
                local = at.astimezone(zone).replace(tzinfo=None) + shift
                return local.replace(tzinfo=zone)

            dated = {
                **fields,
                "start_at": moved(first_start),
                "end_at": moved(first_end),
                "registration_opens_at": moved(opens) if opens else None,
                "registration_closes_at": moved(closes) if closes else None,
            }
            try:
                created.append(
                    event_create(place=place, by=by, tiers=tiers, series=series, **dated)
                )
            except InvalidInput as exc:
                when = formats.date_format(dated["start_at"], "SHORT_DATE_FORMAT")
                raise InvalidInput(
                    {k: [f"{when} : {m}" for m in v] for k, v in exc.errors.items()}
                ) from None
    return created


EDITABLE = {
    "title",
    "description",
    "category",
    "audience",
    "resource",
    "address",
    "online_url",
    "start_at",
    "end_at",
    "is_stay",
    "capacity",
    "max_per_order",
    "registration_opens_at",
    "registration_closes_at",
    "visibility",
    "accessibility",
    "waitlist_enabled",
    "offer_hours",
    "cancel_hours",
}


def event_update(*, event: Event, by: User | None, notify: bool = True, **fields: Any) -> Event:
    """Change an event. The capacity cannot go below the seats already held; a new room or new
    times move the room booking; people registered are told when the date or place changes."""
    unknown = set(fields) - EDITABLE
    if unknown:
        raise InvalidInput({"__all__": [_("Champ inconnu : %s") % ", ".join(sorted(unknown))]})
    place = event.place
    with capacity.guarded(GUARD_NAMESPACE, [event.pk]), transaction.atomic():
        current = Event.objects.select_related("place", "resource", "room_booking").get(pk=event.pk)
        before = {name: getattr(current, name) for name in fields}
        for name, value in fields.items():
            setattr(current, name, value)
        changed = {k: [before[k], v] for k, v in fields.items() if before[k] != v}
        if not changed:
            return current
        errors = _event_errors(current, place)
        held, _per_tier, _dup = _held(current)
        if current.capacity < held:
            errors["capacity"] = [
                _("%(n)s places sont déjà prises : la capacité ne peut pas descendre en dessous.")
                % {"n": held}
            ]
        if errors:
            raise InvalidInput(errors)
        moved = bool({"start_at", "end_at", "resource"} & set(changed))
        if moved:
            _room_release(current, by)
            _room_book(current, by)
        current.save()
        audit_record(
            place=place,
            actor=by,
            action="event.update",
            target=current,
            changes={
                k: [str(v[0]) if k == "resource" else v[0], str(v[1]) if k == "resource" else v[1]]
                for k, v in changed.items()
            },
        )
        if notify and (moved or "address" in changed):
            for registration in (
                Registration.objects.filter(event=current, status__in=Registration.ACTIVE)
                .select_related("person")
                .iterator()
            ):
                registration.event = current
                registration.place = place
                _notify(
                    registration,
                    _("Changement : %(title)s") % {"title": current.title},
                    _("L'évènement a changé : %(when)s, %(where)s.")
                    % {"when": _when(current), "where": _where(current)},
                )
    return current


def event_tiers_save(*, event: Event, by: User | None, tiers: list[dict[str, Any]]) -> None:
    """Replace the event's tiers by `tiers`, matched in order to the existing ones. A tier
    with tickets keeps them (and what they paid) when its price changes; it cannot be removed.
    """
    if not tiers:
        raise InvalidInput({"tiers": [_("Au moins un tarif.")]})
    errors: dict[str, list[str]] = {}
    built = _tiers_built(event, tiers, errors)
    if errors:
        raise InvalidInput(errors)
    with capacity.guarded(GUARD_NAMESPACE, [event.pk]), transaction.atomic():
        existing = list(TicketTier.objects.filter(event=event).order_by("position", "id"))
        used = set(Ticket.objects.filter(event=event).values_list("tier_id", flat=True).distinct())
        for i, tier in enumerate(built):
            if i < len(existing):
                tier.pk, tier.uuid = existing[i].pk, existing[i].uuid
                tier.save()
            else:
                tier.save()
        removed = existing[len(built) :]
        blocked = [t.name for t in removed if t.pk in used]
        if blocked:
            raise InvalidInput(
                {
                    "tiers": [
                        _("Le tarif « %(tier)s » a déjà des inscrits : il ne peut pas être retiré.")
                        % {"tier": blocked[0]}
                    ]
                }
            )
        TicketTier.objects.filter(pk__in=[t.pk for t in removed]).delete()
        audit_record(
            place=event.place,
            actor=by,
            action="event.tiers",
            target=event,
            changes={"tiers": [[t.name for t in existing], [t.name for t in built]]},
        )


def event_cancel(*, event: Event, by: User | None, reason: str = "") -> Event:
    """Cancel an event: every active registration is cancelled and told, the room freed."""
    with capacity.guarded(GUARD_NAMESPACE, [event.pk]), transaction.atomic():
        current = Event.objects.select_related("place", "room_booking").get(pk=event.pk)
        if current.cancelled_at is not None:
            raise Conflict(_("Cet évènement est déjà annulé."))
        now = timezone.now()
        current.cancelled_at = now
        _room_release(current, by)
        current.save(update_fields=["cancelled_at", "room_booking"])
        registrations = list(
            Registration.objects.filter(
                event=current, status__in=Registration.ACTIVE
            ).select_related("person")
        )
        for registration in registrations:
            registration.event = current
            registration.place = current.place
            registration.status = Registration.Status.CANCELLED
            registration.cancelled_at = now
            registration.offer_expires_at = None
            _notify(
                registration,
                _("Évènement annulé : %(title)s") % {"title": current.title},
                _("Nous sommes désolés : %(when)s est annulé.%(reason)s")
                % {"when": _when(current), "reason": f"\n\n{reason}" if reason else ""},
            )
        Registration.objects.bulk_update(
            registrations, ["status", "cancelled_at", "offer_expires_at"]
        )
        SeatCount.objects.filter(event=current).update(held=0)  # nobody holds a seat now
        audit_record(
            place=current.place,
            actor=by,
            action="event.cancel",
            target=current,
            changes={
                "cancelled_at": [None, now],
                "registrations": [len(registrations), 0],
                "reason": [None, reason],
            },
        )
    return current


# --- Prices --------------------------------------------------------------------------------------


def _units(event: Event, tier: TicketTier) -> Decimal:
    """How many price units an attendee pays: 1, or nights, or weeks (prorated) of a stay."""
    if not event.is_stay or tier.price_unit == TicketTier.Unit.STAY:
        return Decimal(1)
    if tier.price_unit == TicketTier.Unit.NIGHT:
        return Decimal(event.nights)
    return Decimal(event.nights) / Decimal(7)


def _scaled(value: Decimal, units: Decimal) -> Decimal:
    return (value * units).quantize(CENT, rounding=ROUND_HALF_UP)


def tier_amount(
    *, event: Event, tier: TicketTier, amount: Any = None, field: str = "amount"
) -> Decimal:
    """What one attendee pays at this tier (raises InvalidInput below a pay-what-you-can floor)."""
    units = _units(event, tier)
    if not tier.pay_what_you_can:
        return _scaled(tier.price, units)
    if amount is None or amount == "":
        return _scaled(tier.suggested, units)
    value = parse_amount(amount, field=field)
    floor = _scaled(tier.floor, units)
    if value < floor:
        message = _("Le montant minimum est de %(floor)s.") % {"floor": format_amount(floor)}
        raise InvalidInput({field: [message]}, message)
    return value


# --- Registrations -------------------------------------------------------------------------------


@dataclass
class _Seat:
    tier: TicketTier
    name: str
    email: str
    amount: Decimal


def _find_tier(tiers: list[TicketTier], ref: Any, field: str) -> TicketTier:
    if isinstance(ref, TicketTier):
        ref = ref.pk
    if ref in (None, ""):
        if len(tiers) == 1:
            return tiers[0]
        raise InvalidInput({field: [_("Choisissez un tarif.")]})
    for tier in tiers:
        if str(ref) in (str(tier.uuid), str(tier.pk)):
            return tier
    raise InvalidInput({field: [_("Tarif inconnu pour cet évènement.")]})


def _email_checked(value: str, field: str) -> str:
    value = (value or "").strip().lower()
    try:
        validate_email(value)
    except ValidationError:
        raise InvalidInput({field: [_("Adresse e-mail invalide.")]}) from None
    return value


def _window_check(event: Event, now: dt.datetime) -> None:
    if event.cancelled_at is not None:
        raise Conflict(_("Cet évènement est annulé."))
    if event.registration_opens_at and now < event.registration_opens_at:
        raise Conflict(
            _("Les inscriptions ne sont pas encore ouvertes (ouverture le %(at)s).")
            % {"at": _fmt(event, event.registration_opens_at)}
        )
    closes = event.registration_closes_at or event.start_at
    if now >= closes:
        raise Conflict(_("Les inscriptions sont closes."))


def _held(event: Event, same: Q | None = None) -> tuple[int, dict[int, int], bool]:
    """Seats held for the event, overall and per tier, in one query; with `same` (a filter on
    registrations), also whether such a registration is active (confirmed, offered or
    waitlisted): the duplicate check rides on the same statement."""
    holding = Q(registration__status__in=Registration.HOLDING)
    qs = Ticket.objects.filter(event=event)
    annotations: dict[str, Any] = {"n": Count("id", filter=holding)}
    if same is not None:
        same &= Q(registration__status__in=Registration.ACTIVE)
        qs = qs.filter(holding | same)
        annotations["dup"] = Count("id", filter=same)
    else:
        qs = qs.filter(holding)
    rows = qs.values_list("tier_id").annotate(**annotations).order_by()
    per_tier: dict[int, int] = {}
    duplicate = False
    for row in rows:
        per_tier[row[0]] = row[1]
        duplicate = duplicate or bool(same is not None and row[2])
    return sum(per_tier.values()), per_tier, duplicate


@dataclass
class _Fresh:
    """What a new order's check reads under the guard: the event as it is now (the `event`
    passed in was read before the lock: a concierge may have lowered its capacity or
    cancelled it since), the seats its other registrations hold, whether the same visitor
    is already registered, and for each wanted tier still there its quota and seats held."""

    capacity: int
    waitlist: bool
    cancelled: bool
    held: int
    duplicate: bool
    quotas: dict[int, int | None]
    per_tier: dict[int, int]

    @classmethod
    def from_row(cls, row: Any, tier_ids: list[int]) -> _Fresh:
        capacity, waitlist, cancelled, held, same, *per = row
        quotas: dict[int, int | None] = {}
        per_tier: dict[int, int] = {}
        for i, tier_id in enumerate(tier_ids):
            quota, n = per[2 * i], per[2 * i + 1]
            if quota is not None:  # else the tier is gone
                quotas[tier_id] = quota or None
                per_tier[tier_id] = int(n)
        return cls(
            int(capacity), bool(waitlist), bool(cancelled), int(held), bool(same), quotas, per_tier
        )


def _held_query(registration: Registration, tier_ids: list[int]) -> tuple[str, list[Any]]:
    """The SQL (and parameters) of the `_Fresh` row for a new order, leaving out the order's
    own `registration` (written, not yet counted). Seats come from the counters (`SeatCount`),
    the duplicate check from the indexes on (event, e-mail) and (event, person): the read
    costs the same whatever the number of registrations. It runs under the event's lock,
    sent with it in one round trip, and is written as SQL: the ORM spent 0.5 ms of Python
    building it while every other registration to the event waited."""
    reg, tier, event, count = (
        m._meta.db_table for m in (Registration, TicketTier, Event, SeatCount)
    )
    active = [str(s) for s in Registration.ACTIVE]
    who: list[str] = []
    who_params: list[Any] = []
    if registration.visitor_email:
        who.append("visitor_email = %s")
        who_params.append(registration.visitor_email)
    if registration.person_id is not None:
        who.append("person_id = %s")
        who_params.append(registration.person_id)
    # Only placeholders and this module's names go into the text; the values are parameters.
    sql = (
        "SELECT e.capacity, e.waitlist_enabled, e.cancelled_at IS NOT NULL,"  # noqa: S608
        f" (SELECT COALESCE(SUM(held), 0) FROM {count} WHERE event_id = e.id),"
        f" (SELECT COUNT(*) FROM (SELECT 1 FROM {reg} WHERE event_id = e.id AND id <> %s"
        f" AND status IN ({', '.join(['%s'] * len(active))})"
        f" AND ({' OR '.join(who) or '1 = 0'}) LIMIT 1) AS d)"
    )
    params: list[Any] = [registration.pk, *active, *who_params]
    for tier_id in tier_ids:
        # quota: NULL when the tier is gone, 0 when it has none.
        sql += (
            f", (SELECT COALESCE(quota, 0) FROM {tier} WHERE id = %s AND event_id = e.id),"  # noqa: S608
            f" (SELECT COALESCE(SUM(held), 0) FROM {count} WHERE tier_id = %s)"
        )
        params += [tier_id, tier_id]
    sql += f" FROM {event} e WHERE e.id = %s"
    return sql, [*params, registration.event_id]


def _seats_sql(event_id: int, added: dict[int, int]) -> tuple[str, list[Any]]:
    """The statement adding seats (per tier id, > 0) to the counters: an upsert, the tier's
    row appearing with its first seat (PostgreSQL and SQLite alike)."""
    table = SeatCount._meta.db_table
    values = ", ".join(["(%s, %s, %s)"] * len(added))
    params = [v for tier_id, n in sorted(added.items()) for v in (tier_id, event_id, n)]
    sql = (
        f"INSERT INTO {table} (tier_id, event_id, held) VALUES {values}"  # noqa: S608
        f" ON CONFLICT (tier_id) DO UPDATE SET held = {table}.held + excluded.held"
    )
    return sql, params


def _seats_change(event_id: int, deltas: dict[int, int]) -> None:
    """Add (or, negative, free) seats per tier id in the counters. Callers hold the event's
    guard and change the registrations in the same transaction."""
    added = {t: n for t, n in deltas.items() if n > 0}
    if added:
        with connection.cursor() as cursor:
            cursor.execute(*_seats_sql(event_id, added))
    for tier_id, n in sorted(deltas.items()):
        # A row exists for every tier that held seats (and an upsert's values are checked
        # before the conflict is: a negative one would fail the constraint).
        if n < 0:
            SeatCount.objects.filter(tier_id=tier_id).update(held=F("held") + n)


def _seats_of(registrations: Iterable[Registration]) -> dict[int, int]:
    """Tickets per tier id of these registrations, in one query."""
    rows = (
        Ticket.objects.filter(registration__in=[r.pk for r in registrations])
        .values_list("tier_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(rows)


def seats_drift(event: Event) -> dict[int, tuple[int, int]]:
    """Tiers whose counter differs from the tickets of holding registrations: {tier id:
    (counted, truth)}; empty when they agree. For tests and repairs (`seats_recount`)."""
    _total, truth, _dup = _held(event)
    counted = dict(SeatCount.objects.filter(event=event).values_list("tier_id", "held"))
    return {
        t: (counted.get(t, 0), truth.get(t, 0))
        for t in set(truth) | set(counted)
        if counted.get(t, 0) != truth.get(t, 0)
    }


def seats_recount(event: Event) -> dict[int, tuple[int, int]]:
    """Set the event's counters from its registrations, under its guard; what was fixed."""
    with capacity.guarded(GUARD_NAMESPACE, [event.pk]):
        drift = seats_drift(event)
        for tier_id, (_counted, truth) in drift.items():
            SeatCount.objects.update_or_create(
                tier_id=tier_id, defaults={"event_id": event.pk, "held": truth}
            )
    return drift


def _shortage(
    event: Event,
    tiers: Iterable[TicketTier],
    wanted: dict[int, int],
    total: int,
    per_tier: dict[int, int],
    fresh: _Fresh | None = None,
) -> str:
    """Why `wanted` (seats per tier id) does not fit, or "" when it fits (with `fresh`, its
    capacity and quotas rather than those of `event` and `tiers`)."""
    capacity = event.capacity if fresh is None else fresh.capacity
    if total + sum(wanted.values()) > capacity:
        return _("Complet : plus de place pour cet évènement.")
    for tier in tiers:
        n = wanted.get(tier.pk, 0)
        quota = tier.quota if fresh is None else fresh.quotas.get(tier.pk)
        if n and quota is not None and per_tier.get(tier.pk, 0) + n > quota:
            return _("Plus de place au tarif « %(tier)s ».") % {"tier": tier.name}
    return ""


def _contact(registration: Registration) -> str:
    if registration.visitor_email:
        return registration.visitor_email
    person = registration.person
    return person.email if person is not None else ""


def _ticket_lines(
    registration: Registration,
    tickets: Iterable[Ticket],
    tiers: dict[int, TicketTier],
    *,
    links: bool = False,
) -> str:
    """One line per attendee; with `links`, each ticket page's address below its line."""
    from conciergerie.events.tickets import ticket_url

    lines = []
    for t in tickets:
        line = f"- {t.name} — {tiers[t.tier_id].name} — {format_amount(t.amount)}"
        if links:
            line += "\n  " + _("Billet : %(url)s") % {"url": ticket_url(t)}
        lines.append(line)
    return "\n".join(lines)


def _notify(
    registration: Registration,
    subject: str,
    body: str,
    *,
    tickets: Iterable[Ticket] | None = None,
) -> None:
    """E-mail the registration's contact once committed. With `tickets` (a confirmation), each
    ticket's QR code (billet-<n>.png) and the event's .ics are attached: they are drawn after
    the commit, so the seats' lock is not held while the images are made."""
    to = _contact(registration)
    if not to:
        return
    place = registration.place
    if tickets is None:
        email_send_on_commit(place=place, to=[to], subject=subject, body=body)
        return
    from conciergerie.events.tickets import confirmation_attachments

    event, seats = registration.event, list(tickets)
    transaction.on_commit(
        lambda: email_send_on_commit(
            place=place,
            to=[to],
            subject=subject,
            body=body,
            attachments=confirmation_attachments(event, seats),
        )
    )


def _when(event: Event) -> str:
    return _("%(title)s, du %(start)s au %(end)s") % {
        "title": event.title,
        "start": _fmt(event, event.start_at),
        "end": _fmt(event, event.end_at),
    }


def _where(event: Event) -> str:
    if event.resource is not None:
        return event.resource.name
    return event.address or event.online_url or event.place.name


def registration_create(
    *,
    event: Event,
    by: User | None,
    level: Level,
    attendees: list[dict[str, Any]],
    person: Person | None = None,
    visitor_name: str = "",
    visitor_email: str = "",
    notify: bool = True,
) -> Registration:
    """Register attendees: confirmed, or waitlisted when full and the event has a waitlist.

    Raises InvalidInput (400), PermissionDenied (403), NotFound (404), Conflict (409, window
    closed, already registered, full without a waitlist), Busy (503).
    """
    now = timezone.now()
    staff = level >= Level.CONCIERGE
    place = event.place
    _window_check(event, now)
    if event.visibility == Event.Visibility.PRIVATE and not staff:
        raise PermissionDenied(_("Cet évènement est réservé à l'équipe du lieu."))
    if event.visibility == Event.Visibility.MEMBERS and not staff and person is None:
        raise PermissionDenied(_("Cet évènement est réservé aux membres du lieu."))
    if not attendees:
        raise InvalidInput({"attendees": [_("Indiquez au moins une personne.")]})
    if len(attendees) > event.max_per_order:
        message = ngettext(
            "%(n)s personne au plus par inscription.",
            "%(n)s personnes au plus par inscription.",
            event.max_per_order,
        ) % {"n": event.max_per_order}
        raise InvalidInput({"attendees": [message]})
    if person is not None:
        if person.place_id != place.pk:
            raise NotFound(_("Personne inconnue dans ce lieu."))
        if not staff and not (by is not None and by.pk and person.user_id == by.pk):
            raise PermissionDenied(_("Vous ne pouvez inscrire que vous-même."))
        email = (person.email or "").strip().lower()
        name = visitor_name.strip() or f"{person.first_name} {person.last_name}".strip()
    else:
        name = visitor_name.strip()
        errors = {} if name else {"visitor_name": [_("Indiquez votre nom.")]}
        try:
            email = _email_checked(visitor_email, "visitor_email")
        except InvalidInput as exc:
            errors.update(exc.errors)
            email = ""
        if errors:
            raise InvalidInput(errors)
    tiers = list(event.tiers.all())
    seats: list[_Seat] = []
    member: bool | None = None
    for i, spec in enumerate(attendees):
        tier = _find_tier(tiers, spec.get("tier"), f"attendees.{i}.tier")
        if tier.members_only and not staff:
            if member is None:
                member = person is not None and member_on(
                    person=person, day=event.start_at.astimezone(event.zone()).date()
                )
            if not member:
                raise PermissionDenied(
                    _("Le tarif « %(tier)s » est réservé aux membres à jour de leur adhésion.")
                    % {"tier": tier.name}
                )
        attendee_name = (spec.get("name") or "").strip() or (name if i == 0 else "")
        if not attendee_name:
            raise InvalidInput({f"attendees.{i}.name": [_("Indiquez le nom de chaque personne.")]})
        attendee_email = spec.get("email") or (email if i == 0 else "")
        if attendee_email:
            attendee_email = _email_checked(attendee_email, f"attendees.{i}.email")
        amount = tier_amount(
            event=event, tier=tier, amount=spec.get("amount"), field=f"attendees.{i}.amount"
        )
        seats.append(_Seat(tier, attendee_name[:200], attendee_email, amount))
    wanted: dict[int, int] = {}
    for seat in seats:
        wanted[seat.tier.pk] = wanted.get(seat.tier.pk, 0) + 1
    try:
        return _register(event, tiers, seats, wanted, person, name, email, by, now, notify, True)
    except capacity.Refused:
        # The quick check found the order does not fit (full, duplicate, a tier gone…):
        # nothing was kept. Again the long way, which says why and may put it on the waitlist.
        return _register(event, tiers, seats, wanted, person, name, email, by, now, notify, False)


def _fits_condition(wanted: dict[int, int]) -> tuple[list[str], str, list[Any]]:
    """The `_held_query` row's column names, and the SQL condition (with its parameters) under
    which an order of `wanted` seats per tier fits: the rule `_shortage` applies in Python."""
    columns = ["capacity", "waitlist", "cancelled", "held", "same"]
    condition = "NOT f.cancelled AND f.same = 0 AND f.held + %s <= f.capacity"
    params: list[Any] = [sum(wanted.values())]
    for i, n in enumerate(wanted.values()):
        columns += [f"quota{i}", f"taken{i}"]
        # quota is NULL when the tier is gone, 0 when it has no quota.
        condition += (
            f" AND f.quota{i} IS NOT NULL AND (f.quota{i} = 0 OR f.taken{i} + %s <= f.quota{i})"
        )
        params.append(n)
    return columns, condition, params


def _register(
    event: Event,
    tiers: list[TicketTier],
    seats: list[_Seat],
    wanted: dict[int, int],
    person: Person | None,
    name: str,
    email: str,
    by: User | None,
    now: dt.datetime,
    notify: bool,
    quick: bool,
) -> Registration:
    """Write the order, then check it under the event's lock (see `registration_create`).

    `quick`: on PostgreSQL, when this is the outermost transaction, the lock, the check and
    the COMMIT go in one round trip (`Guard.commit_locked`), so the lock is never held while
    this process waits to run Python; an order that does not fit raises `capacity.Refused`."""
    place = event.place
    registration = Registration(
        event=event,
        place=place,
        person=person,
        visitor_name=name[:200],
        visitor_email=email,
        seats=len(seats),
        amount_total=sum((s.amount for s in seats), Decimal("0")),
        created_at=now,
    )
    registration.status = Registration.Status.CONFIRMED
    registration.confirmed_at = now
    changes: dict[str, list[Any]] = {
        "event": [None, event.title],
        "seats": [None, registration.seats],
        "amount": [None, registration.amount_total],
        "status": [None, registration.status],
    }
    # Written first, then locked and checked (a deferred guard): on PostgreSQL only the lock,
    # one read of the counters, their update and the COMMIT are serialised, so the INSERTs of
    # concurrent registrations to a popular event overlap. The read sees every committed
    # registration; a refusal rolls this one back; a registration that does not fit but may
    # wait is turned into a waitlisted one in place (rare: the event is full).
    with capacity.guarded(GUARD_NAMESPACE, [event.pk], deferred=True) as guard:
        batched = quick and guard.can_commit_locked()  # outside the inner block: see there
        with transaction.atomic(savepoint=False):
            registration.save()
            tickets = [
                Ticket(
                    registration=registration,
                    event=event,
                    tier=s.tier,
                    name=s.name,
                    email=s.email,
                    amount=s.amount,
                )
                for s in seats
            ]
            entry = audit_entry(
                place=place,
                actor=by,
                action="registration.create",
                target=registration,
                changes=changes,
            )
            if not batched:
                Ticket.objects.bulk_create(tickets)
                entry.save(force_insert=True)
        read = _held_query(registration, list(wanted))
        if batched:
            # The tickets and the audit entry (nothing needs their ids) go in the same round
            # trip as the lock, the check and the COMMIT. The e-mails wait for the commit
            # (on_commit), so they are queued first: once the COMMIT is sent nothing may run
            # in this transaction (a refusal drops them).
            if notify:
                _registration_notify(registration, event, tiers, tickets)
            guard.commit_locked(
                read,
                *_fits_condition(wanted),
                then=_seats_sql(event.pk, wanted),
                before=[insert_statement(tickets), insert_statement([entry])],
            )
            return registration
        _check_locked(guard, read, registration, entry, event, tiers, wanted)
        if registration.status == Registration.Status.CONFIRMED:
            _seats_change(event.pk, wanted)
        capacity.race_window()
        if notify:
            _registration_notify(registration, event, tiers, tickets)
    return registration


def _check_locked(
    guard: capacity.Guard,
    read: tuple[str, list[Any]],
    registration: Registration,
    entry: Any,
    event: Event,
    tiers: list[TicketTier],
    wanted: dict[int, int],
) -> None:
    """Lock, read, then decide in Python: refuse (Conflict), confirm, or waitlist in place."""
    with guard.locked(read) as row:
        fresh = _Fresh.from_row(row, list(wanted))
        if fresh.cancelled:
            raise Conflict(_("Cet évènement est annulé."))
        if set(wanted) - set(fresh.quotas):
            raise Conflict(_("Un tarif choisi n'est plus proposé : rechargez la page."))
        if fresh.duplicate:
            raise Conflict(_("Vous êtes déjà inscrit·e à cet évènement."))
        shortage = _shortage(event, tiers, wanted, fresh.held, fresh.per_tier, fresh)
        if shortage and not fresh.waitlist:
            raise Conflict(shortage)
        if shortage:
            registration.status = Registration.Status.WAITLISTED
            registration.confirmed_at = None
            registration.save(update_fields=["status", "confirmed_at"])
            entry.changes["status"] = [None, registration.status]
            entry.save(update_fields=["changes"])


def _registration_notify(
    registration: Registration, event: Event, tiers: list[TicketTier], tickets: list[Ticket]
) -> None:
    by_pk = {t.pk: t for t in tiers}
    if registration.status == Registration.Status.CONFIRMED:
        lines = _ticket_lines(registration, tickets, by_pk, links=True)
        _notify(
            registration,
            _("Inscription confirmée : %(title)s") % {"title": event.title},
            _("Votre inscription est confirmée : %(when)s.\n\nBillets :\n%(lines)s")
            % {"when": _when(event), "lines": lines},
            tickets=tickets,
        )
    else:
        lines = _ticket_lines(registration, tickets, by_pk)
        _notify(
            registration,
            _("Liste d'attente : %(title)s") % {"title": event.title},
            _(
                "L'évènement est complet (%(when)s) : vous êtes sur la liste "
                "d'attente. Si une place se libère, nous vous écrirons.\n\n"
                "Personnes inscrites :\n%(lines)s"
            )
            % {"when": _when(event), "lines": lines},
        )


def _may_manage(registration: Registration, by: User | None, level: Level) -> bool:
    if level >= Level.CONCIERGE:
        return True
    person = registration.person
    return bool(by is not None and by.pk and person is not None and person.user_id == by.pk)


def _offer_freed(event: Event, *, by: User | None, now: dt.datetime) -> list[Registration]:
    """Inside the guard: offer freed seats to the oldest waitlisted registrations that fit."""
    waiting = list(
        Registration.objects.filter(event=event, status=Registration.Status.WAITLISTED)
        .select_related("person")
        .prefetch_related("tickets")
        .order_by("created_at", "id")
    )
    if not waiting:
        return []
    tiers = list(event.tiers.all())
    total, per_tier, _dup = _held(event)
    expires = now + dt.timedelta(hours=event.offer_hours)
    offered = []
    taken: dict[int, int] = {}
    for registration in waiting:
        wanted: dict[int, int] = {}
        for t in registration.tickets.all():
            wanted[t.tier_id] = wanted.get(t.tier_id, 0) + 1
        if _shortage(event, tiers, wanted, total, per_tier):
            continue
        total += registration.seats
        for tier_id, n in wanted.items():
            per_tier[tier_id] = per_tier.get(tier_id, 0) + n
            taken[tier_id] = taken.get(tier_id, 0) + n
        registration.status = Registration.Status.OFFERED
        registration.offer_expires_at = expires
        offered.append(registration)
    if offered:
        Registration.objects.bulk_update(offered, ["status", "offer_expires_at"])
        _seats_change(event.pk, taken)
        for registration in offered:
            registration.event = event
            registration.place = event.place
            audit_record(
                place=event.place,
                actor=by,
                action="registration.offer",
                target=registration,
                changes={
                    "status": [Registration.Status.WAITLISTED, registration.status],
                    "offer_expires_at": [None, expires],
                },
            )
            _notify(
                registration,
                _("Une place s'est libérée : %(title)s") % {"title": event.title},
                _(
                    "Une place s'est libérée pour %(when)s. Confirmez votre inscription avant "
                    "le %(until)s : passé ce délai, elle sera proposée à la personne suivante."
                )
                % {"when": _when(event), "until": _fmt(event, expires)},
            )
    return offered


def registration_cancel(
    *,
    registration: Registration,
    by: User | None,
    level: Level,
    reason: str = "",
    holder: bool = False,
) -> Registration:
    """Cancel; the freed seats are offered to the waitlist. Conflict past the deadline.

    `holder`: the caller opened the registration's private link (sent by e-mail), which is
    how a visitor without an account manages their registration."""
    if not (holder or _may_manage(registration, by, level)):
        raise PermissionDenied(_("Vous ne pouvez annuler que vos propres inscriptions."))
    event = registration.event
    now = timezone.now()
    with capacity.guarded(GUARD_NAMESPACE, [event.pk]), transaction.atomic():
        registration = Registration.objects.select_related("person").get(pk=registration.pk)
        registration.event = event
        registration.place = event.place
        if registration.status == Registration.Status.CANCELLED:
            raise Conflict(_("Cette inscription est déjà annulée."))
        deadline = event.start_at - dt.timedelta(hours=event.cancel_hours)
        if level < Level.CONCIERGE and now > deadline:
            raise Conflict(
                _("Trop tard pour annuler en ligne (jusqu'au %(at)s) : contactez l'équipe.")
                % {"at": _fmt(event, deadline)}
            )
        before = registration.status
        registration.status = Registration.Status.CANCELLED
        registration.cancelled_at = now
        registration.offer_expires_at = None
        registration.save(update_fields=["status", "cancelled_at", "offer_expires_at"])
        audit_record(
            place=registration.place,
            actor=by,
            action="registration.cancel",
            target=registration,
            changes={"status": [before, registration.status], "reason": [None, reason]},
        )
        _notify(
            registration,
            _("Inscription annulée : %(title)s") % {"title": event.title},
            _("Votre inscription à %(when)s est annulée.") % {"when": _when(event)},
        )
        if before in Registration.HOLDING:
            _seats_change(event.pk, {t: -n for t, n in _seats_of([registration]).items()})
            _offer_freed(event, by=by, now=now)
    return registration


def offer_accept(
    *,
    registration: Registration,
    by: User | None,
    level: Level = Level.ANONYMOUS,
    holder: bool = False,
) -> Registration:
    """Take the offered seat(s): confirmed, unless the offer has expired (Conflict).

    Only the person registered (logged in, or holding the registration's private link) or
    the team may accept."""
    if not (holder or _may_manage(registration, by, level)):
        raise PermissionDenied(_("Seule la personne inscrite peut accepter cette place."))
    event = registration.event
    now = timezone.now()
    with capacity.guarded(GUARD_NAMESPACE, [event.pk]), transaction.atomic():
        registration = Registration.objects.select_related("person").get(pk=registration.pk)
        registration.event = event
        registration.place = event.place
        if registration.status != Registration.Status.OFFERED:
            raise Conflict(_("Aucune place ne vous est proposée pour cet évènement."))
        expires = registration.offer_expires_at
        if expires is not None and now >= expires:
            raise Conflict(
                _("L'offre a expiré le %(at)s : la place a été proposée à quelqu'un d'autre.")
                % {"at": _fmt(event, expires)}
            )
        registration.status = Registration.Status.CONFIRMED
        registration.confirmed_at = now
        registration.offer_expires_at = None
        registration.save(update_fields=["status", "confirmed_at", "offer_expires_at"])
        audit_record(
            place=registration.place,
            actor=by,
            action="registration.accept",
            target=registration,
            changes={"status": [Registration.Status.OFFERED, registration.status]},
        )
        seats = list(registration.tickets.select_related("tier"))
        for seat in seats:
            seat.event = event
        _notify(
            registration,
            _("Inscription confirmée : %(title)s") % {"title": event.title},
            _("Votre inscription est confirmée : %(when)s.\n\nBillets :\n%(lines)s")
            % {
                "when": _when(event),
                "lines": _ticket_lines(
                    registration, seats, {s.tier_id: s.tier for s in seats}, links=True
                ),
            },
            tickets=seats,
        )
    return registration


def offers_expire(*, now: dt.datetime | None = None) -> int:
    """Expired offers become cancelled and the next waitlisted get an offer (worker job)."""
    now = now or timezone.now()
    event_ids = sorted(
        set(
            Registration.objects.filter(
                status=Registration.Status.OFFERED, offer_expires_at__lte=now
            ).values_list("event_id", flat=True)
        )
    )
    expired = 0
    for event in Event.objects.filter(pk__in=event_ids).select_related("place"):
        with capacity.guarded(GUARD_NAMESPACE, [event.pk]), transaction.atomic():
            stale = list(
                Registration.objects.filter(
                    event=event, status=Registration.Status.OFFERED, offer_expires_at__lte=now
                ).select_related("person")
            )
            for registration in stale:
                registration.event = event
                registration.place = event.place
                registration.status = Registration.Status.CANCELLED
                registration.cancelled_at = now
                audit_record(
                    place=event.place,
                    actor=None,
                    action="registration.offer_expired",
                    target=registration,
                    changes={"status": [Registration.Status.OFFERED, registration.status]},
                )
                _notify(
                    registration,
                    _("Offre expirée : %(title)s") % {"title": event.title},
                    _("La place proposée pour %(when)s n'a pas été confirmée à temps.")
                    % {"when": _when(event)},
                )
            Registration.objects.bulk_update(stale, ["status", "cancelled_at"])
            _seats_change(event.pk, {t: -n for t, n in _seats_of(stale).items()})
            expired += len(stale)
            _offer_freed(event, by=None, now=now)
    return expired


# --- Check-in ------------------------------------------------------------------------------------


def ticket_check_in(*, ticket: Ticket, by: User | None) -> Ticket:
    """Mark an attendee as arrived. Conflict when not confirmed or already checked in."""
    now = timezone.now()
    with transaction.atomic():
        ticket = Ticket.objects.select_related("registration", "event__place").get(pk=ticket.pk)
        if ticket.registration.status != Registration.Status.CONFIRMED:
            raise Conflict(
                _("Ce billet n'est pas confirmé (%(status)s).")
                % {"status": ticket.registration.get_status_display()}
            )
        # A conditional update: two scans of the same QR code cannot both check in.
        if not Ticket.objects.filter(pk=ticket.pk, checked_in_at__isnull=True).update(
            checked_in_at=now
        ):
            ticket.refresh_from_db(fields=["checked_in_at"])
            at = ticket.checked_in_at or now
            raise Conflict(
                _("Déjà enregistré·e à l'arrivée le %(at)s.") % {"at": _fmt(ticket.event, at)}
            )
        ticket.checked_in_at = now
        audit_record(
            place=ticket.event.place,
            actor=by,
            action="ticket.check_in",
            target=ticket,
            changes={"checked_in_at": [None, now]},
        )
    return ticket


def ticket_by_token(*, event: Event, token: str) -> Ticket:
    ticket = Ticket.objects.filter(event=event, qr_token=token).first()
    if ticket is None:
        raise NotFound(_("Billet inconnu pour cet évènement."))
    return ticket


__all__ = [
    "event_create",
    "offer_accept",
    "offers_expire",
    "registration_cancel",
    "registration_create",
    "ticket_check_in",
    "tier_amount",
]
