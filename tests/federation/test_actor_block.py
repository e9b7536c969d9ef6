"""Blocking one remote account: the service, the command line and *Gestion → Réseau*."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from conciergerie.core.errors import Conflict, InvalidInput, NotFound
from conciergerie.core.models import AuditEntry
from conciergerie.federation import services, signatures
from conciergerie.federation.models import Delivery, Follow, InboxItem, RemoteActor
from tests.conftest import login
from tests.factories import make_place, make_user
from tests.federation.factories import AP, REMOTE, REMOTE_ACTOR, make_actor, make_follow

pytestmark = pytest.mark.django_db


@pytest.fixture
def place(settings):
    settings.BASE_URL = "http://testserver"
    place = make_place(slug="etabli", name="L'Établi")
    services.local_actor(place)
    return place


@pytest.fixture
def linked(place, remote):
    """The place follows the Fablab and the Fablab follows the place, both accepted."""
    make_follow(place=place, remote=remote)
    make_follow(place=place, remote=remote, direction=Follow.Direction.FOLLOWER)
    return remote


def _signed_post(client, activity, private_key):
    body = json.dumps(activity).encode()
    headers = signatures.sign_headers(
        method="POST",
        url="http://testserver/ap/etabli/inbox",
        body=body,
        key_id=f"{REMOTE_ACTOR}#main-key",
        private_key_pem=private_key,
        content_type=AP,
    )
    headers.pop("Content-Type")
    return client.post("/ap/etabli/inbox", body, content_type=AP, headers=headers)


def _follow_activity(n=1):
    return {
        "id": f"{REMOTE_ACTOR}/follows/{n}",
        "type": "Follow",
        "actor": REMOTE_ACTOR,
        "object": "http://testserver/ap/etabli",
    }


def _publish(place):
    return services.activity_publish(place=place, kind="Create", obj={"id": "x", "type": "Note"})


# --- The service -------------------------------------------------------------------------------


def test_blocking_ends_the_follows_and_the_deliveries(place, linked):
    queued = _publish(place).deliveries.get()  # to the instance's shared inbox
    assert queued.inbox == linked.shared_inbox and queued.state == Delivery.State.PENDING
    services.actor_block(place=place, actor=linked, blocked=True, by=None)
    linked.refresh_from_db()
    assert linked.blocked
    assert not Follow.objects.filter(remote=linked).exists()  # both ways
    queued.refresh_from_db()
    assert queued.state == Delivery.State.FAILED and queued.last_error == "compte bloqué"
    assert not _publish(place).deliveries.exists()  # no longer an audience
    entry = AuditEntry.objects.get(action="federation.actor_block")
    assert entry.place == place and entry.target_label == "fablab@remote.example"
    assert entry.changes == {"blocked": [False, True], "follows": [2, 0]}


def test_a_blocked_account_is_refused_at_the_inbox_then_heard_again(
    client, place, linked, remote_keys
):
    services.actor_block(place=place, actor=linked, blocked=True, by=None)
    response = _signed_post(client, _follow_activity(), remote_keys[0])
    assert response.status_code == 403
    assert not InboxItem.objects.exists() and not Follow.objects.exists()
    services.actor_block(place=place, actor=linked, blocked=False, by=None)
    linked.refresh_from_db()
    assert not linked.blocked
    assert _signed_post(client, _follow_activity(2), remote_keys[0]).status_code == 202
    follower = Follow.objects.get(remote=linked, direction=Follow.Direction.FOLLOWER)
    assert follower.state == Follow.State.ACCEPTED
    assert _publish(place).deliveries.get().inbox == linked.shared_inbox
    unblock = AuditEntry.objects.get(action="federation.actor_unblock")
    assert unblock.changes == {"blocked": [True, False]}


def test_the_shared_inbox_still_serves_the_other_followers_there(place, linked):
    neighbour = make_actor(domain="remote.example", shared_inbox=linked.shared_inbox)
    make_follow(place=place, remote=neighbour, direction=Follow.Direction.FOLLOWER)
    own = services.activity_publish(
        place=place, kind="Create", obj={"id": "y"}, inboxes=[linked.inbox]
    ).deliveries.get()
    shared = _publish(place).deliveries.get()
    services.actor_block(place=place, actor=linked, blocked=True, by=None)
    own.refresh_from_db()
    shared.refresh_from_db()
    assert own.state == Delivery.State.FAILED
    assert shared.state == Delivery.State.PENDING  # the neighbour still reads it
    assert Follow.objects.filter(remote=neighbour).exists()


def test_a_delivery_queued_alongside_a_block_is_not_sent(place, remote):
    # A publish that read the followers just before the block committed: caught when sending.
    late = services.activity_publish(
        place=place, kind="Create", obj={"id": "z"}, inboxes=[remote.inbox]
    ).deliveries.get()
    RemoteActor.objects.filter(pk=remote.pk).update(blocked=True)
    assert services.deliver_due().failed == 1
    late.refresh_from_db()
    assert late.state == Delivery.State.FAILED and late.last_error == "compte bloqué"


@pytest.mark.parametrize(
    "target",
    [
        REMOTE_ACTOR,
        f"{REMOTE}/@fablab",  # its profile page
        "acct:fablab@remote.example",
        "@FabLab@Remote.Example",
        "  fablab@remote.example ",
    ],
)
def test_an_account_is_found_by_address_or_handle(place, remote, target):
    assert services.actor_block(place=place, actor=target, blocked=True, by=None) == remote
    remote.refresh_from_db()
    assert remote.blocked


def test_unknown_or_malformed_accounts_are_refused_in_plain_french(place, remote):
    with pytest.raises(NotFound) as unknown:
        services.actor_block(place=place, actor="@inconnu@ailleurs.example", blocked=True, by=None)
    assert unknown.value.message.startswith(
        "Aucun compte connu à l'adresse @inconnu@ailleurs.example"
    )
    with pytest.raises(InvalidInput) as malformed:
        services.actor_block(place=place, actor="pas une adresse", blocked=True, by=None)
    assert malformed.value.as_errors() == {
        "target": ["Indiquez une adresse comme @lieu@exemple.org ou https://…"]
    }
    assert not RemoteActor.objects.filter(blocked=True).exists()
    assert not AuditEntry.objects.filter(action__startswith="federation.actor").exists()


def test_blocking_twice_changes_and_records_once(place, remote):
    services.actor_block(place=place, actor=remote, blocked=True, by=None)
    services.actor_block(place=place, actor=remote, blocked=True, by=None)
    assert AuditEntry.objects.filter(action="federation.actor_block").count() == 1


def test_a_block_holds_for_every_place_here(place, remote):
    other = make_place(slug="autre", name="Autre")
    make_follow(place=other, remote=remote)
    services.actor_block(place=place, actor=remote, blocked=True, by=None)
    assert not Follow.objects.filter(place=other).exists()
    with pytest.raises(Conflict):
        services.follow_request(place=other, target=remote.url, by=None)


# --- The command line ----------------------------------------------------------------------------


def test_cli_blocks_and_unblocks_an_account(place, linked, capsys):
    call_command(
        "federation", "block", "--place", "etabli", "--actor", "acct:fablab@remote.example"
    )
    assert "Compte bloqué : fablab@remote.example" in capsys.readouterr().out
    linked.refresh_from_db()
    assert linked.blocked and not Follow.objects.exists()
    call_command("federation", "block", "--place", "etabli", "--actor", REMOTE_ACTOR, "--undo")
    assert "Compte débloqué : fablab@remote.example" in capsys.readouterr().out
    linked.refresh_from_db()
    assert not linked.blocked


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--place", "etabli", "--actor", "@x@ailleurs.example"], "Aucun compte connu"),
        (["--place", "inconnu", "--actor", REMOTE_ACTOR], "Lieu inconnu : inconnu"),
        (["--actor", REMOTE_ACTOR], "--place SLUG --actor"),
        (["remote.example", "--place", "etabli", "--actor", REMOTE_ACTOR], "--place SLUG"),
        (["--undo", "remote.example"], "Indiquez une instance"),
        ([], "Indiquez une instance"),
    ],
)
def test_cli_refusals(place, remote, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("federation", "block", *args)
    remote.refresh_from_db()
    assert not remote.blocked


def test_cli_still_blocks_an_instance(place, capsys):
    call_command("federation", "block", "remote.example", "--reason", "spam")
    assert "Instance bloquée : remote.example" in capsys.readouterr().out


# --- Gestion → Réseau ---------------------------------------------------------------------------


def _url(place, name):
    return reverse(f"network:{name}", kwargs={"place_slug": place.slug})


@pytest.fixture
def team(place):
    return make_user(place=place, role="concierge"), make_user(place=place, role="admin")


def test_an_admin_blocks_then_unblocks_from_the_page(client, place, linked, team):
    login(client, team[1])
    html = client.get(_url(place, "manage")).content.decode()
    assert html.count("Bloquer ce compte") == 2  # the followed place and the follower
    response = client.post(_url(place, "actor_block"), {"actor": linked.url}, follow=True)
    html = response.content.decode()
    assert "Compte Le Fablab bloqué : plus rien n&#x27;en est reçu" in html
    assert "Comptes bloqués" in html and "Débloquer" in html
    assert "Bloquer ce compte" not in html  # no follow left to show it on
    linked.refresh_from_db()
    assert linked.blocked and not Follow.objects.exists()
    response = client.post(_url(place, "actor_unblock"), {"actor": linked.url}, follow=True)
    assert "Compte Le Fablab débloqué." in response.content.decode()
    assert "Comptes bloqués" not in response.content.decode()
    linked.refresh_from_db()
    assert not linked.blocked


def test_a_concierge_may_not_block_an_account(client, place, linked, team):
    login(client, team[0])
    html = client.get(_url(place, "manage")).content.decode()
    assert "Bloquer ce compte" not in html and "Ne plus suivre" in html
    assert client.post(_url(place, "actor_block"), {"actor": linked.url}).status_code == 403
    linked.refresh_from_db()
    assert not linked.blocked
    RemoteActor.objects.filter(pk=linked.pk).update(blocked=True)
    html = client.get(_url(place, "manage")).content.decode()
    assert "Comptes bloqués" in html and "Débloquer" not in html  # seen, not changed
    assert client.post(_url(place, "actor_unblock"), {"actor": linked.url}).status_code == 403


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"actor": "@inconnu@ailleurs.example"}, "Aucun compte connu à l&#x27;adresse"),
        ({"actor": "pas une adresse"}, "Indiquez une adresse comme @lieu@exemple.org"),
        ({"actor": ""}, "Indiquez le compte à bloquer."),
        ({}, "Indiquez le compte à bloquer."),
    ],
)
def test_bad_input_is_said_on_the_page(client, place, remote, team, data, message):
    login(client, team[1])
    response = client.post(_url(place, "actor_block"), data)
    assert response.status_code == 302
    assert message in client.get(response["Location"]).content.decode()
    assert not RemoteActor.objects.filter(blocked=True).exists()
