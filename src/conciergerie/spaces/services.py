"""Writes for resources and bookings. Every booking write goes through the capacity guard."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal, InvalidOperation
from typing import Any

from dateutil.rrule import rrulestr
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from conciergerie.community.models import Organisation, Person
from conciergerie.community.selectors import member_on
from conciergerie.core import capacity
from conciergerie.core.audit import audit_record, diff, snapshot
from conciergerie.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from conciergerie.core.mail import email_send_on_commit
from conciergerie.core.models import Place, User
from conciergerie.core.permissions import Level
from conciergerie.spaces import ical, rules, signals
from conciergerie.spaces.models import (
    Booking,
    BookingSeries,
    Closure,
    MaintenanceEntry,
    Price,
    Qualification,
    Resource,
    ResourcePhoto,
    WaitlistEntry,
)

GUARD_NAMESPACE = "spaces.resource"
RESOURCE_FIELDS = [
    "name",
    "kind",
    "capacity",
    "features",
    "description",
    "location",
    "opening_hours",
    "audience",
    "requires_membership",
    "requires_qualification",
    "min_minutes",
    "max_minutes",
    "slot_minutes",
    "horizon_days",
    "lead_minutes",
    "cancel_minutes",
    "buffer_minutes",
    "requires_approval",
    "active",
    "network_lending",
    "lending_terms",
]
MAX_SERIES = 104  # two years of weekly occurrences


# --- Resources ----------------------------------------------------------------------------------


def _clean(obj: Any) -> None:
    from django.core.exceptions import ValidationError

    try:
        obj.full_clean(exclude=["place", "uuid"])
    except ValidationError as exc:
        raise InvalidInput.from_validation_error(exc) from None


def _features(values: Any) -> list[str]:
    if isinstance(values, str):
        values = values.split(",")
    return sorted({" ".join(str(v).split()).lower() for v in values or [] if str(v).strip()})


@transaction.atomic
def resource_create(
    *,
    place: Place,
    by: User | None,
    prices: dict[str, tuple[str, Any]] | None = None,
    organisations: list[Organisation] | None = None,
    **fields: Any,
) -> Resource:
    """A new resource with its prices and the organisations allowed to book it, or nothing."""
    unknown = set(fields) - set(RESOURCE_FIELDS)
    if unknown:
        raise InvalidInput({f: [_("Champ inconnu.")] for f in sorted(unknown)})
    checked = _prices_checked(prices or {})
    allowed = _organisations_checked(place, organisations or [])
    fields["features"] = _features(fields.get("features"))
    resource = Resource(place=place, **fields)
    _clean(resource)
    resource.save()
    Price.objects.bulk_create(
        Price(resource=resource, category=c, unit=u, amount=a) for c, (u, a) in checked.items()
    )
    changes = {k: [None, v] for k, v in snapshot(resource, RESOURCE_FIELDS).items()}
    if checked:
        changes["prices"] = [None, _prices_of(resource)]
    if allowed:
        resource.organisations.set(allowed)
        changes["organisations"] = [None, sorted(o.name for o in allowed)]
    audit_record(place=place, actor=by, action="resource.create", target=resource, changes=changes)
    return resource


@transaction.atomic
def resource_update(
    *,
    resource: Resource,
    by: User | None,
    prices: dict[str, tuple[str, Any]] | None = None,
    organisations: list[Organisation] | None = None,
    **fields: Any,
) -> Resource:
    """Change fields, and with `prices` / `organisations` (None: unchanged) replace those too.

    `prices` is the whole list: a category left out has no price any more. One transaction,
    one audit entry with the old and new values of all three.
    """
    resource = Resource.objects.select_for_update().select_related("place").get(pk=resource.pk)
    unknown = set(fields) - set(RESOURCE_FIELDS)
    if unknown:
        raise InvalidInput({f: [_("Champ inconnu.")] for f in sorted(unknown)})
    before = snapshot(resource, RESOURCE_FIELDS)
    if prices is not None:
        prices = _prices_checked(prices)
    if organisations is not None:
        organisations = _organisations_checked(resource.place, organisations)
    if "features" in fields:
        fields["features"] = _features(fields["features"])
    for k, v in fields.items():
        setattr(resource, k, v)
    _clean(resource)
    if "capacity" in fields and fields["capacity"] < before["capacity"]:
        # Lowering a capacity must not leave the future overbooked.
        with capacity.guarded(GUARD_NAMESPACE, [resource.pk]):
            now = timezone.now()
            holds = _holds(resource, now, now + dt.timedelta(days=3650))
            over = capacity.over_capacity_instants(holds, fields["capacity"])
            if over:
                raise Conflict(
                    _("Des réservations à venir dépassent cette capacité (dès le %(at)s).")
                    % {"at": _fmt(resource, over[0])},
                    field="capacity",
                )
    resource.save()
    Booking.objects.filter(resource=resource, start_at__gte=timezone.now()).update(
        exclusive=resource.capacity == 1
    )
    changes = diff(before, snapshot(resource, RESOURCE_FIELDS))
    if prices is not None:
        old_prices = _prices_of(resource)
        new_prices = {c: [u, f"{a:.2f}"] for c, (u, a) in sorted(prices.items())}
        if old_prices != new_prices:
            resource.prices.all().delete()
            Price.objects.bulk_create(
                Price(resource=resource, category=c, unit=u, amount=a)
                for c, (u, a) in prices.items()
            )
            changes["prices"] = [old_prices, new_prices]
    if organisations is not None:
        current = {o.pk: o.name for o in resource.organisations.all()}
        if set(current) != {o.pk for o in organisations}:
            resource.organisations.set(organisations)
            changes["organisations"] = [
                sorted(current.values()),
                sorted(o.name for o in organisations),
            ]
    audit_record(
        place=resource.place,
        actor=by,
        action="resource.update",
        target=resource,
        changes=changes,
    )
    return resource


@transaction.atomic
def qualification_grant(
    *,
    person: Person,
    resource: Resource,
    by: User | None,
    granted_on: dt.date,
    valid_until: dt.date | None = None,
    trainer: str = "",
    note: str = "",
) -> Qualification:
    if person.place_id != resource.place_id:
        raise NotFound(_("Personne inconnue dans ce lieu."))
    if valid_until is not None and valid_until < granted_on:
        raise InvalidInput({"valid_until": [_("La fin de validité est avant la formation.")]})
    q = Qualification.objects.create(
        place=resource.place,
        person=person,
        resource=resource,
        granted_on=granted_on,
        valid_until=valid_until,
        trainer=trainer,
        note=note,
    )
    audit_record(
        place=resource.place,
        actor=by,
        action="qualification.grant",
        target=resource,
        changes={"person": [None, str(person)], "valid_until": [None, valid_until]},
    )
    return q


# --- Who may book --------------------------------------------------------------------------------


def check_access(
    *, resource: Resource, person: Person | None, level: Level, start: dt.datetime
) -> None:
    """PermissionDenied with the reason, in words the member understands."""
    if level >= Level.CONCIERGE:
        return
    if level < Level.MEMBER or person is None:
        raise PermissionDenied(_("Connectez-vous avec un compte membre du lieu pour réserver."))
    if not resource.active:
        raise PermissionDenied(_("Cette ressource n'est pas réservable en ce moment."))
    if resource.audience == Resource.Audience.CONCIERGES:
        raise PermissionDenied(_("Seule l'équipe du lieu réserve cette ressource : contactez-la."))
    day = start.astimezone(rules.place_zone(resource)).date()
    if resource.requires_membership and not member_on(person=person, day=day):
        raise PermissionDenied(
            _("Il faut une adhésion à jour le %(day)s pour réserver cette ressource.")
            % {"day": f"{day:%d/%m/%Y}"}
        )
    allowed = list(resource.organisations.values_list("pk", flat=True))
    if allowed and not person.organisations.filter(pk__in=allowed).exists():
        raise PermissionDenied(
            _("Cette ressource est réservée aux membres de certaines organisations.")
        )
    if resource.requires_qualification:
        quals = list(Qualification.objects.filter(person=person, resource=resource))
        if not quals:
            raise PermissionDenied(
                _(
                    "Cette machine demande une formation : inscrivez-vous à une session d'initiation."
                )
            )
        if not any(
            q.granted_on <= day and (q.valid_until is None or day <= q.valid_until) for q in quals
        ):
            last = max((q.valid_until for q in quals if q.valid_until), default=None)
            raise PermissionDenied(
                _(
                    "Votre habilitation sur cette machine a expiré le %(date)s : refaites une formation pour réserver."
                )
                % {"date": f"{last:%d/%m/%Y}" if last else "?"}
            )


def _price_for(
    resource: Resource, person: Person | None, organisation: Organisation | None, day: dt.date
) -> Price | None:
    prices = {p.category: p for p in resource.prices.all()}
    if organisation is not None and Price.Category.PARTNER in prices:
        return prices[Price.Category.PARTNER]
    if person is not None and member_on(person=person, day=day):
        return prices.get(Price.Category.MEMBER) or prices.get(Price.Category.NON_MEMBER)
    return prices.get(Price.Category.NON_MEMBER) or prices.get(Price.Category.MEMBER)


# --- Capacity ------------------------------------------------------------------------------------


def _seats_at_most(resource: Resource) -> str:
    return ngettext("%(n)s place au plus.", "%(n)s places au plus.", resource.capacity) % {
        "n": resource.capacity
    }


def _fmt(resource: Resource, at: dt.datetime) -> str:
    return f"{at.astimezone(rules.place_zone(resource)):%d/%m/%Y %H:%M}"


def _holds(
    resource: Resource, start: dt.datetime, end: dt.datetime, exclude: int | None = None
) -> list[capacity.Hold]:
    """What holds the resource around [start, end), each booking widened by the buffer."""
    pad = dt.timedelta(minutes=resource.buffer_minutes)
    qs = Booking.objects.filter(
        resource=resource,
        status__in=Booking.HOLDING,
        start_at__lt=end + pad,
        end_at__gt=start - pad,
    )
    if exclude:
        qs = qs.exclude(pk=exclude)
    return [
        capacity.Hold(s - pad, e + pad, n)
        for s, e, n in qs.values_list("start_at", "end_at", "seats")
    ]


# Closures first (kind 0), then holding bookings (kind 1), as (kind, id, start, end, seats).
OCCUPANCY_SQL = (
    "SELECT 0, id, start_at, end_at, 0 FROM spaces_closure"
    " WHERE place_id = %s AND (resource_id IS NULL OR resource_id = %s)"
    " AND start_at < %s AND end_at > %s"
    " UNION ALL"
    " SELECT 1, id, start_at, end_at, seats FROM spaces_booking"
    " WHERE resource_id = %s AND status IN (%s, %s) AND start_at < %s AND end_at > %s"
    " AND id <> %s"
)


def _occupancy(
    resource: Resource, start: dt.datetime, end: dt.datetime, exclude: int | None = None
) -> tuple[int | None, list[capacity.Hold]]:
    """The first closure hitting [start, end) and what holds the resource around it.

    One hand-written query: it runs inside the capacity guard on every booking, where the
    ORM's per-query compilation cost more than the database itself.
    """
    pad = dt.timedelta(minutes=resource.buffer_minutes)
    adapt = connection.ops.adapt_datetimefield_value
    params = [
        resource.place_id,
        resource.pk,
        adapt(end),
        adapt(start),
        resource.pk,
        *Booking.HOLDING,
        adapt(end + pad),
        adapt(start - pad),
        exclude or 0,
    ]
    closure: tuple[dt.datetime, int] | None = None
    holds = []
    with connection.cursor() as cursor:
        cursor.execute(OCCUPANCY_SQL, params)
        for is_booking, pk, s, e, n in cursor.fetchall():
            s, e = _utc(s), _utc(e)
            if is_booking:
                holds.append(capacity.Hold(s - pad, e + pad, n))
            elif closure is None or s < closure[0]:
                closure = (s, pk)
    return (closure[1] if closure else None), holds


def _utc(value: Any) -> dt.datetime:
    """A datetime as the driver returned it (SQLite: text in UTC) made aware."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _check_capacity(
    resource: Resource, start: dt.datetime, end: dt.datetime, seats: int, exclude: int | None = None
) -> None:
    if seats > resource.capacity:
        raise InvalidInput({"seats": [_seats_at_most(resource)]})
    closure_id, holds = _occupancy(resource, start, end, exclude)
    if closure_id is not None:
        closure = Closure.objects.get(pk=closure_id)
        raise Conflict(
            _("%(resource)s est indisponible du %(start)s au %(end)s : %(reason)s.")
            % {
                "resource": resource.name,
                "start": _fmt(resource, closure.start_at),
                "end": _fmt(resource, closure.end_at),
                "reason": closure.reason,
            }
        )
    used, witness = capacity.peak(holds, start, end)
    if used + seats > resource.capacity:
        pad = dt.timedelta(minutes=resource.buffer_minutes)
        w_start, w_end = (witness.start + pad, witness.end - pad) if witness else (start, end)
        raise Conflict(
            _("Créneau déjà pris : %(resource)s est réservée du %(start)s au %(end)s.")
            % {
                "resource": resource.name,
                "start": _fmt(resource, w_start),
                "end": _fmt(resource, w_end),
            }
            if resource.capacity == 1
            else _(
                "Plus assez de places sur %(resource)s entre %(start)s et %(end)s (%(free)s libre(s) sur %(cap)s)."
            )
            % {
                "resource": resource.name,
                "start": _fmt(resource, max(start, w_start)),
                "end": _fmt(resource, min(end, w_end)),
                "free": max(resource.capacity - used, 0),
                "cap": resource.capacity,
            }
        )


