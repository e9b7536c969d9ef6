"""People, organisations, memberships, the shared vocabulary and introductions."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from conciergerie.core.models import Place, PublicObject
from conciergerie.core.validators import validate_siret


class Visibility(models.TextChoices):
    PRIVATE = "private", _("Privé (moi et l'équipe du lieu)")
    MEMBERS = "members", _("Membres du lieu")
    PUBLIC = "public", _("Public")


class Facet(models.TextChoices):
    SKILL = "skill", _("Compétence")
    NEED = "need", _("Besoin")
    INTEREST = "interest", _("Centre d'intérêt")
    LENDABLE = "lendable", _("Peut prêter")


# The profile fields that carry their own visibility, in display order.
PROFILE_FIELDS = (
    "name",
    "email",
    "phone",
    "bio",
    "organisations",
    "skills",
    "needs",
    "interests",
    "lendables",
)
FACET_FIELD = {
    Facet.SKILL: "skills",
    Facet.NEED: "needs",
    Facet.INTEREST: "interests",
    Facet.LENDABLE: "lendables",
}


def _visibility_field(label: Any) -> models.CharField:
    return models.CharField(
        label, max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE
    )


class Tag(models.Model):
    """A word of the place's shared vocabulary: "soudure", "comptabilité", "vélo cargo"…"""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="tags")
    label = models.CharField(_("libellé"), max_length=80)
    folded = models.CharField(max_length=80, editable=False)

    class Meta:
        ordering = ["label"]
        constraints = [
            models.UniqueConstraint(fields=["place", "folded"], name="tag_unique_per_place")
        ]

    def __str__(self) -> str:
        return self.label


class Organisation(PublicObject):
    class Kind(models.TextChoices):
        ASSOCIATION = "association", _("Association")
        COMPANY = "entreprise", _("Entreprise")
        COLLECTIVITE = "collectivite", _("Collectivité")
        COOPERATIVE = "cooperative", _("Coopérative")
        OTHER = "autre", _("Autre")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="organisations")
    name = models.CharField(_("nom"), max_length=200)
    kind = models.CharField(
        _("type"), max_length=20, choices=Kind.choices, default=Kind.ASSOCIATION
    )
    siret = models.CharField(_("SIRET"), max_length=14, blank=True, validators=[validate_siret])
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    website = models.URLField(_("site web"), blank=True)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "place", Lower("name"), name="organisation_name_unique_per_place"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse(
            "community:organisation", kwargs={"place_slug": self.place.slug, "uuid": self.uuid}
        )


class Person(PublicObject):
    class Kind(models.TextChoices):
        MEMBER = "membre", _("Membre")
        VISITOR = "visiteur", _("Visiteur·euse")
        VOLUNTEER = "benevole", _("Bénévole")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="people")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="people",
    )
    first_name = models.CharField(_("prénom"), max_length=100)
    last_name = models.CharField(_("nom"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    kind = models.CharField(_("statut"), max_length=10, choices=Kind.choices, default=Kind.MEMBER)
    bio = models.TextField(_("présentation"), blank=True)
    skills_text = models.TextField(_("compétences (texte libre)"), blank=True)
    needs_text = models.TextField(_("besoins (texte libre)"), blank=True)
    interests_text = models.TextField(_("centres d'intérêt (texte libre)"), blank=True)
    lendables_text = models.TextField(_("peut prêter (texte libre)"), blank=True)
    organisations = models.ManyToManyField(
        Organisation, through="Affiliation", related_name="people", blank=True
    )
    tags = models.ManyToManyField(Tag, through="PersonTag", related_name="people", blank=True)

    name_visibility = _visibility_field(_("visibilité du nom"))
    email_visibility = _visibility_field(_("visibilité de l'e-mail"))
    phone_visibility = _visibility_field(_("visibilité du téléphone"))
    bio_visibility = _visibility_field(_("visibilité de la présentation"))
    organisations_visibility = _visibility_field(_("visibilité des organisations"))
    skills_visibility = _visibility_field(_("visibilité des compétences"))
    needs_visibility = _visibility_field(_("visibilité des besoins"))
    interests_visibility = _visibility_field(_("visibilité des centres d'intérêt"))
    lendables_visibility = _visibility_field(_("visibilité de ce que je peux prêter"))

    # Folded text for the directory search, one per audience, so that a search
    # never finds someone through a field the searcher may not read.
    search_all = models.TextField(default="", editable=False)
    search_members = models.TextField(default="", editable=False)
    search_public = models.TextField(default="", editable=False)
    # What the person offers (skills and lendables, tags and text), for mise en relation.
    search_offers = models.TextField(default="", editable=False)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        verbose_name = _("personne")
        verbose_name_plural = _("personnes")
        constraints = [
            models.UniqueConstraint(
                "place",
                Lower("email"),
                condition=~models.Q(email=""),
                name="person_email_unique_per_place",
            )
        ]
        indexes = [models.Index(fields=["place", "last_name", "first_name"])]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_absolute_url(self) -> str:
        return reverse(
            "community:person", kwargs={"place_slug": self.place.slug, "uuid": self.uuid}
        )


class PersonTag(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="person_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="person_tags")
    facet = models.CharField(max_length=10, choices=Facet.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "tag", "facet"], name="person_tag_unique")
        ]
        indexes = [models.Index(fields=["tag", "facet"])]


class Affiliation(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="affiliations")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="affiliations"
    )
    title = models.CharField(_("fonction"), max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "organisation"], name="affiliation_unique")
        ]


