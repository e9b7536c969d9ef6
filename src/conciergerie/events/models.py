"""Events, their ticket tiers (sliding scale, stays), registrations (orders) and tickets.

Times are stored in UTC and shown in the place's time zone. Money is Decimal euros.
A registration holds seats while it is confirmed or holds an offer (see Registration.HOLDING);
every ticket is one seat.
"""

from __future__ import annotations

import secrets
import uuid
import zoneinfo
from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone as tz
from django.utils.translation import gettext_lazy as _

from conciergerie.community.models import Person
from conciergerie.core.models import Place, PublicObject


def new_qr_token() -> str:
    return secrets.token_urlsafe(18)


class Event(PublicObject):
    class Category(models.TextChoices):
        WORKSHOP = "atelier", _("Atelier")
        CONFERENCE = "conference", _("Conférence")
        TRAINING = "formation", _("Formation")
        DIGITAL_MEDIATION = "mediation_numerique", _("Médiation numérique")
        REPAIR_CAFE = "repair_cafe", _("Repair café")
        STAY = "sejour", _("Séjour / co-living")
        OTHER = "autre", _("Autre")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public")
        MEMBERS = "membres", _("Membres du lieu")
        PRIVATE = "prive", _("Privé (équipe du lieu)")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="events")
    title = models.CharField(_("titre"), max_length=200)
    description = models.TextField(_("description (Markdown)"), blank=True)
    category = models.CharField(
        _("catégorie"), max_length=20, choices=Category.choices, default=Category.WORKSHOP
    )
    audience = models.CharField(_("public visé"), max_length=200, blank=True)
    resource = models.ForeignKey(
        "spaces.Resource",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("salle du lieu"),
    )
    # The room's booking, made through the bookings service when the event uses a room.
    room_booking = models.OneToOneField(
        "spaces.Booking",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="event",
        editable=False,
    )
    # Events created together as a recurring series share this id.
    series = models.UUIDField(null=True, blank=True, editable=False, db_index=True)
    address = models.CharField(_("adresse (hors du lieu)"), max_length=255, blank=True)
    online_url = models.URLField(_("lien en ligne"), blank=True)
    start_at = models.DateTimeField(_("début"))
    end_at = models.DateTimeField(_("fin"))
    is_stay = models.BooleanField(_("séjour (compté en nuits)"), default=False)
    capacity = models.PositiveIntegerField(_("nombre de places"), default=20)
    max_per_order = models.PositiveIntegerField(_("places par inscription (max)"), default=6)
    registration_opens_at = models.DateTimeField(
        _("ouverture des inscriptions"), null=True, blank=True
    )
    registration_closes_at = models.DateTimeField(
        _("clôture des inscriptions"),
        null=True,
        blank=True,
        help_text=_("Vide : au début de l'évènement."),
    )
    visibility = models.CharField(
        _("visibilité"), max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    accessibility = models.TextField(_("accessibilité"), blank=True)
    waitlist_enabled = models.BooleanField(_("liste d'attente"), default=True)
    offer_hours = models.PositiveIntegerField(
        _("délai pour accepter une place libérée (heures)"), default=24
    )
    cancel_hours = models.PositiveIntegerField(
        _("annulation possible jusqu'à (heures avant)"), default=24
    )
    created_at = models.DateTimeField(default=tz.now, editable=False)
    cancelled_at = models.DateTimeField(_("annulé le"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["start_at", "id"]
        verbose_name = _("évènement")
        verbose_name_plural = _("évènements")
        indexes = [models.Index(fields=["place", "start_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(end_at__gt=F("start_at")), name="event_end_after"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="event_capacity_1"),
            models.CheckConstraint(condition=Q(max_per_order__gte=1), name="event_per_order_1"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("events:event", args=[self.place.slug, self.uuid])

    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.place.timezone or "Europe/Paris")

    @property
    def nights(self) -> int:
        """Nights of a stay, counted on the place's local dates (0 for a plain event)."""
        if not self.is_stay:
            return 0
        zone = self.zone()
        return (self.end_at.astimezone(zone).date() - self.start_at.astimezone(zone).date()).days


class TicketTier(models.Model):
    class Unit(models.TextChoices):
        STAY = "sejour", _("Pour tout le séjour")
        NIGHT = "nuit", _("Par nuit")
        WEEK = "semaine", _("Par semaine")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(_("nom du tarif"), max_length=80)
    position = models.PositiveIntegerField(_("position"), default=0)
    price = models.DecimalField(
        _("prix (€)"),
        max_digits=9,
        decimal_places=2,
        default=Decimal("0"),
        help_text=_("0 : gratuit."),
    )
    pay_what_you_can = models.BooleanField(_("prix libre"), default=False)
    floor = models.DecimalField(
        _("montant minimum (€)"), max_digits=9, decimal_places=2, default=Decimal("0")
    )
    suggested = models.DecimalField(
        _("montant suggéré (€)"), max_digits=9, decimal_places=2, default=Decimal("0")
    )
    members_only = models.BooleanField(_("réservé aux membres à jour"), default=False)
    quota = models.PositiveIntegerField(_("places à ce tarif (max)"), null=True, blank=True)
    price_unit = models.CharField(
        _("unité de prix (séjours)"), max_length=10, choices=Unit.choices, default=Unit.STAY
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("tarif")
        verbose_name_plural = _("tarifs")
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gte=0) & Q(floor__gte=0) & Q(suggested__gte=0),
                name="tier_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(pay_what_you_can=False) | Q(floor__lte=F("suggested")),
                name="tier_floor_le_suggested",
            ),
            models.CheckConstraint(
                condition=Q(quota__isnull=True) | Q(quota__gte=1), name="tier_quota_1"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SeatCount(models.Model):
    """Seats held at a tier (tickets of confirmed or offered registrations): a counter.

    The check a new registration makes under the event's lock reads it instead of counting
    the event's registrations, so that it costs the same at the 10th and at the 10,000th
    (it is serialised: its time bounds an event's registrations per second). Only
    events/services.py changes it, by `_seats_change`, in the same transaction and under the
    same guard as the registrations whose holding changes; `seats_drift` compares it with the
    registrations themselves. A row appears on the tier's first seat."""

    tier = models.OneToOneField(
        TicketTier, on_delete=models.CASCADE, primary_key=True, related_name="seat_count"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="seat_counts")
    held = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(held__gte=0), name="seat_count_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.tier_id}: {self.held}"


class Registration(models.Model):
    """One order: one or more attendees (tickets) registered together."""

    class Status(models.TextChoices):
        CONFIRMED = "confirmee", _("Confirmée")
        WAITLISTED = "liste_attente", _("Liste d'attente")
        OFFERED = "offre", _("Place proposée")
        CANCELLED = "annulee", _("Annulée")

    HOLDING = (Status.CONFIRMED, Status.OFFERED)  # hold seats
    ACTIVE = (Status.CONFIRMED, Status.WAITLISTED, Status.OFFERED)  # one per person

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="registrations")
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="registrations")
    person = models.ForeignKey(
        Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="registrations"
    )
    visitor_name = models.CharField(_("nom"), max_length=200, blank=True)
    # Lower-cased; for a member, their e-mail at the time of registering.
    visitor_email = models.EmailField(_("e-mail"), blank=True)
    status = models.CharField(
        _("état"), max_length=15, choices=Status.choices, default=Status.CONFIRMED
    )
    seats = models.PositiveIntegerField(_("places"), default=1)
    amount_total = models.DecimalField(
        _("montant total (€)"), max_digits=10, decimal_places=2, default=Decimal("0")
    )
    created_at = models.DateTimeField(default=tz.now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(_("offre valable jusqu'au"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("inscription")
        verbose_name_plural = _("inscriptions")
        indexes = [
            # The waitlist, oldest first; and the duplicate checks.
            models.Index(fields=["event", "status", "created_at"]),
            models.Index(fields=["event", "visitor_email"]),
            models.Index(fields=["event", "person"]),
            models.Index(fields=["status", "offer_expires_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(seats__gte=1), name="registration_seats_1"),
            models.CheckConstraint(
                condition=Q(amount_total__gte=0), name="registration_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        who = self.visitor_name or self.visitor_email or str(self.person_id)
        return f"{who} ({self.seats})"


class Ticket(models.Model):
    """One attendee of a registration; holds one seat while the registration holds."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="tickets")
    # Denormalised from the registration: the hot reads count seats per event and tier.
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="tickets")
    tier = models.ForeignKey(TicketTier, on_delete=models.PROTECT, related_name="tickets")
    name = models.CharField(_("nom"), max_length=200)
    email = models.EmailField(_("e-mail"), blank=True)
    amount = models.DecimalField(
        _("montant (€)"), max_digits=9, decimal_places=2, default=Decimal("0")
    )
    qr_token = models.CharField(max_length=40, unique=True, default=new_qr_token, editable=False)
    checked_in_at = models.DateTimeField(_("arrivée"), null=True, blank=True)

    class Meta:
        ordering = ["registration", "id"]
        verbose_name = _("billet")
        verbose_name_plural = _("billets")
        indexes = [models.Index(fields=["event", "tier"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="ticket_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name
