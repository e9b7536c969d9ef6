"""Aiguillage writes and reads: aiguilleurs, public requests, recorded orientations, their
follow-up and the figures (services/aiguillage.py, selectors/orientations.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache

from conciergerie.commons.models import Aiguilleur, Commons, Orientation
from conciergerie.commons.selectors import orientations as selectors
from conciergerie.commons.selectors.aiguillage import suggest
from conciergerie.commons.services import aiguillage as services
from conciergerie.commons.services.catalogue import commons_set_status
from conciergerie.community import services as community
from conciergerie.core.errors import Conflict, InvalidInput, PermissionDenied
from conciergerie.core.models import AuditEntry, OutboxMessage
from tests.commons.conftest import make_commons
from tests.factories import make_person, make_user

pytestmark = pytest.mark.django_db

Outcome = Orientation.Outcome
NEED = "on veut gérer les adhésions et la compta de notre asso"


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def paheko(place):
    return make_commons(place)


@pytest.fixture
def jitsi(place):
    return make_commons(
        place,
        name="Jitsi Meet",
        slug="jitsi-meet",
        summary="Visioconférence sans compte, dans le navigateur.",
        description="Des réunions à distance avec vidéo.",
        url="https://meet.jit.si",
        actions=["travailler", "animer"],
        domains=["visioconférence"],
        tags=["visio"],
    )


def member_with_person(place, email, **person):
    user = make_user(place=place, role="member", email=email)
    make_person(place=place, email=email, **person)
    community.person_link_account(place=place, user=user)
    return user


def make_aiguilleur_user(place, **person):
    """A plain member who is an active aiguilleur (Camille, who knows associations)."""
    person.setdefault("first_name", "Camille")
    user = member_with_person(place, "camille@example.org", **person)
    services.aiguilleur_set(
        place=place,
        person=user.people.get(place=place),
        by=None,
        domains=["gestion associative"],
        availability="le mardi",
    )
    return user


@pytest.fixture
def aiguilleur_user(place):
    return make_aiguilleur_user(place)


@pytest.fixture
def helper(place):
    return make_person(place=place, first_name="Noé", last_name="Compta", skills=["comptabilité"])


def request_from_visitor(place, need=NEED, email="lina@example.org", **kw):
    kw.setdefault("answers", {"action": "gerer"})
    return services.orientation_request(
        place=place,
        need=need,
        suggestions=suggest(place=place, need=need, answers=kw["answers"]),
        contact_name="Lina",
        contact_email=email,
        **kw,
    )


# --- Aiguilleurs ------------------------------------------------------------------------------


def test_the_team_makes_a_person_an_aiguilleur_then_changes_it(place, concierge):
    person = make_person(place=place, first_name="Sam")
    a = services.aiguilleur_set(
        place=place, person=person, by=concierge, domains=["Cartographie", "visio"], active=True
    )
    assert sorted(d.name for d in a.domains.all()) == ["Cartographie", "visio"]
    a = services.aiguilleur_set(
        place=place,
        person=person,
        by=concierge,
        domains=["cartographie"],
        availability="le jeudi",
        active=False,
    )
    assert Aiguilleur.objects.filter(person=person).count() == 1
    a.refresh_from_db()
    assert (a.availability, a.active) == ("le jeudi", False)
    assert [d.name for d in a.domains.all()] == ["Cartographie"]  # same slug, same domain
    actions = list(
        AuditEntry.objects.filter(action__startswith="aiguilleur.").values_list("action", flat=True)
    )
    assert sorted(actions) == ["aiguilleur.create", "aiguilleur.update"]

    services.aiguilleur_remove(aiguilleur=a, by=concierge)
    assert not Aiguilleur.objects.filter(person=person).exists()


def test_only_the_team_manages_aiguilleurs_and_only_its_own_people(
    place, other_place, member, concierge
):
    person = make_person(place=place)
    with pytest.raises(PermissionDenied):
        services.aiguilleur_set(place=place, person=person, by=member, domains=[])
    stranger = make_person(place=other_place)
    with pytest.raises(InvalidInput) as exc:
        services.aiguilleur_set(place=place, person=stranger, by=concierge, domains=[])
    assert "person" in exc.value.errors
    assert not Aiguilleur.objects.exists()


# --- Public requests --------------------------------------------------------------------------


def test_a_visitor_request_waits_for_an_aiguilleur(place, paheko, aiguilleur_user):
    o = request_from_visitor(place, message="Plutôt le soir.")
    assert o.outcome == Outcome.PENDING and o.oriented_at is None and o.aiguilleur is None
    assert (o.contact_name, o.contact_email) == ("Lina", "lina@example.org")
    assert o.answers == {"action": "gerer"}
    assert NEED in o.need and "Plutôt le soir." in o.need
    kinds = [(s["type"], s["name"]) for s in o.suggestions]
    assert ("commons", "Paheko") in kinds
    assert ("person", "Camille") in kinds  # the aiguilleur, by first name to a visitor
    assert set(o.suggestions[0]) == {"type", "id", "name", "reason"}
    assert o.suggestions[0]["id"] == str(paheko.uuid) and o.suggestions[0]["reason"]
    assert AuditEntry.objects.filter(action="orientation.request", target_uuid=o.uuid).exists()


def test_a_request_needs_a_need_and_a_way_to_answer(place):
    with pytest.raises(InvalidInput) as exc:
        services.orientation_request(
            place=place, need="  ", answers={}, suggestions=[], contact_name="", contact_email=""
        )
    assert {"need", "contact_name", "contact_email"} <= set(exc.value.errors)
    with pytest.raises(InvalidInput) as exc:
        request_from_visitor(place, email="pas-une-adresse")
    assert list(exc.value.errors) == ["contact_email"]
    with pytest.raises(InvalidInput) as exc:
        request_from_visitor(place, answers={"budget": "infini"})
    assert "answers.budget" in exc.value.errors
    assert not Orientation.objects.exists()


def test_someone_of_the_directory_may_leave_the_email_out(place, member):
    person = community.person_link_account(place=place, user=member)
    o = services.orientation_request(
        place=place,
        need=NEED,
        answers={},
        suggestions=[],
        contact_name="",
        contact_email="",
        person=person,
        by=member,
    )
    assert o.person == person and o.contact_email == member.email
    assert o.created_by == member


def test_requests_are_limited_per_address(place):
    for i in range(services.REQUESTS_PER_HOUR):
        request_from_visitor(place, email=f"v{i}@example.org", ip="10.0.0.1")
    with pytest.raises(services.TooManyRequests):
        request_from_visitor(place, email="encore@example.org", ip="10.0.0.1")
    request_from_visitor(place, email="autre@example.org", ip="10.0.0.2")
    assert Orientation.objects.count() == services.REQUESTS_PER_HOUR + 1


# --- Recording an orientation -----------------------------------------------------------------


def test_an_aiguilleur_records_the_orientation_and_the_person_gets_it_by_email(
    place, paheko, jitsi, helper, aiguilleur_user, django_capture_on_commit_callbacks
):
    waiting = request_from_visitor(place)
    shown_before = list(waiting.suggestions)
    with django_capture_on_commit_callbacks(execute=True):
        o = services.orientation_record(
            place=place,
            by=aiguilleur_user,
            orientation=waiting,
            commons=[paheko, jitsi],
            people=[helper],
            note="Elle hésite encore.",
        )
    o.refresh_from_db()
    assert o.oriented_at is not None
    assert o.follow_up_on == services.follow_up_default(place)
    assert o.follow_up_on - selectors.place_today(place) == dt.timedelta(days=14)
    assert o.aiguilleur == aiguilleur_user.people.get().aiguilleur  # taken by who recorded it
    assert set(o.commons.all()) == {paheko, jitsi} and list(o.people.all()) == [helper]
    assert o.suggestions == shown_before  # what was shown at the time stays
    assert o.note == "Elle hésite encore."
    assert AuditEntry.objects.filter(action="orientation.record", target_uuid=o.uuid).exists()

    mail = OutboxMessage.objects.get(to="lina@example.org")
    assert "La Fabrique" in mail.subject
    assert "Bonjour Lina" in mail.body
    assert "Paheko" in mail.body and "Jitsi Meet" in mail.body
    assert paheko.get_absolute_url() in mail.body
    assert "Noé" in mail.body
    assert "Elle hésite encore." not in mail.body  # the note is for the team
    assert "Camille" in mail.body


def test_someone_met_in_person_is_oriented_in_one_go(place, paheko, concierge):
    o = services.orientation_record(
        place=place,
        by=concierge,
        need="un outil pour les adhésions",
        answers={"urgency": "urgent"},
        contact_name="Malik",
        commons=[paheko],
        follow_up_on=selectors.place_today(place) + dt.timedelta(days=3),
        suggestions=[{"type": "commons", "id": str(paheko.uuid), "name": "Paheko", "reason": "x"}],
    )
    assert o.contact_name == "Malik" and o.answers == {"urgency": "urgent"}
    assert o.aiguilleur is None  # the concierge is not an aiguilleur
    assert o.suggestions[0]["name"] == "Paheko"
    assert not OutboxMessage.objects.exists()  # no address, no e-mail


def test_only_this_places_validated_commons_and_people_may_be_chosen(
    place, other_place, paheko, concierge
):
    elsewhere = make_commons(other_place, slug="paheko-ailleurs")
    waiting = request_from_visitor(place)
    with pytest.raises(InvalidInput) as exc:
        services.orientation_record(
            place=place, by=concierge, orientation=waiting, commons=[paheko, elsewhere]
        )
    assert "commons" in exc.value.errors and "Paheko" in exc.value.errors["commons"][0]
    with pytest.raises(InvalidInput) as exc:
        services.orientation_record(
            place=place,
            by=concierge,
            orientation=waiting,
            people=[make_person(place=other_place)],
        )
    assert "people" in exc.value.errors
    pending = make_commons(place, slug="en-attente", name="En attente")
    commons_set_status(commons=pending, status=Commons.Status.PENDING, by=None)
    with pytest.raises(InvalidInput) as exc:
        services.orientation_record(
            place=place, by=concierge, orientation=waiting, commons=[pending]
        )
    assert "commons" in exc.value.errors
    with pytest.raises(InvalidInput) as exc:
        services.orientation_record(place=place, by=concierge, orientation=waiting)
    assert "commons" in exc.value.errors  # nothing chosen
    waiting.refresh_from_db()
    assert waiting.oriented_at is None and not waiting.commons.exists()


def test_an_orientation_is_recorded_once(place, paheko, concierge):
    waiting = request_from_visitor(place)
    services.orientation_record(place=place, by=concierge, orientation=waiting, commons=[paheko])
    with pytest.raises(Conflict):
        services.orientation_record(
            place=place, by=concierge, orientation=waiting, commons=[paheko]
        )


def test_a_follow_up_date_in_the_past_is_refused(place, paheko, concierge):
    with pytest.raises(InvalidInput) as exc:
        services.orientation_record(
            place=place,
            by=concierge,
            need=NEED,
            contact_name="Malik",
            commons=[paheko],
            follow_up_on=selectors.place_today(place) - dt.timedelta(days=1),
        )
    assert "follow_up_on" in exc.value.errors


def test_who_may_orient(place, paheko, member, aiguilleur_user, concierge):
    waiting = request_from_visitor(place)
    with pytest.raises(PermissionDenied):
        services.orientation_record(place=place, by=member, orientation=waiting, commons=[paheko])
    with pytest.raises(PermissionDenied):
        services.orientation_outcome(orientation=waiting, by=member, outcome=Outcome.CONTACTED)
    with pytest.raises(PermissionDenied):
        services.orientation_assign(orientation=waiting, aiguilleur=None, by=member)
    # An aiguilleur on a break no longer orients.
    person = aiguilleur_user.people.get()
    services.aiguilleur_set(place=place, person=person, by=concierge, domains=[], active=False)
    with pytest.raises(PermissionDenied):
        services.orientation_record(
            place=place, by=aiguilleur_user, orientation=waiting, commons=[paheko]
        )
    waiting.refresh_from_db()
    assert waiting.oriented_at is None


# --- Assigning, following up ------------------------------------------------------------------


def test_assigning_to_an_available_aiguilleur_of_the_place(
    place, other_place, aiguilleur_user, concierge
):
    waiting = request_from_visitor(place)
    mine = aiguilleur_user.people.get().aiguilleur
    services.orientation_assign(orientation=waiting, aiguilleur=mine, by=concierge)
    waiting.refresh_from_db()
    assert waiting.aiguilleur == mine
    far = services.aiguilleur_set(
        place=other_place, person=make_person(place=other_place), by=None, domains=[]
    )
    with pytest.raises(InvalidInput):
        services.orientation_assign(orientation=waiting, aiguilleur=far, by=concierge)
    services.orientation_assign(orientation=waiting, aiguilleur=None, by=aiguilleur_user)
    waiting.refresh_from_db()
    assert waiting.aiguilleur is None
    assert AuditEntry.objects.filter(action="orientation.assign").count() == 2


def test_dropping_needs_a_reason(place, paheko, aiguilleur_user):
    o = request_from_visitor(place)
    with pytest.raises(InvalidInput) as exc:
        services.orientation_outcome(
            orientation=o, by=aiguilleur_user, outcome=Outcome.DROPPED, reason=" "
        )
    assert "reason" in exc.value.errors
    o.refresh_from_db()
    assert o.outcome == Outcome.PENDING and o.outcome_at is None
    with pytest.raises(InvalidInput):
        services.orientation_outcome(orientation=o, by=aiguilleur_user, outcome="peut-etre")
    services.orientation_outcome(
        orientation=o, by=aiguilleur_user, outcome=Outcome.DROPPED, reason="Trop technique."
    )
    o.refresh_from_db()
    assert (o.outcome, o.outcome_reason) == (Outcome.DROPPED, "Trop technique.")
    assert o.outcome_at is not None
    assert AuditEntry.objects.filter(action="orientation.outcome", target_uuid=o.uuid).exists()


# --- Reads ------------------------------------------------------------------------------------


def oriented(place, by, commons, **kw):
    return services.orientation_record(
        place=place, by=by, need=NEED, contact_name="Quelqu'un", commons=commons, **kw
    )


def test_figures_count_what_led_to_action(place, other_place, paheko, aiguilleur_user, concierge):
    made = [oriented(place, aiguilleur_user, [paheko]) for _ in range(4)]
    services.orientation_outcome(orientation=made[0], by=concierge, outcome=Outcome.CONTACTED)
    services.orientation_outcome(orientation=made[1], by=concierge, outcome=Outcome.ADOPTED)
    services.orientation_outcome(
        orientation=made[2], by=concierge, outcome=Outcome.DROPPED, reason="Pas le temps."
    )
    request_from_visitor(place)  # asked, not oriented yet: not an orientation made
    make_commons(other_place, slug="ailleurs")
    oriented(other_place, None, [Commons.objects.get(place=other_place)])

    figures = selectors.orientation_figures(place=place)
    assert figures["total"] == 4
    assert figures["last_30_days"] == 4 and figures["this_year"] == 4
    assert figures["led_to_action"] == 2 and figures["share"] == 50
    assert figures["adopted"] == 1 and figures["dropped"] == 1
    assert figures["dropped_reasons"] == ["Pas le temps."]
    assert figures["waiting"] == 1 and figures["late"] == 0
    [row] = figures["per_aiguilleur"]
    assert row["aiguilleur"].person.user == aiguilleur_user
    assert (row["made"], row["led"], row["adopted"], row["share"]) == (4, 2, 1, 50)
    assert row["open"] == 2  # one waiting for news, one contacted

    later = selectors.place_today(place) + dt.timedelta(days=20)
    assert selectors.orientation_figures(place=place, today=later)["late"] == 2


def test_the_queue_holds_mine_and_unassigned_late_first(place, paheko, aiguilleur_user, concierge):
    mine = aiguilleur_user.people.get().aiguilleur
    other = services.aiguilleur_set(
        place=place, person=make_person(place=place), by=None, domains=[]
    )
    today = selectors.place_today(place)
    waiting = request_from_visitor(place)
    soon = oriented(place, aiguilleur_user, [paheko], follow_up_on=today + dt.timedelta(days=5))
    late = oriented(place, aiguilleur_user, [paheko], follow_up_on=today + dt.timedelta(days=1))
    theirs = oriented(place, concierge, [paheko], aiguilleur=other)
    done = oriented(place, aiguilleur_user, [paheko])
    services.orientation_outcome(orientation=done, by=concierge, outcome=Outcome.ADOPTED)

    rows = selectors.orientation_queue(
        place=place, aiguilleur=mine, today=today + dt.timedelta(days=2)
    )
    assert [r.orientation for r in rows] == [late, waiting, soon]
    assert rows[0].late and not rows[0].due
    assert rows[1].waiting and not rows[2].late
    assert theirs not in [r.orientation for r in rows]
    # The team without an aiguilleur of its own sees what nobody took.
    assert [r.orientation for r in selectors.orientation_queue(place=place, aiguilleur=None)] == [
        waiting
    ]


def test_lists_keep_to_their_place_and_scope(place, other_place, paheko, aiguilleur_user):
    here = request_from_visitor(place)
    make_commons(other_place, slug="ailleurs")
    there = oriented(other_place, None, [Commons.objects.get(place=other_place)])
    assert list(selectors.orientation_list(place=place)) == [here]
    assert selectors.orientation_detail(place=place, uuid=there.uuid) is None
    other = services.aiguilleur_set(
        place=place, person=make_person(place=place), by=None, domains=[]
    )
    services.orientation_assign(orientation=here, aiguilleur=other, by=None)
    mine = aiguilleur_user.people.get().aiguilleur
    assert (
        selectors.orientation_detail(place=place, uuid=here.uuid, scope=mine, restricted=True)
        is None
    )
    assert list(selectors.orientation_list(place=place, scope=mine, restricted=True)) == []
    assert list(selectors.orientation_list(place=place, aiguilleur=str(other.pk))) == [here]
    assert list(selectors.orientation_list(place=place, aiguilleur="aucun")) == []