# --- Bookings ------------------------------------------------------------------------------------


def _notify(booking: Booking, subject: str, body: str, *, with_ics: bool = True) -> None:
    person = booking.person
    if person is None or not person.email:
        return
    attachments = (
        [["reservation.ics", ical.booking_invitation(booking), "text/calendar"]] if with_ics else []
    )
    email_send_on_commit(
        place=booking.place, to=[person.email], subject=subject, body=body, attachments=attachments
    )


def _summary(booking: Booking) -> str:
    zone = rules.place_zone(booking.resource)
    s, e = booking.start_at.astimezone(zone), booking.end_at.astimezone(zone)
    return _("%(resource)s, le %(day)s de %(start)s à %(end)s") % {
        "resource": booking.resource.name,
        "day": f"{s:%d/%m/%Y}",
        "start": f"{s:%H:%M}",
        "end": f"{e:%H:%M}",
    }


def _booking_price(booking: Booking) -> Price | None:
    day = booking.start_at.astimezone(rules.place_zone(booking.resource)).date()
    return _price_for(booking.resource, booking.person, booking.organisation, day)


def _confirm_fields(booking: Booking, price: Price | None) -> None:
    """Fix the charge now, at confirmation, never before."""
    booking.status = Booking.Status.CONFIRMED
    booking.confirmed_at = timezone.now()
    booking.price_category = price.category if price else ""
    booking.price_unit = price.unit if price else Price.Unit.FREE
    booking.amount_due = rules.charge(price, booking.start_at, booking.end_at)


