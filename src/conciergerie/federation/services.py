"""Every write of the federation: actors and keys, follows, publishing, delivery, the inbox.

The web request only verifies and stores; the slow network work (delivering to other
inboxes) is done by `conciergerie federation deliver`, from `Delivery` rows with retries and
exponential backoff, so nothing is lost while another instance is down.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from conciergerie.core.audit import audit_record
from conciergerie.core.errors import Conflict, InvalidInput, NotFound
from conciergerie.core.models import Place, User
from conciergerie.federation import fetch, signatures, vocab
from conciergerie.federation.models import (
    Activity,
    BlockedDomain,
    Delivery,
    Follow,
    InboxItem,
    LocalActor,
    RemoteActor,
    RemoteObject,
)

log = logging.getLogger(__name__)

# Retries: 1 min (FEDERATION_RETRY_FIRST), 2, 4 … doubling up to 6 hours between tries;
# given up after 16 tries (about four days), long enough for a server to come back after a
# weekend.
RETRY_MAX = dt.timedelta(hours=6)
MAX_ATTEMPTS = 16
DELIVERY_THREADS = 16


def _domain(url: str) -> str:
    """The instance part of a URL: host, and port when not the default one."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    default = {"https": 443, "http": 80}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return ""
    return f"{host}:{port}" if port and port != default else host


def _blocked_in(domain: str, blocked: set[str]) -> bool:
    """Whether `domain` (host[:port]) is in `blocked`; a block on example.org covers its
    subdomains and every port."""
    domain = domain.lower()
    host = domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain
    return domain in blocked or any(host == b or host.endswith("." + b) for b in blocked)


def domain_blocked(domain: str) -> bool:
    return _blocked_in(domain, set(BlockedDomain.objects.values_list("domain", flat=True)))


# --- Local actors ---------------------------------------------------------------------------


def local_actor(place: Place) -> LocalActor:
    """The place's actor, with a key pair made on first use (2048-bit RSA takes ~0.1 s)."""
    try:
        return place.actor  # type: ignore[attr-defined]
    except LocalActor.DoesNotExist:
        pass
    private, public = signatures.generate_key_pair()
    try:
        with transaction.atomic():
            return LocalActor.objects.create(
                place=place, private_key_pem=private, public_key_pem=public
            )
    except IntegrityError:  # another request made it first
        return LocalActor.objects.get(place=place)


def key_rotate(*, place: Place, by: User | None) -> LocalActor:
    """A new key pair; followers are told by an Update of the actor, and other instances
    that still hold the old key fetch the actor again when a signature fails."""
    actor = local_actor(place)
    actor.private_key_pem, actor.public_key_pem = signatures.generate_key_pair()
    actor.key_created_at = timezone.now()
    actor.save(update_fields=["private_key_pem", "public_key_pem", "key_created_at"])
    audit_record(place=place, actor=by, action="federation.key_rotate", target=place)
    doc = vocab.actor_document(
        place, actor.public_key_pem, approve_followers=actor.approve_followers
    )
    doc.pop("@context", None)
    activity_publish(place=place, kind="Update", obj=doc, object_id=doc["id"])
    return actor


# --- Remote actors --------------------------------------------------------------------------


def _signer(place: Place | None) -> tuple[str | None, str | None]:
    if place is None:
        place = Place.objects.order_by("id").first()
        if place is None:
            return None, None
    actor = local_actor(place)
    return vocab.key_id(place), actor.private_key_pem


def _webfinger(user: str, host: str, place: Place | None) -> str:
    """The actor URL that `user@host` stands for, by WebFinger (https, or http for tests)."""
    schemes = ["https"] + (["http"] if settings.FEDERATION_ALLOW_LOOPBACK else [])
    resource = quote(f"acct:{user}@{host}", safe=":@")
    error: fetch.FetchError | None = None
    for scheme in schemes:
        try:
            response = fetch.request(
                "GET",
                f"{scheme}://{host}/.well-known/webfinger?resource={resource}",
                headers={"Accept": "application/jrd+json, application/json"},
            )
        except fetch.UnsafeAddress:
            raise
        except fetch.FetchError as exc:
            error = exc
            continue
        if response.status != 200:
            error = fetch.FetchError(f"HTTP {response.status}")
            continue
        try:
            jrd = json.loads(response.body)
        except ValueError:
            error = fetch.FetchError("not JSON")
            continue
        for link in jrd.get("links") or [] if isinstance(jrd, dict) else []:
            if (
                isinstance(link, dict)
                and link.get("rel") == "self"
                and "json" in str(link.get("type", ""))
                and isinstance(link.get("href"), str)
            ):
                return link["href"]
        error = fetch.FetchError("no ActivityPub actor in the WebFinger answer")
    raise error or fetch.FetchError("WebFinger failed")


def _parse_target(target: str) -> tuple[str, str] | str:
    """`@user@host`, `user@host`, `acct:user@host` → (user, host); an http(s) URL → the URL."""
    target = target.strip()
    if target.startswith(("https://", "http://")):
        return target
    handle = target.removeprefix("acct:").removeprefix("@")
    user, sep, host = handle.partition("@")
    if not sep or not user or not host or "/" in host or " " in handle:
        raise InvalidInput(
            {"target": [_("Indiquez une adresse comme @lieu@exemple.org ou https://…")]}
        )
    return user, host


def actor_resolve(target: str, *, place: Place | None = None, refresh: bool = False) -> RemoteActor:
    """The remote actor behind a handle or URL, fetched (signed GET) and kept up to date."""
    parsed = _parse_target(target)
    try:
        url = parsed if isinstance(parsed, str) else _webfinger(*parsed, place)
    except fetch.FetchError as exc:
        raise NotFound(_("Adresse introuvable : %(reason)s") % {"reason": exc.reason}) from exc
    if domain_blocked(_domain(url)):
        raise Conflict(_("Cette instance est bloquée."))
    if not refresh:
        known = RemoteActor.objects.filter(url=url).first()
        if known is not None:
            return known
    key_id, key = _signer(place)
    try:
        doc = fetch.get_json(url, key_id=key_id, private_key_pem=key)
    except fetch.FetchError as exc:
        raise NotFound(_("Adresse introuvable : %(reason)s") % {"reason": exc.reason}) from exc
    return actor_store(doc, fetched_from=url)


def actor_store(doc: Mapping[str, Any], *, fetched_from: str) -> RemoteActor:
    """Keep an actor document, after checking it is one and that it speaks for its own URL."""
    actor_id = vocab.first_id(doc.get("id"))
    if not actor_id or _domain(actor_id) != _domain(fetched_from):
        raise NotFound(_("Ce document ne décrit pas un acteur de cette adresse."))
    if doc.get("type") not in vocab.ACTOR_TYPES:
        raise NotFound(_("Cette adresse n'est pas celle d'un lieu ou d'un compte."))
    fields = vocab.actor_fields(dict(doc))
    if not fields["inbox"] or _domain(fields["inbox"]) != _domain(actor_id):
        raise NotFound(_("Cet acteur n'a pas de boîte de réception utilisable."))
    if fields["key_id"] and not fields["key_id"].startswith(actor_id.split("#")[0]):
        fields["key_id"] = fields["public_key_pem"] = ""
    fields["domain"] = _domain(actor_id)
    fields["fetched_at"] = timezone.now()
    actor, _created = RemoteActor.objects.update_or_create(url=actor_id, defaults=fields)
    return actor


# --- Follows --------------------------------------------------------------------------------


def _new_id(place: Place) -> str:
    return vocab.actor_url(place) + f"/activites/{uuid.uuid4()}"


def follow_request(*, place: Place, target: str, by: User | None) -> Follow:
    """The place asks to follow a remote actor; it is pending until the actor accepts."""
    remote = actor_resolve(target, place=place)
    if remote.blocked:
        raise Conflict(_("Ce compte est bloqué."))
    if remote.url == vocab.actor_url(place):
        raise InvalidInput({"target": [_("Un lieu ne peut pas se suivre lui-même.")]})
    follow = Follow.objects.filter(
        place=place, remote=remote, direction=Follow.Direction.FOLLOWING
    ).first()
    if follow is not None and follow.state == Follow.State.ACCEPTED:
        raise Conflict(_("Ce lieu suit déjà %(who)s.") % {"who": remote.label})
    activity_id = _new_id(place)
    with transaction.atomic():
        if follow is None:
            follow = Follow(place=place, remote=remote, direction=Follow.Direction.FOLLOWING)
        follow.state = Follow.State.PENDING
        follow.activity_id = activity_id
        follow.updated_at = timezone.now()
        follow.save()
        activity_publish(
            place=place,
            kind="Follow",
            obj=remote.url,
            object_id=remote.url,
            activity_id=activity_id,
            to=[remote.url],
            inboxes=[remote.inbox],
            public=False,
        )
        audit_record(
            place=place,
            actor=by,
            action="federation.follow",
            target_type="remoteactor",
            changes={"remote": [None, remote.url]},
        )
    return follow


def unfollow(*, follow: Follow, by: User | None) -> None:
    place, remote = follow.place, follow.remote
    with transaction.atomic():
        if follow.activity_id:
            undo = {
                "id": follow.activity_id,
                "type": "Follow",
                "actor": vocab.actor_url(place),
                "object": remote.url,
            }
            activity_publish(
                place=place,
                kind="Undo",
                obj=undo,
                object_id=follow.activity_id,
                to=[remote.url],
                inboxes=[remote.inbox],
                public=False,
            )
        follow.delete()
        audit_record(
            place=place,
            actor=by,
            action="federation.unfollow",
            target_type="remoteactor",
            changes={"remote": [remote.url, None]},
        )


def follower_decide(*, follow: Follow, accept: bool, by: User | None) -> Follow:
    """Accept or reject a remote actor that asked to follow the place."""
    if follow.direction != Follow.Direction.FOLLOWER:
        raise NotFound(_("Demande d'abonnement introuvable."))
    with transaction.atomic():
        follow.state = Follow.State.ACCEPTED if accept else Follow.State.REJECTED
        follow.updated_at = timezone.now()
        follow.save(update_fields=["state", "updated_at"])
        _answer_follow(follow, accept)
        audit_record(
            place=follow.place,
            actor=by,
            action="federation.follower_accept" if accept else "federation.follower_reject",
            target_type="remoteactor",
            changes={"remote": [None, follow.remote.url]},
        )
    return follow


def _answer_follow(follow: Follow, accept: bool) -> None:
    place, remote = follow.place, follow.remote
    request = {
        "id": follow.activity_id,
        "type": "Follow",
        "actor": remote.url,
        "object": vocab.actor_url(place),
    }
    activity_publish(
        place=place,
        kind="Accept" if accept else "Reject",
        obj=request,
        object_id=follow.activity_id,
        to=[remote.url],
        inboxes=[remote.inbox],
        public=False,
    )


def domain_block(*, domain: str, reason: str, by: User | None) -> BlockedDomain:
    """Nothing more is received from or sent to the instance; what came from it is hidden."""
    domain = domain.strip().lower().removeprefix("https://").removeprefix("http://")
    domain = domain.split("/")[0]
    if not domain or "." not in domain and domain != "localhost" or " " in domain:
        raise InvalidInput({"domain": [_("Indiquez un nom de domaine, comme exemple.org.")]})
    with transaction.atomic():
        blocked, _created = BlockedDomain.objects.update_or_create(
            domain=domain, defaults={"reason": reason.strip()[:300]}
        )
        Delivery.objects.filter(
            state=Delivery.State.PENDING, inbox__icontains=f"//{domain}"
        ).update(state=Delivery.State.FAILED, last_error="instance bloquée")
        audit_record(
            place=None,
            actor=by,
            action="federation.domain_block",
            target_type="blockeddomain",
            changes={"domain": [None, domain], "reason": [None, blocked.reason]},
        )
    return blocked


def _known_actor(target: str) -> RemoteActor:
    """A remote account this instance already dealt with, by its address (actor or profile
    URL) or its handle; never fetched: blocking must not wait on the network."""
    parsed = _parse_target(target)
    if isinstance(parsed, str):
        found = RemoteActor.objects.filter(Q(url=parsed) | Q(profile_url=parsed))
    else:
        user, host = parsed
        found = RemoteActor.objects.filter(username__iexact=user, domain=host.lower())
    remote = found.order_by("id").first()
    if remote is None:
        raise NotFound(
            _(
                "Aucun compte connu à l'adresse %(target)s : seuls les comptes qui ont déjà "
                "échangé avec cette Conciergerie peuvent être bloqués. Pour toute une instance, "
                "bloquez son domaine."
            )
            % {"target": target.strip()},
            field="target",
        )
    return remote


def _give_up_deliveries_to(remote: RemoteActor) -> int:
    """Pending deliveries to the account's own inbox, and to its instance's shared inbox when
    nobody else there still follows the sending place, are given up."""
    to_it = Q(inbox=remote.inbox)
    if remote.shared_inbox:
        still_read = Follow.objects.filter(
            place=OuterRef("activity__place"),
            direction=Follow.Direction.FOLLOWER,
            state=Follow.State.ACCEPTED,
            remote__shared_inbox=remote.shared_inbox,
            remote__blocked=False,
        )
        to_it |= Q(Q(inbox=remote.shared_inbox), ~Exists(still_read))
    return Delivery.objects.filter(to_it, state=Delivery.State.PENDING).update(
        state=Delivery.State.FAILED, last_error="compte bloqué"
    )


def actor_block(
    *, place: Place, actor: RemoteActor | str, blocked: bool, by: User | None
) -> RemoteActor:
    """Block (or unblock) one remote account, for every place here, as `domain_block` does
    for a whole instance: its requests get 403, nothing more is sent to it, what it
    published is hidden. Blocking also ends the follows both ways, so an unblocked account
    is followed again only by asking again. `actor` is a known account, or its address."""
    remote = _known_actor(actor) if isinstance(actor, str) else actor
    with transaction.atomic():
        remote = RemoteActor.objects.select_for_update().get(pk=remote.pk)
        if remote.blocked == blocked:
            return remote  # already so: nothing to change or record
        remote.blocked = blocked
        remote.save(update_fields=["blocked"])
        changes: dict[str, list[Any]] = {"blocked": [not blocked, blocked]}
        if blocked:
            # Nothing is sent to a blocked account, not even an Undo: the rows just go.
            ended, _rows = Follow.objects.filter(remote=remote).delete()
            if ended:
                changes["follows"] = [ended, 0]
            _give_up_deliveries_to(remote)
        audit_record(
            place=place,
            actor=by,
            action="federation.actor_block" if blocked else "federation.actor_unblock",
            target=remote,
            changes=changes,
        )
    return remote


# --- Publishing -----------------------------------------------------------------------------


def _follower_inboxes(place: Place) -> list[str]:
    """One inbox per follower, the shared one when an instance has it (one POST per
    instance, not per follower), leaving out blocked actors and instances."""
    rows = RemoteActor.objects.filter(
        follows__place=place,
        follows__direction=Follow.Direction.FOLLOWER,
        follows__state=Follow.State.ACCEPTED,
        blocked=False,
    ).values_list("inbox", "shared_inbox", "domain")
    blocked = set(BlockedDomain.objects.values_list("domain", flat=True))
    inboxes: list[str] = []
    for inbox, shared, domain in rows:
        if _blocked_in(domain, blocked):
            continue
        target = shared or inbox
        if target not in inboxes:
            inboxes.append(target)
    return inboxes


def activity_publish(
    *,
    place: Place,
    kind: str,
    obj: Any,
    object_id: str = "",
    activity_id: str = "",
    to: list[str] | None = None,
    inboxes: list[str] | None = None,
    public: bool = True,
) -> Activity:
    """Record an activity in the place's outbox and queue one delivery per inbox (by
    default the followers'); `conciergerie federation deliver` sends them."""
    activity_id = activity_id or _new_id(place)
    payload = vocab.activity(place, kind, obj, activity_id, to=to)
    activity = Activity.objects.create(
        place=place,
        ap_id=activity_id,
        type=kind,
        object_id=object_id[:500],
        payload=payload,
        public=public,
    )
    targets = _follower_inboxes(place) if inboxes is None else inboxes
    Delivery.objects.bulk_create(
        [Delivery(activity=activity, inbox=inbox) for inbox in dict.fromkeys(targets) if inbox]
    )
    return activity


def object_publish(*, place: Place, document: dict[str, Any] | None, object_id: str) -> None:
    """Create, Update or Delete (document None) a published object, as its history says.

    Only for a place that is already an actor (a place nobody reached through the network
    has no followers to tell, and making its key would cost every save)."""
    if not LocalActor.objects.filter(place=place).exists():
        return
    last = (
        Activity.objects.filter(place=place, object_id=object_id, public=True)
        .exclude(type="Announce")
        .values_list("type", flat=True)
        .first()
    )
    published = last in {"Create", "Update"}
    if document is None:
        if published:
            tombstone = {"id": object_id, "type": "Tombstone"}
            activity_publish(place=place, kind="Delete", obj=tombstone, object_id=object_id)
        return
    activity_publish(
        place=place, kind="Update" if published else "Create", obj=document, object_id=object_id
    )


# --- Delivery -------------------------------------------------------------------------------


@dataclass
class DeliveryRun:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def _backoff(attempts: int) -> dt.timedelta:
    first = dt.timedelta(seconds=settings.FEDERATION_RETRY_FIRST)
    return min(first * (2 ** max(attempts - 1, 0)), RETRY_MAX)


def _post(job: tuple[int, str, bytes, str, str]) -> tuple[int, int | None, str, bool]:
    """One POST, in a worker thread: (delivery id, status, error, permanent failure)."""
    delivery_id, inbox, body, key_id, key = job
    try:
        response = fetch.post_json(inbox, body, key_id=key_id, private_key_pem=key)
    except fetch.UnsafeAddress as exc:
        return delivery_id, None, exc.reason, True
    except fetch.FetchError as exc:
        return delivery_id, None, exc.reason, False
    return delivery_id, response.status, "", False


def deliver_due(*, now: dt.datetime | None = None, limit: int = 500) -> DeliveryRun:
    """Send the deliveries that are due, in parallel; each failure is retried later with
    exponential backoff, a 4xx other than 408/429 (the inbox refuses it) is given up."""
    now = now or timezone.now()
    run = DeliveryRun()
    due = list(
        Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=now)
        .select_related("activity__place__actor")
        .order_by("next_attempt_at", "id")[:limit]
    )
    if not due:
        return run
    blocked = set(BlockedDomain.objects.values_list("domain", flat=True))
    # A publish running alongside an account block may have queued to it: checked again.
    blocked_inboxes = set(
        RemoteActor.objects.filter(blocked=True, inbox__in={d.inbox for d in due}).values_list(
            "inbox", flat=True
        )
    )
    jobs = []
    for delivery in due:
        place = delivery.activity.place
        refused = ""
        if _blocked_in(_domain(delivery.inbox), blocked):
            refused = "instance bloquée"
        elif delivery.inbox in blocked_inboxes:
            refused = "compte bloqué"
        if refused:
            delivery.state = Delivery.State.FAILED
            delivery.last_error = refused
            delivery.save(update_fields=["state", "last_error"])
            run.failed += 1
            continue
        body = json.dumps(delivery.activity.payload).encode()
        jobs.append(
            (delivery.pk, delivery.inbox, body, vocab.key_id(place), place.actor.private_key_pem)  # type: ignore[attr-defined]
        )
    by_id = {d.pk: d for d in due}
    with ThreadPoolExecutor(max_workers=min(DELIVERY_THREADS, len(jobs) or 1)) as pool:
        results = list(pool.map(_post, jobs))
    # The worker's clock: `now` may be ahead of the wall clock (a catch-up pass).
    finished = max(now, timezone.now())
    for delivery_id, status, error, permanent in results:
        delivery = by_id[delivery_id]
        delivery.attempts += 1
        delivery.last_status = status
        delivery.last_error = error[:300]
        if status is not None and 200 <= status < 300:
            delivery.state = Delivery.State.DONE
            delivery.delivered_at = finished
            run.sent += 1
        elif (
            permanent
            or status is not None
            and 400 <= status < 500
            and status not in {408, 429}
            or delivery.attempts >= MAX_ATTEMPTS
        ):
            delivery.state = Delivery.State.FAILED
            delivery.last_error = delivery.last_error or f"HTTP {status}"
            run.failed += 1
        else:
            delivery.next_attempt_at = finished + _backoff(delivery.attempts)
            delivery.last_error = delivery.last_error or f"HTTP {status}"
            run.retried += 1
    Delivery.objects.bulk_update(
        due,
        ["attempts", "last_status", "last_error", "state", "delivered_at", "next_attempt_at"],
    )
    return run


