"""The commons JSON API: search, one commons, import, aiguillage."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conciergerie.commons.models import Commons, CommonsRevision, Domain
from conciergerie.commons.services.aiguillage import aiguilleur_set
from conciergerie.commons.services.catalogue import commons_set_status
from conciergerie.core import services as core
from tests.commons.conftest import commons_data, make_commons
from tests.commons.test_imports import jitsi
from tests.factories import make_person, make_user

pytestmark = pytest.mark.django_db

GRID = {"adoption_time": "heures", "complexity": 1}


def bearer(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {core.token_create(user=user)}"}


def auth(user):
    return bearer(user) if user is not None else {}


def post_json(client, url, body, user=None):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(url, data, content_type="application/json", **auth(user))


@pytest.fixture
def catalogue(place):
    make_commons(place)
    make_commons(place, **jitsi(links=[], contacts=[], grid=GRID))
    pending = make_commons(place, name="Brouillon", slug="brouillon", url="https://brouillon.org")
    commons_set_status(commons=pending, status=Commons.Status.PENDING, by=None)
    return place


def test_openapi_lists_the_routes(client):
    doc = client.get("/api/v1/openapi.json").json()
    paths = doc["paths"]
    assert "get" in paths["/api/v1/commons"]
    assert "get" in paths["/api/v1/commons/{slug}"]
    assert "post" in paths["/api/v1/commons/import"]
    assert "post" in paths["/api/v1/aiguillage"]
    body = paths["/api/v1/commons/import"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["type"] == "array"
    assert "kind" in body["schema"]["items"]["properties"]


# --- Search --------------------------------------------------------------------------------------


class TestSearch:
    def test_anonymous_sees_validated_commons_ranked(self, client, catalogue):
        response = client.get("/api/v1/commons", {"place": "fabrique", "q": "visio"})
        assert response.status_code == 200
        data = response.json()
        assert [i["slug"] for i in data["items"]] == ["jitsi-meet"]
        item = data["items"][0]
        assert item["url"] == "https://meet.jit.si"
        assert item["page"] == settings.BASE_URL + "/lieux/fabrique/communs/jitsi-meet/"
        assert item["actions"] == ["travailler", "animer"]
        assert item["domains"] == ["visioconférence"]
        assert item["grid"] == GRID
        assert set(item) >= {"uuid", "name", "summary", "kind", "tags", "license", "updated_at"}

    def test_without_words_every_validated_commons_by_name(self, client, catalogue):
        data = client.get("/api/v1/commons", {"place": "fabrique"}).json()
        assert [i["name"] for i in data["items"]] == ["Jitsi Meet", "Paheko"]
        assert data["count"] == 2

    def test_moderators_also_see_pending_commons(self, client, catalogue, concierge, member):
        names = lambda user: [  # noqa: E731
            i["slug"] for i in client.get("/api/v1/commons", **auth(user)).json()["items"]
        ]
        assert "brouillon" in names(concierge)  # their only place: no `place` needed
        assert "brouillon" not in names(member)

    def test_typos_are_corrected_and_said(self, client, catalogue):
        data = client.get("/api/v1/commons", {"place": "fabrique", "q": "comptabilte"}).json()
        assert [i["slug"] for i in data["items"]] == ["paheko"]
        assert data["corrections"] == [{"typed": "comptabilte", "corrected": "comptabilite"}]

    def test_filters(self, client, catalogue):
        def slugs(**params):
            return [
                i["slug"]
                for i in client.get("/api/v1/commons", {"place": "fabrique", **params}).json()[
                    "items"
                ]
            ]

        assert slugs(action="animer") == ["jitsi-meet"]
        assert slugs(domain="gestion-associative") == ["paheko"]
        assert slugs(kind="methode") == []

    def test_bad_filters_and_missing_place(self, client, catalogue):
        response = client.get("/api/v1/commons", {"place": "fabrique", "kind": "fusée"})
        assert response.status_code == 400
        assert "logiciel" in response.json()["errors"]["kind"][0]
        assert client.get("/api/v1/commons", {"place": "fabrique", "limit": 0}).status_code == 400
        missing = client.get("/api/v1/commons")
        assert missing.status_code == 400
        assert "place" in missing.json()["errors"]
        assert client.get("/api/v1/commons", {"place": "nulle-part"}).status_code == 404
        bad_token = client.get("/api/v1/commons", HTTP_AUTHORIZATION="Bearer faux")
        assert bad_token.status_code == 401

    def test_another_places_commons_never_appear(self, client, catalogue, other_place):
        make_commons(other_place, name="Paheko ailleurs", slug="paheko-ailleurs")
        data = client.get("/api/v1/commons", {"place": "fabrique", "q": "paheko"}).json()
        assert [i["slug"] for i in data["items"]] == ["paheko"]
        other = client.get("/api/v1/commons", {"place": other_place.slug}).json()
        assert [i["slug"] for i in other["items"]] == ["paheko-ailleurs"]

    @pytest.mark.parametrize("q", ["", "logiciel"])
    def test_query_count_is_flat(self, client, place, q):
        def queries():
            with CaptureQueriesContext(connection) as ctx:
                response = client.get("/api/v1/commons", {"place": "fabrique", "q": q})
            assert response.status_code == 200
            return len(ctx.captured_queries), len(response.json()["items"])

        make_commons(place, description="Un logiciel.")
        one, count = queries()
        assert count == 1
        for i in range(9):
            make_commons(
                place,
                name=f"Commun {i}",
                slug=f"commun-{i}",
                url=f"https://c{i}.org",
                description="Un logiciel.",
                domains=[f"domaine {i}", "commun"],
            )
        assert queries() == (one, 10)


# --- One commons ---------------------------------------------------------------------------------


class TestDetail:
    def test_the_import_format_plus_identity(self, client, catalogue):
        response = client.get("/api/v1/commons/paheko", {"place": "fabrique"})
        assert response.status_code == 200
        data = response.json()
        assert data["description"] == "Logiciel libre pour **gérer une association**."
        assert data["domains"] == ["gestion associative"]
        assert data["revision"] == 1
        assert data["status"] == "validated"
        assert data["page"].endswith("/lieux/fabrique/communs/paheko/")
        assert data["uuid"] == str(Commons.objects.get(slug="paheko").uuid)
        assert data["links"] == [] and data["contacts"] == [] and data["grid"] == {}

    def test_pending_only_for_moderators(self, client, catalogue, concierge):
        url = "/api/v1/commons/brouillon"
        assert client.get(url, {"place": "fabrique"}).status_code == 404
        assert client.get(url, **bearer(concierge)).status_code == 200

    def test_other_place_is_another_catalogue(self, client, catalogue, other_place):
        response = client.get("/api/v1/commons/paheko", {"place": other_place.slug})
        assert response.status_code == 404
        assert response.json()["detail"] == "Commun introuvable."


# --- Import --------------------------------------------------------------------------------------

URL = "/api/v1/commons/import?place=fabrique"


class TestImport:
    def test_anonymous_401_member_403_other_concierge_403(self, client, place, member, other_place):
        body = [commons_data()]
        assert post_json(client, URL, body).status_code == 401
        denied = post_json(client, URL, body, member)
        assert denied.status_code == 403
        assert denied.json()["detail"]
        stranger = make_user(place=other_place, role="concierge")
        assert post_json(client, URL, body, stranger).status_code == 403
        assert not Commons.objects.exists()

    def test_mixed_items_report_and_idempotence(self, client, place, concierge):
        body = [
            commons_data(),
            commons_data(name="Sans type", slug="sans-type", url="https://x.org", kind="fusée"),
            commons_data(
                name="Script",
                slug="script",
                url="https://script.example",
                description="<script>alert(1)</script> texte",
                domains=["domaine inventé"],
                actions="gerer",  # a string: the import is tolerant
            ),
            commons_data(
                name="Mauvais",
                slug="mauvais",
                url="ftp://mauvais",
                domains=["domaine du mauvais"],
                tags="pas une liste mais ça passe",
                grid={"inconnue": 1},
            ),
        ]
        response = post_json(client, URL, body, concierge)
        assert response.status_code == 200
        data = response.json()
        assert (data["total"], data["created"], data["error"]) == (4, 2, 2)
        items = data["items"]
        assert [i["outcome"] for i in items] == ["created", "error", "created", "error"]
        assert items[0]["uuid"] == str(Commons.objects.get(slug="paheko").uuid)
        assert "kind" in items[1]["errors"] and items[1]["uuid"] is None
        assert set(items[3]["errors"]) == {"url", "grid.inconnue"}
        assert set(Commons.objects.values_list("slug", flat=True)) == {"paheko", "script"}
        assert Commons.objects.get(slug="script").description.startswith("<script>")
        assert not Domain.objects.filter(slug="domaine-du-mauvais").exists()
        revisions = CommonsRevision.objects.count()
        again = post_json(client, URL, body, concierge).json()
        assert [i["outcome"] for i in again["items"]] == [
            "unchanged",
            "error",
            "unchanged",
            "error",
        ]
        assert again["unchanged"] == 2
        assert CommonsRevision.objects.count() == revisions

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            (b"pas du json", "JSON invalide"),
            ({"name": "Paheko"}, "tableau"),
            ("", "vide"),
        ],
    )
    def test_body_refused_as_a_whole(self, client, place, concierge, body, expected):
        response = post_json(client, URL, body, concierge)
        assert response.status_code == 400
        data = response.json()
        assert expected in data["errors"]["body"][0]
        assert expected in data["detail"]

    def test_too_many_items(self, client, place, concierge):
        response = post_json(client, URL, [{}] * 5001, concierge)
        assert response.status_code == 400
        assert "5 000" in response.json()["detail"]

    def test_too_big(self, client, place, concierge):
        body = b"[" + b" " * (10 * 1024 * 1024) + b"]"
        response = post_json(client, URL, body, concierge)
        assert response.status_code == 400
        assert "10 Mo" in response.json()["detail"]

    def test_tenancy_imports_into_the_named_place_only(self, client, place, other_place):
        admin = make_user(place=other_place, role="admin")
        response = post_json(
            client, f"/api/v1/commons/import?place={other_place.slug}", [commons_data()], admin
        )
        assert response.json()["created"] == 1
        assert Commons.objects.get().place == other_place


# --- Aiguillage ----------------------------------------------------------------------------------

AIGUILLAGE = "/api/v1/aiguillage?place=fabrique"


class TestAiguillage:
    def test_anonymous_gets_commons_then_people(self, client, catalogue, concierge):
        person = make_person(place=catalogue, first_name="Awa", last_name="Diallo")
        aiguilleur_set(
            place=catalogue, person=person, by=concierge, domains=["gestion associative"]
        )
        response = post_json(
            client,
            AIGUILLAGE,
            {
                "need": "on veut gérer les adhésions et la compta de notre asso",
                "answers": {"action": "gerer", "skills": "aucune"},
            },
        )
        assert response.status_code == 200
        suggestions = response.json()["suggestions"]
        assert suggestions[0]["type"] == "commons"
        assert suggestions[0]["name"] == "Paheko"
        assert suggestions[0]["url"].startswith(settings.BASE_URL)
        assert suggestions[0]["reason"]
        people = [s for s in suggestions if s["type"] == "person"]
        assert people and people[0]["id"] == str(person.uuid)
        assert "gestion associative" in people[0]["reason"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"need": ""}, "need"),
            ({"need": "   "}, "need"),
            ({}, "need"),
            ({"need": 12}, "need"),
            ({"need": "compta", "answers": {"budget": "énorme"}}, "answers.budget"),
            ({"need": "compta", "answers": {"couleur": "bleu"}}, "answers.couleur"),
            ({"need": "compta", "answers": ["gerer"]}, "answers"),
        ],
    )
    def test_bad_requests(self, client, catalogue, body, field):
        response = post_json(client, AIGUILLAGE, body)
        assert response.status_code == 400
        assert field in response.json()["errors"]

    def test_not_json(self, client, catalogue):
        response = post_json(client, AIGUILLAGE, b"{need: compta")
        assert response.status_code == 400

    def test_other_places_commons_are_not_suggested(self, client, catalogue, other_place):
        make_commons(other_place, name="Garradin", slug="garradin", url="https://garradin.eu")
        data = post_json(client, AIGUILLAGE, {"need": "gérer la comptabilité"}).json()
        names = [s["name"] for s in data["suggestions"] if s["type"] == "commons"]
        assert names == ["Paheko"]
