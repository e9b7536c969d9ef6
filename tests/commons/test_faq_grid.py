"""The FAQ (questions and answers per domain) and the moderators' qualification grid."""

from __future__ import annotations

import html

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conciergerie.commons.models import Domain, FaqEntry, GridField
from conciergerie.commons.selectors.catalogue import grid_questions
from conciergerie.commons.services.catalogue import commons_clean, commons_update
from conciergerie.commons.services.faq import faq_entry_delete, faq_entry_save
from conciergerie.commons.services.grid import (
    grid_delete_question,
    grid_reset_to_default,
    grid_save_question,
)
from conciergerie.core.errors import InvalidInput, NotFound
from conciergerie.core.models import AuditEntry
from tests.commons.conftest import commons_data, make_commons
from tests.conftest import login
from tests.factories import make_place

pytestmark = pytest.mark.django_db


def url(name, place, **kw):
    return reverse(f"commons:{name}", kwargs={"place_slug": place.slug, **kw})


def text(response):
    return html.unescape(response.content.decode())


def faq(place, question="Comment gérer les adhésions ?", domain="gestion associative", **kw):
    return faq_entry_save(
        place=place,
        by=None,
        question=question,
        answer=kw.pop("answer", "Avec **Paheko**, par exemple."),
        new_domain=domain,
        **kw,
    )


# --- FAQ services ------------------------------------------------------------------------------


def test_faq_entries_go_in_a_new_or_an_existing_domain(place):
    make_commons(place)  # creates the "gestion associative" domain
    entry = faq(place, domain="Gestion associative")
    assert entry.domain == Domain.objects.get(place=place, slug="gestion-associative")
    assert Domain.objects.filter(place=place).count() == 1
    other = faq(place, question="Quel outil de visio ?", domain="visioconférence")
    assert other.domain.name == "visioconférence"
    assert AuditEntry.objects.filter(action="commons.faq.create").count() == 2

    again = faq_entry_save(
        place=place,
        by=None,
        entry=entry,
        question="Comment suivre les adhésions ?",
        answer=entry.answer,
        domain=other.domain,
    )
    assert again.pk == entry.pk and again.domain == other.domain
    assert AuditEntry.objects.filter(action="commons.faq.update").exists()
    faq_entry_delete(entry=again, by=None)
    assert not FaqEntry.objects.filter(pk=entry.pk).exists()
    assert AuditEntry.objects.filter(action="commons.faq.delete").exists()


def test_faq_refuses_bad_input_field_by_field(place):
    with pytest.raises(InvalidInput) as exc:
        faq_entry_save(place=place, by=None, question=" ", answer="x" * 10_001)
    errors = exc.value.as_errors()
    assert set(errors) == {"question", "answer", "domain"}
    theirs = Domain.objects.create(place=make_place(), name="Ailleurs", slug="ailleurs")
    with pytest.raises(InvalidInput) as exc:
        faq_entry_save(place=place, by=None, question="Q ?", answer="R", domain=theirs)
    assert "domain" in exc.value.as_errors()
    assert not FaqEntry.objects.exists()


# --- FAQ pages ---------------------------------------------------------------------------------


def test_the_faq_is_grouped_by_domain_with_anchors(client, place):
    faq(place)
    faq(place, question="Quel outil de visio ?", domain="visioconférence", answer="Jitsi <b>x</b>")
    body = text(client.get(url("faq", place)))
    assert 'id="domaine-gestion-associative"' in body and 'id="domaine-visioconference"' in body
    assert "Comment gérer les adhésions ?" in body and "<strong>Paheko</strong>" in body
    assert body.index("Gestion associative") < body.index("Visioconférence")
    assert "<b>x</b>" not in client.get(url("faq", place)).content.decode()  # sanitised
    assert "Nouvelle question" not in body


def test_a_commons_page_links_to_its_domains_faq(client, place):
    commons = make_commons(place)
    body = text(client.get(commons.get_absolute_url()))
    assert "#domaine-gestion-associative" not in body  # no FAQ yet for it
    faq(place)
    body = text(client.get(commons.get_absolute_url()))
    assert url("faq", place) + "#domaine-gestion-associative" in body


