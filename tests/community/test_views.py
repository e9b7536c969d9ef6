import datetime as dt

import pytest
from django.test import Client

from conciergerie.community.models import Introduction, Person
from conciergerie.core.models import AuditEntry
from tests.conftest import login
from tests.factories import make_membership, make_person, make_user


def seed(place, n, start=0):
    for i in range(start, start + n):
        p = make_person(
            place=place,
            first_name=f"P{i}",
            skills=[f"Compétence {i % 7}", "Soudure"],
            needs=[f"Besoin {i % 5}"],
            name_visibility="members",
            skills_visibility="members",
        )
        make_membership(person=p, start=dt.date.today(), status="paid")


def count_queries(client, url, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
class TestQueryCounts:
    """Pinned exact query counts: they must not grow with the number of people."""

    DIRECTORY = 11
    PERSON = 9

    @pytest.mark.parametrize("role", ["concierge", "member"])
    def test_directory_flat(self, client, place, role, django_assert_num_queries):
        user = make_user(place=place, role=role)
        login(client, user)
        url = f"/lieux/{place.slug}/annuaire/"
        seed(place, 3)
        with django_assert_num_queries(self.DIRECTORY):
            assert client.get(url).status_code == 200
        seed(place, 40, start=3)
        with django_assert_num_queries(self.DIRECTORY):
            response = client.get(url)
        # A full page of cards, and the page links to the next one.
        html = response.content.decode()
        assert html.count('class="card person-card"') == 24
        assert "page=2" in html
        with django_assert_num_queries(self.DIRECTORY):
            assert client.get(url + "?q=soudure&membership=a_jour").status_code == 200

    def test_person_page_flat(self, client, place, concierge, django_assert_num_queries):
        login(client, concierge)
        person = make_person(place=place, skills=["A", "B"], needs=["C"])
        make_membership(person=person, start=dt.date.today())
        with django_assert_num_queries(self.PERSON):
            client.get(person.get_absolute_url())
        for i in range(10):
            make_membership(person=person, start=dt.date(2000 + i, 1, 1), fee=1)
            helper = make_person(place=place)
            Introduction.objects.create(place=place, need="x", helper=helper, requester=person)
        from conciergerie.community.services import person_update

        person_update(person=person, by=None, tags={"skill": [f"S{i}" for i in range(15)]})
        with django_assert_num_queries(self.PERSON):
            response = client.get(person.get_absolute_url())
        assert response.content.decode().count("S1") >= 1


@pytest.mark.django_db
class TestDirectory:
    def test_member_does_not_see_private_people_or_fields(self, member_client, place):
        make_person(
            place=place, first_name="Visible", name_visibility="members", skills=["Soudure"]
        )  # skills private
        make_person(place=place, first_name="Invisible")
        html = member_client.get(f"/lieux/{place.slug}/annuaire/").content.decode()
        assert "Visible" in html and "Invisible" not in html
        assert "Soudure" not in html

    def test_filter_by_skill_tag(self, concierge_client, place):
        make_person(place=place, first_name="Soudeuse", skills=["Soudure"])
        make_person(place=place, first_name="Couturier", skills=["Couture"])
        tag = Person.objects.get(first_name="Soudeuse").tags.get()
        html = concierge_client.get(
            f"/lieux/{place.slug}/annuaire/?skill={tag.pk}"
        ).content.decode()
        assert "Soudeuse" in html and "Couturier" not in html

    def test_htmx_request_gets_only_results(self, concierge_client, place):
        make_person(place=place, first_name="Zélie")
        response = concierge_client.get(
            f"/lieux/{place.slug}/annuaire/?q=zelie", HTTP_HX_REQUEST="true"
        )
        html = response.content.decode()
        assert "Zélie" in html and "<html" not in html

    def test_bad_filter_values_do_not_500(self, concierge_client, place):
        url = f"/lieux/{place.slug}/annuaire/?skill=abc&organisation=nope&page=zz&membership=x"
        assert concierge_client.get(url).status_code == 200


@pytest.mark.django_db
class TestPersonPages:
    def test_anonymous_sees_only_public_fields(self, client, place):
        person = make_person(
            place=place,
            first_name="Ana",
            name_visibility="public",
            email="ana@example.org",
            skills=["Vélo"],
            skills_visibility="public",
            needs=["Local"],
            needs_visibility="members",
        )
        html = client.get(person.get_absolute_url()).content.decode()
        assert "Ana" in html and "Vélo" in html
        assert "ana@example.org" not in html and "Local" not in html

    def test_person_of_other_place_is_404_under_this_place(
        self, concierge_client, place, other_place
    ):
        stranger = make_person(place=other_place, name_visibility="public")
        url = f"/lieux/{place.slug}/personnes/{stranger.uuid}/"
        assert concierge_client.get(url).status_code == 404

    def test_create_person_form_errors_are_shown_and_nothing_written(self, concierge_client, place):
        make_person(place=place, email="pris@example.org")
        response = concierge_client.post(
            f"/lieux/{place.slug}/personnes/nouvelle/",
            {
                "first_name": "Nouveau",
                "email": "PRIS@example.org",
                "kind": "membre",
                **{
                    f"{f}_visibility": "private"
                    for f in (
                        "name",
                        "email",
                        "phone",
                        "bio",
                        "organisations",
                        "skills",
                        "needs",
                        "interests",
                        "lendables",
                    )
                },
            },
        )
        assert response.status_code == 200
        assert "pris@example.org" in response.content.decode()
        assert "déjà" in response.content.decode()
        assert Person.objects.count() == 1

    def test_member_changes_own_visibility(self, client, place):
        user = make_user(place=place, role="member", email="moi@example.org")
        login(client, user)
        response = client.get(f"/lieux/{place.slug}/mon-profil/")
        person = Person.objects.get(user=user)
        assert response["Location"] == f"/lieux/{place.slug}/personnes/{person.uuid}/modifier/"
        form = {
            "first_name": "Moi",
            "last_name": "Même",
            "email": "moi@example.org",
            "skill_tags": "Jardinage",
            **{
                f"{f}_visibility": "private"
                for f in (
                    "name",
                    "email",
                    "phone",
                    "bio",
                    "organisations",
                    "skills",
                    "needs",
                    "interests",
                    "lendables",
                )
            },
        }
        form.update({"name_visibility": "public", "skills_visibility": "public"})
        response = client.post(f"/lieux/{place.slug}/personnes/{person.uuid}/modifier/", form)
        assert response.status_code == 302
        person.refresh_from_db()
        assert person.name_visibility == "public" and person.kind == "membre"
        anon = Client().get(person.get_absolute_url()).content.decode()
        assert "Jardinage" in anon and "moi@example.org" not in anon
        assert AuditEntry.objects.filter(action="person.update", actor=user).exists()


@pytest.mark.django_db
class TestIntroductionFlow:
    def test_suggest_then_record_then_outcome(self, concierge_client, place):
        helper = make_person(place=place, first_name="Hugo", skills=["Soudure"])
        requester = make_person(place=place, first_name="Rita")
        url = f"/lieux/{place.slug}/gestion/mises-en-relation/nouvelle/"
        html = concierge_client.get(
            url, {"need": "souder un cadre", "requester": requester.uuid}
        ).content.decode()
        assert "Hugo" in html and "Soudure" in html
        response = concierge_client.post(
            url,
            {
                "need": "souder un cadre",
                "requester": requester.uuid,
                "helper": helper.uuid,
                "reason": "compétence « Soudure »",
                "note": "",
            },
        )
        intro = Introduction.objects.get()
        assert response["Location"] == intro.get_absolute_url()
        concierge_client.post(intro.get_absolute_url(), {"outcome": "success", "note": "Fait"})
        intro.refresh_from_db()
        assert intro.outcome == "success"
        html = concierge_client.get(
            f"/lieux/{place.slug}/gestion/mises-en-relation/"
        ).content.decode()
        assert "100 %" in html


@pytest.mark.django_db
class TestLogin:
    def test_rate_limited_login(self, client, member, settings):
        settings.LOGIN_MAX_FAILURES = 3
        for _ in range(3):
            response = client.post(
                "/compte/connexion/", {"username": member.email, "password": "faux"}
            )
            assert "incorrect" in response.content.decode()
        response = client.post(
            "/compte/connexion/", {"username": member.email, "password": "mot-de-passe-solide-42"}
        )
        assert "Trop de tentatives" in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_csrf_enforced_on_login(self, member):
        client = Client(enforce_csrf_checks=True)
        response = client.post(
            "/compte/connexion/", {"username": member.email, "password": "mot-de-passe-solide-42"}
        )
        assert response.status_code == 403

    def test_session_cookie_flags(self, client, member):
        response = client.post(
            "/compte/connexion/", {"username": member.email, "password": "mot-de-passe-solide-42"}
        )
        cookie = response.cookies["sessionid"]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
