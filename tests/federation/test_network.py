"""The read side of the network: what a place receives from the places it follows, the
network page, its iCal feed and the team's page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from icalendar import Calendar

from conciergerie.federation import selectors
from conciergerie.federation.models import BlockedDomain, Delivery, Follow, RemoteObject
from tests.commons.conftest import make_commons
from tests.conftest import login
from tests.factories import make_place, make_user
from tests.federation.factories import make_actor, make_event, make_follow, make_object

HOST = settings.BASE_URL.split("://", 1)[1].split("/", 1)[0]


@pytest.fixture
def places(db):
    return make_place(slug="fabrique", name="La Fabrique"), make_place(slug="autre", name="Autre")


@pytest.fixture
def followed(places):
    """Place A follows X (accepted); X published an event, a commons and a page."""
    a, _b = places
    x = make_actor(domain="exemple.org", username="ressourcerie", name="La Ressourcerie")
    make_follow(place=a, remote=x)
    return x


def names(items):
    return [i.name for i in items]


# --- Who sees what -----------------------------------------------------------------------------


def test_a_follower_sees_the_events_and_commons_another_place_does_not(places, followed):
    a, b = places
    make_event(actor=followed, name="Atelier vélo", location="12 rue Haute, Nantes")
    make_object(actor=followed, name="Café réparation", summary="Réparer ensemble.")
    make_object(actor=followed, kind=RemoteObject.Kind.PAGE, name="Statuts types")
    assert names(selectors.network_events(a)) == ["Atelier vélo"]
    assert sorted(names(selectors.network_commons(a))) == ["Café réparation", "Statuts types"]
    assert list(selectors.followed_actors(a)) == [followed]
    # B follows nobody: nothing of X reaches it, whatever A follows.
    assert selectors.network_events(b) == []
    assert selectors.network_commons(b) == []
    assert selectors.network_commons(b, q="cafe") == []
    assert list(selectors.followed_actors(b)) == []


def test_each_item_carries_its_origin(places, followed):
    a, _b = places
    event = make_event(actor=followed, name="Atelier vélo", location="Nantes")
    (item,) = selectors.network_events(a)
    assert item.id == event.ap_id
    assert item.url == event.url
    assert item.location == "Nantes"
    assert item.origin.name == "La Ressourcerie"
    assert item.origin.handle == "@ressourcerie@exemple.org"
    assert item.origin.domain == "exemple.org"
    assert item.origin.tag == "exemple.org"
    assert item.origin.url == followed.profile_url
    assert not item.origin.local


@pytest.mark.parametrize("state", [Follow.State.PENDING, Follow.State.REJECTED])
def test_a_follow_not_accepted_shows_nothing(places, state):
    a, _b = places
    x = make_actor()
    make_follow(place=a, remote=x, state=state)
    make_event(actor=x)
    make_object(actor=x)
    assert selectors.network_events(a) == []
    assert selectors.network_commons(a) == []
    assert list(selectors.followed_actors(a)) == []


def test_a_follower_of_the_place_is_not_followed_back(places):
    a, _b = places
    x = make_actor()
    make_follow(place=a, remote=x, direction=Follow.Direction.FOLLOWER)
    make_event(actor=x)
    assert selectors.network_events(a) == []


def test_deleted_objects_blocked_actors_and_blocked_domains_are_hidden(places, followed):
    a, _b = places
    make_object(actor=followed, name="Retiré", deleted_at=timezone.now())
    make_event(actor=followed, name="Annulé et effacé", deleted_at=timezone.now())
    blocked = make_actor(domain="autre.example", blocked=True)
    make_follow(place=a, remote=blocked)
    make_object(actor=blocked, name="D'un acteur bloqué")
    banned = make_actor(domain="banni.example")
    make_follow(place=a, remote=banned)
    make_event(actor=banned, name="D'une instance bloquée")
    BlockedDomain.objects.create(domain="banni.example", reason="spam")
    make_object(actor=followed, name="Visible")
    assert names(selectors.network_commons(a)) == ["Visible"]
    assert selectors.network_events(a) == []
    assert list(selectors.followed_actors(a)) == [followed]


@pytest.mark.parametrize(
    ("domain", "hidden"),
    [
        ("sous.exemple.org", True),  # a block covers the subdomains
        ("exemple.org:8443", True),  # and every port
        ("a.exemple.org:80", True),
        ("autreexemple.org", False),  # not the look-alikes
        ("exemple.org.example", False),
        ("exemple.orga", False),
    ],
)
def test_a_blocked_domain_covers_subdomains_and_ports(places, domain, hidden):
    a, _b = places
    actor = make_actor(domain=domain)
    make_follow(place=a, remote=actor)
    make_event(actor=actor)
    BlockedDomain.objects.create(domain="exemple.org")
    assert len(selectors.network_events(a)) == (0 if hidden else 1)
    assert list(selectors.followed_actors(a)) == ([] if hidden else [actor])


def test_past_events_are_hidden_ongoing_ones_shown_soonest_first(places, followed):
    a, _b = places
    make_event(actor=followed, name="Passé", in_days=-2)
    make_event(actor=followed, name="Dans une semaine", in_days=7)
    make_event(actor=followed, name="En cours", in_days=-0.05, hours=4)
    make_event(actor=followed, name="Sans fin passé", in_days=-1, end_at=None)
    make_event(actor=followed, name="Sans fin à venir", in_days=1, end_at=None)
    make_event(actor=followed, name="Sans date", start_at=None, end_at=None)
    assert names(selectors.network_events(a)) == [
        "En cours",
        "Sans fin à venir",
        "Dans une semaine",
    ]
    later = timezone.now() + dt.timedelta(days=2)
    assert names(selectors.network_events(a, start=later)) == ["Dans une semaine"]
    assert names(selectors.network_events(a, limit=1)) == ["En cours"]


# --- Searching the network ----------------------------------------------------------------------


@pytest.fixture
def library(places, followed):
    a, _b = places
    make_object(actor=followed, name="Café réparation", summary="Réparer au lieu de jeter.")
    make_object(actor=followed, name="Compostage collectif", tags=["jardin", "déchets"])
    make_object(
        actor=followed,
        kind=RemoteObject.Kind.PAGE,
        name="Guide du bénévolat",
        content="Accueillir les bénévoles. " * 5 + "Tenir la buvette du café associatif.",
    )
    return a


@pytest.mark.parametrize("q", ["cafe", "CAFÉ", "Café", "reparations", "réparer"])
def test_search_ignores_accents_case_and_plurals(library, q):
    assert "Café réparation" in names(selectors.network_commons(library, q=q))


def test_search_reads_tags_and_text_and_ranks_the_name_first(library):
    assert names(selectors.network_commons(library, q="dechet")) == ["Compostage collectif"]
    # "café" is in one name and in a page's text: the name comes first.
    assert names(selectors.network_commons(library, q="café")) == [
        "Café réparation",
        "Guide du bénévolat",
    ]


def test_search_wants_every_word_then_any(library):
    assert names(selectors.network_commons(library, q="café réparation")) == ["Café réparation"]
    found = names(selectors.network_commons(library, q="compostage réparation"))
    assert sorted(found) == ["Café réparation", "Compostage collectif"]
    assert selectors.network_commons(library, q="astronomie") == []
    assert len(selectors.network_commons(library, q="le la les")) == 3  # only stopwords: all


def test_network_search_tags_own_commons_here_and_remote_ones_with_their_domain(library):
    make_commons(library, name="Café des bricoleurs", summary="Un café pour réparer.")
    other = make_place(slug="ailleurs")
    make_commons(other, name="Café d'ailleurs", summary="Pas de ce lieu.")
    found = selectors.network_search(library, "café")
    tags = {item.name: item.origin.tag for item in found.items}
    assert tags["Café des bricoleurs"] == "ici"
    assert tags["Café réparation"] == "exemple.org"
    assert "Café d'ailleurs" not in tags  # another place's commons never come in
    assert found.items[0].origin.local
    assert found.items[0].origin.handle == f"@{library.slug}@{HOST}"
    assert selectors.network_search(library, "  ").items == []


# --- The map's places ---------------------------------------------------------------------------


def test_network_places_are_followed_located_and_listed_once(places):
    a, b = places
    located = make_actor(name="B Situé", latitude=47.2, longitude=-1.55)
    addressed = make_actor(name="A Adressé", city="Die")
    nowhere = make_actor(name="Nulle part")
    pending = make_actor(name="En attente", city="Lyon")
    blocked = make_actor(name="Bloqué", city="Lyon", domain="banni.example")
    BlockedDomain.objects.create(domain="banni.example")
    for actor in (located, addressed, nowhere, blocked):
        make_follow(place=a, remote=actor)
    make_follow(place=b, remote=located)  # followed twice: listed once
    make_follow(place=b, remote=pending, state=Follow.State.PENDING)
    assert [r.name for r in selectors.network_places()] == ["A Adressé", "B Situé"]


# --- The network page ---------------------------------------------------------------------------


def test_network_page_shows_followed_places_events_and_links(client, places, followed):
    a, b = places
    followed.city = "Nantes"
    followed.save()
    make_event(
        actor=followed,
        name="Atelier vélo",
        start_at=dt.datetime(2031, 5, 6, 16, 30, tzinfo=dt.UTC),
        end_at=dt.datetime(2031, 5, 6, 18, tzinfo=dt.UTC),
    )
    response = client.get(reverse("network:home", kwargs={"place_slug": a.slug}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Le réseau" in html and "Lieux suivis" in html and "Évènements du réseau" in html
    assert f'href="{followed.profile_url}"' in html and "La Ressourcerie" in html
    assert "@ressourcerie@exemple.org" in html and "Nantes" in html
    assert "Atelier vélo" in html and "Vient de La Ressourcerie" in html
    assert "18:30" in html  # 16:30 UTC, shown in the place's zone (Europe/Paris, summer)
    assert f'href="{reverse("opendata:map")}"' in html
    assert f'href="{reverse("network:events_ics", kwargs={"place_slug": a.slug})}"' in html
    # Another place of the instance does not see what A follows.
    other = client.get(reverse("network:home", kwargs={"place_slug": b.slug})).content.decode()
    assert "Atelier vélo" not in other and "La Ressourcerie" not in other


def test_network_page_searches_here_and_in_the_network(client, library):
    make_commons(library, name="Café des bricoleurs", summary="Un café pour réparer.")
    url = reverse("network:home", kwargs={"place_slug": library.slug})
    html = client.get(url, {"q": "cafe"}).content.decode()
    assert "Café réparation" in html and "Vient de La Ressourcerie" in html
    assert "Café des bricoleurs" in html and "Ici" in html
    assert "Compostage collectif" not in html


def test_network_page_refuses_a_too_long_search(client, library):
    url = reverse("network:home", kwargs={"place_slug": library.slug})
    response = client.get(url, {"q": "café " * 60})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "Café réparation" not in html  # no search was run


def test_unknown_place_is_404(client, db):
    assert client.get(reverse("network:home", kwargs={"place_slug": "nulle"})).status_code == 404


# --- The iCal feed ------------------------------------------------------------------------------


def test_ical_feed_holds_the_network_events(client, places, followed):
    a, b = places
    event = make_event(
        actor=followed,
        name="Atelier vélo",
        summary="On répare les vélos.",
        location="12 rue Haute, Nantes",
    )
    make_event(actor=followed, name="Passé", in_days=-3)
    response = client.get(reverse("network:events_ics", kwargs={"place_slug": a.slug}))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    cal = Calendar.from_ical(response.content)
    (vevent,) = cal.walk("VEVENT")
    assert str(vevent["UID"]) == event.ap_id
    assert str(vevent["SUMMARY"]) == "Atelier vélo"
    assert str(vevent["URL"]) == event.url
    assert str(vevent["LOCATION"]) == "12 rue Haute, Nantes"
    description = str(vevent["DESCRIPTION"])
    assert "On répare les vélos." in description
    assert "Vient de La Ressourcerie (@ressourcerie@exemple.org)" in description
    assert vevent["ORGANIZER"].params["CN"] == "La Ressourcerie"
    assert vevent.decoded("DTSTART") == event.start_at.replace(microsecond=0)
    empty = client.get(reverse("network:events_ics", kwargs={"place_slug": b.slug}))
    assert Calendar.from_ical(empty.content).walk("VEVENT") == []


# --- Query counts -------------------------------------------------------------------------------


def _seed(followed, n, start=0):
    for i in range(start, start + n):
        make_event(actor=followed, name=f"Évènement {i}", in_days=1 + i)
        make_object(actor=followed, name=f"Café {i}", tags=["réparation"])


def _seed_equipment(followed, n, start=0):
    for i in range(start, start + n):
        make_object(actor=followed, kind=RemoteObject.Kind.EQUIPMENT, name=f"Perceuse {i}")


def test_network_page_is_flat_in_queries(client, places, followed, django_assert_num_queries):
    a, _b = places
    url = reverse("network:home", kwargs={"place_slug": a.slug})
    _seed(followed, 1)
    _seed_equipment(followed, 1)
    # The place, the places followed, their events, the equipment they lend.
    with django_assert_num_queries(4):
        assert client.get(url).status_code == 200
    _seed(followed, 9, start=1)
    _seed_equipment(followed, 9, start=1)
    with django_assert_num_queries(4):
        response = client.get(url)
    assert response.content.decode().count("Vient de La Ressourcerie") == 20


def test_network_search_is_flat_in_queries(client, places, followed, django_assert_num_queries):
    """The local side is the catalogue's search (its own count, pinned by the commons tests);
    the network side adds one query, whatever the number of items."""
    a, _b = places
    url = reverse("network:home", kwargs={"place_slug": a.slug})
    _seed(followed, 1)
    with CaptureQueriesContext(connection) as first:
        assert client.get(url, {"q": "cafe"}).status_code == 200
    _seed(followed, 9, start=1)
    with django_assert_num_queries(len(first.captured_queries)):
        response = client.get(url, {"q": "cafe"})
    # Ten events, ten commons found.
    assert response.content.decode().count("Vient de La Ressourcerie") == 20


def test_ical_feed_is_flat_in_queries(client, places, followed, django_assert_num_queries):
    a, _b = places
    url = reverse("network:events_ics", kwargs={"place_slug": a.slug})
    _seed(followed, 1)
    with django_assert_num_queries(2):  # the place, the events
        assert client.get(url).status_code == 200
    _seed(followed, 9, start=1)
    with django_assert_num_queries(2):
        response = client.get(url)
    assert len(Calendar.from_ical(response.content).walk("VEVENT")) == 10


# --- The team's page ----------------------------------------------------------------------------


def manage_url(place, name="manage", **kwargs):
    return reverse(f"network:{name}", kwargs={"place_slug": place.slug, **kwargs})


@pytest.fixture
def team(places):
    a, _b = places
    return make_user(place=a, role="concierge"), make_user(place=a, role="admin")


def test_manage_page_lists_following_and_followers(client, places, followed, team):
    a, b = places
    fan = make_actor(domain="fans.example", username="fan", name="Un fan")
    make_follow(place=a, remote=fan, direction=Follow.Direction.FOLLOWER, state="pending")
    elsewhere = make_actor(name="Suivi par B")
    make_follow(place=b, remote=elsewhere)
    login(client, team[0])
    response = client.get(manage_url(a))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"@fabrique@{HOST}" in html
    assert "La Ressourcerie" in html and "Ne plus suivre" in html
    assert "Un fan" in html and "Accepter" in html and "Refuser" in html
    assert "Suivre un lieu" in html and "@lieu@exemple.org ou https://…" in html
    assert "Suivi par B" not in html
    assert "Bloquer une instance" not in html  # admins only


def test_manage_page_offers_blocking_to_admins(client, places, team):
    a, _b = places
    BlockedDomain.objects.create(domain="spam.example", reason="Pourriel")
    login(client, team[1])
    html = client.get(manage_url(a)).content.decode()
    assert "Bloquer une instance" in html and "spam.example" in html


def test_manage_page_is_flat_in_queries(client, places, team, django_assert_num_queries):
    a, _b = places
    login(client, team[0])
    make_follow(place=a, remote=make_actor())
    # The place, the session, the user, the role; following, followers, blocked domains and
    # blocked accounts.
    with django_assert_num_queries(8):
        assert client.get(manage_url(a)).status_code == 200
    for _i in range(5):
        make_follow(place=a, remote=make_actor())
        make_follow(place=a, remote=make_actor(), direction=Follow.Direction.FOLLOWER)
        BlockedDomain.objects.create(domain=f"bloque{_i}.example")
        make_actor(blocked=True)
    with django_assert_num_queries(8):
        response = client.get(manage_url(a))
    assert response.content.decode().count("Ne plus suivre") == 6


def test_another_places_follow_is_404(client, places, team):
    a, b = places
    theirs = make_follow(place=b, remote=make_actor())
    fan = make_follow(place=b, remote=make_actor(), direction=Follow.Direction.FOLLOWER)
    login(client, team[0])
    assert client.post(manage_url(a, "unfollow", follow_id=theirs.pk)).status_code == 404
    url = manage_url(a, "follower_decide", follow_id=fan.pk)
    assert client.post(url, {"decision": "accept"}).status_code == 404
    # A follower is not a followed place, and the other way round.
    mine = make_follow(place=a, remote=make_actor(), direction=Follow.Direction.FOLLOWER)
    assert client.post(manage_url(a, "unfollow", follow_id=mine.pk)).status_code == 404


# --- Writes, through the federation services ---------------------------------------------------


def test_follow_a_known_place_by_its_address(client, places, team):
    a, _b = places
    other = make_actor(domain="ailleurs.example", username="atelier", name="L'Atelier")
    login(client, team[0])
    response = client.post(manage_url(a, "follow"), {"target": other.url}, follow=True)
    assert "Demande envoyée à L&#x27;Atelier : le lieu doit l&#x27;accepter." in (
        response.content.decode()
    )
    made = Follow.objects.get(place=a, remote=other)
    assert made.direction == Follow.Direction.FOLLOWING
    assert made.state == Follow.State.PENDING
    assert Delivery.objects.filter(inbox=other.inbox, activity__type="Follow").exists()
    assert selectors.network_events(a) == []  # nothing shown until the place accepts


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("pas une adresse", "Indiquez une adresse comme @lieu@exemple.org ou https://…"),
        ("FOLLOWED", "Ce lieu suit déjà La Ressourcerie."),
    ],
)
def test_follow_refusals_show_on_the_form(client, places, followed, team, target, message):
    a, _b = places
    login(client, team[0])
    target = followed.url if target == "FOLLOWED" else target
    response = client.post(manage_url(a, "follow"), {"target": target})
    assert response.status_code == 400
    html = response.content.decode()
    assert escape(message) in html
    assert 'value="' + escape(target) + '"' in html  # what was typed stays in the field


def test_an_empty_follow_form_is_refused(client, places, team):
    a, _b = places
    login(client, team[0])
    assert client.post(manage_url(a, "follow"), {"target": ""}).status_code == 400
    assert not Follow.objects.exists()


def test_unfollow_removes_the_follow_and_its_items(client, places, followed, team):
    a, _b = places
    make_event(actor=followed)
    mine = Follow.objects.get(place=a, remote=followed)
    login(client, team[0])
    response = client.post(manage_url(a, "unfollow", follow_id=mine.pk), follow=True)
    assert "Vous ne suivez plus La Ressourcerie." in response.content.decode()
    assert not Follow.objects.filter(pk=mine.pk).exists()
    assert selectors.network_events(a) == []


def test_a_follower_is_accepted_or_refused(client, places, team):
    a, _b = places
    fan = make_follow(
        place=a,
        remote=make_actor(name="Un fan"),
        direction=Follow.Direction.FOLLOWER,
        state=Follow.State.PENDING,
    )
    url = manage_url(a, "follower_decide", follow_id=fan.pk)
    login(client, team[0])
    assert client.post(url, {"decision": "peut-être"}).status_code == 302
    fan.refresh_from_db()
    assert fan.state == Follow.State.PENDING
    response = client.post(url, {"decision": "accept"}, follow=True)
    assert "Un fan suit maintenant le lieu." in response.content.decode()
    fan.refresh_from_db()
    assert fan.state == Follow.State.ACCEPTED
    response = client.post(url, {"decision": "reject"}, follow=True)
    assert "Demande de Un fan refusée." in response.content.decode()
    fan.refresh_from_db()
    assert fan.state == Follow.State.REJECTED


def test_block_is_for_admins_and_hides_the_instance(client, places, followed, team):
    a, _b = places
    make_event(actor=followed, name="Atelier vélo")
    login(client, team[0])
    assert client.post(manage_url(a, "block"), {"domain": "exemple.org"}).status_code == 403
    login(client, team[1])
    response = client.post(manage_url(a, "block"), {"domain": "pas un domaine"})
    assert response.status_code == 400
    assert "Indiquez un nom de domaine, comme exemple.org." in response.content.decode()
    data = {"domain": "exemple.org", "reason": "Pourriel"}
    response = client.post(manage_url(a, "block"), data, follow=True)
    assert "Instance exemple.org bloquée" in response.content.decode()
    assert BlockedDomain.objects.get(domain="exemple.org").reason == "Pourriel"
    assert selectors.network_events(a) == []
    assert list(selectors.followed_actors(a)) == []
