"""Builders for received federation data: remote actors, follows and remote objects.

These rows come from other instances (the inbox writes them); no service of the read side
creates them, so the tests build them directly.
"""

from __future__ import annotations

import datetime as dt
import itertools
from http.server import BaseHTTPRequestHandler
from typing import Any

from django.utils import timezone

from conciergerie.core.models import Place
from conciergerie.federation.models import Follow, RemoteActor, RemoteObject

_seq = itertools.count(1)


def make_actor(*, domain: str = "exemple.org", username: str = "", **fields: Any) -> RemoteActor:
    n = next(_seq)
    username = username or f"lieu{n}"
    base = f"https://{domain}/lieux/{username}"
    fields.setdefault("name", f"Lieu distant {n}")
    fields.setdefault("profile_url", base + "/")
    fields.setdefault("inbox", base + "/inbox")
    return RemoteActor.objects.create(
        url=base + "/acteur", domain=domain, username=username, **fields
    )


def make_follow(
    *,
    place: Place,
    remote: RemoteActor,
    state: str = Follow.State.ACCEPTED,
    direction: str = Follow.Direction.FOLLOWING,
) -> Follow:
    return Follow.objects.create(place=place, remote=remote, state=state, direction=direction)


def make_object(
    *, actor: RemoteActor, kind: str = RemoteObject.Kind.COMMONS, name: str = "", **fields: Any
) -> RemoteObject:
    n = next(_seq)
    ap_id = f"{actor.url.rsplit('/', 1)[0]}/objets/{n}"
    fields.setdefault("url", ap_id + "/page")
    return RemoteObject.objects.create(
        ap_id=ap_id,
        actor=actor,
        kind=kind,
        name=name or f"Objet {n}",
        payload={"id": ap_id},
        **fields,
    )


def make_event(
    *, actor: RemoteActor, in_days: float = 3, hours: float = 2, **fields: Any
) -> RemoteObject:
    start = timezone.now() + dt.timedelta(days=in_days)
    fields.setdefault("start_at", start)
    fields.setdefault("end_at", start + dt.timedelta(hours=hours))
    return make_object(actor=actor, kind=RemoteObject.Kind.EVENT, **fields)


# --- Another instance, for the protocol tests ----------------------------------------------------

AP = "application/activity+json"
REMOTE = "https://remote.example"
REMOTE_ACTOR = f"{REMOTE}/ap/fablab"


def make_remote(public_key_pem: str) -> RemoteActor:
    """The Fablab of remote.example, known here with its key (as if fetched), shared inbox."""
    return RemoteActor.objects.create(
        url=REMOTE_ACTOR,
        domain="remote.example",
        username="fablab",
        name="Le Fablab",
        profile_url=f"{REMOTE}/@fablab",
        inbox=f"{REMOTE_ACTOR}/inbox",
        shared_inbox=f"{REMOTE}/ap/inbox",
        key_id=f"{REMOTE_ACTOR}#main-key",
        public_key_pem=public_key_pem,
    )


class Inbox(BaseHTTPRequestHandler):
    """Inboxes on loopback (the `inbox_server` fixture): each POST is kept as (path, headers,
    body) and answered with the next of `answers`, else 202."""

    answers: list[int] = []
    received: list[tuple[str, dict, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Inbox.received.append((self.path, dict(self.headers), body))
        self.send_response(Inbox.answers.pop(0) if Inbox.answers else 202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass
