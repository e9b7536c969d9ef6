"""Equipment lent to the network: the « prêté aux lieux du réseau » flag publishes a resource
to the place's followers, and equipment received from followed places shows on the network
page with its origin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conciergerie.events.models import Event
from conciergerie.federation import publishing, selectors, services, vocab
from conciergerie.federation.models import Activity, Follow, RemoteActor, RemoteObject
from conciergerie.spaces import services as spaces
from tests.events.conftest import make_event
from tests.factories import make_place
from tests.federation.factories import AP, REMOTE_ACTOR, make_actor, make_follow, make_object
from tests.spaces.images import png_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def place(settings, tmp_path):
    settings.BASE_URL = "http://testserver"
    settings.MEDIA_ROOT = tmp_path / "media"
    return make_place(
        slug="etabli",
        name="L'Établi",
        street="3 rue des Lilas",
        postal_code="86100",
        city="Châtellerault",
    )


@pytest.fixture
def follower(place):
    """A remote place that follows this one: the place is on the network."""
    services.local_actor(place)
    remote = RemoteActor.objects.create(
        url=REMOTE_ACTOR,
        domain="remote.example",
        username="fablab",
        name="Le Fablab",
        inbox=f"{REMOTE_ACTOR}/inbox",
        shared_inbox="https://remote.example/ap/inbox",
    )
    Follow.objects.create(place=place, remote=remote, direction="follower", state="accepted")
    return remote


def _drill(place, **fields):
    fields = {
        "name": "Perceuse à percussion",
        "kind": "materiel",
        "description": "Avec **coffret** de forets.",
        "network_lending": True,
        "lending_terms": "Une semaine, caution 50 €.",
        **fields,
    }
    return spaces.resource_create(place=place, by=None, **fields)


def _object_path(kind, uuid):
    return f"/ap/etabli/{kind}/{uuid}"


# --- Publishing ---------------------------------------------------------------------------


def test_ticking_publishes_and_unticking_withdraws(
    client, place, follower, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        drill = _drill(place, network_lending=False)
    assert not Activity.objects.exists()  # not lent: nothing said
    with django_capture_on_commit_callbacks(execute=True):
        spaces.resource_update(resource=drill, by=None, network_lending=True)
    create = Activity.objects.get()
    object_id = f"http://testserver{_object_path('materiel', drill.uuid)}"
    assert create.type == "Create" and create.object_id == object_id
    doc = create.payload["object"]
    assert doc["id"] == object_id and doc["type"] == "Page" and doc[vocab.LENDING] is True
    assert doc["name"] == "Perceuse à percussion"
    assert doc["summary"] == "Une semaine, caution 50 €."
    assert "<strong>coffret</strong>" in doc["content"]
    assert "Conditions de prêt : Une semaine, caution 50 €." in doc["content"]
    assert doc["attributedTo"] == "http://testserver/ap/etabli"
    assert doc["url"] == f"http://testserver{drill.get_absolute_url()}"
    assert doc["location"]["address"]["addressLocality"] == "Châtellerault"
    assert list(create.deliveries.values_list("inbox", flat=True)) == [follower.shared_inbox]
    # The context names our term, so the compacted key means something to a JSON-LD reader.
    assert create.payload["@context"][2]["conciergerie"] == vocab.NS
    with django_capture_on_commit_callbacks(execute=True):
        spaces.resource_update(resource=drill, by=None, lending_terms="Deux semaines.")
    with django_capture_on_commit_callbacks(execute=True):
        spaces.resource_update(resource=drill, by=None, network_lending=False)
    types = list(Activity.objects.order_by("id").values_list("type", flat=True))
    assert types == ["Create", "Update", "Delete"]
    delete = Activity.objects.get(type="Delete")
    assert delete.payload["object"] == {"id": object_id, "type": "Tombstone"}
    gone = client.get(_object_path("materiel", drill.uuid), headers={"Accept": AP})
    assert gone.status_code == 404


@pytest.mark.parametrize(
    "change",
    [{"active": False}, {"kind": "machine"}],
    ids=["no-longer-active", "no-longer-equipment"],
)
def test_equipment_no_longer_lendable_is_withdrawn(
    place, follower, change, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        drill = _drill(place)
    with django_capture_on_commit_callbacks(execute=True):
        spaces.resource_update(resource=drill, by=None, **change)
    types = list(Activity.objects.order_by("id").values_list("type", flat=True))
    assert types == ["Create", "Delete"]


def test_deleting_lent_equipment_sends_a_delete(
    place, follower, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        drill = _drill(place)
    with django_capture_on_commit_callbacks(execute=True):
        drill.delete()
    types = list(Activity.objects.order_by("id").values_list("type", flat=True))
    assert types == ["Create", "Delete"]


def test_a_new_cover_photo_is_published(place, follower, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        drill = _drill(place)
    assert "image" not in Activity.objects.get().payload["object"]
    with django_capture_on_commit_callbacks(execute=True):
        photo = spaces.photo_add(resource=drill, by=None, image=png_upload(), alt="La perceuse")
    update = Activity.objects.get(type="Update")
    assert update.payload["object"]["image"]["url"].startswith("http://testserver/media/")
    with django_capture_on_commit_callbacks(execute=True):
        spaces.photo_delete(photo=photo, by=None)
    last = Activity.objects.order_by("-id").first()
    assert last.type == "Update" and "image" not in last.payload["object"]


def test_a_room_ticked_or_a_place_off_the_network_publishes_nothing(
    place, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _drill(place)  # the place has no actor yet: nobody to tell
    assert not Activity.objects.exists()
    services.local_actor(place)
    with django_capture_on_commit_callbacks(execute=True):
        _drill(place, name="Salle lente", kind="salle")
    assert not Activity.objects.exists()


# --- The object's address -----------------------------------------------------------------


def test_lent_equipment_reads_as_activitypub_with_its_photo(client, place):
    drill = _drill(place)
    spaces.photo_add(resource=drill, by=None, image=png_upload(), alt="La perceuse")
    drill.refresh_from_db()
    path = _object_path("materiel", drill.uuid)
    doc = client.get(path, headers={"Accept": AP}).json()
    assert doc["@context"] == vocab.CONTEXT
    assert doc["type"] == "Page" and doc[vocab.LENDING] is True
    photo = f"http://testserver{drill.photo.url}"
    assert doc["image"]["url"] == photo and doc["image"]["mediaType"].startswith("image/")
    assert doc["attachment"] == [doc["image"]]
    browser = client.get(path)
    assert browser.status_code == 302 and browser["Location"] == drill.get_absolute_url()


def test_what_is_not_lent_is_never_served(client, place):
    hidden = [
        _drill(place, network_lending=False),  # equipment, not lent
        _drill(place, active=False),  # lent, but out of use
        _drill(place, kind="salle"),  # ticked on a room
    ]
    for resource in hidden:
        for accept in (AP, "text/html"):
            response = client.get(
                _object_path("materiel", resource.uuid), headers={"Accept": accept}
            )
            assert response.status_code == 404
    # Another kind's address does not serve a resource, nor this one a members-only event.
    shown = _drill(place)
    assert client.get(_object_path("page", shown.uuid), headers={"Accept": AP}).status_code == 404
    members = make_event(place, title="Réservé", visibility=Event.Visibility.MEMBERS)
    for kind in ("materiel", "evenement"):
        response = client.get(_object_path(kind, members.uuid), headers={"Accept": AP})
        assert response.status_code == 404
    other = make_place(slug="autre", name="Autre")
    elsewhere = _drill(other)
    assert publishing.public_object(place, "materiel", elsewhere.uuid) is None


# --- Reading it back ------------------------------------------------------------------------


def test_the_document_reads_back_as_equipment(place):
    doc = vocab.equipment_object(_drill(place))
    fields = vocab.object_fields(doc)
    assert fields is not None
    assert fields["kind"] == RemoteObject.Kind.EQUIPMENT
    assert fields["name"] == "Perceuse à percussion"
    assert fields["summary"] == "Une semaine, caution 50 €."
    assert "coffret" in fields["content"] and "<" not in fields["content"]
    assert fields["location"] == "L'Établi, 3 rue des Lilas, 86100 Châtellerault"
    # Without our term a Page stays a documentation page; a false flag is no flag.
    assert vocab.object_fields({**doc, vocab.LENDING: False})["kind"] == "page"
    plain = {k: v for k, v in doc.items() if k != vocab.LENDING}
    assert vocab.object_fields(plain)["kind"] == "page"


def test_received_equipment_arrives_through_the_inbox(place):
    remote = make_actor(domain="remote.example", username="fablab", name="Le Fablab")
    make_follow(place=place, remote=remote)
    doc = {
        "id": "https://remote.example/ap/fablab/materiel/1",
        "type": "Page",
        vocab.LENDING: True,
        "name": "Scie sauteuse",
        "summary": "Prêt gratuit, à venir chercher.",
        "attributedTo": remote.url,
    }
    item = remote.sent.create(
        ap_id="https://remote.example/ap/fablab/activites/1",
        type="Create",
        payload={"type": "Create", "actor": remote.url, "object": doc},
    )
    services.inbox_process(item)
    got = RemoteObject.objects.get()
    assert got.kind == RemoteObject.Kind.EQUIPMENT and got.name == "Scie sauteuse"
    assert [i.name for i in selectors.network_equipment(place)] == ["Scie sauteuse"]


# --- The network page ---------------------------------------------------------------------


@pytest.fixture
def lender(db):
    """Place A follows La Ressourcerie, which lends a drill and has a documentation page."""
    a = make_place(slug="fabrique", name="La Fabrique")
    b = make_place(slug="autre", name="Autre")
    x = make_actor(domain="exemple.org", username="ressourcerie", name="La Ressourcerie")
    make_follow(place=a, remote=x)
    make_object(
        actor=x,
        kind=RemoteObject.Kind.EQUIPMENT,
        name="Perceuse à colonne",
        summary="Caution de 100 €, une semaine au plus.",
        url="https://exemple.org/lieux/ressourcerie/ressources/1/",
    )
    make_object(actor=x, kind=RemoteObject.Kind.PAGE, name="Guide de la perceuse")
    return a, b, x


def test_network_page_lists_the_equipment_lent_with_its_origin(client, lender):
    a, b, _x = lender
    html = client.get(reverse("network:home", kwargs={"place_slug": a.slug})).content.decode()
    assert "Matériel prêté dans le réseau" in html
    assert "Perceuse à colonne" in html
    assert 'href="https://exemple.org/lieux/ressourcerie/ressources/1/"' in html
    assert "Vient de La Ressourcerie (exemple.org)" in html
    assert "Caution de 100 €, une semaine au plus." in html
    assert "Guide de la perceuse" not in html  # pages are found by the search, not listed
    other = client.get(reverse("network:home", kwargs={"place_slug": b.slug})).content.decode()
    assert "Perceuse à colonne" not in other
    assert "Aucun lieu suivi ne prête encore de matériel." in other


def test_network_search_finds_equipment_by_name(client, lender):
    a, b, _x = lender
    found = selectors.network_search(a, "perceuse").items
    assert {(i.name, i.kind, i.origin.domain) for i in found} == {
        ("Perceuse à colonne", RemoteObject.Kind.EQUIPMENT, "exemple.org"),
        ("Guide de la perceuse", RemoteObject.Kind.PAGE, "exemple.org"),
    }
    assert selectors.network_search(b, "perceuse").items == []
    # The API and the aiguillage keep to commons and pages.
    assert [i.name for i in selectors.network_commons(a, q="perceuse")] == ["Guide de la perceuse"]
    html = client.get(
        reverse("network:home", kwargs={"place_slug": a.slug}), {"q": "perceuse"}
    ).content.decode()
    assert "Équipement à prêter · Vient de La Ressourcerie" in html
