"""The ActivityPub and discovery endpoints: WebFinger, NodeInfo, actors, inboxes, outboxes,
collections and objects. Thin: reads go to `publishing`/models, writes to `services`."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from importlib import metadata
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from conciergerie.core.models import Place
from conciergerie.federation import publishing, services, vocab
from conciergerie.federation.models import Activity, Follow

log = logging.getLogger(__name__)

ACTIVITY_JSON = "application/activity+json"
PAGE_SIZE = 20


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "activity+json" in accept or "ld+json" in accept or "application/json" in accept


def _ap(data: dict[str, Any], status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, content_type=ACTIVITY_JSON)
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _place(slug: str) -> Place:
    return get_object_or_404(Place, slug=slug)


def _signed_get(
    *, html: bool = False, key_endpoint: bool = False
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Check the signature of a GET when there is one (401 forged or expired, 403 from a
    blocked instance or account) and, with FEDERATION_AUTHORIZED_FETCH, refuse an unsigned
    one (401) unless it is a browser sent to the HTML page (`html`) or the actor, which
    carries the key every other check needs (`key_endpoint`)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                signer = services.signed_get_verify(
                    method=request.method or "GET",
                    path=request.get_full_path(),
                    headers=request.headers,
                    key_endpoint=key_endpoint,
                )
            except services.Refused as exc:
                log.info("federation: GET refused (%s): %s", exc.status, exc.reason)
                return JsonResponse({"detail": exc.reason}, status=exc.status)
            if (
                signer is None
                and not key_endpoint
                and settings.FEDERATION_AUTHORIZED_FETCH
                and (_wants_json(request) or not html)
            ):
                return JsonResponse({"detail": "signature required"}, status=401)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


@require_GET
def webfinger(request: HttpRequest) -> JsonResponse:
    """`acct:slug@host` (or the actor's URL) → the actor's address."""
    resource = request.GET.get("resource", "")
    slug = ""
    if resource.startswith("acct:"):
        user, _sep, host = resource[5:].lstrip("@").partition("@")
        if host.lower() == vocab.host().lower():
            slug = user
    elif resource.startswith(vocab.absolute("/ap/")):
        slug = resource[len(vocab.absolute("/ap/")) :].strip("/")
    place = Place.objects.filter(slug=slug).first() if slug and "/" not in slug else None
    if place is None:
        return JsonResponse({"detail": "unknown resource"}, status=404)
    actor = vocab.actor_url(place)
    response = JsonResponse(
        {
            "subject": f"acct:{place.slug}@{vocab.host()}",
            "aliases": [actor, vocab.absolute(place.get_absolute_url())],
            "links": [
                {"rel": "self", "type": ACTIVITY_JSON, "href": actor},
                {
                    "rel": "http://webfinger.net/rel/profile-page",
                    "type": "text/html",
                    "href": vocab.absolute(place.get_absolute_url()),
                },
            ],
        },
        content_type="application/jrd+json",
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def nodeinfo_links(request: HttpRequest) -> JsonResponse:
    href = vocab.absolute(reverse("federation:nodeinfo"))
    return JsonResponse(
        {"links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": href}]}
    )


def _version() -> str:
    try:
        return metadata.version("conciergerie")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a checkout
        return "0"


@require_GET
def nodeinfo(request: HttpRequest) -> JsonResponse:
    counts = publishing.instance_counts()
    return JsonResponse(
        {
            "version": "2.1",
            "software": {
                "name": "conciergerie",
                "version": _version(),
                "repository": "https://example.org/conciergerie",
            },
            "protocols": ["activitypub"],
            "services": {"inbound": [], "outbound": ["atom1.0"]},
            "openRegistrations": False,
            "usage": {"users": {"total": counts["places"]}, "localPosts": counts["posts"]},
            "metadata": {"nodeName": settings.BASE_URL, "places": counts["places"]},
        },
        content_type='application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"',
    )


@require_GET
@_signed_get(html=True, key_endpoint=True)
def actor(request: HttpRequest, place_slug: str) -> HttpResponse:
    """The place as an actor; a browser is sent to the place's page."""
    place = _place(place_slug)
    if not _wants_json(request):
        return HttpResponseRedirect(place.get_absolute_url())
    local = services.local_actor(place)
    return _ap(
        vocab.actor_document(place, local.public_key_pem, approve_followers=local.approve_followers)
    )


@csrf_exempt
@require_http_methods(["POST"])
def inbox(request: HttpRequest, place_slug: str | None = None) -> HttpResponse:
    """Verify, keep once, then act; other instances only need the 202."""
    place = _place(place_slug) if place_slug else None
    try:
        item = services.inbox_receive(
            method=request.method or "POST",
            path=request.get_full_path(),
            headers=request.headers,
            body=request.body,
            place=place,
        )
    except services.Refused as exc:
        log.info("federation: inbox refused (%s): %s", exc.status, exc.reason)
        return JsonResponse({"detail": exc.reason}, status=exc.status)
    if item is not None:
        try:
            services.inbox_process(item)
        except Exception:  # kept as received: the worker tries it again; the sender is done
            log.exception("federation: could not process %s", item.ap_id)
    return HttpResponse(status=202)


def _collection(url: str, total: int, items: list[Any] | None, page: int | None) -> dict:
    if page is None:
        return {
            "@context": vocab.CONTEXT[0],
            "id": url,
            "type": "OrderedCollection",
            "totalItems": total,
            "first": f"{url}?page=1",
        }
    data: dict[str, Any] = {
        "@context": vocab.CONTEXT[0],
        "id": f"{url}?page={page}",
        "type": "OrderedCollectionPage",
        "partOf": url,
        "totalItems": total,
        "orderedItems": items or [],
    }
    if page * PAGE_SIZE < total:
        data["next"] = f"{url}?page={page + 1}"
    return data


def _page_number(request: HttpRequest) -> int | None:
    raw = request.GET.get("page")
    if raw is None:
        return None
    try:
        return max(1, min(int(raw), 10_000))
    except ValueError:
        return 1


@require_GET
@_signed_get()
def outbox(request: HttpRequest, place_slug: str) -> HttpResponse:
    place = _place(place_slug)
    url = vocab.actor_path(place.slug, "outbox")
    activities = Activity.objects.filter(place=place, public=True)
    page = _page_number(request)
    items = None
    if page is not None:
        start = (page - 1) * PAGE_SIZE
        items = list(activities.values_list("payload", flat=True)[start : start + PAGE_SIZE])
        for item in items:
            item.pop("@context", None)
    return _ap(_collection(url, activities.count(), items, page))


def _follow_collection(request: HttpRequest, place_slug: str, direction: str) -> JsonResponse:
    place = _place(place_slug)
    name = "followers" if direction == Follow.Direction.FOLLOWER else "following"
    url = vocab.actor_path(place.slug, name)
    follows = Follow.objects.filter(
        place=place, direction=direction, state=Follow.State.ACCEPTED
    ).order_by("id")
    page = _page_number(request)
    items = None
    if page is not None:
        start = (page - 1) * PAGE_SIZE
        items = list(follows.values_list("remote__url", flat=True)[start : start + PAGE_SIZE])
    return _ap(_collection(url, follows.count(), items, page))


@require_GET
@_signed_get()
def followers(request: HttpRequest, place_slug: str) -> HttpResponse:
    return _follow_collection(request, place_slug, Follow.Direction.FOLLOWER)


@require_GET
@_signed_get()
def following(request: HttpRequest, place_slug: str) -> HttpResponse:
    return _follow_collection(request, place_slug, Follow.Direction.FOLLOWING)


@require_GET
@_signed_get(html=True)
def published_object(request: HttpRequest, place_slug: str, kind: str, uuid: Any) -> HttpResponse:
    """A public event, commons, page or lent equipment as ActivityPub JSON; a browser gets
    the HTML page."""
    place = _place(place_slug)
    found = publishing.public_object(place, kind, uuid)
    if found is None:
        raise Http404
    document, html_url = found
    if not _wants_json(request):
        return HttpResponseRedirect(html_url)
    return _ap({"@context": vocab.CONTEXT, **document})


@require_GET
@_signed_get()
def activity_view(request: HttpRequest, place_slug: str, uuid: Any) -> HttpResponse:
    place = _place(place_slug)
    ap_id = vocab.actor_url(place) + f"/activites/{uuid}"
    found = Activity.objects.filter(place=place, ap_id=ap_id, public=True).first()
    if found is None:
        raise Http404
    return _ap(json.loads(json.dumps(found.payload)))