def test_a_moderator_writes_edits_and_deletes_faq_entries(client, place, concierge):
    login(client, concierge)
    response = client.post(
        url("faq_edit", place),
        {
            "question": "Où trouver une salle ?",
            "answer": "Au rez-de-chaussée.",
            "new_domain": "Lieux",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("#domaine-lieux")
    entry = FaqEntry.objects.get()
    page = text(client.get(url("faq_edit", place, pk=entry.pk)))
    assert "Où trouver une salle ?" in page
    client.post(
        url("faq_edit", place, pk=entry.pk),
        {
            "question": "Où trouver une salle libre ?",
            "answer": "Au 1er.",
            "domain": entry.domain_id,
        },
    )
    entry.refresh_from_db()
    assert entry.question == "Où trouver une salle libre ?" and entry.answer == "Au 1er."
    response = client.post(url("faq_delete", place, pk=entry.pk))
    assert response.status_code == 302 and not FaqEntry.objects.exists()


def test_bad_faq_input_is_a_form_error(client, place, concierge):
    login(client, concierge)
    theirs = Domain.objects.create(place=make_place(), name="Ailleurs", slug="ailleurs")
    response = client.post(url("faq_edit", place), {"question": "", "answer": "x" * 10_001})
    assert response.status_code == 400
    body = text(response)
    assert "Rien n'a été enregistré" in body and "Ce champ est obligatoire" in body
    assert "au plus 10000 caractères" in body
    response = client.post(
        url("faq_edit", place), {"question": "Q ?", "answer": "R", "domain": theirs.pk}
    )
    assert response.status_code == 400 and "Sélectionnez un choix valide" in text(response)
    response = client.post(url("faq_edit", place), {"question": "Q ?", "answer": "R"})
    assert response.status_code == 400
    assert "Choisissez un domaine ou donnez le nom d'un nouveau." in text(response)
    assert not FaqEntry.objects.exists()


def test_only_moderators_manage_the_faq(client, place, member):
    entry = faq(place)
    assert client.get(url("faq", place)).status_code == 200
    assert client.get(url("faq_edit", place)).status_code == 302  # to the login page
    login(client, member)
    assert client.get(url("faq_edit", place)).status_code == 403
    assert client.post(url("faq_delete", place, pk=entry.pk)).status_code == 403
    assert FaqEntry.objects.filter(pk=entry.pk).exists()


def test_faq_tenancy(client, place, concierge):
    faq(place)
    other = make_place(slug="ailleurs")
    entry = faq(other, question="Question d'ailleurs ?")
    assert "Question d'ailleurs" not in text(client.get(url("faq", place)))
    login(client, concierge)
    assert client.get(url("faq_edit", place, pk=entry.pk)).status_code == 404
    assert client.post(url("faq_delete", place, pk=entry.pk)).status_code == 404


def test_faq_query_count_is_flat(client, place):
    faq(place)
    with CaptureQueriesContext(connection) as one:
        client.get(url("faq", place))
    for i in range(5):
        faq(place, question=f"Question {i} ?", domain=f"domaine {i}")
    with CaptureQueriesContext(connection) as many:
        client.get(url("faq", place))
    assert len(one.captured_queries) == len(many.captured_queries)


# --- Grid services -----------------------------------------------------------------------------

ACCESS = {
    "key": "accessibilite",
    "label": "Accessibilité",
    "help_text": "Lecteur d'écran, contrastes…",
    "type": "choice",
    "choices": [["bonne", "bonne"], ["partielle", "partielle"]],
    "kinds": ["logiciel", "service"],
    "group": "Adoption",
    "position": 55,
}


def test_the_first_change_copies_the_default_grid(place):
    assert not GridField.objects.filter(place=place).exists()
    defaults = [q.key for q in grid_questions(place=place)]
    grid_save_question(place=place, by=None, data=ACCESS)
    keys = [q.key for q in grid_questions(place=place)]
    assert set(keys) == {*defaults, "accessibilite"}
    # Defaults are copied at positions 10, 20…: position 55 comes after the fifth (50).
    assert keys.index("accessibilite") == keys.index("who_to_call") + 1
    assert AuditEntry.objects.filter(action="commons.grid.create").exists()


def test_a_new_question_is_asked_of_the_kinds_it_applies_to(client, place):
    software = make_commons(place)
    method = make_commons(
        place, name="Forum ouvert", slug="forum-ouvert", kind="methode", url="https://f.example"
    )
    grid_save_question(place=place, by=None, data=ACCESS)
    assert "Accessibilité" in text(client.get(software.get_absolute_url()))
    assert "Accessibilité" not in text(client.get(method.get_absolute_url()))
    # commons_clean now accepts an answer for a logiciel, refuses it for a méthode.
    clean = commons_clean(place=place, data=commons_data(grid={"accessibilite": "bonne"}))
    assert clean["grid"] == {"accessibilite": "bonne"}
    with pytest.raises(InvalidInput) as exc:
        commons_clean(place=place, data=commons_data(grid={"accessibilite": "excellente"}))
    assert "grid.accessibilite" in exc.value.as_errors()
    with pytest.raises(InvalidInput) as exc:
        commons_clean(
            place=place, data=commons_data(kind="methode", grid={"accessibilite": "bonne"})
        )
    assert "grid.accessibilite" in exc.value.as_errors()
    commons_update(
        commons=software, data=commons_data(grid={"accessibilite": "partielle"}), by=None
    )
    assert "partielle" in text(client.get(software.get_absolute_url()))


def test_a_type_change_that_breaks_answers_is_refused_naming_the_commons(place):
    make_commons(place, grid={"cost": "Gratuit"})
    with pytest.raises(InvalidInput) as exc:
        grid_save_question(
            place=place,
            by=None,
            key="cost",
            data={"label": "Coût", "type": "integer", "group": "Adoption"},
        )
    assert "Paheko" in exc.value.as_errors()["type"][0]
    assert "Gratuit" in exc.value.as_errors()["type"][0]
    # Nothing changed: the default grid is still there as it was.
    cost = next(q for q in grid_questions(place=place) if q.key == "cost")
    assert cost.type == "text"
    # Without answers in the way, the same change goes through.
    other = make_place()
    grid_save_question(
        place=other, by=None, key="cost", data={"label": "Coût (€/mois)", "type": "integer"}
    )
    cost = next(q for q in grid_questions(place=other) if q.key == "cost")
    assert (cost.type, cost.label) == ("integer", "Coût (€/mois)")


def test_removing_a_choice_or_a_kind_that_answers_use_is_refused(place):
    make_commons(place, grid={"hosting": "les_deux"})
    with pytest.raises(InvalidInput) as exc:
        grid_save_question(
            place=place,
            by=None,
            key="hosting",
            data={
                "label": "Hébergement",
                "type": "choice",
                "choices": [["en_ligne", "en ligne"]],
                "kinds": ["logiciel"],
            },
        )
    assert "Paheko" in exc.value.as_errors()["choices"][0]
    with pytest.raises(InvalidInput) as exc:
        grid_save_question(
            place=place,
            by=None,
            key="hosting",
            data={
                "label": "Hébergement",
                "type": "choice",
                "choices": [["en_ligne", "a"], ["auto_heberge", "b"], ["les_deux", "c"]],
                "kinds": ["service"],
            },
        )
    assert "Paheko" in exc.value.as_errors()["kinds"][0]


def test_bad_questions_are_refused(place):
    with pytest.raises(InvalidInput) as exc:
        grid_save_question(
            place=place,
            by=None,
            data={"key": "Pas Un Slug", "label": "", "type": "fusee", "kinds": ["navire"]},
        )
    assert {"key", "label", "type", "kinds"} <= set(exc.value.as_errors())
    with pytest.raises(InvalidInput) as exc:
        grid_save_question(place=place, by=None, data={**ACCESS, "choices": []})
    assert "choices" in exc.value.as_errors()
    with pytest.raises(InvalidInput) as exc:
        grid_save_question(place=place, by=None, data={**ACCESS, "key": "complexity"})
    assert "déjà" in exc.value.as_errors()["key"][0]
    with pytest.raises(NotFound):
        grid_save_question(place=place, by=None, key="inconnue", data=ACCESS)
    # Nothing was copied by the refused changes except the defaults (a harmless first step).
    assert not GridField.objects.filter(place=place, key="accessibilite").exists()


def test_removing_a_question_keeps_the_answers_but_hides_them(client, place):
    commons = make_commons(place, grid={"cost": "Prix libre", "complexity": 2})
    grid_delete_question(place=place, by=None, key="cost")
    assert "cost" not in [q.key for q in grid_questions(place=place)]
    commons.refresh_from_db()
    assert commons.grid["cost"] == "Prix libre"
    body = text(client.get(commons.get_absolute_url()))
    assert "Prix libre" not in body and "2 / 5" in body
    assert AuditEntry.objects.filter(action="commons.grid.delete").exists()


def test_the_last_question_stays(place):
    grid_save_question(place=place, by=None, data=ACCESS)
    for q in grid_questions(place=place)[:-1]:
        grid_delete_question(place=place, by=None, key=q.key)
    last = grid_questions(place=place)
    assert len(last) == 1
    with pytest.raises(InvalidInput):
        grid_delete_question(place=place, by=None, key=last[0].key)


def test_reset_brings_the_defaults_back_unless_answers_would_break(place):
    grid_save_question(place=place, by=None, key="cost", data={"label": "Coût", "type": "integer"})
    commons = make_commons(place, grid={"cost": 12})
    assert commons.grid == {"cost": 12}
    commons_update(commons=commons, data=commons_data(grid={"cost": 12}), by=None)
    grid_reset_to_default(place=place, by=None)  # 12 is a fine text answer too
    assert not GridField.objects.filter(place=place).exists()

    grid_save_question(place=place, by=None, data={**ACCESS, "key": "complexity_x"})
    grid_save_question(
        place=place, by=None, key="complexity", data={"label": "Complexité", "type": "text"}
    )
    make_commons(
        place,
        name="Autre",
        slug="autre",
        url="https://autre.example",
        grid={"complexity": "élevée"},
    )
    with pytest.raises(InvalidInput) as exc:
        grid_reset_to_default(place=place, by=None)
    assert "Autre" in exc.value.message
    assert GridField.objects.filter(place=place).exists()


# --- Grid pages --------------------------------------------------------------------------------


def test_only_moderators_see_the_grid(client, place, member):
    assert client.get(url("grid", place)).status_code == 302
    login(client, member)
    assert client.get(url("grid", place)).status_code == 403
    assert client.post(url("grid_add", place), {}).status_code == 403
    assert client.post(url("grid_reset", place)).status_code == 403


def test_a_moderator_adds_edits_and_removes_a_question(client, place, concierge):
    login(client, concierge)
    body = text(client.get(url("grid", place)))
    assert "grille par défaut" in body and "Temps pour l'adopter" in body
    response = client.post(
        url("grid_add", place),
        {
            "label": "Accessibilité",
            "type": "choice",
            "choices": "bonne : bonne\npartielle : partielle",
            "kinds": ["logiciel"],
            "group": "Adoption",
            "position": "5",
        },
    )
    assert response.status_code == 302
    row = GridField.objects.get(place=place, key="accessibilite")
    assert row.choices == [["bonne", "bonne"], ["partielle", "partielle"]]
    assert row.kinds == ["logiciel"] and row.position == 5
    body = text(client.get(url("grid", place)))
    assert "adapté la grille" in body and "Accessibilité" in body

    page = text(client.get(url("grid_question", place, key="accessibilite")))
    assert "bonne : bonne" in page
    response = client.post(
        url("grid_question", place, key="accessibilite"),
        {"key": "autre-code", "label": "Accessibilité numérique", "type": "text", "position": "7"},
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.key, row.label, row.type, row.choices, row.kinds) == (
        "accessibilite",
        "Accessibilité numérique",
        "text",
        [],
        [],
    )
    client.post(url("grid_delete", place, key="accessibilite"))
    assert not GridField.objects.filter(place=place, key="accessibilite").exists()
    client.post(url("grid_reset", place))
    assert not GridField.objects.filter(place=place).exists()


def test_bad_grid_input_is_a_form_error(client, place, concierge):
    login(client, concierge)
    response = client.post(
        url("grid_add", place),
        {"label": "Accessibilité", "type": "choice", "choices": "sans deux-points", "kinds": ["x"]},
    )
    assert response.status_code == 400
    body = text(response)
    assert "Ligne 1 : écrivez « code : libellé »." in body
    assert "Sélectionnez un choix valide" in body
    response = client.post(
        url("grid_add", place), {"label": "Prix", "type": "choice", "choices": "É t : x"}
    )
    assert response.status_code == 400 and "code en minuscules" in text(response)
    make_commons(place, grid={"cost": "Gratuit"})
    response = client.post(
        url("grid_question", place, key="cost"), {"label": "Coût", "type": "scale"}
    )
    assert response.status_code == 400 and "Paheko (« Gratuit »)" in text(response)
    assert client.get(url("grid_question", place, key="inconnue")).status_code == 404
    assert client.post(url("grid_delete", place, key="inconnue")).status_code == 404


def test_grid_tenancy(client, place, concierge):
    other = make_place(slug="ailleurs")
    grid_save_question(place=other, by=None, data=ACCESS)
    login(client, concierge)
    assert "Accessibilité" not in text(client.get(url("grid", place)))
    assert client.get(url("grid_question", place, key="accessibilite")).status_code == 404
    assert client.get(url("grid", other)).status_code == 403