# --- Inbox ----------------------------------------------------------------------------------


class Refused(Exception):
    """A request to an inbox that is not taken: `status` and a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _signer_url(headers: Mapping[str, str]) -> str:
    """The actor URL a request's keyId names, refused when malformed or on a blocked
    instance (checked before any key is fetched)."""
    try:
        key_id = signatures.key_id_of(headers)
    except signatures.SignatureError as exc:
        raise Refused(401, exc.reason) from exc
    actor_url = key_id.split("#")[0]
    if not actor_url.startswith(("https://", "http://")):
        raise Refused(401, "keyId is not a URL")
    if domain_blocked(_domain(actor_url)):
        raise Refused(403, "instance blocked")
    return actor_url


def _verified_actor(method: str, path: str, headers: Mapping[str, str], body: bytes) -> RemoteActor:
    actor_url = _signer_url(headers)
    try:
        # What needs no key first (form, covered headers, Digest, Date): a request that fails
        # there never makes this instance fetch anything (nor fetch again on a "rotation").
        signatures.check_unkeyed(method=method, headers=headers, body=body)
    except signatures.SignatureError as exc:
        raise Refused(401, exc.reason) from exc
    actor = RemoteActor.objects.filter(url=actor_url).first()
    fresh = False
    if actor is None or not actor.public_key_pem:
        actor = _fetch_actor(actor_url)
        fresh = True
    for attempt in range(2):
        try:
            signatures.verify(
                method=method,
                path=path,
                headers=headers,
                body=body,
                public_key_pem=actor.public_key_pem,
            )
            return actor
        except signatures.SignatureError as exc:
            if fresh or attempt:
                raise Refused(401, exc.reason) from exc
            # Only the key can be wrong by now: it may have been rotated. Fetched again, once.
            actor = _fetch_actor(actor_url)
            fresh = True
    raise Refused(401, "bad signature")  # pragma: no cover - the loop returns or raises


def _fetch_actor(url: str) -> RemoteActor:
    try:
        return actor_resolve(url, refresh=True)
    except (NotFound, Conflict, InvalidInput) as exc:
        raise Refused(401, f"cannot fetch the signing actor: {exc}") from exc


def signed_get_verify(
    *, method: str, path: str, headers: Mapping[str, str], key_endpoint: bool = False
) -> RemoteActor | None:
    """Check the signature of a GET to an ActivityPub endpoint: the verified signer, or None
    when the request is unsigned (or, on a key endpoint, when the signer is not checked).

    Verified as an inbox POST is (stored key, fetched once more on a rotation), without a
    Digest. A place's actor is the key endpoint other instances fetch to check our own
    signatures, so a signed GET of it never goes to the network: fetching the signer there
    could loop between two instances that both check signatures. It is only checked for what
    needs no key (form, covered headers, date) and for blocks (by its keyId: claiming to be
    a blocked account only harms the claimant).

    Raises `Refused` (401 malformed, forged or expired; 403 instance or account blocked)."""
    if not any(str(name).lower() == "signature" for name in headers):
        return None
    if not key_endpoint:
        actor = _verified_actor(method, path, headers, b"")
        if actor.blocked:
            raise Refused(403, "actor blocked")
        return actor
    actor_url = _signer_url(headers)
    try:
        signatures.check_unkeyed(method=method, headers=headers, body=None)
    except signatures.SignatureError as exc:
        raise Refused(401, exc.reason) from exc
    if RemoteActor.objects.filter(url=actor_url, blocked=True).exists():
        raise Refused(403, "actor blocked")
    return None


def inbox_receive(
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    place: Place | None = None,
) -> InboxItem | None:
    """Verify a POST to an inbox and keep it once; None when it was already received.

    Raises `Refused` (400 malformed, 401 unsigned or forged, 403 blocked, 413 too large)."""
    if len(body) > settings.FEDERATION_MAX_BODY_BYTES:
        raise Refused(413, "too large")
    try:
        activity = json.loads(body)
    except ValueError as exc:
        raise Refused(400, "not JSON") from exc
    if not isinstance(activity, dict) or not isinstance(activity.get("type"), str):
        raise Refused(400, "not an activity")
    actor = _verified_actor(method, path, headers, body)
    if actor.blocked:
        raise Refused(403, "actor blocked")
    if vocab.first_id(activity.get("actor")) != actor.url:
        raise Refused(401, "the activity's actor is not the signer")
    ap_id = vocab.first_id(activity.get("id"))
    if not ap_id:
        # Some servers send transient activities without ids: give them one from the digest.
        ap_id = actor.url + "#" + signatures.digest(body)[8:40]
    if _domain(ap_id) != actor.domain:
        raise Refused(401, "the activity's id is not on the signer's instance")
    try:
        with transaction.atomic():
            return InboxItem.objects.create(
                ap_id=ap_id[:500],
                actor=actor,
                place=place,
                type=activity["type"][:30],
                payload=activity,
            )
    except IntegrityError:
        return None  # already received: the same activity delivered twice


def inbox_process_pending(*, limit: int = 500) -> int:
    """Process received items left unprocessed (the request that stored them crashed)."""
    items = list(
        InboxItem.objects.filter(state=InboxItem.State.RECEIVED)
        .select_related("actor", "place")
        .order_by("received_at", "id")[:limit]
    )
    for item in items:
        inbox_process(item)
    return len(items)


def inbox_process(item: InboxItem) -> None:
    """Act on one received activity; its state says what became of it."""
    handlers: dict[str, Callable[[InboxItem], str]] = {
        "Follow": _on_follow,
        "Accept": partial(_on_answer, state=Follow.State.ACCEPTED),
        "Reject": partial(_on_answer, state=Follow.State.REJECTED),
        "Undo": _on_undo,
        "Create": _on_create_or_update,
        "Update": _on_create_or_update,
        "Delete": _on_delete,
    }
    handler = handlers.get(item.type)
    try:
        with transaction.atomic():
            state = handler(item) if handler else InboxItem.State.IGNORED
    except (KeyError, TypeError, ValueError, AttributeError, NotFound, Conflict) as exc:
        # Malformed in a way the checks did not foresee: kept, marked, never retried.
        log.warning("federation: %s %s failed: %s", item.type, item.ap_id, exc)
        item.state, item.error = InboxItem.State.FAILED, str(exc)[:300]
    else:
        item.state, item.error = state, ""
    item.save(update_fields=["state", "error"])


def _local_place(actor_url: str) -> Place | None:
    prefix = vocab.absolute("/ap/")
    if not actor_url.startswith(prefix):
        return None
    slug = actor_url[len(prefix) :].strip("/")
    return Place.objects.filter(slug=slug).first() if "/" not in slug else None


def _on_follow(item: InboxItem) -> str:
    place = _local_place(vocab.first_id(item.payload.get("object")))
    if place is None:
        return InboxItem.State.IGNORED
    actor = local_actor(place)
    follow, _created = Follow.objects.get_or_create(
        place=place, remote=item.actor, direction=Follow.Direction.FOLLOWER
    )
    follow.activity_id = item.ap_id
    follow.updated_at = timezone.now()
    if follow.state != Follow.State.ACCEPTED:
        follow.state = Follow.State.PENDING if actor.approve_followers else Follow.State.ACCEPTED
    follow.save()
    if follow.state == Follow.State.ACCEPTED:
        _answer_follow(follow, True)
    return InboxItem.State.DONE


def _our_follow(item: InboxItem) -> Follow | None:
    obj = item.payload.get("object")
    follow_id = vocab.first_id(obj)
    follows = Follow.objects.filter(remote=item.actor, direction=Follow.Direction.FOLLOWING)
    found = follows.filter(activity_id=follow_id).first() if follow_id else None
    if found is None and isinstance(obj, dict):
        place = _local_place(vocab.first_id(obj.get("actor")))
        found = follows.filter(place=place).first() if place else None
    return found


def _on_answer(item: InboxItem, state: str) -> str:
    """An Accept or Reject of a follow we asked for: the follow takes `state`."""
    follow = _our_follow(item)
    if follow is None:
        return InboxItem.State.IGNORED
    follow.state = state
    follow.updated_at = timezone.now()
    follow.save(update_fields=["state", "updated_at"])
    return InboxItem.State.DONE


def _on_undo(item: InboxItem) -> str:
    obj = item.payload.get("object")
    if not isinstance(obj, dict) or obj.get("type") != "Follow":
        return InboxItem.State.IGNORED
    place = _local_place(vocab.first_id(obj.get("object")))
    deleted, _rows = Follow.objects.filter(
        place=place, remote=item.actor, direction=Follow.Direction.FOLLOWER
    ).delete()
    return InboxItem.State.DONE if deleted else InboxItem.State.IGNORED


def _followed_by_someone(actor: RemoteActor) -> bool:
    return Follow.objects.filter(
        remote=actor, direction=Follow.Direction.FOLLOWING, state=Follow.State.ACCEPTED
    ).exists()


def _on_create_or_update(item: InboxItem) -> str:
    obj = item.payload.get("object")
    if not isinstance(obj, dict):
        return InboxItem.State.IGNORED
    object_id = vocab.first_id(obj.get("id"))
    if obj.get("type") in vocab.ACTOR_TYPES:
        if object_id != item.actor.url:
            return InboxItem.State.IGNORED
        actor_store(obj, fetched_from=item.actor.url)  # a profile or key change
        return InboxItem.State.DONE
    # Only what an actor says about its own objects, and only from actors someone here
    # follows: the network views never fill with unsolicited content.
    if not object_id or _domain(object_id) != item.actor.domain:
        return InboxItem.State.IGNORED
    attributed = vocab.first_id(obj.get("attributedTo")) or item.actor.url
    if attributed != item.actor.url or not _followed_by_someone(item.actor):
        return InboxItem.State.IGNORED
    fields = vocab.object_fields(obj)
    if fields is None:
        return InboxItem.State.IGNORED
    existing = RemoteObject.objects.filter(ap_id=object_id).first()
    if existing is not None and existing.actor_id != item.actor.pk:
        return InboxItem.State.IGNORED
    RemoteObject.objects.update_or_create(
        ap_id=object_id,
        defaults={
            **fields,
            "actor": item.actor,
            "payload": obj,
            "received_at": timezone.now(),
            "deleted_at": None,
        },
    )
    return InboxItem.State.DONE


def _on_delete(item: InboxItem) -> str:
    object_id = vocab.first_id(item.payload.get("object"))
    if object_id == item.actor.url:  # the actor itself is gone
        RemoteObject.objects.filter(actor=item.actor, deleted_at=None).update(
            deleted_at=timezone.now()
        )
        Follow.objects.filter(remote=item.actor).delete()
        return InboxItem.State.DONE
    changed = RemoteObject.objects.filter(
        ap_id=object_id, actor=item.actor, deleted_at=None
    ).update(deleted_at=timezone.now())
    return InboxItem.State.DONE if changed else InboxItem.State.IGNORED
