"""What a place shows the network: its public events, validated commons and documentation
pages, as ActivityPub objects; and the hooks that publish their changes to followers.

The hooks listen to the domain models' saves rather than being called by each domain's
services: events, commons and pages stay unaware of the federation, and a failure here
never undoes the change a concierge made (it runs after the commit and is logged).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from conciergerie.commons.models import Commons, Page
from conciergerie.core.models import Place
from conciergerie.events.models import Event
from conciergerie.federation import services, vocab
from conciergerie.federation.models import Activity, LocalActor

log = logging.getLogger(__name__)

KINDS: dict[str, Any] = {"evenement": Event, "commun": Commons, "page": Page}


def _is_public(obj: Any) -> bool:
    if isinstance(obj, Event):
        return obj.visibility == Event.Visibility.PUBLIC
    if isinstance(obj, Commons):
        return obj.status == Commons.Status.VALIDATED
    return isinstance(obj, Page)


def document_of(obj: Any) -> dict[str, Any]:
    if isinstance(obj, Event):
        return vocab.event_object(obj)
    if isinstance(obj, Commons):
        return vocab.commons_object(obj)
    return vocab.page_object(obj)


def kind_of_model(model: type) -> str:
    return next(k for k, m in KINDS.items() if m is model)


def public_object(place: Place, kind: str, uuid: Any) -> tuple[dict[str, Any], str] | None:
    """The ActivityPub document of a public object and its page's URL, or None."""
    model = KINDS.get(kind)
    if model is None:
        return None
    related = ["place", "resource"] if model is Event else ["place"]
    obj = model.objects.select_related(*related).filter(place=place, uuid=uuid).first()
    if obj is None or not _is_public(obj):
        return None
    return document_of(obj), obj.get_absolute_url()


def instance_counts() -> dict[str, int]:
    return {
        "places": Place.objects.count(),
        "posts": Activity.objects.filter(public=True, type="Create").count(),
    }


def _publish(model: Any, pk: int, place_id: int, uuid: Any, deleted: bool) -> None:
    try:
        # A place nobody reached through the network has no actor: one cheap query, no more.
        if not LocalActor.objects.filter(place_id=place_id).exists():
            return
        place = Place.objects.get(pk=place_id)
        obj = None if deleted else model.objects.filter(pk=pk).first()
        document = document_of(obj) if obj is not None and _is_public(obj) else None
        object_id = vocab.object_url(place, kind_of_model(model), uuid)
        with transaction.atomic():
            services.object_publish(place=place, document=document, object_id=object_id)
    except Exception:  # never break the concierge's change for the network's sake
        log.exception("federation: could not publish %s %s", model.__name__, pk)


def _on_save(sender: type, instance: Any, **kwargs: Any) -> None:
    args = (sender, instance.pk, instance.place_id, instance.uuid, False)
    transaction.on_commit(lambda: _publish(*args))


def _on_delete(sender: type, instance: Any, **kwargs: Any) -> None:
    args = (sender, instance.pk, instance.place_id, instance.uuid, True)
    transaction.on_commit(lambda: _publish(*args))


def connect() -> None:
    for model in KINDS.values():
        post_save.connect(_on_save, sender=model, dispatch_uid=f"federation-save-{model}")
        post_delete.connect(_on_delete, sender=model, dispatch_uid=f"federation-del-{model}")