def booking_create(
    *,
    resource: Resource,
    by: User | None,
    level: Level,
    start: dt.datetime,
    end: dt.datetime,
    person: Person | None = None,
    seats: int = 1,
    title: str = "",
    note: str = "",
    organisation: Organisation | None = None,
    series: BookingSeries | None = None,
    notify: bool = True,
) -> Booking:
    """Book, or raise: InvalidInput (400), PermissionDenied (403), Conflict (409)."""
    start, end = rules.require_aware(start, "start"), rules.require_aware(end, "end")
    staff = level >= Level.CONCIERGE
    if seats < 1:
        raise InvalidInput({"seats": [_("Au moins une place.")]})
    if person is not None and person.place_id != resource.place_id:
        raise NotFound(_("Personne inconnue dans ce lieu."))
    rules.check_times(resource, start, end, now=timezone.now(), staff=staff)
    check_access(resource=resource, person=person, level=level, start=start)
    booking = Booking(
        place=resource.place,
        resource=resource,
        person=person,
        organisation=organisation,
        created_by=by if by is not None and by.pk else None,
        series=series,
        start_at=start,
        end_at=end,
        seats=seats,
        title=title[:200],
        note=note,
        exclusive=resource.capacity == 1,
        status=Booking.Status.PENDING,
    )
    confirm = staff or not resource.requires_approval
    # Looked up before the guard: the write lock is held for the capacity check and the
    # two inserts only.
    price = _booking_price(booking) if confirm else None
    try:
        with capacity.guarded(GUARD_NAMESPACE, [resource.pk]):
            _check_capacity(resource, start, end, seats)
            capacity.race_window()
            # Inside the guard's transaction, no savepoint is needed; without the guard
            # (tests), this is the write transaction.
            with transaction.atomic(savepoint=False):
                if confirm:
                    _confirm_fields(booking, price)
                booking.save()
                if booking.status == Booking.Status.CONFIRMED:
                    signals.booking_confirmed.send(sender=Booking, booking=booking)
                audit_record(
                    place=resource.place,
                    actor=by,
                    action="booking.create",
                    target=booking,
                    changes={
                        "resource": [None, resource.name],
                        "start": [None, start],
                        "end": [None, end],
                        "seats": [None, seats],
                        "status": [None, booking.status],
                    },
                )
                if notify:
                    if booking.status == Booking.Status.CONFIRMED:
                        _notify(
                            booking,
                            _("Réservation confirmée"),
                            _("Votre réservation est confirmée : %(what)s.")
                            % {"what": _summary(booking)},
                        )
                    else:
                        _notify(
                            booking,
                            _("Demande de réservation reçue"),
                            _("Votre demande (%(what)s) attend la validation de l'équipe.")
                            % {"what": _summary(booking)},
                            with_ics=False,
                        )
    except IntegrityError as exc:
        # PostgreSQL's exclusion constraint caught an overlap the checks could not see.
        if "booking_no_overlap" in str(exc):
            raise Conflict(
                _("Créneau déjà pris : %(resource)s vient d'être réservée sur ce créneau.")
                % {"resource": resource.name}
            )
        raise
    return booking


