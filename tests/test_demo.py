"""The demo data: loaded once through the services, realistic enough to try every screen."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from conciergerie.community import selectors
from conciergerie.community.models import Introduction, Membership, Organisation, Person
from conciergerie.core.models import AuditEntry, Place, User
from conciergerie.core.permissions import Level
from conciergerie.demo import data


@pytest.fixture
def demo(db):
    call_command("loaddemo", verbosity=0)
    return (
        Place.objects.get(slug=data.MAIN_SLUG),
        Place.objects.get(slug=data.SECOND_SLUG),
    )


def test_loaddemo_creates_two_places_with_their_people(demo):
    main, second = demo
    assert Place.objects.count() == 2
    assert 55 <= Person.objects.filter(place=main).count() <= 65
    assert 6 <= Person.objects.filter(place=second).count() <= 10
    assert Organisation.objects.filter(place=main).count() == 5
    assert Introduction.objects.filter(place=main).count() >= 10
    outcomes = set(Introduction.objects.filter(place=main).values_list("outcome", flat=True))
    assert outcomes == set(Introduction.Outcome.values)
    main.full_clean()  # valid SIRET, opening hours, coordinates
    assert main.latitude is not None and main.opening_hours


def test_people_are_indexed_and_have_varied_visibility(demo):
    main, _second = demo
    people = Person.objects.filter(place=main)
    levels = set(people.values_list("name_visibility", flat=True))
    assert levels == {"public", "members", "private"}
    # Written through person_create, so the search columns are filled.
    assert people.exclude(search_all="").count() == people.count()
    found = selectors.directory(place=main, viewer=None, level=Level.CONCIERGE, q="soudure")
    assert found.exists()


def test_some_renewals_are_due_and_memberships_vary(demo):
    main, _second = demo
    today = timezone.localdate()
    due = list(selectors.renewals_due(place=main))
    assert any(m.end >= today for m in due), "some memberships end in the next 30 days"
    statuses = set(Membership.objects.filter(place=main).values_list("status", flat=True))
    assert {Membership.Status.PAID, Membership.Status.PENDING} <= statuses
    assert Membership.objects.filter(place=main, end__lt=today).exists()
    fees = Membership.objects.filter(place=main).values_list("fee", flat=True)
    assert all(10 <= fee <= 60 for fee in fees)


def test_demo_logins_work(demo):
    main, _second = demo
    assert len(data.LOGINS) >= 4
    for email, description in data.LOGINS:
        assert description
        assert Client().login(username=email, password=data.DEMO_PASSWORD), email
    member = User.objects.get(email=data.MEMBER_EMAIL)
    assert Person.objects.get(place=main, user=member).first_name == "Camille"


def test_places_stay_apart(demo):
    main, second = demo
    second_ids = set(Person.objects.filter(place=second).values_list("pk", flat=True))
    assert second_ids
    concierge = User.objects.get(email=data.CONCIERGE_EMAIL)
    for q in ("", "soudure", "menuiserie"):
        listed = selectors.directory(place=main, viewer=concierge, level=Level.CONCIERGE, q=q)
        assert not second_ids & set(listed.values_list("pk", flat=True)), q
    # The second place's concierge has no role in the first place.
    other = User.objects.get(email=data.SECOND_CONCIERGE_EMAIL)
    assert not other.place_roles.filter(place=main).exists()


def test_loaddemo_twice_is_refused_and_changes_nothing(demo):
    counts = (Place.objects.count(), Person.objects.count(), AuditEntry.objects.count())
    with pytest.raises(CommandError, match="déjà chargées"):
        call_command("loaddemo", verbosity=0)
    assert (Place.objects.count(), Person.objects.count(), AuditEntry.objects.count()) == counts


def test_demo_content_is_deterministic():
    def build():
        loader = data._Loader(progress=False)
        return [data._person_fields(spec, loader.rng) for spec in loader.main_specs]

    assert build() == build()


def test_siret_check_digits():
    from stdnum.fr import siret

    for value in (data.MAIN_PLACE["siret"], *(o.get("siret") for o in data.ORGANISATIONS.values())):
        if value:
            assert siret.is_valid(value), value
    assert data.luhn_complete("73282932") == "732829320"  # a known SIREN


def test_demo_spaces_resources_and_bookings(demo):
    from conciergerie.core.capacity import Hold, over_capacity_instants
    from conciergerie.spaces import rules
    from conciergerie.spaces.models import Booking, Closure, Qualification, Resource

    main, second = demo
    resources = Resource.objects.filter(place=main)
    assert resources.count() >= 7
    assert set(resources.values_list("kind", flat=True)) == set(Resource.Kind.values)
    assert not resources.exclude(opening_hours={}).exists()  # the place's hours apply
    bookings = Booking.objects.filter(place=main)
    assert bookings.count() >= 30
    today = timezone.localdate()
    days = {b.start_at.astimezone(rules.place_zone(b.resource)).date() for b in bookings}
    assert min(days) < today < max(days)
    assert bookings.filter(status=Booking.Status.PENDING).count() == 1
    assert bookings.filter(organisation__isnull=False).exclude(handover_notes="").exists()
    assert Closure.objects.filter(place=main, kind=Closure.Kind.OUT_OF_SERVICE).count() == 1
    quals = Qualification.objects.filter(place=main)
    assert quals.filter(valid_until__lt=today).exists()
    assert quals.filter(valid_until__gte=today).exists()
    for resource in resources:
        holding = bookings.filter(resource=resource, status__in=Booking.HOLDING)
        for b in holding:
            assert rules.within_opening(resource, b.start_at, b.end_at), b
        holds = [Hold(b.start_at, b.end_at, b.seats) for b in holding]
        assert over_capacity_instants(holds, resource.capacity) == [], resource.name
    # The second place has a little, and it stays its own.
    assert Resource.objects.filter(place=second).exists()
    assert not Booking.objects.filter(place=second, resource__place=main).exists()
    assert not Booking.objects.filter(place=main, person__place=second).exists()


def test_the_demo_has_a_month_of_events_and_a_co_living_stay(demo):
    from conciergerie.events import selectors as events
    from conciergerie.events.models import Event

    main, _second = demo
    assert Event.objects.filter(place=main).count() >= 15
    stay = Event.objects.get(place=main, category=Event.Category.STAY)
    assert stay.nights == 4
    names = [t.name for t in stay.tiers.all()]
    assert names[:3] == ["solidaire", "standard", "soutien"]
    assert stay.tiers.filter(pay_what_you_can=True).exists()
    # Past events have people who came: the reports have figures.
    past = Event.objects.filter(place=main, end_at__lt=timezone.now())
    assert past.exists()
    stats = events.event_stats(event=past.first())
    assert stats.registered > 0 and stats.checked_in > 0
    assert 0 < stats.occupancy <= 1
