"""What a place shows the network: its public events, validated commons, documentation
pages and the equipment it lends to other places, as ActivityPub objects; and the hooks
that publish their changes to followers.

The hooks listen to the domain models' saves rather than being called by each domain's
services: events, commons, pages and resources stay unaware of the federation, and a
failure here never undoes the change a concierge made (it runs after the commit and is
logged).
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
from conciergerie.spaces.models import Resource, ResourcePhoto

log = logging.getLogger(__name__)

KINDS: dict[str, Any] = {
    "evenement": Event,
    "commun": Commons,
    "page": Page,
    "materiel": Resource,
}


def _is_public(obj: Any) -> bool:
    if isinstance(obj, Event):
        return obj.visibility == Event.Visibility.PUBLIC
    if isinstance(obj, Commons):
        return obj.status == Commons.Status.VALIDATED
    if isinstance(obj, Resource):
        # Only what the team chose to lend (the flag), still in use (active), and only
        # equipment: rooms and machines are used on site, and the flag left ticked on a
        # resource whose type changed must not publish it. A change that ends any of the
        # three sends a Delete.
        return obj.network_lending and obj.active and obj.kind == Resource.Kind.EQUIPMENT
    return isinstance(obj, Page)


def document_of(obj: Any) -> dict[str, Any]:
    if isinstance(obj, Event):
        return vocab.event_object(obj)
    if isinstance(obj, Commons):
        return vocab.commons_object(obj)
    if isinstance(obj, Resource):
        return vocab.equipment_object(obj)
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


def _republish_resource(resource_id: int) -> None:
    row = Resource.objects.filter(pk=resource_id).values_list("place_id", "uuid").first()
    if row is not None:  # a resource deleted with its photos said so itself
        _publish(Resource, resource_id, row[0], row[1], False)


def _on_photo_change(sender: type, instance: Any, **kwargs: Any) -> None:
    # The cover is copied to the resource with .update() (no post_save of its own): a lent
    # piece of equipment is published again so that other places see its new photo.
    resource_id = instance.resource_id
    transaction.on_commit(lambda: _republish_resource(resource_id))


def connect() -> None:
    for model in KINDS.values():
        post_save.connect(_on_save, sender=model, dispatch_uid=f"federation-save-{model}")
        post_delete.connect(_on_delete, sender=model, dispatch_uid=f"federation-del-{model}")
    post_save.connect(_on_photo_change, sender=ResourcePhoto, dispatch_uid="federation-photo")
    post_delete.connect(_on_photo_change, sender=ResourcePhoto, dispatch_uid="federation-photo-del")