class Membership(PublicObject):
    """An adhésion: a person (possibly on behalf of an organisation) for a period."""

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente de paiement")
        PAID = "paid", _("Réglée")
        CANCELLED = "cancelled", _("Annulée")

    class Period(models.TextChoices):
        YEARLY = "yearly", _("Annuelle (12 mois)")
        CALENDAR = "calendar", _("Année civile")
        CUSTOM = "custom", _("Période libre")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="memberships")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("au titre de l'organisation"),
    )
    period = models.CharField(
        _("période"), max_length=10, choices=Period.choices, default=Period.YEARLY
    )
    start = models.DateField(_("début"))
    end = models.DateField(_("fin"))
    fee = models.DecimalField(
        _("cotisation (€)"),
        max_digits=10,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
    )
    status = models.CharField(
        _("état"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-end", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="membership_end_after_start"
            ),
        ]
        indexes = [models.Index(fields=["place", "end"])]

    def __str__(self) -> str:
        return f"{self.person} {self.start:%d/%m/%Y}–{self.end:%d/%m/%Y}"

    def get_absolute_url(self) -> str:
        return self.person.get_absolute_url() + f"#adhesion-{self.uuid}"


class Introduction(PublicObject):
    """A mise en relation: for a need, the concierge puts someone in touch with a helper."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("En attente de nouvelles")
        CONTACTED = "contacted", _("Contact pris")
        SUCCESS = "success", _("A abouti")
        NO_FOLLOW_UP = "no_follow_up", _("Sans suite")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="introductions")
    need = models.TextField(_("besoin"))
    requester = models.ForeignKey(
        Person,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="introductions_requested",
        verbose_name=_("personne qui a le besoin"),
    )
    helper = models.ForeignKey(
        Person,
        on_delete=models.CASCADE,
        related_name="introductions_helping",
        verbose_name=_("personne ressource"),
    )
    reason = models.CharField(_("pourquoi cette personne"), max_length=255, blank=True)
    note = models.TextField(_("note"), blank=True)
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    outcome = models.CharField(
        _("suite"), max_length=15, choices=Outcome.choices, default=Outcome.PENDING
    )
    outcome_note = models.TextField(_("commentaire sur la suite"), blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.requester or '—'} → {self.helper}"

    def get_absolute_url(self) -> str:
        return reverse(
            "community:introduction", kwargs={"place_slug": self.place.slug, "uuid": self.uuid}
        )


class ImportBatch(PublicObject):
    """An uploaded CSV kept between its preview and its confirmation."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="import_batches")
    filename = models.CharField(max_length=255)
    content = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    imported_at = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
