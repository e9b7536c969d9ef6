"""Bookable resources (rooms, desks, machines, equipment to lend) and their bookings.

Times are stored in UTC (Django's USE_TZ) and shown in the place's time zone.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone as tz
from django.utils.translation import gettext_lazy as _

from conciergerie.community.models import Organisation, Person
from conciergerie.core.models import Place, PublicObject
from conciergerie.core.validators import validate_opening_hours


class Resource(PublicObject):
    class Kind(models.TextChoices):
        ROOM = "salle", _("Salle")
        DESK = "bureau", _("Bureau / poste de coworking")
        MACHINE = "machine", _("Machine")
        EQUIPMENT = "materiel", _("Matériel à prêter")

    class Audience(models.TextChoices):
        MEMBERS = "member", _("Membres du lieu")
        CONCIERGES = "concierge", _("Équipe du lieu seulement")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="resources")
    name = models.CharField(_("nom"), max_length=120)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.ROOM)
    capacity = models.PositiveIntegerField(
        _("capacité"), default=1, help_text=_("Places assises, postes ou exemplaires.")
    )
    features = models.JSONField(_("équipements"), default=list, blank=True)
    description = models.TextField(_("description (Markdown)"), blank=True)
    location = models.CharField(_("emplacement dans le lieu"), max_length=200, blank=True)
    # The cover: always the file of the first ResourcePhoto (see ResourcePhoto).
    photo = models.ImageField(_("photo"), upload_to="spaces/photos/", blank=True)
    opening_hours = models.JSONField(
        _("horaires de réservation"),
        default=dict,
        blank=True,
        validators=[validate_opening_hours],
        help_text=_("Vide : les horaires d'ouverture du lieu."),
    )
    # Who may book
    audience = models.CharField(
        _("qui peut réserver"), max_length=10, choices=Audience.choices, default=Audience.MEMBERS
    )
    requires_membership = models.BooleanField(_("adhésion à jour exigée"), default=False)
    requires_qualification = models.BooleanField(_("habilitation exigée"), default=False)
    organisations = models.ManyToManyField(
        Organisation,
        blank=True,
        related_name="reservable_resources",
        verbose_name=_("réservé aux membres de ces organisations"),
    )
    # Booking rules (minutes, days)
    min_minutes = models.PositiveIntegerField(_("durée minimale (min)"), default=30)
    max_minutes = models.PositiveIntegerField(_("durée maximale (min)"), default=8 * 60)
    slot_minutes = models.PositiveIntegerField(_("pas des créneaux (min)"), default=30)
    horizon_days = models.PositiveIntegerField(_("réservable jusqu'à (jours)"), default=90)
    lead_minutes = models.PositiveIntegerField(_("délai de prévenance (min)"), default=0)
    cancel_minutes = models.PositiveIntegerField(
        _("annulation possible jusqu'à (min avant)"), default=0
    )
    buffer_minutes = models.PositiveIntegerField(_("battement entre réservations (min)"), default=0)
    requires_approval = models.BooleanField(_("validation par l'équipe"), default=False)
    active = models.BooleanField(_("réservable"), default=True)
    # Lending to the other places of the network (federation publishes it: see
    # federation/publishing.py); only read for equipment (kind « matériel »).
    network_lending = models.BooleanField(
        _("prêté aux lieux du réseau"),
        default=False,
        help_text=_(
            "Pour le matériel : les lieux qui suivent le vôtre le verront dans leur page "
            "Réseau et pourront vous demander à l'emprunter."
        ),
    )
    lending_terms = models.TextField(
        _("conditions de prêt"),
        blank=True,
        help_text=_("Ce que vous demandez en échange : caution, durée, retrait sur place…"),
    )
    created_at = models.DateTimeField(default=tz.now, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("ressource")
        verbose_name_plural = _("ressources")
        indexes = [models.Index(fields=["place", "kind", "capacity"])]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="resource_capacity_1"),
            models.CheckConstraint(
                condition=Q(min_minutes__lte=F("max_minutes")), name="resource_min_le_max"
            ),
            models.CheckConstraint(condition=Q(slot_minutes__gte=1), name="resource_slot_1"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("spaces:resource", kwargs={"place_slug": self.place.slug, "uuid": self.uuid})


class Price(models.Model):
    """What a booking costs, per member category; recorded now, invoiced by billing later."""

    class Category(models.TextChoices):
        MEMBER = "membre", _("Membre à jour")
        NON_MEMBER = "non_membre", _("Non-membre")
        PARTNER = "partenaire", _("Organisation partenaire")

    class Unit(models.TextChoices):
        FREE = "gratuit", _("Gratuit")
        HOUR = "heure", _("À l'heure")
        HALF_DAY = "demi_journee", _("À la demi-journée")
        DAY = "journee", _("À la journée")

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="prices")
    category = models.CharField(_("catégorie"), max_length=12, choices=Category.choices)
    unit = models.CharField(_("unité"), max_length=12, choices=Unit.choices, default=Unit.FREE)
    amount = models.DecimalField(
        _("montant TTC (€)"), max_digits=9, decimal_places=2, default=Decimal("0")
    )

    class Meta:
        ordering = ["resource", "category"]
        constraints = [
            models.UniqueConstraint(fields=["resource", "category"], name="price_one_per_category"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="price_not_negative"),
        ]


class ResourcePhoto(models.Model):
    """One photo of a resource, shown in `position` order (0 first) on its public page.

    Resource.photo is kept as the cover rather than dropped: the photo services keep it
    equal to the first photo's file, so a page learns whether there are photos (and can
    show the cover) without one more query, and whatever already reads Resource.photo
    keeps working. Migration 0003 copies a cover set before it into this table.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("photo"), upload_to="spaces/photos/")
    alt = models.CharField(
        _("description de la photo"),
        max_length=200,
        blank=True,
        help_text=_("Ce que montre la photo, pour les personnes qui ne la voient pas."),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(default=tz.now, editable=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        indexes = [models.Index(fields=["resource", "position"])]

    def __str__(self) -> str:
        return self.alt or self.image.name or ""


class Closure(models.Model):
    """A period when nothing can be booked: the whole place, or one resource out of service."""

    class Kind(models.TextChoices):
        CLOSED = "fermeture", _("Fermeture (congés, jour férié)")
        OUT_OF_SERVICE = "hors_service", _("Hors service (panne, maintenance)")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="closures")
    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, null=True, blank=True, related_name="closures"
    )
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices, default=Kind.CLOSED)
    start_at = models.DateTimeField(_("début"))
    end_at = models.DateTimeField(_("fin"))
    reason = models.CharField(_("motif"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=tz.now, editable=False)

    class Meta:
        ordering = ["start_at"]
        indexes = [models.Index(fields=["place", "start_at", "end_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(end_at__gt=F("start_at")), name="closure_end_after")
        ]


class MaintenanceEntry(models.Model):
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="maintenance")
    date = models.DateField(_("date"), default=tz.localdate)
    note = models.TextField(_("intervention"))
    performed_by = models.CharField(_("fait par"), max_length=120, blank=True)
    remarks = models.TextField(_("remarques"), blank=True)
    cost = models.DecimalField(_("coût (€)"), max_digits=9, decimal_places=2, null=True, blank=True)
    # Who wrote the entry down (the team member), not necessarily who did the work.
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=tz.now, editable=False)

    class Meta:
        ordering = ["-date", "-id"]


class Qualification(models.Model):
    """A training record: the person may book the machine from `granted_on` to `valid_until`."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="qualifications")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="qualifications")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="qualifications")
    granted_on = models.DateField(_("formé·e le"))
    valid_until = models.DateField(_("valable jusqu'au"), null=True, blank=True)
    trainer = models.CharField(_("formateur·rice"), max_length=120, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=tz.now, editable=False)

    class Meta:
        ordering = ["-granted_on"]
        indexes = [models.Index(fields=["person", "resource"])]


class BookingSeries(PublicObject):
    """A recurring booking: an RFC 5545 RRULE whose occurrences are individual bookings."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="booking_series")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="series")
    rrule = models.CharField(_("règle de récurrence (RRULE)"), max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=tz.now, editable=False)

    def get_absolute_url(self) -> str:
        return reverse(
            "spaces:resource", kwargs={"place_slug": self.place.slug, "uuid": self.resource.uuid}
        )


class Booking(PublicObject):
    class Status(models.TextChoices):
        PENDING = "en_attente", _("En attente de validation")
        CONFIRMED = "confirmee", _("Confirmée")
        REFUSED = "refusee", _("Refusée")
        CANCELLED = "annulee", _("Annulée")

    # Statuses that hold capacity: a pending request holds its slot until it is decided,
    # so approving it can never overbook.
    HOLDING = (Status.PENDING, Status.CONFIRMED)

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="bookings")
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="bookings")
    person = models.ForeignKey(
        Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="bookings"
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="bookings",
        verbose_name=_("organisation emprunteuse"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    series = models.ForeignKey(
        BookingSeries, on_delete=models.SET_NULL, null=True, blank=True, related_name="bookings"
    )
    start_at = models.DateTimeField(_("début"))
    end_at = models.DateTimeField(_("fin"))
    seats = models.PositiveIntegerField(_("places / exemplaires"), default=1)
    status = models.CharField(
        _("état"), max_length=12, choices=Status.choices, default=Status.CONFIRMED
    )
    # True when the resource has a capacity of 1: PostgreSQL's exclusion constraint applies.
    exclusive = models.BooleanField(default=False, editable=False)
    title = models.CharField(_("objet"), max_length=200, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(default=tz.now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(_("arrivée"), null=True, blank=True)
    no_show = models.BooleanField(_("absent·e"), default=False)
    # Lending: hand-over and return with the condition seen each time.
    handed_over_at = models.DateTimeField(_("remis le"), null=True, blank=True)
    handover_notes = models.TextField(_("état au départ"), blank=True)
    returned_at = models.DateTimeField(_("rendu le"), null=True, blank=True)
    return_notes = models.TextField(_("état au retour"), blank=True)
    # The charge is fixed at confirmation and never before; billing invoices it later.
    price_category = models.CharField(max_length=12, blank=True)
    price_unit = models.CharField(max_length=12, blank=True)
    amount_due = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    charged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start_at", "id"]
        indexes = [
            models.Index(fields=["resource", "status", "start_at", "end_at"]),
            models.Index(fields=["place", "start_at"]),
            models.Index(fields=["person", "start_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end_at__gt=F("start_at")), name="booking_end_after"),
            models.CheckConstraint(condition=Q(seats__gte=1), name="booking_seats_1"),
        ]

    def __str__(self) -> str:
        return f"{self.resource} {self.start_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("spaces:booking", kwargs={"place_slug": self.place.slug, "uuid": self.uuid})


class WaitlistEntry(models.Model):
    """Someone who wants a full slot; offered the slot automatically when one frees up."""

    class Status(models.TextChoices):
        WAITING = "attente", _("En liste d'attente")
        OFFERED = "proposee", _("Place proposée")
        BOOKED = "reservee", _("Réservée")
        EXPIRED = "expiree", _("Expirée")
        CANCELLED = "annulee", _("Annulée")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="waitlist")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="waitlist")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="waitlist")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    seats = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    booking = models.ForeignKey(
        Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=tz.now, editable=False)
    offered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]


class CalendarFeed(models.Model):
    """A person's private calendar address: whoever holds the token reads their bookings."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="calendar_feed")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=tz.now, editable=False)
