"""What a place knows of the network: its own actor and keys, the remote actors it deals
with, who follows whom, what it sent (outbox and one delivery row per inbox) and what it
received (inbox items, and the remote events, commons and pages kept for the network views).

Delivery and inbox processing are database-backed state machines (the Takahe idea): the
web request only stores, `conciergerie federation deliver` does the slow network work with
retries, so a place that was down catches up when it is back.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from conciergerie.core.models import Place

URL_LENGTH = 500


class LocalActor(models.Model):
    """A place as an ActivityPub actor: its key pair and how it takes new followers."""

    place = models.OneToOneField(Place, on_delete=models.CASCADE, related_name="actor")
    private_key_pem = models.TextField(editable=False)
    public_key_pem = models.TextField(editable=False)
    key_created_at = models.DateTimeField(default=timezone.now, editable=False)
    approve_followers = models.BooleanField(
        _("valider chaque nouvel abonné"),
        default=False,
        help_text=_("Sinon, tout lieu ou compte qui s'abonne est accepté d'office."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"actor:{self.place.slug}"


class RemoteActor(models.Model):
    """Another instance's actor (a place, a Mobilizon group, a Mastodon account…), as fetched."""

    url = models.URLField(max_length=URL_LENGTH, unique=True)
    domain = models.CharField(max_length=255, db_index=True)
    type = models.CharField(max_length=30, default="Organization")
    username = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=200, blank=True)
    summary = models.TextField(blank=True)
    profile_url = models.URLField(max_length=URL_LENGTH, blank=True)
    inbox = models.URLField(max_length=URL_LENGTH)
    shared_inbox = models.URLField(max_length=URL_LENGTH, blank=True)
    outbox = models.URLField(max_length=URL_LENGTH, blank=True)
    key_id = models.URLField(max_length=URL_LENGTH, blank=True)
    public_key_pem = models.TextField(blank=True)
    street = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=60, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    blocked = models.BooleanField(default=False)
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "url"]

    def __str__(self) -> str:
        return self.handle

    @property
    def handle(self) -> str:
        return f"{self.username or '?'}@{self.domain}"

    @property
    def label(self) -> str:
        return self.name or self.handle


class BlockedDomain(models.Model):
    """An instance nobody here talks to: its requests are refused, nothing is sent to it."""

    domain = models.CharField(max_length=255, unique=True)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return self.domain


class Follow(models.Model):
    """One follow between a local place and a remote actor, in either direction."""

    class Direction(models.TextChoices):
        FOLLOWING = "following", _("abonnement du lieu")  # the place follows the remote actor
        FOLLOWER = "follower", _("abonné au lieu")  # the remote actor follows the place

    class State(models.TextChoices):
        PENDING = "pending", _("en attente")
        ACCEPTED = "accepted", _("accepté")
        REJECTED = "rejected", _("refusé")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="follows")
    remote = models.ForeignKey(RemoteActor, on_delete=models.CASCADE, related_name="follows")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    activity_id = models.URLField(max_length=URL_LENGTH, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["place", "remote", "direction"], name="federation_follow_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.place_id} {self.direction} {self.remote_id} ({self.state})"


class Activity(models.Model):
    """An activity a place sent: its outbox, and the source of its deliveries."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="activities")
    ap_id = models.URLField(max_length=URL_LENGTH, unique=True)
    type = models.CharField(max_length=30)
    object_id = models.URLField(max_length=URL_LENGTH, blank=True, db_index=True)
    payload = models.JSONField()
    public = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.ap_id}"


class Delivery(models.Model):
    """One activity to one inbox, retried with exponential backoff until it lands."""

    class State(models.TextChoices):
        PENDING = "pending", _("à envoyer")
        DONE = "done", _("remis")
        FAILED = "failed", _("abandonné")

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="deliveries")
    inbox = models.URLField(max_length=URL_LENGTH)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["activity", "inbox"], name="federation_delivery_once")
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="federation_due")]

    def __str__(self) -> str:
        return f"{self.activity_id} → {self.inbox} ({self.state})"


class InboxItem(models.Model):
    """A verified activity received from another instance, kept once per activity id."""

    class State(models.TextChoices):
        RECEIVED = "received", _("reçu")
        DONE = "done", _("traité")
        IGNORED = "ignored", _("ignoré")
        FAILED = "failed", _("en erreur")

    ap_id = models.URLField(max_length=URL_LENGTH, unique=True)
    actor = models.ForeignKey(RemoteActor, on_delete=models.CASCADE, related_name="sent")
    place = models.ForeignKey(Place, on_delete=models.CASCADE, null=True, blank=True)
    type = models.CharField(max_length=30)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.RECEIVED)
    error = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [models.Index(fields=["state", "received_at"], name="federation_inbox_due")]

    def __str__(self) -> str:
        return f"{self.type} {self.ap_id} ({self.state})"


class RemoteObject(models.Model):
    """An event, commons, page or piece of equipment published by a remote actor."""

    class Kind(models.TextChoices):
        EVENT = "event", _("évènement")
        COMMONS = "commons", _("commun")
        PAGE = "page", _("page de documentation")
        EQUIPMENT = "equipment", _("équipement à prêter")

    ap_id = models.URLField(max_length=URL_LENGTH, unique=True)
    actor = models.ForeignKey(RemoteActor, on_delete=models.CASCADE, related_name="published")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    content = models.TextField(blank=True)  # plain text, tags stripped on receipt
    url = models.URLField(max_length=URL_LENGTH, blank=True)
    start_at = models.DateTimeField(null=True, blank=True)
    end_at = models.DateTimeField(null=True, blank=True)
    location = models.CharField(max_length=300, blank=True)
    capacity = models.PositiveIntegerField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    payload = models.JSONField()
    published_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "start_at"], name="federation_object_kind")]

    def __str__(self) -> str:
        return self.name
