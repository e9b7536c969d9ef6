"""A commons' history: the list of its revisions, and what each one changed."""

from __future__ import annotations

import html

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conciergerie.commons.grid import default_questions
from conciergerie.commons.models import Commons
from conciergerie.commons.selectors.history import (
    DiffLine,
    list_diff,
    revision_changes,
    revision_diff,
    text_diff,
)
from conciergerie.commons.services.catalogue import commons_set_status, commons_update
from tests.commons.conftest import commons_data, make_commons
from tests.conftest import login
from tests.factories import make_place, make_user

# --- Pure functions ----------------------------------------------------------------------------


def test_text_diff_marks_added_and_removed_lines_with_context():
    old = "\n".join(["un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit"])
    new = "\n".join(["un", "deux", "trois", "QUATRE", "cinq", "six", "sept", "huit", "neuf"])
    lines = text_diff(old, new, context=1)
    assert lines == [
        DiffLine("gap", "…"),
        DiffLine("same", "trois"),
        DiffLine("del", "quatre"),
        DiffLine("add", "QUATRE"),
        DiffLine("same", "cinq"),
        DiffLine("gap", "…"),
        DiffLine("same", "huit"),
        DiffLine("add", "neuf"),
    ]


def test_text_diff_from_nothing_is_all_added():
    assert text_diff("", "a\nb") == [DiffLine("add", "a"), DiffLine("add", "b")]
    assert text_diff("a", "") == [DiffLine("del", "a")]


def test_list_diff_keeps_order():
    assert list_diff(["a", "b", "c"], ["c", "d", "a", "e"]) == (["d", "e"], ["b"])
    assert list_diff([], []) == ([], [])


def test_revision_changes_per_field():
    questions = default_questions()
    old = commons_data(
        slug="paheko",
        actions=["gerer"],
        links=[{"label": "Doc", "url": "https://paheko.cloud/doc"}],
        contacts=[],
        grid={"complexity": 2, "adoption_time": "jours"},
        description="Ligne 1\nLigne 2",
    )
    new = commons_data(
        slug="paheko",
        name="Paheko (ex-Garradin)",
        kind="service",
        actions=["gerer", "documenter"],
        tags=["adhésions", "compta"],
        links=[],
        contacts=[{"name": "Forum", "role": "", "url": "https://forum.example.org", "email": ""}],
        grid={"complexity": 3, "adoption_time": "jours", "dynamics": "stable"},
        description="Ligne 1\nLigne deux",
    )
    changes = {c.key: c for c in revision_changes(old, new, questions=questions)}
    assert set(changes) == {
        "name",
        "kind",
        "description",
        "actions",
        "tags",
        "links",
        "contacts",
        "grid.complexity",
        "grid.dynamics",
    }
    assert (changes["name"].old, changes["name"].new) == ("Paheko", "Paheko (ex-Garradin)")
    assert (changes["kind"].old, changes["kind"].new) == ("Logiciel", "Service")
    assert changes["description"].kind == "text"
    assert DiffLine("del", "Ligne 2") in changes["description"].lines
    assert DiffLine("add", "Ligne deux") in changes["description"].lines
    assert changes["actions"].added == ["Documenter"] and changes["actions"].removed == []
    assert changes["tags"].added == ["compta"] and changes["tags"].removed == ["comptabilité"]
    assert changes["links"].removed == ["Doc — https://paheko.cloud/doc"]
    assert changes["contacts"].added == ["Forum, https://forum.example.org"]
    assert (changes["grid.complexity"].old, changes["grid.complexity"].new) == ("2", "3")
    assert changes["grid.dynamics"].label == "Grille : Dynamique"
    assert (changes["grid.dynamics"].old, changes["grid.dynamics"].new) == ("", "stable")


def test_the_first_revision_shows_everything_as_new():
    changes = {c.key: c for c in revision_changes(None, commons_data(), questions=[])}
    assert changes["name"].new == "Paheko" and changes["name"].old == ""
    assert changes["domains"].added == ["gestion associative"]
    assert all(line.op == "add" for line in changes["description"].lines)


def test_an_answer_to_a_question_gone_from_the_grid_still_shows_its_code():
    changes = revision_changes({"grid": {"vieux": "a"}}, {"grid": {}}, questions=[])
    assert [(c.key, c.label, c.old, c.new) for c in changes] == [
        ("grid.vieux", "Grille : vieux", "a", "")
    ]


# --- Pages -------------------------------------------------------------------------------------


def url(name, place, **kw):
    return reverse(f"commons:{name}", kwargs={"place_slug": place.slug, **kw})


