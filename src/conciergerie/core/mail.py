"""E-mail: every message is sent by a background task and kept in the outbox.

In the demo the outbox backend is the only backend, so a person trying the
demo reads in the UI what would have been sent. With SMTP configured the
messages go out and the outbox keeps a copy.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django_tasks import task

from conciergerie.core.models import OutboxMessage, Place

PLACE_HEADER = "X-Conciergerie-Place"


class OutboxEmailBackend(BaseEmailBackend):
    """Stores messages instead of sending them."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            _keep(message)
        return len(email_messages)


def _keep(message: EmailMessage) -> None:
    slug = (message.extra_headers or {}).get(PLACE_HEADER)
    place = Place.objects.filter(slug=slug).first() if slug else None
    OutboxMessage.objects.create(
        place=place,
        to=", ".join(message.to),
        subject=str(message.subject),
        body=str(message.body),
        attachments=[
            {"filename": a[0], "mimetype": a[2], "content": str(a[1])}
            for a in message.attachments
            if isinstance(a, tuple | list) and len(a) == 3
        ],
    )


@task()
def deliver_email(
    *,
    place_slug: str,
    to: list[str],
    subject: str,
    body: str,
    attachments: list[list[str]] | None = None,
) -> None:
    """attachments: [filename, text content, mimetype], e.g. an .ics invitation."""
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers={PLACE_HEADER: place_slug} if place_slug else None,
    )
    for filename, content, mimetype in attachments or []:
        message.attach(filename, content, mimetype)
    backend = settings.EMAIL_BACKEND
    message.send()
    if backend != "conciergerie.core.mail.OutboxEmailBackend":
        _keep(message)


def email_send_on_commit(
    *,
    place: Place | None,
    to: list[str],
    subject: str,
    body: str,
    attachments: list[list[str]] | None = None,
) -> None:
    """Queue an e-mail once the current transaction has committed."""
    slug = place.slug if place else ""
    transaction.on_commit(
        lambda: deliver_email.enqueue(
            place_slug=slug, to=to, subject=subject, body=body, attachments=attachments or []
        )
    )
