"""Waiting list, recurring bookings and the team's requests to decide, through the pages."""

import html
import re

import pytest
from django.urls import reverse

from conciergerie.core.models import AuditEntry, OutboxMessage
from conciergerie.core.permissions import Level
from conciergerie.spaces import services
from conciergerie.spaces.forms import SeriesForm
from conciergerie.spaces.models import Booking, BookingSeries, WaitlistEntry
from tests.conftest import login
from tests.factories import make_person, make_user
from tests.spaces.conftest import local

pytestmark = pytest.mark.django_db

WAITLIST_BUTTON = "M'inscrire sur liste d'attente pour ce créneau"


def url(name, place, *args):
    return reverse(f"spaces:{name}", args=[place.slug, *args])


@pytest.fixture
def remi(place):
    """Another member, who holds the slot Lina wants."""
    user = make_user(place=place, role="member", email="remi@example.org")
    person = make_person(place=place, first_name="Rémi", email="remi@example.org", user=user)
    return user, person


def hold(room, person, day=5, start=10, end=11):
    return services.booking_create(
        resource=room,
        by=None,
        level=Level.MEMBER,
        person=person,
        start=local(2030, 3, day, start),
        end=local(2030, 3, day, end),
        notify=False,
    )


def wait(room, member):
    """The member waits for the 5 March 10:00-11:00 slot."""
    return services.waitlist_join(
        resource=room,
        person=member[1],
        by=member[0],
        level=Level.MEMBER,
        start=local(2030, 3, 5, 10),
        end=local(2030, 3, 5, 11),
    )


def text(body):
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", body).split()))


def plain(response):
    return html.unescape(response.content.decode())


# --- Waiting list ------------------------------------------------------------------------------


def test_full_slot_offers_the_waitlist_then_books_when_freed(
    member_client, client, place, room, member, remi, django_capture_on_commit_callbacks
):
    taken = hold(room, remi[1])
    slot = {"date": "2030-03-05", "start": "10:00", "end": "11:00", "seats": "1"}
    response = member_client.post(url("book", place, room.uuid), slot)
    body = response.content.decode()
    assert response.status_code == 409
    assert "Créneau déjà pris" in body and WAITLIST_BUTTON in body
    form = body.split('class="waitlist"')[0].rsplit("<form", 1)[1]
    assert f'action="{url("waitlist_join", place, room.uuid)}"' in form
    assert "Rémi" not in body  # still nobody's name for a member
    assert Booking.objects.count() == 1

    response = member_client.post(url("waitlist_join", place, room.uuid), slot, follow=True)
    assert response.redirect_chain[-1][0] == url("my_bookings", place)
    page = text(response.content.decode())
    assert "Vous êtes sur la liste d'attente pour ce créneau" in page
    assert "réservée automatiquement et vous recevrez un e-mail" in page
    assert "Sur liste d'attente" in page and "Quitter la liste d'attente" in page
    entry = WaitlistEntry.objects.get()
    assert entry.person == member[1] and entry.status == WaitlistEntry.Status.WAITING
    assert (entry.start_at, entry.end_at) == (local(2030, 3, 5, 10), local(2030, 3, 5, 11))

    # Rémi cancels from his own page: the place goes to Lina, who is told by e-mail.
    other = client.__class__()
    login(other, remi[0])
    with django_capture_on_commit_callbacks(execute=True):
        other.post(url("booking_action", place, taken.uuid), {"action": "cancel"})
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.BOOKED
    assert entry.booking.person == member[1]
    assert entry.booking.status == Booking.Status.CONFIRMED
    mail = OutboxMessage.objects.get(to__icontains="lina@example.org")
    assert "libérée" in mail.subject and "Salle Jaune" in mail.body
    page = text(member_client.get(url("my_bookings", place)).content.decode())
    assert "Sur liste d'attente" not in page and "Salle Jaune" in page


def test_no_waitlist_button_when_the_slot_is_closed(member_client, place, room):
    services.closure_create(
        place=place,
        by=None,
        start=local(2030, 3, 5, 8),
        end=local(2030, 3, 5, 20),
        reason="Jour férié",
        resource=room,
    )
    data = {"date": "2030-03-05", "start": "10:00", "end": "11:00", "seats": "1"}
    response = member_client.post(url("book", place, room.uuid), data)
    assert response.status_code == 409
    body = response.content.decode()
    assert "Jour férié" in body and WAITLIST_BUTTON not in body
    # Posting anyway is refused: nothing will free up.
    response = member_client.post(url("waitlist_join", place, room.uuid), data)
    assert response.status_code == 409
    assert "une liste d'attente n'y changerait rien" in plain(response)
    assert not WaitlistEntry.objects.exists()


def test_waitlist_refuses_a_free_slot_and_a_second_entry(member_client, place, room, remi):
    data = {"date": "2030-03-05", "start": "10:00", "end": "11:00", "seats": "1"}
    response = member_client.post(url("waitlist_join", place, room.uuid), data)
    assert response.status_code == 409
    assert "réservez-le directement" in response.content.decode()
    hold(room, remi[1])
    assert member_client.post(url("waitlist_join", place, room.uuid), data).status_code == 302
    response = member_client.post(url("waitlist_join", place, room.uuid), data)
    assert response.status_code == 409
    assert "déjà sur la liste d'attente" in plain(response)
    assert WaitlistEntry.objects.count() == 1


def test_waitlist_join_bad_input_is_400(member_client, place, room):
    response = member_client.post(url("waitlist_join", place, room.uuid), {"date": "hier"})
    assert response.status_code == 400
    assert not WaitlistEntry.objects.exists()


def test_leaving_the_waitlist(member_client, client, place, room, member, remi):
    hold(room, remi[1])
    entry = wait(room, member)
    # Someone else cannot take Lina off the list: her entry does not exist for them.
    other = client.__class__()
    login(other, remi[0])
    response = other.post(url("waitlist_leave", place), {"entry": entry.pk})
    assert response.status_code == 404
    assert member_client.post(url("waitlist_leave", place), {"entry": "x"}).status_code == 400

    response = member_client.post(url("waitlist_leave", place), {"entry": entry.pk}, follow=True)
    page = text(response.content.decode())
    assert "Vous avez quitté la liste d'attente de ce créneau." in page
    assert "Sur liste d'attente" not in page
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.CANCELLED
    audit = AuditEntry.objects.get(action="waitlist.leave")
    assert audit.changes["status"] == ["attente", "annulee"]
    # Twice is told, not an error page.
    response = member_client.post(url("waitlist_leave", place), {"entry": entry.pk}, follow=True)
    assert "n'est plus sur la liste d'attente" in plain(response)


def test_a_cancelled_entry_is_not_booked_later(
    member_client, place, room, member, remi, django_capture_on_commit_callbacks
):
    taken = hold(room, remi[1])
    entry = wait(room, member)
    member_client.post(url("waitlist_leave", place), {"entry": entry.pk})
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=taken, by=None, level=Level.CONCIERGE)
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.CANCELLED
    assert Booking.objects.filter(person=member[1]).count() == 0


# --- Recurring bookings ------------------------------------------------------------------------


def series_data(**overrides):
    data = {
        "first_date": "2030-03-05",
        "start": "10:00",
        "end": "12:00",
        "frequency": "hebdo",
        "until": "",
        "count": "4",
        "title": "Atelier couture",
    }
    data.update(overrides)
    return {f"serie-{k}": v for k, v in data.items()}


def test_series_preview_lists_each_date_then_confirm_books_the_free_ones(
    member_client, place, room, member, remi
):
    hold(room, remi[1], day=19, start=11, end=12)  # the third Tuesday
    target = url("series", place, room.uuid)
    response = member_client.post(target, {**series_data(), "action": "preview"})
    assert response.status_code == 200
    body = response.content.decode()
    preview = text(body.split('class="series-preview"')[1].split("</ol>")[0])
    assert "4 dates" in preview
    assert "Mardi 5 mars 2030, 10:00–12:00 · libre" in preview
    assert "Mardi 12 mars 2030, 10:00–12:00 · libre" in preview
    assert (
        "Mardi 19 mars 2030, 10:00–12:00 · impossible Créneau déjà pris : Salle Jaune est "
        "réservée du 19/03/2030 11:00 au 19/03/2030 12:00." in preview
    )
    assert "Mardi 26 mars 2030, 10:00–12:00 · libre" in preview
    assert "Confirmer : réserver les 3 dates libres" in body
    assert Booking.objects.count() == 1 and not BookingSeries.objects.exists()  # nothing written

    confirm = body.split('class="series-preview"')[1].split("</form>")[0]
    fields = dict(
        re.findall(r'<input type="hidden" name="(serie-[a-z_]+)" value="([^"]*)"', confirm)
    )
    assert fields == series_data()
    response = member_client.post(target, {**fields, "action": "confirm"}, follow=True)
    page = text(response.content.decode())
    assert "Réservation récurrente enregistrée : 3 dates réservées (05/03, 12/03, 26/03)." in page
    assert "Pas réservé le 19/03/2030 de 10:00 à 12:00 : Créneau déjà pris" in page
    assert response.redirect_chain[-1][0].endswith("?vue=mois&date=2030-03-05")
    series = BookingSeries.objects.get()
    booked = Booking.objects.filter(series=series).order_by("start_at")
    assert [b.start_at for b in booked] == [
        local(2030, 3, 5, 10),
        local(2030, 3, 12, 10),
        local(2030, 3, 26, 10),
    ]
    assert all(b.person == member[1] and b.title == "Atelier couture" for b in booked)
    assert series.rrule == "FREQ=WEEKLY;COUNT=4"


def test_team_books_a_series_for_a_member_found_with_the_picker(
    client, place, room, concierge, member
):
    login(client, concierge)
    target = url("series", place, room.uuid)
    data = {**series_data(count="2"), "serie-person": "Lina"}  # a name only she has
    response = client.post(target, {**data, "action": "confirm"}, follow=True)
    assert "2 dates réservées" in text(response.content.decode())
    assert [b.person for b in Booking.objects.order_by("start_at")] == [member[1]] * 2
    response = client.post(target, {**data, "serie-person": "Personne Inconnue"})
    assert response.status_code == 400
    assert "Personne introuvable dans ce lieu" in response.content.decode()
    assert Booking.objects.count() == 2


def test_series_until_before_first_day_is_400_and_writes_nothing(member_client, place, room):
    for action in ("preview", "confirm"):
        response = member_client.post(
            url("series", place, room.uuid),
            {**series_data(until="2030-03-01", count=""), "action": action},
        )
        assert response.status_code == 400
        assert "Ce jour est avant le premier jour de la série." in response.content.decode()
    assert not Booking.objects.exists() and not BookingSeries.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"count": ""}, "Indiquez jusqu'à quel jour répéter, ou combien de fois."),
        ({"until": "2030-04-30"}, "Choisissez un jour limite ou un nombre de fois, pas les deux."),
        ({"end": "09:00"}, "L'heure de fin doit être après l'heure de début."),
        ({"count": "", "until": "2035-12-31"}, "Trop de dates : 104 au plus."),
        ({"frequency": "chaque-jour"}, "Sélectionnez un choix valide."),
    ],
)
def test_series_bad_input_is_400_in_french(member_client, place, room, overrides, message):
    response = member_client.post(
        url("series", place, room.uuid), {**series_data(**overrides), "action": "preview"}
    )
    assert response.status_code == 400
    assert message in plain(response)
    assert not Booking.objects.exists() and not BookingSeries.objects.exists()


def test_series_with_no_free_date_is_refused(member_client, place, room, remi):
    for day in (5, 12):
        hold(room, remi[1], day=day, start=10, end=12)
    data = {**series_data(count="2"), "action": "preview"}
    body = plain(member_client.post(url("series", place, room.uuid), data))
    assert "Aucune de ces dates n'est libre" in body and "Confirmer" not in body
    data["action"] = "confirm"
    response = member_client.post(url("series", place, room.uuid), data)
    assert response.status_code == 409
    assert "rien n'a été réservé" in plain(response)
    assert Booking.objects.count() == 2


@pytest.mark.parametrize(
    ("first", "frequency", "until", "count", "rrule"),
    [
        ("2030-03-05", "hebdo", "2030-04-30", "", "FREQ=WEEKLY;UNTIL=20300430T235959"),
        ("2030-03-05", "2semaines", "", "6", "FREQ=WEEKLY;INTERVAL=2;COUNT=6"),
        ("2030-03-12", "mois_date", "", "3", "FREQ=MONTHLY;COUNT=3"),
        ("2030-03-12", "mois_jour", "", "3", "FREQ=MONTHLY;BYDAY=2TU;COUNT=3"),
        ("2030-03-29", "mois_jour", "", "3", "FREQ=MONTHLY;BYDAY=-1FR;COUNT=3"),
    ],
)
def test_series_form_builds_the_rrule(first, frequency, until, count, rrule):
    form = SeriesForm(
        series_data(first_date=first, frequency=frequency, until=until, count=count),
        prefix="serie",
    )
    assert form.is_valid(), form.errors
    assert form.rrule() == rrule


def test_monthly_same_weekday_series_preview(member_client, place, room):
    data = series_data(first_date="2030-03-12", frequency="mois_jour", count="3")
    body = member_client.post(url("series", place, room.uuid), {**data, "action": "preview"})
    preview = text(body.content.decode().split('class="series-preview"')[1].split("</ol>")[0])
    days = re.findall(r"Mardi (\d+ \w+) 2030", preview)
    assert days == ["12 mars", "9 avril", "14 mai"]  # every second Tuesday