def _may_manage(booking: Booking, by: User | None, level: Level) -> bool:
    if level >= Level.CONCIERGE:
        return True
    return bool(by and by.pk and booking.person is not None and booking.person.user_id == by.pk)


def booking_cancel(*, booking: Booking, by: User | None, level: Level, reason: str = "") -> Booking:
    with capacity.guarded(GUARD_NAMESPACE, [booking.resource_id]), transaction.atomic():
        booking = Booking.objects.select_related("resource__place", "person").get(pk=booking.pk)
        if not _may_manage(booking, by, level):
            raise PermissionDenied(_("Vous ne pouvez annuler que vos propres réservations."))
        if booking.status in (Booking.Status.CANCELLED, Booking.Status.REFUSED):
            raise Conflict(_("Cette réservation est déjà annulée."))
        now = timezone.now()
        deadline = booking.start_at - dt.timedelta(minutes=booking.resource.cancel_minutes)
        if level < Level.CONCIERGE and now > deadline:
            raise Conflict(
                _("Trop tard pour annuler en ligne (jusqu'au %(at)s) : contactez l'équipe.")
                % {"at": _fmt(booking.resource, deadline)}
            )
        before = booking.status
        booking.status = Booking.Status.CANCELLED
        booking.cancelled_at = now
        booking.save(update_fields=["status", "cancelled_at"])
        signals.booking_cancelled.send(sender=Booking, booking=booking, by_place=False)
        audit_record(
            place=booking.place,
            actor=by,
            action="booking.cancel",
            target=booking,
            changes={"status": [before, booking.status], "reason": [None, reason]},
        )
        _offer_waitlist(booking)
    return booking


def booking_move(
    *, booking: Booking, by: User | None, level: Level, start: dt.datetime, end: dt.datetime
) -> Booking:
    start, end = rules.require_aware(start, "start"), rules.require_aware(end, "end")
    resource = booking.resource
    if not _may_manage(booking, by, level):
        raise PermissionDenied(_("Vous ne pouvez déplacer que vos propres réservations."))
    rules.check_times(resource, start, end, now=timezone.now(), staff=level >= Level.CONCIERGE)
    with capacity.guarded(GUARD_NAMESPACE, [resource.pk]), transaction.atomic():
        booking = Booking.objects.select_related("resource__place", "person").get(pk=booking.pk)
        if booking.status not in Booking.HOLDING:
            raise Conflict(_("Une réservation annulée ne se déplace pas."))
        _check_capacity(resource, start, end, booking.seats, exclude=booking.pk)
        before = {"start": booking.start_at, "end": booking.end_at}
        booking.start_at, booking.end_at = start, end
        if booking.status == Booking.Status.CONFIRMED:
            _confirm_fields(booking, _booking_price(booking))
        booking.save()
        if booking.status == Booking.Status.CONFIRMED:
            signals.booking_confirmed.send(sender=Booking, booking=booking)
        audit_record(
            place=booking.place,
            actor=by,
            action="booking.move",
            target=booking,
            changes={"start": [before["start"], start], "end": [before["end"], end]},
        )
        _notify(
            booking,
            _("Réservation déplacée"),
            _("Votre réservation est maintenant : %(what)s.") % {"what": _summary(booking)},
        )
        _offer_waitlist(booking, (before["start"], before["end"]))
    return booking


def booking_decide(*, booking: Booking, by: User | None, level: Level, approve: bool) -> Booking:
    if level < Level.CONCIERGE:
        raise PermissionDenied(_("Seule l'équipe valide les demandes."))
    with capacity.guarded(GUARD_NAMESPACE, [booking.resource_id]), transaction.atomic():
        booking = Booking.objects.select_related("resource__place", "person").get(pk=booking.pk)
        if booking.status != Booking.Status.PENDING:
            raise Conflict(_("Cette demande a déjà été traitée."))
        if approve:
            _confirm_fields(booking, _booking_price(booking))
        else:
            booking.status = Booking.Status.REFUSED
            booking.cancelled_at = timezone.now()
        booking.save()
        if approve:
            signals.booking_confirmed.send(sender=Booking, booking=booking)
        audit_record(
            place=booking.place,
            actor=by,
            action="booking.approve" if approve else "booking.refuse",
            target=booking,
            changes={"status": [Booking.Status.PENDING, booking.status]},
        )
        if approve:
            _notify(
                booking,
                _("Réservation confirmée"),
                _("Votre demande est acceptée : %(what)s.") % {"what": _summary(booking)},
            )
        else:
            _notify(
                booking,
                _("Demande de réservation refusée"),
                _("Votre demande (%(what)s) n'a pas pu être acceptée.")
                % {"what": _summary(booking)},
                with_ics=False,
            )
            _offer_waitlist(booking)
    return booking


@transaction.atomic
def booking_attendance(*, booking: Booking, by: User | None, present: bool) -> Booking:
    booking = Booking.objects.select_for_update().get(pk=booking.pk)
    if booking.status != Booking.Status.CONFIRMED:
        raise Conflict(_("Seule une réservation confirmée se pointe."))
    booking.checked_in_at = timezone.now() if present else None
    booking.no_show = not present
    booking.save(update_fields=["checked_in_at", "no_show"])
    audit_record(
        place=booking.place,
        actor=by,
        action="booking.check_in" if present else "booking.no_show",
        target=booking,
        changes={"no_show": [None, booking.no_show]},
    )
    return booking


