"""Writing commons: one validation for every door, revisions, conflicts."""

from __future__ import annotations

import pytest

from conciergerie.commons.models import Commons, CommonsRevision
from conciergerie.commons.services.catalogue import commons_clean, commons_create, commons_update
from conciergerie.core.errors import Conflict, InvalidInput
from tests.commons.conftest import commons_data, make_commons
from tests.factories import make_place

pytestmark = pytest.mark.django_db


def errors_of(place, data):
    with pytest.raises(InvalidInput) as err:
        commons_clean(place=place, data=data)
    return err.value.errors


def test_every_problem_is_named_at_once():
    place = make_place()
    errors = errors_of(
        place,
        commons_data(
            name="",
            url="javascript:alert(1)",
            kind="robot",
            actions=["voler"],
            tags="a" * 81,
            links=[{"label": "doc", "url": "ftp://x"}],
            grid={"complexity": 9, "dynamics": "folle", "hosting": "en_ligne", "inconnue": 1},
        ),
    )
    assert set(errors) == {
        "name",
        "url",
        "kind",
        "actions",
        "tags",
        "links.0.url",
        "grid.complexity",
        "grid.dynamics",
        "grid.inconnue",
    }
    assert "logiciel" in errors["kind"][0]


def test_a_grid_question_of_another_kind_is_refused():
    place = make_place()
    errors = errors_of(place, commons_data(kind="methode", grid={"hosting": "en_ligne"}))
    assert list(errors) == ["grid.hosting"]


def test_a_slug_may_not_take_a_page_of_the_catalogue():
    place = make_place()
    assert "slug" in errors_of(place, commons_data(slug="questions"))
    assert "slug" in errors_of(place, commons_data(slug="Pas Un Slug"))


def test_not_an_object_is_a_clear_error():
    assert "__all__" in errors_of(make_place(), ["name"])


def test_each_change_is_a_revision_and_a_stale_one_is_refused():
    place = make_place()
    paheko = make_commons(place)
    assert paheko.revision == 1
    commons_update(commons=paheko, data=commons_data(summary="Autre résumé."), by=None)
    assert CommonsRevision.objects.filter(commons=paheko).count() == 2
    # The same data again: nothing new.
    commons_update(commons=paheko, data=commons_data(summary="Autre résumé."), by=None)
    assert CommonsRevision.objects.filter(commons=paheko).count() == 2
    with pytest.raises(Conflict):
        commons_update(commons=paheko, data=commons_data(name="X"), by=None, base_revision=1)
    assert Commons.objects.get(pk=paheko.pk).name == "Paheko"


def test_two_commons_cannot_share_a_slug_in_a_place_but_may_across_places():
    place = make_place()
    make_commons(place)
    with pytest.raises(InvalidInput):
        make_commons(place)
    commons_create(place=make_place(), data=commons_data(), by=None)


def test_an_edit_keeps_answers_to_questions_removed_from_the_grid():
    from conciergerie.commons.services.grid import grid_delete_question

    place = make_place()
    paheko = make_commons(place, grid={"funding": "mixte", "complexity": 2})
    grid_delete_question(place=place, key="funding", by=None)
    # The edit form no longer has the question: its answer is not sent, and not lost.
    commons_update(commons=paheko, data=commons_data(grid={"complexity": 3}), by=None)
    assert Commons.objects.get(pk=paheko.pk).grid == {"funding": "mixte", "complexity": 3}