# --- Requests to decide ------------------------------------------------------------------------


@pytest.fixture
def pending(place, room, member):
    services.resource_update(resource=room, by=None, requires_approval=True)
    room.refresh_from_db()
    first, second = (request(room, member, day) for day in (5, 6))
    assert first.status == second.status == Booking.Status.PENDING
    return first, second


def request(room, member, day):
    """A member's booking request, 10:00-11:00 on that day of March 2030."""
    return services.booking_create(
        resource=room,
        by=member[0],
        level=Level.MEMBER,
        person=member[1],
        start=local(2030, 3, day, 10),
        end=local(2030, 3, day, 11),
    )


def test_team_approves_and_refuses_from_the_list(
    client, place, concierge, pending, django_capture_on_commit_callbacks
):
    first, second = pending
    login(client, concierge)
    resources = client.get(url("resources", place)).content.decode()
    assert f'href="{url("pending", place)}"' in resources and "Demandes à valider (2)" in resources
    body = text(client.get(url("pending", place)).content.decode())
    assert body.count("Salle Jaune") == 2 and "Lina" in body
    assert "Mardi 5 mars 2030, de 10:00 à 11:00" in body

    back = url("pending", place)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("booking_action", place, first.uuid),
            {"action": "approve", "next": back},
            follow=True,
        )
    assert response.redirect_chain[-1][0] == back
    assert "Demande acceptée." in response.content.decode()
    response = client.post(
        url("booking_action", place, second.uuid), {"action": "refuse", "next": back}, follow=True
    )
    page = text(response.content.decode())
    assert "Demande refusée." in page and "Aucune demande en attente." in page
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Booking.Status.CONFIRMED
    assert second.status == Booking.Status.REFUSED
    assert OutboxMessage.objects.filter(subject="Réservation confirmée").count() == 1


def test_action_ignores_a_next_address_elsewhere(client, place, concierge, pending):
    login(client, concierge)
    response = client.post(
        url("booking_action", place, pending[0].uuid),
        {"action": "approve", "next": "https://ailleurs.example.com/"},
    )
    assert response["Location"] == url("booking", place, pending[0].uuid)


def test_members_neither_see_nor_reach_the_list(member_client, place, pending):
    assert member_client.get(url("pending", place)).status_code == 403
    assert "Demandes à valider" not in member_client.get(url("resources", place)).content.decode()


def test_pending_list_query_count_is_flat(
    client, place, room, concierge, member, pending, django_assert_num_queries
):
    login(client, concierge)
    client.get(url("pending", place))
    with django_assert_num_queries(5):
        client.get(url("pending", place))
    for day in range(7, 17):
        request(room, member, day)
    with django_assert_num_queries(5):
        body = client.get(url("pending", place)).content.decode()
    assert body.count('value="approve"') == 12


def test_team_puts_someone_on_the_waitlist(client, place, room, concierge, member, remi):
    hold(room, remi[1])
    login(client, concierge)
    slot = {
        "person": str(member[1].uuid),
        "date": "2030-03-05",
        "start": "10:00",
        "end": "11:00",
        "seats": "1",
    }
    body = plain(client.post(url("book", place, room.uuid), slot))
    assert WAITLIST_BUTTON in body and f'name="person" value="{member[1].uuid}"' in body
    response = client.post(url("waitlist_join", place, room.uuid), slot, follow=True)
    assert response.redirect_chain[-1][0].endswith("?vue=jour&date=2030-03-05")
    assert "Lina" in text(response.content.decode()) and "sur la liste d'attente" in plain(response)
    assert WaitlistEntry.objects.get().person == member[1]


def test_waitlist_leave_service_rules(place, room, member, remi):
    from conciergerie.core.errors import Conflict, PermissionDenied

    hold(room, remi[1])
    entry = wait(room, member)
    with pytest.raises(PermissionDenied):
        services.waitlist_leave(entry=entry, by=remi[0], level=Level.MEMBER)
    WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistEntry.Status.BOOKED)
    with pytest.raises(Conflict, match="déjà été réservée"):
        services.waitlist_leave(entry=entry, by=member[0], level=Level.MEMBER)
    WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistEntry.Status.WAITING)
    left = services.waitlist_leave(entry=entry, by=None, level=Level.CONCIERGE)  # the team may
    assert left.status == WaitlistEntry.Status.CANCELLED