@transaction.atomic
def loan_hand_over(*, booking: Booking, by: User | None, notes: str) -> Booking:
    booking = Booking.objects.select_for_update().get(pk=booking.pk)
    if booking.status != Booking.Status.CONFIRMED or booking.handed_over_at:
        raise Conflict(_("Ce prêt ne peut pas être remis."))
    booking.handed_over_at, booking.handover_notes = timezone.now(), notes
    booking.save(update_fields=["handed_over_at", "handover_notes"])
    audit_record(
        place=booking.place,
        actor=by,
        action="loan.hand_over",
        target=booking,
        changes={"handover_notes": [None, notes]},
    )
    return booking


@transaction.atomic
def loan_return(*, booking: Booking, by: User | None, notes: str) -> Booking:
    booking = Booking.objects.select_for_update().get(pk=booking.pk)
    if not booking.handed_over_at or booking.returned_at:
        raise Conflict(_("Ce prêt n'est pas en cours."))
    booking.returned_at, booking.return_notes = timezone.now(), notes
    booking.save(update_fields=["returned_at", "return_notes"])
    audit_record(
        place=booking.place,
        actor=by,
        action="loan.return",
        target=booking,
        changes={"return_notes": [None, notes]},
    )
    return booking


# --- Waitlist ------------------------------------------------------------------------------------


@transaction.atomic
def waitlist_join(
    *,
    resource: Resource,
    person: Person,
    by: User | None,
    level: Level,
    start: dt.datetime,
    end: dt.datetime,
    seats: int = 1,
) -> WaitlistEntry:
    start, end = rules.require_aware(start, "start"), rules.require_aware(end, "end")
    rules.check_times(resource, start, end, now=timezone.now(), staff=level >= Level.CONCIERGE)
    check_access(resource=resource, person=person, level=level, start=start)
    if WaitlistEntry.objects.filter(
        resource=resource,
        person=person,
        status=WaitlistEntry.Status.WAITING,
        start_at=start,
        end_at=end,
    ).exists():
        raise Conflict(_("Vous êtes déjà sur la liste d'attente pour ce créneau."))
    obstacle = _waitlist_obstacle(resource, start, end, seats)
    if obstacle:
        raise Conflict(obstacle)
    entry = WaitlistEntry.objects.create(
        place=resource.place,
        resource=resource,
        person=person,
        start_at=start,
        end_at=end,
        seats=seats,
    )
    audit_record(
        place=resource.place,
        actor=by,
        action="waitlist.join",
        target=resource,
        changes={"person": [None, str(person)], "start": [None, start]},
    )
    return entry


def _waitlist_obstacle(resource: Resource, start: dt.datetime, end: dt.datetime, seats: int) -> str:
    """Why waiting for this slot would be pointless ("" when only a full slot stands in the way)."""
    if seats > resource.capacity:
        return _seats_at_most(resource)
    closure_id, holds = _occupancy(resource, start, end)
    if closure_id is not None:
        return _(
            "%(resource)s est indisponible sur ce créneau : une liste d'attente n'y changerait rien."
        ) % {"resource": resource.name}
    used, _witness = capacity.peak(holds, start, end)
    if used + seats <= resource.capacity:
        return _("Il reste de la place sur ce créneau : réservez-le directement.")
    return ""


def waitlist_possible(
    *, resource: Resource, start: dt.datetime, end: dt.datetime, seats: int = 1
) -> bool:
    """True when the slot is full (not closed): a place may free up, so waiting makes sense."""
    return not _waitlist_obstacle(resource, start, end, seats)


def waitlist_leave(*, entry: WaitlistEntry, by: User | None, level: Level) -> WaitlistEntry:
    """Stop waiting. Under the resource's guard, so a place being offered meanwhile is not lost."""
    with capacity.guarded(GUARD_NAMESPACE, [entry.resource_id]), transaction.atomic():
        entry = WaitlistEntry.objects.select_related("resource", "person").get(pk=entry.pk)
        person = entry.person
        if level < Level.CONCIERGE and not (by and by.pk and person.user_id == by.pk):
            raise PermissionDenied(_("Vous ne pouvez quitter que vos propres listes d'attente."))
        if entry.status == WaitlistEntry.Status.BOOKED:
            raise Conflict(
                _(
                    "Une place vous a déjà été réservée sur ce créneau : annulez la réservation si vous n'en avez plus besoin."
                )
            )
        if entry.status != WaitlistEntry.Status.WAITING:
            raise Conflict(_("Cette inscription n'est plus sur la liste d'attente."))
        entry.status = WaitlistEntry.Status.CANCELLED
        entry.save(update_fields=["status"])
        audit_record(
            place=entry.place,
            actor=by,
            action="waitlist.leave",
            target=entry.resource,
            changes={
                "person": [str(person), str(person)],
                "start": [entry.start_at, entry.start_at],
                "status": [WaitlistEntry.Status.WAITING, entry.status],
            },
        )
    return entry


