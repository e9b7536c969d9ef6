"""Billing: products and plans, subscriptions and their credits, invoices and credit notes,
payments, grants and donations.

Invoices follow French law. A draft has no number; `invoice_issue` gives it the next number
of its place, kind and year under a lock, copies seller and buyer data onto it, and chains
it to the place's previous document by hash. From then on the row never changes: the
database refuses any UPDATE of an issued invoice or of its lines (triggers, see migration
0001). Corrections are credit notes: their lines carry negative quantities and point to the
invoice they correct.

Amounts are Decimal euros. One rounding rule everywhere (EN 16931): each line's net amount
is rounded to the cent; VAT is computed per (category, rate) on the sum of those nets and
rounded to the cent; the total is their sum. See `billing/amounts.py`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone as tz
from django.utils.translation import gettext_lazy as _

from conciergerie.community.models import Organisation, Person
from conciergerie.core.models import Place, PublicObject


def _money(verbose_name: Any = None, **options: Any) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **options)


class Vat(models.TextChoices):
    """The VAT treatments a product may have; `vat_terms()` gives the EN 16931 codes."""

    STANDARD = "20", _("TVA 20 %")
    INTERMEDIATE = "10", _("TVA 10 %")
    REDUCED = "5.5", _("TVA 5,5 %")
    EXEMPT = "0", _("Exonéré de TVA (0 %)")
    FRANCHISE = "franchise", _("Franchise en base (art. 293 B du CGI)")


class Stream(models.TextChoices):
    """Where a euro of own activity comes from (revenue-mix reports)."""

    SUBSCRIPTIONS = "abonnements", _("Abonnements")
    RENTALS = "locations", _("Locations")
    EVENTS = "evenements", _("Évènements")
    SERVICES = "services", _("Prestations")
    MEMBERSHIPS = "adhesions", _("Adhésions")
    OTHER = "autre", _("Autre")


class CreditKind(models.TextChoices):
    DESK_DAYS = "jours_poste", _("Jours de coworking")
    ROOM_HOURS = "heures_salle", _("Heures de salle")
    MACHINE_HOURS = "heures_machine", _("Heures machine")


class BillingSettings(models.Model):
    """What a place prints on its invoices and how it bills."""

    place = models.OneToOneField(Place, on_delete=models.CASCADE, related_name="billing")
    legal_name = models.CharField(_("raison sociale"), max_length=200, blank=True)
    vat_number = models.CharField(_("numéro de TVA intracommunautaire"), max_length=20, blank=True)
    vat_franchise = models.BooleanField(
        _("franchise en base de TVA"),
        default=False,
        help_text=_("« TVA non applicable, art. 293 B du CGI » sur chaque facture."),
    )
    # Bounded: a due date or a reminder date must stay a date (huge values overflowed).
    payment_days = models.PositiveIntegerField(
        _("délai de paiement (jours)"),
        default=30,
        validators=[MaxValueValidator(365, _("Au plus 365 jours."))],
    )
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    legal_mentions = models.TextField(
        _("mentions légales"),
        blank=True,
        default=(
            "En cas de retard de paiement : pénalités au taux de trois fois le taux d'intérêt "
            "légal et indemnité forfaitaire pour frais de recouvrement de 40 € "
            "(art. L441-10 du Code de commerce). Pas d'escompte pour paiement anticipé."
        ),
    )
    # Entries dated on or before this day are locked: no invoice is issued and no payment
    # recorded in a closed period.
    closed_until = models.DateField(_("période close jusqu'au"), null=True, blank=True)
    reminder_days = models.PositiveIntegerField(
        _("relance tous les (jours)"),
        default=15,
        help_text=_("Après l'échéance."),
        validators=[MaxValueValidator(365, _("Au plus 365 jours."))],
    )

    def __str__(self) -> str:
        return self.legal_name or self.place.name


class Product(PublicObject):
    class Kind(models.TextChoices):
        MEMBERSHIP = "adhesion", _("Adhésion")
        PLAN = "forfait", _("Forfait de coworking (mensuel)")
        DAY_PASS = "pass_jour", _("Pass journée")
        PACK = "carnet", _("Carnet prépayé")
        ROOM_HOUR = "heure_salle", _("Location de salle (heure)")
        MACHINE_HOUR = "heure_machine", _("Machine (heure)")
        TICKET = "billet", _("Billet d'évènement")
        SERVICE = "prestation", _("Prestation (formation, accompagnement, production)")
        RENTAL = "location", _("Location")
        OTHER = "autre", _("Autre")

    class Unit(models.TextChoices):
        # UN/ECE Recommendation 20 codes, as Factur-X wants them.
        PIECE = "C62", _("unité")
        HOUR = "HUR", _("heure")
        DAY = "DAY", _("jour")
        MONTH = "MON", _("mois")

    STREAM_OF_KIND = {
        Kind.MEMBERSHIP: Stream.MEMBERSHIPS,
        Kind.PLAN: Stream.SUBSCRIPTIONS,
        Kind.DAY_PASS: Stream.SUBSCRIPTIONS,
        Kind.PACK: Stream.SUBSCRIPTIONS,
        Kind.ROOM_HOUR: Stream.RENTALS,
        Kind.MACHINE_HOUR: Stream.RENTALS,
        Kind.RENTAL: Stream.RENTALS,
        Kind.TICKET: Stream.EVENTS,
        Kind.SERVICE: Stream.SERVICES,
        Kind.OTHER: Stream.OTHER,
    }

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="products")
    name = models.CharField(_("nom"), max_length=200)
    kind = models.CharField(_("type"), max_length=15, choices=Kind.choices, default=Kind.OTHER)
    description = models.TextField(_("description"), blank=True)
    unit_price = models.DecimalField(_("prix unitaire HT (€)"), max_digits=12, decimal_places=2)
    vat = models.CharField(_("TVA"), max_length=10, choices=Vat.choices, default=Vat.STANDARD)
    unit = models.CharField(_("unité"), max_length=3, choices=Unit.choices, default=Unit.PIECE)
    # Monthly plans: credits granted each month (None: unlimited, 0: none).
    desk_days = models.DecimalField(
        _("jours de coworking par mois"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    room_hours = models.DecimalField(
        _("heures de salle par mois"), max_digits=6, decimal_places=2, default=0
    )
    machine_hours = models.DecimalField(
        _("heures machine par mois"), max_digits=6, decimal_places=2, default=0
    )
    # Prepaid packs: what one pack credits, valid this many days.
    pack_kind = models.CharField(
        _("le carnet crédite"), max_length=15, choices=CreditKind.choices, blank=True
    )
    pack_quantity = models.DecimalField(
        _("quantité du carnet"), max_digits=6, decimal_places=2, default=0
    )
    pack_valid_days = models.PositiveIntegerField(
        _("validité du carnet (jours)"),
        default=365,
        validators=[MaxValueValidator(3650, _("Au plus 3650 jours (dix ans)."))],
    )
    active = models.BooleanField(_("en vente"), default=True)
    created_at = models.DateTimeField(default=tz.now, editable=False)

    class Meta:
        ordering = ["kind", "name", "id"]
        verbose_name = _("produit")
        verbose_name_plural = _("produits")
        constraints = [
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="product_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def stream(self) -> str:
        return self.STREAM_OF_KIND.get(self.Kind(self.kind), Stream.OTHER)

    def get_absolute_url(self) -> str:
        return reverse("billing:product", kwargs={"place_slug": self.place.slug, "uuid": self.uuid})


class Subscription(PublicObject):
    """A customer's monthly plan. Billed per calendar month; a partial month is prorated."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("En cours")
        PAUSED = "pause", _("En pause")
        ENDED = "terminee", _("Terminée")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="subscriptions")
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="subscriptions"
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscriptions",
    )
    plan = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="subscriptions")
    start = models.DateField(_("début"))
    # The last day covered; None while it runs until cancelled (renewed each month).
    end = models.DateField(_("fin"), null=True, blank=True)
    paused_from = models.DateField(_("en pause à partir du"), null=True, blank=True)
    paused_until = models.DateField(_("en pause jusqu'au"), null=True, blank=True)
    # The subscription this one replaced (change of plan): the old one ends the day before.
    replaces = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaced_by"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=tz.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-start", "-id"]
        verbose_name = _("abonnement")
        verbose_name_plural = _("abonnements")
        indexes = [models.Index(fields=["place", "start", "end"])]
        constraints = [
            models.CheckConstraint(
                condition=(Q(person__isnull=False) & Q(organisation__isnull=True))
                | (Q(person__isnull=True) & Q(organisation__isnull=False)),
                name="subscription_one_customer",
            ),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")),
                name="subscription_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} — {self.person or self.organisation}"

    def get_absolute_url(self) -> str:
        return reverse(
            "billing:subscription", kwargs={"place_slug": self.place.slug, "uuid": self.uuid}
        )


class CreditLot(models.Model):
    """Credits granted at once (a month of a plan, a pack): usable between two dates."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="credit_lots")
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, null=True, blank=True, related_name="credit_lots"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, null=True, blank=True, related_name="credit_lots"
    )
    kind = models.CharField(max_length=15, choices=CreditKind.choices)
    quantity = models.DecimalField(max_digits=8, decimal_places=2)
    valid_from = models.DateField()
    valid_until = models.DateField()
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, null=True, blank=True, related_name="credit_lots"
    )
    # The invoice line that sold it (packs).
    invoice_line = models.ForeignKey(
        "InvoiceLine", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=tz.now, editable=False)

    class Meta:
        ordering = ["valid_until", "id"]
        indexes = [models.Index(fields=["place", "person", "kind", "valid_until"])]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="credit_lot_positive"),
            models.UniqueConstraint(
                fields=["subscription", "kind", "valid_from"],
                condition=Q(subscription__isnull=False),
                name="credit_lot_once_per_subscription_month",
            ),
        ]


class CreditUse(models.Model):
    """Credits a booking took from a lot (negative when given back)."""

    lot = models.ForeignKey(CreditLot, on_delete=models.CASCADE, related_name="uses")
    booking = models.ForeignKey(
        "spaces.Booking", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    quantity = models.DecimalField(max_digits=8, decimal_places=2)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=tz.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["booking"])]


class Invoice(PublicObject):
    class Kind(models.TextChoices):
        INVOICE = "facture", _("Facture")
        CREDIT_NOTE = "avoir", _("Avoir")

    class Status(models.TextChoices):
        DRAFT = "brouillon", _("Brouillon")
        ISSUED = "emise", _("Émise")

    PREFIX = {Kind.INVOICE: "F", Kind.CREDIT_NOTE: "AV"}

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="invoices")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.INVOICE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    # Credit notes: the invoice they correct.
    corrects = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    # Given at issue: F2026-00001, per place, kind and year, without gaps.
    number = models.CharField(_("numéro"), max_length=20, blank=True)
    year = models.PositiveIntegerField(null=True, blank=True)
    sequence = models.PositiveIntegerField(null=True, blank=True)
    issue_date = models.DateField(_("date d'émission"), null=True, blank=True)
    due_date = models.DateField(_("échéance"), null=True, blank=True)
    period_start = models.DateField(_("période du"), null=True, blank=True)
    period_end = models.DateField(_("au"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    # Copies made at issue: what was true that day, whatever changes later.
    seller = models.JSONField(default=dict, blank=True)
    buyer = models.JSONField(default=dict, blank=True)
    total_net = _money(_("total HT"), default=Decimal("0"))
    total_vat = _money(_("TVA"), default=Decimal("0"))
    total_gross = _money(_("total TTC"), default=Decimal("0"))
    # The hash chain of issued documents, per place, in issue order.
    chain_position = models.PositiveIntegerField(null=True, blank=True)
    previous_hash = models.CharField(max_length=64, blank=True)
    chain_hash = models.CharField(max_length=64, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=tz.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-issue_date", "-sequence", "-id"]
        verbose_name = _("facture")
        verbose_name_plural = _("factures")
        indexes = [
            models.Index(fields=["place", "status", "issue_date"]),
            models.Index(fields=["place", "person"]),
            models.Index(fields=["place", "organisation"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["place", "kind", "year", "sequence"],
                condition=Q(sequence__isnull=False),
                name="invoice_number_unique",
            ),
            models.UniqueConstraint(
                fields=["place", "chain_position"],
                condition=Q(chain_position__isnull=False),
                name="invoice_chain_position_unique",
            ),
            models.CheckConstraint(
                condition=Q(status="brouillon") | (Q(sequence__isnull=False) & ~Q(number="")),
                name="invoice_issued_has_number",
            ),
            models.CheckConstraint(
                condition=~(Q(person__isnull=False) & Q(organisation__isnull=False)),
                name="invoice_one_customer",
            ),
        ]

    def __str__(self) -> str:
        return self.number or str(_("Brouillon"))

    def get_absolute_url(self) -> str:
        return reverse("billing:invoice", kwargs={"place_slug": self.place.slug, "uuid": self.uuid})

    @property
    def is_issued(self) -> bool:
        return self.status == self.Status.ISSUED

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    label = models.CharField(_("désignation"), max_length=300)
    quantity = models.DecimalField(_("quantité"), max_digits=12, decimal_places=3)
    unit = models.CharField(max_length=3, choices=Product.Unit.choices, default=Product.Unit.PIECE)
    unit_price = _money(_("prix unitaire HT"))
    vat = models.CharField(_("TVA"), max_length=10, choices=Vat.choices)
    net_amount = _money(_("montant HT"))
    stream = models.CharField(max_length=15, choices=Stream.choices, default=Stream.OTHER)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    # What this line bills, so that it is billed once: "abo:<uuid>:2026-11",
    # "resa:<uuid>", "inscr:<uuid>". Freed when a draft is deleted.
    charge_key = models.CharField(max_length=80, blank=True)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, null=True, blank=True, related_name="lines"
    )
    # Credit-note lines: the line they correct.
    corrects = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections"
    )

    class Meta:
        ordering = ["invoice", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["charge_key"], condition=~Q(charge_key=""), name="invoice_line_billed_once"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="invoice_line_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.label


class InvoiceDocument(models.Model):
    """The PDF of an issued invoice, kept as first rendered (ten-year retention)."""

    invoice = models.OneToOneField(Invoice, on_delete=models.CASCADE, related_name="document")
    pdf = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=tz.now, editable=False)


class Payment(PublicObject):
    class Method(models.TextChoices):
        CASH = "especes", _("Espèces")
        CHEQUE = "cheque", _("Chèque")
        TRANSFER = "virement", _("Virement")
        CARD = "carte", _("Carte bancaire (terminal)")
        ONLINE = "en_ligne", _("Paiement en ligne")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="payments")
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    method = models.CharField(_("moyen de paiement"), max_length=10, choices=Method.choices)
    amount = _money(_("montant (€)"))
    received_on = models.DateField(_("reçu le"))
    reference = models.CharField(_("référence"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(default=tz.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name = _("paiement")
        verbose_name_plural = _("paiements")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount} €"

    def get_absolute_url(self) -> str:
        return reverse("billing:payments", kwargs={"place_slug": self.place.slug})


class PaymentAllocation(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = _money()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_positive"),
        ]


class Reminder(models.Model):
    """A payment reminder sent for an overdue invoice."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="reminders")
    sent_at = models.DateTimeField(default=tz.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-sent_at", "-id"]


class Funding(PublicObject):
    """Money that is not sold: public grants and private donations."""

    class Kind(models.TextChoices):
        PUBLIC_GRANT = "subvention", _("Subvention publique")
        DONATION = "don", _("Don privé")
        SPONSORSHIP = "mecenat", _("Mécénat d'entreprise")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="fundings")
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices)
    funder = models.CharField(_("financeur / donateur"), max_length=200)
    amount = _money(_("montant (€)"))
    received_on = models.DateField(_("reçu le"))
    purpose = models.CharField(_("objet"), max_length=255, blank=True)
    created_at = models.DateTimeField(default=tz.now, editable=False)

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name = _("financement")
        verbose_name_plural = _("financements")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="funding_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.funder} {self.amount} €"

    def get_absolute_url(self) -> str:
        return reverse("billing:fundings", kwargs={"place_slug": self.place.slug})


class BillingRun(models.Model):
    """One `conciergerie billing run --period YYYY-MM` for a place."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="billing_runs")
    period = models.DateField()  # first day of the month
    started_at = models.DateTimeField(default=tz.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    invoices_created = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
