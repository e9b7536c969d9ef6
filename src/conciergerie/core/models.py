"""The tenant (Place), accounts and roles, API tokens, audit log and e-mail outbox."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.urls import reverse
from django.utils import timezone as tz
from django.utils.translation import gettext_lazy as _

from conciergerie.core.validators import validate_opening_hours, validate_siret


class PublicObject(models.Model):
    """Anything that may be seen from outside: a stable UUID and a canonical URL."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True

    def get_absolute_url(self) -> str:  # pragma: no cover - each model says its own
        raise NotImplementedError

    def get_canonical_url(self) -> str:
        """The absolute URL other instances and exports use."""
        return settings.BASE_URL + self.get_absolute_url()


class Place(PublicObject):
    class Typology(models.TextChoices):
        COWORKING = "coworking", _("Coworking")
        FABLAB = "fablab", _("Fablab / makerspace / hackerspace")
        CULTUREL = "culturel", _("Tiers-lieu culturel")
        ATELIERS = "ateliers", _("Ateliers partagés")
        LIVING_LAB = "living_lab", _("Living lab / innovation sociale")
        NOURRICIER = "nourricier", _("Nourricier / cuisine partagée")
        MEDIATION = "mediation", _("Médiation numérique")
        OTHER = "autre", _("Autre")

    class LegalForm(models.TextChoices):
        ASSOCIATION = "association", _("Association")
        SCIC = "scic", _("SCIC")
        SCOP = "scop", _("SCOP")
        COMPANY = "societe", _("SARL / SAS")
        COLLECTIVITE = "collectivite", _("Collectivité")
        INFORMAL = "collectif", _("Collectif informel")
        OTHER = "autre", _("Autre")

    slug = models.SlugField(_("identifiant court"), max_length=60, unique=True)
    name = models.CharField(_("nom"), max_length=200)
    description = models.TextField(_("description (Markdown)"), blank=True)
    typology = models.CharField(
        _("typologie"), max_length=20, choices=Typology.choices, default=Typology.OTHER
    )
    legal_form = models.CharField(
        _("forme juridique"), max_length=20, choices=LegalForm.choices, default=LegalForm.OTHER
    )
    siret = models.CharField(_("SIRET"), max_length=14, blank=True, validators=[validate_siret])
    street = models.CharField(_("adresse"), max_length=200, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=10, blank=True)
    city = models.CharField(_("ville"), max_length=100, blank=True)
    country = models.CharField(_("pays"), max_length=2, default="FR")
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    opening_hours = models.JSONField(
        _("horaires d'ouverture"), default=dict, blank=True, validators=[validate_opening_hours]
    )
    email = models.EmailField(_("e-mail de contact"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    website = models.URLField(_("site web"), blank=True)
    logo = models.ImageField(_("logo"), upload_to="places/logos/", blank=True)
    timezone = models.CharField(_("fuseau horaire"), max_length=50, default="Europe/Paris")
    created_at = models.DateTimeField(default=tz.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("lieu")
        verbose_name_plural = _("lieux")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("core:place", kwargs={"place_slug": self.slug})

    @property
    def address_line(self) -> str:
        parts = [self.street, " ".join(p for p in (self.postal_code, self.city) if p)]
        return ", ".join(p for p in parts if p)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """An account: logs in with its e-mail. What it may do depends on its PlaceRoles."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("e-mail"), unique=True)
    full_name = models.CharField(_("nom complet"), max_length=200, blank=True)
    language = models.CharField(_("langue"), max_length=5, choices=settings.LANGUAGES, default="fr")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=tz.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []  # noqa: RUF012 - Django reads it as a class attribute

    class Meta:
        verbose_name = _("compte")
        verbose_name_plural = _("comptes")

    def __str__(self) -> str:
        return self.full_name or self.email


class Role(models.TextChoices):
    MEMBER = "member", _("Membre")
    CONCIERGE = "concierge", _("Concierge")
    ADMIN = "admin", _("Administrateur·rice")


class PlaceRole(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="place_roles")
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(default=tz.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "place"], name="one_role_per_user_and_place")
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.place} ({self.get_role_display()})"


class Invitation(models.Model):
    """A concierge invites someone by e-mail; accepting it creates the account and role."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=tz.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class ApiToken(models.Model):
    """A Bearer token. Only its SHA-256 is stored; the token itself is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(default=tz.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)


class LoginAttempt(models.Model):
    """Failed logins, kept in the database so the limit holds across processes."""

    email = models.CharField(max_length=254, db_index=True)
    ip = models.GenericIPAddressField(null=True, db_index=True)
    created_at = models.DateTimeField(default=tz.now, db_index=True)


class AuditEntry(models.Model):
    place = models.ForeignKey(
        Place, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_entries"
    )
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=60)
    target_uuid = models.UUIDField(null=True, blank=True)
    target_label = models.CharField(max_length=254, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=tz.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["place", "-created_at"])]


class OutboxMessage(models.Model):
    """Every e-mail the instance sent, readable in the UI (in the demo, nothing leaves)."""

    place = models.ForeignKey(
        Place, on_delete=models.CASCADE, null=True, blank=True, related_name="outbox"
    )
    to = models.TextField()
    subject = models.CharField(max_length=255)
    body = models.TextField()
    # [{"filename", "mimetype", "content"}]: text attachments such as .ics invitations
    attachments = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=tz.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