def _offer_waitlist(freed: Booking, span: tuple[dt.datetime, dt.datetime] | None = None) -> None:
    """Inside the guard: book the oldest waiting requests that now fit, and tell them."""
    span = span or (freed.start_at, freed.end_at)
    resource = freed.resource
    waiting = (
        WaitlistEntry.objects.filter(
            resource=resource,
            status=WaitlistEntry.Status.WAITING,
            start_at__lt=span[1],
            end_at__gt=span[0],
        )
        .select_related("person")
        .order_by("created_at", "id")
    )
    for entry in waiting:
        try:
            _check_capacity(resource, entry.start_at, entry.end_at, entry.seats)
        except (Conflict, InvalidInput):
            continue
        booking = Booking(
            place=resource.place,
            resource=resource,
            person=entry.person,
            start_at=entry.start_at,
            end_at=entry.end_at,
            seats=entry.seats,
            exclusive=resource.capacity == 1,
            status=Booking.Status.PENDING,
        )
        if not resource.requires_approval:
            _confirm_fields(booking, _booking_price(booking))
        booking.save()
        if booking.status == Booking.Status.CONFIRMED:
            signals.booking_confirmed.send(sender=Booking, booking=booking)
        entry.status, entry.booking, entry.offered_at = (
            WaitlistEntry.Status.BOOKED,
            booking,
            timezone.now(),
        )
        entry.save(update_fields=["status", "booking", "offered_at"])
        audit_record(
            place=resource.place,
            actor=None,
            action="waitlist.booked",
            target=booking,
            changes={"person": [None, str(entry.person)]},
        )
        _notify(
            booking,
            _("Une place s'est libérée pour vous"),
            _(
                "Une place s'est libérée et vous est réservée : %(what)s. Si vous n'en avez plus besoin, annulez-la pour la laisser à quelqu'un d'autre."
            )
            % {"what": _summary(booking)},
        )


# --- Recurring bookings --------------------------------------------------------------------------


def series_occurrences(
    *, resource: Resource, rrule: str, first_start: dt.datetime, duration: dt.timedelta
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Occurrences of an RRULE in the place's local time (14:00 stays 14:00 across DST)."""
    first_start = rules.require_aware(first_start, "start")
    zone = rules.place_zone(resource)
    local = first_start.astimezone(zone).replace(tzinfo=None)
    try:
        rule = rrulestr(rrule.removeprefix("RRULE:"), dtstart=local)
        starts = []
        for occurrence in rule:
            starts.append(occurrence)
            if len(starts) > MAX_SERIES:
                break
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            {"rrule": [_("Règle de récurrence invalide : %(error)s") % {"error": exc}]}
        )
    if len(starts) > MAX_SERIES:
        raise InvalidInput(
            {
                "rrule": [
                    _("Au plus %(n)s occurrences : ajoutez COUNT ou UNTIL.") % {"n": MAX_SERIES}
                ]
            }
        )
    out = []
    for s in starts:
        aware = s.replace(tzinfo=zone).astimezone(rules.UTC)
        out.append((aware, aware + duration))
    return out


def series_preview(
    *,
    resource: Resource,
    person: Person | None,
    level: Level,
    rrule: str,
    first_start: dt.datetime,
    duration: dt.timedelta,
) -> list[dict[str, Any]]:
    """Each occurrence with 'ok' or the reason it cannot be booked; writes nothing."""
    report = []
    for start, end in series_occurrences(
        resource=resource, rrule=rrule, first_start=first_start, duration=duration
    ):
        problem = ""
        try:
            rules.check_times(
                resource, start, end, now=timezone.now(), staff=level >= Level.CONCIERGE
            )
            check_access(resource=resource, person=person, level=level, start=start)
            _check_capacity(resource, start, end, 1)
        except (InvalidInput, Conflict, PermissionDenied) as exc:
            problem = exc.message
        report.append({"start": start, "end": end, "ok": not problem, "problem": problem})
    return report


def series_create(
    *,
    resource: Resource,
    person: Person | None,
    by: User | None,
    level: Level,
    rrule: str,
    first_start: dt.datetime,
    duration: dt.timedelta,
    title: str = "",
) -> tuple[BookingSeries, list[Booking], list[dict[str, Any]]]:
    """Book every free occurrence, skip the others; returns what was booked and skipped."""
    occurrences = series_occurrences(
        resource=resource, rrule=rrule, first_start=first_start, duration=duration
    )
    with capacity.guarded(GUARD_NAMESPACE, [resource.pk]), transaction.atomic():
        series = BookingSeries.objects.create(
            place=resource.place,
            resource=resource,
            rrule=rrule,
            created_by=by if by and by.pk else None,
        )
        booked, skipped = [], []
        for start, end in occurrences:
            try:
                with transaction.atomic():
                    booked.append(
                        booking_create(
                            resource=resource,
                            by=by,
                            level=level,
                            start=start,
                            end=end,
                            person=person,
                            title=title,
                            series=series,
                            notify=False,
                        )
                    )
            except (InvalidInput, Conflict, PermissionDenied) as exc:
                skipped.append({"start": start, "end": end, "problem": exc.message})
        if not booked:
            raise Conflict(_("Aucune occurrence n'est libre : rien n'a été réservé."))
        audit_record(
            place=resource.place,
            actor=by,
            action="series.create",
            target=series,
            changes={
                "rrule": [None, rrule],
                "booked": [None, len(booked)],
                "skipped": [None, len(skipped)],
            },
        )
    return series, booked, skipped


# --- Closures and out-of-service -----------------------------------------------------------------


