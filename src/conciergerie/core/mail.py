"""E-mail: every message is sent by a background task and kept in the outbox.

In the demo the outbox backend is the only backend, so a person trying the
demo reads in the UI what would have been sent. With SMTP configured the
messages go out and the outbox keeps a copy.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django_tasks import task

from conciergerie.core.models import OutboxMessage, Place

PLACE_HEADER = "X-Conciergerie-Place"
BASE64 = "base64"


class OutboxEmailBackend(BaseEmailBackend):
    """Stores messages instead of sending them."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            _keep(message)
        return len(email_messages)


def _kept_attachment(filename: str, content: str | bytes, mimetype: str) -> dict[str, Any]:
    """JSON-safe copy of an attachment: text as is, binary (an image…) as base64."""
    if isinstance(content, bytes):
        return {
            "filename": filename,
            "mimetype": mimetype,
            "content": base64.b64encode(content).decode("ascii"),
            "encoding": BASE64,
            "size": len(content),
        }
    text = str(content)
    return {
        "filename": filename,
        "mimetype": mimetype,
        "content": text,
        "size": len(text.encode()),
    }


def _keep(message: EmailMessage) -> None:
    slug = (message.extra_headers or {}).get(PLACE_HEADER)
    place = Place.objects.filter(slug=slug).first() if slug else None
    OutboxMessage.objects.create(
        place=place,
        to=", ".join(message.to),
        subject=str(message.subject),
        body=str(message.body),
        attachments=[
            _kept_attachment(a[0], a[1], a[2])
            for a in message.attachments
            if isinstance(a, tuple | list) and len(a) == 3
        ],
    )


def attachment_content(attachment: dict[str, Any]) -> str | bytes:
    """The content of an attachment kept in the outbox (bytes when it was binary)."""
    if attachment.get("encoding") == BASE64:
        return base64.b64decode(attachment["content"])
    return str(attachment.get("content", ""))


def _payload(attachment: Sequence[Any]) -> list[str]:
    """Task payloads are JSON: binary content travels as [filename, base64, mimetype, "base64"]."""
    filename, content, mimetype = attachment[0], attachment[1], attachment[2]
    if isinstance(content, bytes):
        return [filename, base64.b64encode(content).decode("ascii"), mimetype, BASE64]
    return [str(x) for x in attachment]


@task()
def deliver_email(
    *,
    place_slug: str,
    to: list[str],
    subject: str,
    body: str,
    attachments: list[list[str]] | None = None,
) -> None:
    """attachments: [filename, text content, mimetype], e.g. an .ics invitation, or
    [filename, base64 content, mimetype, "base64"] for binary files (a QR code image)."""
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers={PLACE_HEADER: place_slug} if place_slug else None,
    )
    for filename, content, mimetype, *encoding in attachments or []:
        data: str | bytes = base64.b64decode(content) if encoding == [BASE64] else content
        message.attach(filename, data, mimetype)
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
    attachments: Sequence[Sequence[Any]] | None = None,
) -> None:
    """Queue an e-mail once the current transaction has committed.

    attachments: [filename, content, mimetype]; content is text (an .ics) or bytes (an image).
    """
    slug = place.slug if place else ""
    payload = [_payload(a) for a in attachments or []]
    transaction.on_commit(
        lambda: deliver_email.enqueue(
            place_slug=slug, to=to, subject=subject, body=body, attachments=payload
        )
    )
