"""The catalogue's read pages: the list with search and filters, a commons' page, and the
moderators' archive / restore buttons."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, resolve, reverse

from conciergerie.commons.catalogue_urls import CommonsSlugConverter, taken_words
from conciergerie.commons.catalogue_views import commons_detail
from conciergerie.commons.models import Commons
from conciergerie.commons.services.catalogue import commons_create, commons_set_status
from conciergerie.core.models import AuditEntry
from tests.commons.conftest import commons_data, make_commons
from tests.conftest import login
from tests.factories import make_place, make_user

pytestmark = pytest.mark.django_db


def url(name, place, **kw):
    return reverse(f"commons:{name}", kwargs={"place_slug": place.slug, **kw})


def text(response):
    return html.unescape(response.content.decode())


def queries(client, path, **params):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, params)
    assert response.status_code == 200, response.status_code
    return len(ctx.captured_queries)


def jitsi(place, **over):
    data = {
        "name": "Jitsi Meet",
        "slug": "jitsi-meet",
        "summary": "Visioconférence sans compte, dans le navigateur.",
        "description": "Des réunions à distance avec vidéo et partage d'écran.",
        "url": "https://meet.jit.si",
        "kind": "service",
        "actions": ["travailler", "animer"],
        "domains": ["visioconférence"],
        "tags": ["réunion à distance", "visio"],
        "license": "Apache-2.0",
        "grid": {"adoption_time": "heures", "complexity": 1, "dynamics": "stable"},
    }
    data.update(over)
    return make_commons(place, **data)


@pytest.fixture
def paheko(place):
    return make_commons(
        place,
        grid={"adoption_time": "jours", "complexity": 2, "dynamics": "croissance"},
        links=[{"label": "Documentation", "url": "https://paheko.cloud/doc"}],
        contacts=[
            {"name": "Forum Paheko", "role": "entraide", "url": "https://forum.paheko.cloud"}
        ],
    )


# --- The list ----------------------------------------------------------------------------------


def test_a_visitor_sees_validated_commons_as_cards(client, place, paheko):
    jitsi(place)
    pending = make_commons(place, name="Mobilizon", slug="mobilizon", url="https://mobilizon.org")
    commons_set_status(commons=pending, status=Commons.Status.PENDING, by=None)
    body = text(client.get(url("list", place)))
    assert "Paheko" in body and "Jitsi Meet" in body and "Mobilizon" not in body
    assert "Gestion d'association : adhérents, cotisations et comptabilité." in body
    assert "quelques jours" in body and "2 / 5" in body and "en croissance" in body
    assert "Logiciel" in body and "Service" in body and "gestion associative" in body
    assert "2 communs" in body
    assert paheko.get_absolute_url() in body


def test_moderators_also_see_pending_commons(client, place, concierge):
    pending = commons_create(
        place=place, data=commons_data(), by=None, status=Commons.Status.PENDING
    )
    login(client, concierge)
    body = text(client.get(url("list", place)))
    assert "Paheko" in body and "En attente de validation" in body
    assert pending.get_absolute_url() in body


def test_search_and_filters(client, place, paheko):
    jitsi(place)
    body = text(client.get(url("list", place), {"q": "adhesions"}))
    assert "Paheko" in body and "Jitsi Meet" not in body
    body = text(client.get(url("list", place), {"kind": "service"}))
    assert "Jitsi Meet" in body and "Paheko" not in body
    body = text(client.get(url("list", place), {"action": "gerer"}))
    assert "Paheko" in body and "Jitsi Meet" not in body
    body = text(client.get(url("list", place), {"domain": "visioconference"}))
    assert "Jitsi Meet" in body and "Paheko" not in body


def test_a_typo_is_corrected_and_said(client, place, paheko):
    body = text(client.get(url("list", place), {"q": "comptabilte"}))
    assert "Paheko" in body
    assert "Vouliez-vous dire" in body and "comptabilite" in body
    # No correction needed: nothing said.
    body = text(client.get(url("list", place), {"q": "comptabilité"}))
    assert "Vouliez-vous dire" not in body


def test_bad_filters_are_form_errors_not_500(client, place, paheko):
    response = client.get(
        url("list", place), {"kind": "fusee", "action": "<script>", "q": "x" * 500}
    )
    assert response.status_code == 200
    body = text(response)
    assert "Sélectionnez un choix valide" in body
    assert "<script>" not in response.content.decode()
    # The wrong criteria are left out: the catalogue still shows.
    assert "Paheko" in body


def test_htmx_gets_the_results_only(client, place, paheko):
    response = client.get(url("list", place), {"q": "association"}, HTTP_HX_REQUEST="true")
    body = text(response)
    assert "Paheko" in body and "<html" not in body


def test_links_to_faq_and_propose_only_for_members(client, place, member):
    body = text(client.get(url("list", place)))
    assert url("faq", place) in body
    assert "Proposer un commun" not in body
    login(client, member)
    body = text(client.get(url("list", place)))
    try:
        reverse("commons:propose", kwargs={"place_slug": place.slug})
    except Exception:  # the proposal page is not there yet: no link, no error
        assert "Proposer un commun" not in body
    else:
        assert "Proposer un commun" in body


def test_the_list_reads_in_a_flat_number_of_queries(client, place, concierge):
    login(client, concierge)
    make_commons(place, grid={"complexity": 3})
    one = queries(client, url("list", place))
    one_q = queries(client, url("list", place), q="association logiciel")
    for i in range(4):
        make_commons(
            place,
            name=f"Commun {i}",
            slug=f"commun-{i}",
            url=f"https://commun{i}.example.org",
            domains=[f"domaine {i}", "gestion associative"],
            grid={"complexity": 3},
        )
    assert queries(client, url("list", place)) == one
    assert queries(client, url("list", place), q="association logiciel") == one_q


def test_place_b_never_shows_place_a_commons(client, place):
    make_commons(place)
    other = make_place(slug="ailleurs")
    jitsi(other)
    body = text(client.get(url("list", other)))
    assert "Jitsi Meet" in body and "Paheko" not in body
    body = text(client.get(url("list", other), {"q": "paheko"}))
    assert "Paheko" not in body
    assert client.get(url("detail", other, slug="paheko")).status_code == 404
    # Another place's domain is not a filter here.
    response = client.get(url("list", other), {"domain": "gestion-associative"})
    assert response.status_code == 200 and "Sélectionnez un choix valide" in text(response)


# --- A commons' page ---------------------------------------------------------------------------


def test_the_page_shows_everything_a_commons_has(client, place, paheko):
    body = text(client.get(paheko.get_absolute_url()))
    assert "<strong>gérer une association</strong>" in body  # Markdown rendered
    assert "Gestion d'association : adhérents, cotisations et comptabilité." in body
    assert "Logiciel" in body and "Gérer" in body
    assert "adhésions" in body and "comptabilité" in body
    assert "https://spdx.org/licenses/AGPL-3.0-or-later.html" in body
    assert "https://paheko.cloud/doc" in body and "Documentation" in body
    assert "Forum Paheko" in body and "entraide" in body
    # Domains link to the list filtered on them.
    assert url("list", place) + "?domain=gestion-associative" in body
    # The grid, by group: answered questions, and "non renseigné" for the others.
    assert "Adoption" in body and "Santé et dynamique" in body
    assert "quelques jours" in body and "2 / 5" in body
    assert "non renseigné" in body
    # A logiciel has the hosting question; a formation's duration is not asked of it.
    assert "Hébergement" in body and "Durée" not in body
    assert "1 version" in body and url("history", place, slug="paheko") in body
    assert "En attente" not in body


def test_the_page_carries_safe_json_ld(client, place):
    evil = make_commons(
        place,
        name="Outil </script><script>alert(1)</script>",
        slug="outil",
        summary="Un résumé & des <balises>.",
    )
    response = client.get(evil.get_absolute_url())
    raw = response.content.decode()
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', raw, re.S)
    assert match is not None
    assert "<" not in match.group(1) and "&" not in match.group(1)
    data = json.loads(match.group(1))
    assert data["@type"] == "SoftwareApplication"
    assert data["name"] == "Outil </script><script>alert(1)</script>"
    assert data["description"] == "Un résumé & des <balises>."
    assert data["url"] == "https://paheko.cloud"
    assert data["@id"].endswith(evil.get_absolute_url())
    assert "<script>alert(1)" not in raw


def test_pending_commons_are_seen_by_moderators_and_their_proposer_only(client, place, concierge):
    proposer = make_user(place=place, role="member")
    someone = make_user(place=place, role="member")
    pending = commons_create(
        place=place, data=commons_data(), by=proposer, status=Commons.Status.PENDING
    )
    assert client.get(pending.get_absolute_url()).status_code == 404
    login(client, someone)
    assert client.get(pending.get_absolute_url()).status_code == 404
    login(client, proposer)
    response = client.get(pending.get_absolute_url())
    assert response.status_code == 200 and "En attente de validation" in text(response)
    assert client.get(url("history", place, slug="paheko")).status_code == 200
    login(client, concierge)
    assert client.get(pending.get_absolute_url()).status_code == 200


@pytest.mark.parametrize("status", [Commons.Status.ARCHIVED, Commons.Status.REJECTED])
def test_archived_and_rejected_commons_are_404_except_for_moderators(
    client, place, member, concierge, status
):
    commons = make_commons(place)
    commons_set_status(commons=commons, status=status, by=None)
    assert client.get(commons.get_absolute_url()).status_code == 404
    login(client, member)
    assert client.get(commons.get_absolute_url()).status_code == 404
    assert client.get(url("history", place, slug=commons.slug)).status_code == 404
    login(client, concierge)
    response = client.get(commons.get_absolute_url())
    assert response.status_code == 200 and commons.get_status_display() in text(response)


def test_a_moderator_archives_then_restores(client, place, paheko, concierge):
    login(client, concierge)
    body = text(client.get(paheko.get_absolute_url()))
    assert "Archiver" in body and "Rétablir" not in body
    response = client.post(url("status", place, slug="paheko"), {"status": "archived"})
    assert response.status_code == 302
    paheko.refresh_from_db()
    assert paheko.status == Commons.Status.ARCHIVED
    assert AuditEntry.objects.filter(action="commons.status", target_uuid=paheko.uuid).exists()
    assert "Paheko" not in text(client.get(url("list", place)))
    body = text(client.get(paheko.get_absolute_url()))
    assert "Rétablir dans le catalogue" in body
    client.post(url("status", place, slug="paheko"), {"status": "validated"})
    paheko.refresh_from_db()
    assert paheko.status == Commons.Status.VALIDATED


def test_the_status_button_refuses_what_is_not_its_business(client, place, concierge):
    pending = commons_create(
        place=place, data=commons_data(), by=None, status=Commons.Status.PENDING
    )
    login(client, concierge)
    # A pending commons is validated through moderation, not "restored" from its page.
    response = client.post(url("status", place, slug="paheko"), {"status": "validated"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == Commons.Status.PENDING
    response = client.post(url("status", place, slug="paheko"), {"status": "nimporte"}, follow=True)
    assert "Choisissez d'archiver ou de rétablir" in text(response)


def test_only_moderators_change_a_status(client, place, paheko, member):
    response = client.post(url("status", place, slug="paheko"), {"status": "archived"})
    assert response.status_code == 302 and "/compte/connexion/" in response["Location"]
    login(client, member)
    assert (
        client.post(url("status", place, slug="paheko"), {"status": "archived"}).status_code == 403
    )
    assert "Archiver" not in text(client.get(paheko.get_absolute_url()))
    paheko.refresh_from_db()
    assert paheko.status == Commons.Status.VALIDATED


def test_the_page_reads_in_a_flat_number_of_queries(client, place):
    small = make_commons(place, domains=["compta"], tags=["a"])
    big = make_commons(
        place,
        name="Gros commun",
        slug="gros",
        url="https://gros.example.org",
        domains=[f"domaine {i}" for i in range(6)],
        tags=[f"mot {i}" for i in range(10)],
        links=[{"label": f"l{i}", "url": f"https://x{i}.example.org"} for i in range(5)],
    )
    assert queries(client, small.get_absolute_url()) == queries(client, big.get_absolute_url())


def test_a_slug_never_hides_other_pages_of_the_app():
    converter = CommonsSlugConverter()
    assert converter.to_python("paheko") == "paheko"
    words = taken_words()
    assert {"questions", "grille"} <= words
    for word in words:
        with pytest.raises(ValueError):
            converter.to_python(word)
        try:
            match = resolve(f"/lieux/fabrique/communs/{word}/")
        except Resolver404:
            continue
        assert match.func is not commons_detail, word