def closure_create(
    *,
    place: Place,
    by: User | None,
    start: dt.datetime,
    end: dt.datetime,
    reason: str,
    resource: Resource | None = None,
) -> tuple[Closure, list[Booking]]:
    """Block the period; cancel the bookings it hits and tell their people, with alternatives."""
    from conciergerie.spaces import selectors

    start, end = rules.require_aware(start, "start"), rules.require_aware(end, "end")
    if end <= start:
        raise InvalidInput({"end": [_("La fin doit être après le début.")]})
    if not reason.strip():
        raise InvalidInput(
            {"reason": [_("Indiquez le motif : il est montré aux personnes concernées.")]}
        )
    keys = [resource.pk] if resource else list(place.resources.values_list("pk", flat=True))
    with capacity.guarded(GUARD_NAMESPACE, keys), transaction.atomic():
        closure = Closure.objects.create(
            place=place,
            resource=resource,
            start_at=start,
            end_at=end,
            reason=reason.strip()[:200],
            kind=Closure.Kind.OUT_OF_SERVICE if resource else Closure.Kind.CLOSED,
            created_by=by if by and by.pk else None,
        )
        hit = Booking.objects.filter(
            place=place, status__in=Booking.HOLDING, start_at__lt=end, end_at__gt=start
        ).select_related("resource__place", "person")
        if resource is not None:
            hit = hit.filter(resource=resource)
        hit_list = list(hit)
        for booking in hit_list:
            booking.status, booking.cancelled_at = Booking.Status.CANCELLED, timezone.now()
            booking.save(update_fields=["status", "cancelled_at"])
            signals.booking_cancelled.send(sender=Booking, booking=booking, by_place=True)
            audit_record(
                place=place,
                actor=by,
                action="booking.cancel",
                target=booking,
                changes={
                    "status": [Booking.Status.CONFIRMED, booking.status],
                    "reason": [None, reason],
                },
            )
            alternatives = selectors.alternatives(booking=booking, exclude_closure=closure)
            lines = "\n".join(f"- {a.name}" for a in alternatives) or _(
                "(aucune autre ressource libre sur ce créneau : contactez l'équipe)"
            )
            _notify(
                booking,
                _("Votre réservation est annulée : %(resource)s indisponible")
                % {"resource": booking.resource.name},
                _(
                    "%(resource)s est indisponible (%(reason)s). Votre réservation (%(what)s) est annulée.\n\nLibres sur le même créneau :\n%(alternatives)s"
                )
                % {
                    "resource": booking.resource.name,
                    "reason": reason,
                    "what": _summary(booking),
                    "alternatives": lines,
                },
                with_ics=False,
            )
        audit_record(
            place=place,
            actor=by,
            action="closure.create",
            target=resource,
            target_type="closure",
            changes={
                "start": [None, start],
                "end": [None, end],
                "reason": [None, reason],
                "bookings_cancelled": [None, len(hit_list)],
            },
        )
    return closure, hit_list


# --- Photos, maintenance, qualifications ---------------------------------------------------------

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 12
PHOTO_MAX_SIDE = 1600  # pixels: sharp on any phone, a fraction of a camera's file
PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


def _prices_checked(prices: dict[str, tuple[str, Any]]) -> dict[str, tuple[str, Decimal]]:
    """Prices as resource_update stores them: known category and unit, euros with cents."""
    errors: list[str] = []
    out: dict[str, tuple[str, Decimal]] = {}
    for category, (unit, amount) in prices.items():
        if category not in Price.Category.values or unit not in Price.Unit.values:
            errors.append(_("Tarif inconnu : %(what)s.") % {"what": f"{category} / {unit}"})
            continue
        label = Price.Category(category).label
        try:
            value = Decimal(str(amount if amount not in (None, "") else 0))
        except InvalidOperation:
            value = Decimal(-1)
        if not value.is_finite() or value < 0 or value >= 10**7 or value != round(value, 2):
            errors.append(
                _("Montant invalide pour « %(category)s » : un nombre positif, en euros.")
                % {"category": label}
            )
            continue
        out[category] = (unit, Decimal("0.00") if unit == Price.Unit.FREE else round(value, 2))
    if errors:
        raise InvalidInput({"prices": errors})
    return out


def _prices_of(resource: Resource) -> dict[str, list[str]]:
    return {p.category: [p.unit, f"{p.amount:.2f}"] for p in resource.prices.order_by("category")}


def _organisations_checked(place: Place, organisations: list[Organisation]) -> list[Organisation]:
    if any(o.place_id != place.pk for o in organisations):
        raise InvalidInput({"organisations": [_("Organisation inconnue dans ce lieu.")]})
    return list({o.pk: o for o in organisations}.values())


def _photo_file(upload: Any) -> tuple[Any, str]:
    """The upload ready to publish (upright, at most PHOTO_MAX_SIDE, without its metadata —
    a phone's photo carries where it was taken), and its extension; or InvalidInput."""
    from PIL import Image, ImageOps

    not_an_image = _(
        "Ce fichier n'est pas une photo lisible : envoyez une image JPEG, PNG, WebP ou GIF."
    )
    size = getattr(upload, "size", None) or 0
    if size > MAX_PHOTO_BYTES:
        raise InvalidInput(
            {
                "image": [
                    _(
                        "Cette photo pèse %(size)s Mo : 5 Mo au plus. Réduisez-la, ou reprenez-la en qualité moyenne."
                    )
                    % {"size": f"{size / 1024 / 1024:.1f}".replace(".", ",")}
                ]
            }
        )
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            fmt = probe.format or ""
            probe.verify()
        if fmt not in PHOTO_FORMATS:
            raise ValueError(fmt)
        upload.seek(0)
        if fmt == "GIF":  # kept as sent: re-encoding would lose an animation
            return ContentFile(upload.read()), PHOTO_FORMATS[fmt]
        with Image.open(upload) as original:
            picture = ImageOps.exif_transpose(original)
            picture.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            out = io.BytesIO()
            keep = {"icc_profile": original.info.get("icc_profile")}
            if fmt == "JPEG":
                if picture.mode not in ("RGB", "L", "CMYK"):
                    picture = picture.convert("RGB")
                picture.save(out, "JPEG", quality=85, optimize=True, **keep)
            elif fmt == "PNG":
                picture.save(out, "PNG", optimize=True, **keep)
            else:
                picture.save(out, "WEBP", quality=85, **keep)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise InvalidInput({"image": [not_an_image]})
    return ContentFile(out.getvalue()), PHOTO_FORMATS[fmt]


def _cover_sync(resource: Resource) -> None:
    """Resource.photo, the cover, is the first photo's file (see ResourcePhoto)."""
    first = (
        ResourcePhoto.objects.filter(resource=resource)
        .order_by("position", "id")
        .values_list("image", flat=True)
        .first()
    )
    if (resource.photo.name or "") != (first or ""):
        Resource.objects.filter(pk=resource.pk).update(photo=first or "")
        resource.photo.name = first or ""


