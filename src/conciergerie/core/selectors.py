"""Reads of the core domain, one per screen or endpoint."""

from __future__ import annotations

from django.db.models import QuerySet

from conciergerie.core.models import AuditEntry, Invitation, OutboxMessage, Place, PlaceRole, User


def places_public() -> QuerySet[Place]:
    return Place.objects.order_by("name")


def place_by_slug(*, slug: str) -> Place | None:
    return Place.objects.filter(slug=slug).first()


def audit_entries(*, place: Place, action_prefix: str = "") -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.filter(place=place).select_related("actor")
    if action_prefix:
        qs = qs.filter(action__startswith=action_prefix)
    return qs


def outbox_messages(*, place: Place) -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(place=place)


def team(*, place: Place) -> QuerySet[PlaceRole]:
    return (
        PlaceRole.objects.filter(place=place).select_related("user").order_by("role", "user__email")
    )


def pending_invitations(*, place: Place) -> QuerySet[Invitation]:
    return Invitation.objects.filter(place=place, accepted_at__isnull=True).select_related(
        "invited_by"
    )


def places_of_user(*, user: User) -> QuerySet[PlaceRole]:
    return PlaceRole.objects.filter(user=user).select_related("place").order_by("place__name")
