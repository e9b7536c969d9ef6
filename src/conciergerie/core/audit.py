"""The audit log: who changed what, when, with old and new values."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.db import models

from conciergerie.core.models import AuditEntry, Place, User


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.fields.files.FieldFile):
        return value.name or ""
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    return {f: _plain(getattr(obj, f)) for f in fields}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    keys = list(dict.fromkeys([*before, *after]))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


def audit_record(
    *,
    place: Place | None,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    target_type: str = "",
    changes: dict[str, list[Any]] | None = None,
) -> AuditEntry:
    entry = audit_entry(
        place=place,
        actor=actor,
        action=action,
        target=target,
        target_type=target_type,
        changes=changes,
    )
    entry.save(force_insert=True)
    return entry


def audit_entry(
    *,
    place: Place | None,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    target_type: str = "",
    changes: dict[str, list[Any]] | None = None,
) -> AuditEntry:
    """The entry `audit_record` saves, unsaved: for a caller that writes it together with
    other statements (core.batch), in the same transaction as the change it records."""
    return AuditEntry(
        place=place,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=(actor.email if actor is not None and actor.pk else "système"),
        action=action,
        target_type=target_type or (str(target._meta.model_name) if target is not None else ""),
        target_uuid=getattr(target, "uuid", None),
        target_label=str(target)[:254] if target is not None else "",
        changes={k: [_plain(v) for v in pair] for k, pair in (changes or {}).items()},
    )