def _renumber(photos: list[ResourcePhoto]) -> None:
    changed = []
    for i, p in enumerate(photos):
        if p.position != i:
            p.position = i
            changed.append(p)
    ResourcePhoto.objects.bulk_update(changed, ["position"])


def _locked(resource_id: int) -> Resource:
    """The resource, its row locked: photo writes on one resource queue up."""
    return Resource.objects.select_for_update().select_related("place").get(pk=resource_id)


ALT_MAX = 200


@transaction.atomic
def photo_add(*, resource: Resource, by: User | None, image: Any, alt: str = "") -> ResourcePhoto:
    """Add a photo after the others. InvalidInput if it is no image or over 5 MB."""
    resource = _locked(resource.pk)
    count = ResourcePhoto.objects.filter(resource=resource).count()
    if count >= MAX_PHOTOS:
        raise Conflict(
            _("Déjà %(n)s photos : supprimez-en une avant d'en ajouter une autre.")
            % {"n": MAX_PHOTOS},
            field="image",
        )
    content, ext = _photo_file(image)
    photo = ResourcePhoto(resource=resource, alt=" ".join(alt.split())[:200], position=count)
    photo.image.save(f"{photo.uuid.hex}.{ext}", content, save=False)
    try:
        photo.save()
        _cover_sync(resource)
        audit_record(
            place=resource.place,
            actor=by,
            action="resource.photo_add",
            target=resource,
            changes={"photo": [None, photo.image.name], "alt": [None, photo.alt]},
        )
    except BaseException:
        photo.image.storage.delete(photo.image.name or "")
        raise
    return photo


@transaction.atomic
def photo_delete(*, photo: ResourcePhoto, by: User | None) -> None:
    resource = _locked(photo.resource_id)
    photo = ResourcePhoto.objects.get(pk=photo.pk)
    name = photo.image.name or ""
    photo.delete()
    _renumber(list(ResourcePhoto.objects.filter(resource=resource).order_by("position", "id")))
    _cover_sync(resource)
    audit_record(
        place=resource.place,
        actor=by,
        action="resource.photo_delete",
        target=resource,
        changes={"photo": [name, None]},
    )
    if not ResourcePhoto.objects.filter(image=name).exists():
        storage = photo.image.storage
        transaction.on_commit(lambda: storage.delete(name))


@transaction.atomic
def photo_describe(*, photo: ResourcePhoto, by: User | None, alt: str) -> ResourcePhoto:
    """Change what a photo is said to show (read aloud to people who do not see it)."""
    alt = " ".join(alt.split())
    if len(alt) > ALT_MAX:
        raise InvalidInput({"alt": [_("%(n)s caractères au plus.") % {"n": ALT_MAX}]})
    resource = _locked(photo.resource_id)
    photo = ResourcePhoto.objects.get(pk=photo.pk)
    if photo.alt != alt:
        before, photo.alt = photo.alt, alt
        photo.save(update_fields=["alt"])
        audit_record(
            place=resource.place,
            actor=by,
            action="resource.photo_describe",
            target=resource,
            changes={"alt": [before, alt], "photo": [photo.image.name] * 2},
        )
    return photo


@transaction.atomic
def photo_move(*, photo: ResourcePhoto, by: User | None, up: bool) -> ResourcePhoto:
    """Swap a photo with the one before it (up) or after it; nothing at either end."""
    resource = _locked(photo.resource_id)
    photos = list(ResourcePhoto.objects.filter(resource=resource).order_by("position", "id"))
    i = next(i for i, p in enumerate(photos) if p.pk == photo.pk)
    j = i - 1 if up else i + 1
    if 0 <= j < len(photos):
        photos[i], photos[j] = photos[j], photos[i]
        _renumber(photos)
        _cover_sync(resource)
        audit_record(
            place=resource.place,
            actor=by,
            action="resource.photo_move",
            target=resource,
            changes={"position": [i + 1, j + 1], "photo": [photos[j].image.name] * 2},
        )
    return photos[j] if 0 <= j < len(photos) else photos[i]


@transaction.atomic
def maintenance_add(
    *,
    resource: Resource,
    by: User | None,
    date: dt.date,
    note: str,
    performed_by: str = "",
    remarks: str = "",
    cost: Decimal | None = None,
) -> MaintenanceEntry:
    """Write down a maintenance job in the resource's log."""
    note = note.strip()
    if not note:
        raise InvalidInput({"note": [_("Dites ce qui a été fait.")]})
    if cost is not None and cost < 0:
        raise InvalidInput({"cost": [_("Le coût ne peut pas être négatif.")]})
    entry = MaintenanceEntry(
        resource=resource,
        date=date,
        note=note,
        performed_by=" ".join(performed_by.split()),
        remarks=remarks.strip(),
        cost=cost,
        by=by if by is not None and by.pk else None,
    )
    _clean(entry)
    entry.save()
    audit_record(
        place=resource.place,
        actor=by,
        action="maintenance.add",
        target=resource,
        changes={
            "date": [None, date],
            "note": [None, note],
            "performed_by": [None, entry.performed_by],
            "cost": [None, cost],
        },
    )
    return entry


@transaction.atomic
def qualification_revoke(*, qualification: Qualification, by: User | None) -> None:
    """Withdraw a qualification: its holder may no longer book the machine on its strength.

    The row is deleted; the audit entry keeps who was trained, when and by whom.
    """
    q = Qualification.objects.select_related("person", "resource__place").get(pk=qualification.pk)
    q.delete()
    audit_record(
        place=q.resource.place,
        actor=by,
        action="qualification.revoke",
        target=q.resource,
        changes={
            "person": [str(q.person), None],
            "granted_on": [q.granted_on, None],
            "valid_until": [q.valid_until, None],
            "trainer": [q.trainer, None],
        },
    )
