import pytest

from conciergerie.community.models import Person
from conciergerie.core import services as core
from tests.factories import make_person, make_user


def bearer(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {core.token_create(user=user)}"}


@pytest.fixture
def people(place, other_place):
    return {
        "public": make_person(
            place=place,
            first_name="Paula",
            last_name="Publique",
            name_visibility="public",
            skills=["Soudure"],
            skills_visibility="public",
            email="paula@example.org",
        ),
        "members": make_person(
            place=place,
            first_name="Marc",
            last_name="Membres",
            name_visibility="members",
            skills=["Soudure"],
            skills_visibility="members",
            phone="0600000000",
        ),
        "private": make_person(
            place=place, first_name="Pia", last_name="Privée", skills=["Soudure"]
        ),
        "elsewhere": make_person(
            place=other_place,
            first_name="Elsa",
            last_name="",
            name_visibility="public",
            skills=["Soudure"],
            skills_visibility="public",
        ),
    }


@pytest.mark.django_db
class TestPeopleList:
    def test_anonymous_sees_only_public_fields_of_public_people(self, client, people):
        data = client.get("/api/v1/people", {"q": "soudure"}).json()
        names = {p.get("name") for p in data["items"]}
        assert names == {"Paula Publique", "Elsa"}
        paula = next(p for p in data["items"] if p["name"] == "Paula Publique")
        assert paula["skills"] == ["Soudure"]
        assert "email" not in paula and "visibility" not in paula

    def test_member_sees_members_fields_of_their_place_only(self, client, people, member, place):
        data = client.get(
            "/api/v1/people", {"q": "soudure", "place": place.slug}, **bearer(member)
        ).json()
        names = {p["name"] for p in data["items"]}
        assert names == {"Paula Publique", "Marc Membres"}
        marc = next(p for p in data["items"] if p["name"] == "Marc Membres")
        assert "phone" not in marc  # phone stays private

    def test_search_never_matches_a_hidden_field(self, client, people, member):
        data = client.get("/api/v1/people", {"q": "paula@example.org"}, **bearer(member)).json()
        assert data["count"] == 0

    def test_concierge_sees_everyone_of_their_place_with_visibility(
        self, client, people, concierge, place
    ):
        data = client.get(
            "/api/v1/people", {"q": "soudure", "place": place.slug}, **bearer(concierge)
        ).json()
        assert data["count"] == 3
        pia = next(p for p in data["items"] if p["name"] == "Pia Privée")
        assert pia["visibility"]["name"] == "private"

    def test_concierge_of_place_a_sees_only_public_people_of_place_b(
        self, client, people, concierge, other_place
    ):
        make_person(place=other_place, first_name="Secret", skills=["Soudure"])
        data = client.get("/api/v1/people", {"place": other_place.slug}, **bearer(concierge)).json()
        assert [p["name"] for p in data["items"]] == ["Elsa"]

    def test_bad_token_is_401_with_json(self, client):
        response = client.get("/api/v1/people", HTTP_AUTHORIZATION="Bearer nope")
        assert response.status_code == 401
        assert "detail" in response.json()

    def test_limit_out_of_range_is_400(self, client):
        response = client.get("/api/v1/people", {"limit": 5000})
        assert response.status_code == 400
        assert "limit" in response.json()["errors"]


@pytest.mark.django_db
class TestPersonDetail:
    def test_private_person_is_404_for_member_200_for_concierge(
        self, client, people, member, concierge
    ):
        url = f"/api/v1/people/{people['private'].uuid}"
        assert client.get(url, **bearer(member)).status_code == 404
        data = client.get(url, **bearer(concierge)).json()
        assert data["name"] == "Pia Privée" and data["skills"] == ["Soudure"]

    def test_person_sees_own_private_fields(self, client, place):
        user = make_user(place=place, role="member", email="pia@example.org")
        person = make_person(
            place=place, first_name="Pia", email="pia@example.org", user=user, phone="0611"
        )
        data = client.get(f"/api/v1/people/{person.uuid}", **bearer(user)).json()
        assert data["phone"] == "0611" and data["visibility"]["phone"] == "private"

    def test_unknown_id_404_and_bad_uuid_400(self, client):
        assert client.get("/api/v1/people/6f1c1f3e-0000-4000-8000-000000000000").status_code == 404
        assert client.get("/api/v1/people/pas-un-uuid").status_code == 400


@pytest.mark.django_db
class TestCreatePerson:
    def post(self, client, user, payload):
        return client.post(
            "/api/v1/people",
            payload,
            content_type="application/json",
            **(bearer(user) if user else {}),
        )

    def test_concierge_creates_person_201(self, client, concierge, place):
        response = self.post(
            client,
            concierge,
            {
                "first_name": "Inès",
                "last_name": "Durand",
                "email": "ines@example.org",
                "skills": ["Couture", "Broderie"],
                "needs": ["Comptabilité"],
                "organisations": ["Repair Café"],
                "visibility": {"name": "public"},
            },
        )
        assert response.status_code == 201, response.content
        data = response.json()
        assert data["skills"] == ["Broderie", "Couture"]
        assert data["visibility"]["name"] == "public"
        person = Person.objects.get(uuid=data["id"])
        assert person.place == place
        assert [o.name for o in person.organisations.all()] == ["Repair Café"]

    def test_field_errors_are_400_and_nothing_written(self, client, concierge):
        response = self.post(client, concierge, {"last_name": "Sans prénom", "email": "x"})
        assert response.status_code == 400
        assert response.json()["errors"]["first_name"] == ["Ce champ est obligatoire."]
        response = self.post(
            client,
            concierge,
            {"first_name": "A", "email": "pas-un-email", "organisations": ["Nouvelle asso"]},
        )
        assert response.status_code == 400
        assert "email" in response.json()["errors"]
        assert not Person.objects.exists()
        from conciergerie.community.models import Organisation

        assert not Organisation.objects.exists()

    def test_bad_visibility_is_400(self, client, concierge):
        response = self.post(client, concierge, {"first_name": "A", "visibility": {"name": "tous"}})
        assert response.status_code == 400
        assert "visibility.name" in response.json()["errors"]

    def test_duplicate_email_is_409_with_message(self, client, concierge, place):
        make_person(place=place, email="dup@example.org")
        response = self.post(client, concierge, {"first_name": "B", "email": "DUP@example.org"})
        assert response.status_code == 409
        assert "dup@example.org" in response.json()["errors"]["email"][0]

    def test_member_forbidden_anonymous_forbidden(self, client, member):
        assert self.post(client, member, {"first_name": "A"}).status_code == 403
        assert self.post(client, None, {"first_name": "A"}).status_code == 403

    def test_concierge_cannot_create_in_other_place(self, client, concierge, other_place):
        response = self.post(client, concierge, {"first_name": "A", "place": other_place.slug})
        assert response.status_code == 403

    def test_malformed_json_is_400(self, client, concierge):
        response = client.post(
            "/api/v1/people", "{pas du json", content_type="application/json", **bearer(concierge)
        )
        assert response.status_code == 400


@pytest.mark.django_db
def test_places_public_list(client, place):
    from decimal import Decimal

    from conciergerie.core.services import place_update

    place_update(place=place, by=None, data={"latitude": Decimal("46.78"), "city": "Chalon"})
    data = client.get("/api/v1/places").json()
    assert data[0]["slug"] == "fabrique" and data[0]["city"] == "Chalon"
    assert data[0]["id"] == str(place.uuid)
    assert float(data[0]["latitude"]) == 46.78


@pytest.mark.django_db
def test_openapi_document_lists_endpoints(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/places", "/api/v1/people", "/api/v1/people/{person_id}"} <= set(doc["paths"])
    assert client.get("/api/v1/docs").status_code == 200