def text(response):
    return html.unescape(response.content.decode())


def queries(client, path):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, response.status_code
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_the_history_lists_revisions_with_author_date_and_message(client, place):
    author = make_user(place=place, role="concierge", email="camille@example.org")
    commons = make_commons(place)
    commons_update(
        commons=commons,
        data=commons_data(summary="Adhérents, cotisations, comptabilité, reçus fiscaux."),
        by=author,
        message="Ajout des reçus fiscaux",
    )
    body = text(client.get(url("history", place, slug="paheko")))
    assert "Version 2" in body and "Version 1" in body
    # Never an e-mail on a public page; no public directory entry: a neutral word.
    assert "camille@example.org" not in body and "un·e membre du lieu" in body
    assert "Ajout des reçus fiscaux" in body
    assert "import" in body and "Création" in body  # the first one, made without an account
    assert body.index("Version 2") < body.index("Version 1")  # newest first
    assert url("revision_diff", place, slug="paheko", number=2) in body


@pytest.mark.django_db
def test_a_revision_shows_what_changed(client, place):
    commons = make_commons(place, description="Première ligne.\nDeuxième ligne.")
    commons_update(
        commons=commons,
        data=commons_data(
            description="Première ligne.\nDeuxième ligne, corrigée.",
            tags=["adhésions", "cotisations"],
            grid={"complexity": 2},
        ),
        by=None,
        message="Précisions",
    )
    body = text(client.get(url("revision_diff", place, slug="paheko", number=2)))
    assert "Comparée à la version 1" in body
    assert "− Deuxième ligne." in body and "+ Deuxième ligne, corrigée." in body
    assert "Mots-clés" in body and "cotisations" in body and "comptabilité" in body
    assert "Grille : Complexité" in body and "2 / 5" not in body  # the raw diff: 2
    assert ">Nom</h2>" not in body and ">Description</h2>" in body  # only what changed
    first = text(client.get(url("revision_diff", place, slug="paheko", number=1)))
    assert "Première version : tout est nouveau." in first
    assert client.get(url("revision_diff", place, slug="paheko", number=3)).status_code == 404
    assert client.get(url("revision_diff", place, slug="paheko", number=0)).status_code == 404


@pytest.mark.django_db
def test_html_in_a_revision_is_shown_as_text(client, place):
    commons = make_commons(place)
    commons_update(
        commons=commons,
        data=commons_data(description="<script>alert(1)</script>"),
        by=None,
    )
    raw = client.get(url("revision_diff", place, slug="paheko", number=2)).content.decode()
    assert "<script>alert(1)" not in raw and "&lt;script&gt;alert(1)" in raw


@pytest.mark.django_db
def test_history_query_count_is_flat(client, place):
    commons = make_commons(place)
    one = queries(client, url("history", place, slug="paheko"))
    for i in range(4):
        commons_update(
            commons=commons,
            data=commons_data(summary=f"Résumé numéro {i}."),
            by=make_user(place=place, role="member"),
            message=f"Changement {i}",
        )
    assert Commons.objects.get().revision == 5
    assert queries(client, url("history", place, slug="paheko")) == one


@pytest.mark.django_db
def test_history_follows_the_commons_visibility(client, place, member, concierge):
    commons = make_commons(place)
    commons_set_status(commons=commons, status=Commons.Status.ARCHIVED, by=None)
    login(client, member)
    assert client.get(url("history", place, slug="paheko")).status_code == 404
    assert client.get(url("revision_diff", place, slug="paheko", number=1)).status_code == 404
    login(client, concierge)
    assert client.get(url("history", place, slug="paheko")).status_code == 200
    assert client.get(url("revision_diff", place, slug="paheko", number=1)).status_code == 200


@pytest.mark.django_db
def test_another_places_history_is_not_shown(client, place):
    make_commons(place)
    other = make_place(slug="ailleurs")
    assert client.get(url("history", other, slug="paheko")).status_code == 404
    assert client.get(url("revision_diff", other, slug="paheko", number=1)).status_code == 404


@pytest.mark.django_db
def test_revision_diff_selector_reads_once(place, django_assert_num_queries):
    commons = make_commons(place)
    commons_update(commons=commons, data=commons_data(name="Paheko 2", slug="paheko"), by=None)
    with django_assert_num_queries(1):
        found = revision_diff(commons=commons, number=2, questions=[])
    assert found is not None and [c.key for c in found.changes] == ["name"]
    assert found.previous is not None and found.previous.number == 1
