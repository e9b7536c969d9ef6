"""The team's resource screens: sheet, photos, maintenance log, qualifications."""

import datetime as dt
import html
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from conciergerie.community import services as community
from conciergerie.core.errors import Conflict, PermissionDenied
from conciergerie.core.models import AuditEntry
from conciergerie.core.permissions import Level
from conciergerie.spaces import services
from conciergerie.spaces.models import (
    MaintenanceEntry,
    Price,
    Qualification,
    Resource,
    ResourcePhoto,
)
from tests.conftest import login
from tests.factories import make_person, make_place, make_user
from tests.spaces.conftest import local
from tests.spaces.images import png_bytes, png_upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def concierge(place):
    return make_user(place=place, role="concierge", email="concierge@etabli.fr")


@pytest.fixture
def team(client, concierge):
    return login(client, concierge)


@pytest.fixture
def laser(place):
    return services.resource_create(
        place=place,
        by=None,
        name="Découpe laser",
        kind="machine",
        capacity=1,
        requires_qualification=True,
        horizon_days=3650,
    )


def text(response):
    """The page as a reader sees it: HTML entities decoded."""
    return html.unescape(response.content.decode())


def url(name, place, *args):
    return reverse(f"spaces:{name}", args=[place.slug, *args])


def sheet(**overrides):
    """A filled-in resource form, as the browser sends it (unticked boxes are absent)."""
    data = {
        "name": "Salle Verte",
        "kind": "salle",
        "capacity": "8",
        "location": "1er étage",
        "description": "Grande table, lumière du jour.",
        "features": "Vidéoprojecteur, écran",
        "audience": "member",
        "min_minutes": "30",
        "max_minutes": "240",
        "slot_minutes": "30",
        "horizon_days": "90",
        "lead_minutes": "0",
        "cancel_minutes": "60",
        "buffer_minutes": "0",
        "active": "on",
        "hours_mon": "09:00-12:30, 14:00-18:00",
        "hours_tue": "09:00–18:00",
        "hours_wed": "",
        "hours_thu": "",
        "hours_fri": "9h-17h",
        "hours_sat": "",
        "hours_sun": "",
        "price_membre_unit": "heure",
        "price_membre_amount": "5.00",
        "price_non_membre_unit": "heure",
        "price_non_membre_amount": "8",
        "price_partenaire_unit": "",
        "price_partenaire_amount": "",
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def jpeg_with_location(size=(2400, 1200)):
    """A camera-like JPEG: large, with EXIF (orientation and a GPS block)."""
    image = Image.new("RGB", size, "orange")
    exif = Image.Exif()
    exif[0x0112] = 1  # orientation
    exif[0x010F] = "Téléphone"  # make
    exif.get_ifd(0x8825)[2] = (46.0, 49.0, 0.0)  # GPS latitude
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return SimpleUploadedFile("IMG_0001.jpg", out.getvalue(), content_type="image/jpeg")


# --- Creating and editing the sheet -------------------------------------------------------------


def test_concierge_creates_a_resource_with_prices_and_hours(team, place):
    org = community.organisation_create(place=place, by=None, name="Les Bricoleurs")
    response = team.post(
        url("resource_create", place), sheet(organisations=[str(org.uuid)]), follow=True
    )
    assert response.status_code == 200
    resource = Resource.objects.get(name="Salle Verte")
    assert response.redirect_chain[-1][0] == url("resource_edit", place, resource.uuid)
    assert "« Salle Verte » est créée" in text(response)
    assert resource.place == place and resource.capacity == 8
    assert resource.features == ["vidéoprojecteur", "écran"]
    assert resource.opening_hours == {
        "mon": [["09:00", "12:30"], ["14:00", "18:00"]],
        "tue": [["09:00", "18:00"]],
        "fri": [["09:00", "17:00"]],
    }
    assert resource.cancel_minutes == 60 and resource.active
    assert not resource.requires_approval
    prices = {p.category: (p.unit, p.amount) for p in resource.prices.all()}
    assert prices == {"membre": ("heure", Decimal("5.00")), "non_membre": ("heure", Decimal("8"))}
    assert list(resource.organisations.all()) == [org]
    assert AuditEntry.objects.filter(action="resource.create", target_uuid=resource.uuid).exists()
    # The list shows it, with the team's links.
    body = text(team.get(url("resources", place)))
    assert "Salle Verte" in body
    assert url("resource_edit", place, resource.uuid) in body
    assert url("resource_create", place) in body
    # The edit page shows what was saved.
    body = text(team.get(url("resource_edit", place, resource.uuid)))
    assert 'value="09:00-12:30, 14:00-18:00"' in body
    assert 'value="vidéoprojecteur, écran"' in body


def test_same_hours_as_the_place_means_empty_hours(team, place):
    response = team.post(
        url("resource_create", place), sheet(same_hours="on", hours_mon="n'importe")
    )
    assert response.status_code == 302
    assert Resource.objects.get(name="Salle Verte").opening_hours == {}


def test_no_hours_and_not_the_place_s_is_refused(team, place):
    days = {f"hours_{d}": "" for d in ("mon", "tue", "fri")}
    response = team.post(url("resource_create", place), sheet(**days))
    assert response.status_code == 400
    assert "Indiquez au moins une plage horaire" in text(response)
    assert not Resource.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"capacity": "0"}, "La capacité est d'au moins 1"),
        ({"hours_tue": "18:00–09:00"}, "Plage horaire invalide : 18:00-09:00."),
        ({"min_minutes": "300"}, "La durée maximale doit être au moins la durée minimale."),
        ({"price_membre_amount": ""}, "Indiquez le montant de ce tarif."),
        ({"price_partenaire_amount": "3"}, "Choisissez l'unité de ce tarif"),
        ({"name": ""}, "Ce champ est obligatoire."),
        ({"max_minutes": "99999999999"}, "inférieure ou égale à 2147483647"),
        ({"price_membre_amount": "-1"}, "supérieure ou égale à 0"),
        ({"organisations": "pas-un-uuid"}, "n’est pas un UUID valide"),
    ],
)
def test_bad_input_is_shown_and_nothing_is_written(team, place, overrides, message):
    response = team.post(url("resource_create", place), sheet(**overrides))
    body = text(response)
    assert response.status_code == 400
    assert message in body
    assert 'role="alert"' in body and "Rien n'a été enregistré" in body
    assert not Resource.objects.exists() and not Price.objects.exists()


def test_edit_changes_fields_prices_and_organisations(team, place, room, concierge):
    org = community.organisation_create(place=place, by=None, name="Asso du quartier")
    services.resource_update(resource=room, by=None, prices={"membre": ("heure", "4")})
    response = team.post(
        url("resource_edit", place, room.uuid),
        sheet(
            name="Salle Jaune",
            capacity="1",
            same_hours="on",
            requires_approval="on",
            price_membre_unit="",
            price_membre_amount="",
            price_partenaire_unit="gratuit",
            organisations=[str(org.uuid)],
        ),
        follow=True,
    )
    assert "Modifications enregistrées." in text(response)
    room.refresh_from_db()
    assert room.requires_approval and room.opening_hours == {} and room.capacity == 1
    assert {p.category: p.unit for p in room.prices.all()} == {
        "non_membre": "heure",
        "partenaire": "gratuit",
    }
    assert list(room.organisations.all()) == [org]
    entry = AuditEntry.objects.filter(action="resource.update").latest("id")
    assert entry.actor == concierge
    assert entry.changes["organisations"] == [[], ["Asso du quartier"]]
    assert entry.changes["prices"][1] == {
        "non_membre": ["heure", "8.00"],
        "partenaire": ["gratuit", "0.00"],
    }
    assert entry.changes["requires_approval"] == [False, True]


def test_edit_with_bad_input_writes_nothing(team, place, room):
    before = AuditEntry.objects.count()
    response = team.post(
        url("resource_edit", place, room.uuid), sheet(name="Autre nom", capacity="0")
    )
    assert response.status_code == 400
    assert "La capacité est d'au moins 1" in text(response)
    room.refresh_from_db()
    assert room.name == "Salle Jaune" and room.capacity == 1
    assert not room.prices.exists()
    assert AuditEntry.objects.count() == before


def test_concierge_lends_equipment_to_the_network(team, place, concierge):
    lend = sheet(
        name="Perceuse",
        kind="materiel",
        network_lending="on",
        lending_terms="Une semaine, caution 50 €.",
    )
    response = team.post(url("resource_create", place), lend)
    assert response.status_code == 302
    drill = Resource.objects.get(name="Perceuse")
    assert drill.network_lending and drill.lending_terms == "Une semaine, caution 50 €."
    body = text(team.get(url("resource_edit", place, drill.uuid)))
    assert "Prêt aux autres lieux du réseau" in body
    assert (
        '<input type="checkbox" name="network_lending" '
        'aria-describedby="id_network_lending_helptext" id="id_network_lending" checked> '
        "Prêté aux lieux du réseau</label>"
    ) in body
    assert "pourront vous demander à l'emprunter" in body
    assert ">\nUne semaine, caution 50 €.</textarea>" in body
    # Unticked (the browser sends nothing): no longer lent, and the audit says so.
    team.post(url("resource_edit", place, drill.uuid), sheet(name="Perceuse", kind="materiel"))
    drill.refresh_from_db()
    assert not drill.network_lending and drill.lending_terms == ""
    entry = AuditEntry.objects.filter(action="resource.update").latest("id")
    assert entry.actor == concierge and entry.changes["network_lending"] == [True, False]


def test_capacity_below_future_bookings_is_a_conflict_on_the_page(team, place, room, member):
    services.booking_create(
        resource=room,
        by=None,
        level=Level.CONCIERGE,
        person=member[1],
        start=local(2030, 3, 5, 10),
        end=local(2030, 3, 5, 11),
        notify=False,
    )
    services.resource_update(resource=room, by=None, capacity=2)
    room.refresh_from_db()
    services.booking_create(
        resource=room,
        by=None,
        level=Level.CONCIERGE,
        person=member[1],
        start=local(2030, 3, 5, 10),
        end=local(2030, 3, 5, 11),
        notify=False,
    )
    response = team.post(url("resource_edit", place, room.uuid), sheet(capacity="1"))
    assert response.status_code == 409
    assert "Des réservations à venir dépassent cette capacité (dès le 05/03/2030 10:00)." in text(
        response
    )
    room.refresh_from_db()
    assert room.capacity == 2 and room.name == "Salle Jaune" and not room.prices.exists()


def test_refused_update_keeps_prices_and_organisations(place, member):
    """Prices, organisations and fields change together or not at all."""
    desks = services.resource_create(
        place=place,
        by=None,
        name="Open space",
        capacity=3,
        horizon_days=3650,
        prices={"membre": ("heure", "2")},
    )
    for _ in range(2):
        services.booking_create(
            resource=desks,
            by=None,
            level=Level.CONCIERGE,
            person=member[1],
            start=local(2030, 3, 5, 10),
            end=local(2030, 3, 5, 11),
            notify=False,
        )
    org = community.organisation_create(place=place, by=None, name="Coop")
    with pytest.raises(Conflict):
        services.resource_update(
            resource=desks,
            by=None,
            capacity=1,
            prices={"membre": ("journee", "20")},
            organisations=[org],
        )
    assert [(p.unit, p.amount) for p in desks.prices.all()] == [("heure", Decimal("2.00"))]
    assert not desks.organisations.exists()


def test_organisation_of_another_place_is_refused(place, room):
    elsewhere = make_place(slug="ailleurs")
    org = community.organisation_create(place=elsewhere, by=None, name="Autre")
    from conciergerie.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as exc:
        services.resource_update(resource=room, by=None, organisations=[org])
    assert exc.value.errors == {"organisations": ["Organisation inconnue dans ce lieu."]}


# --- Who may --------------------------------------------------------------------------------------


def test_member_gets_403_on_every_manage_page(client, place, room, member, laser):
    login(client, member[0])
    photo = services.photo_add(resource=room, by=None, image=png_upload())
    q = services.qualification_grant(
        person=member[1], resource=laser, by=None, granted_on=dt.date(2024, 1, 1)
    )
    assert client.get(url("resource_create", place)).status_code == 403
    assert client.post(url("resource_create", place), sheet()).status_code == 403
    assert client.get(url("resource_edit", place, room.uuid)).status_code == 403
    assert client.post(url("resource_edit", place, room.uuid), sheet()).status_code == 403
    posts = [
        (url("photo_add", place, room.uuid), {"photo-image": png_upload()}),
        (url("photo_delete", place, room.uuid, photo.uuid), {}),
        (url("photo_move", place, room.uuid, photo.uuid), {"direction": "down"}),
        (url("maintenance_add", place, room.uuid), {"entretien-note": "Vidange"}),
        (url("qualification_grant", place, laser.uuid), {}),
        (url("qualification_revoke", place, laser.uuid, q.uuid), {}),
    ]
    for target, data in posts:
        assert client.post(target, data).status_code == 403, target
    assert Resource.objects.count() == 2 and ResourcePhoto.objects.count() == 1
    assert not MaintenanceEntry.objects.exists() and Qualification.objects.count() == 1
    # and the public pages do not offer the links
    assert url("resource_create", place) not in text(client.get(url("resources", place)))
    page = text(client.get(url("resource", place, room.uuid)))
    assert url("resource_edit", place, room.uuid) not in page


def test_another_place_s_resource_is_404(team, db):
    elsewhere = make_place(slug="ailleurs")
    theirs = services.resource_create(place=elsewhere, by=None, name="Chez eux")
    response = team.get(reverse("spaces:resource_edit", args=["etabli", theirs.uuid]))
    assert response.status_code == 404


def test_team_sees_manage_link_on_the_resource_page(team, place, room):
    body = text(team.get(url("resource", place, room.uuid)))
    assert url("resource_edit", place, room.uuid) in body and "Gérer cette ressource" in body


# --- Photos ---------------------------------------------------------------------------------------


def _img_sources(body):
    return [part.split('"', 1)[0] for part in body.split('<img src="')[1:]]


def test_photos_upload_reorder_and_delete(
    team, place, room, media, django_capture_on_commit_callbacks
):
    for i, color in enumerate(["red", "green", "blue"]):
        response = team.post(
            url("photo_add", place, room.uuid),
            {"photo-image": png_upload(f"p{i}.png", color=color), "photo-alt": f"Vue {color}"},
        )
        assert response.status_code == 302
        assert response["Location"].endswith("#photos")
    photos = list(room.photos.all())
    assert [p.alt for p in photos] == ["Vue red", "Vue green", "Vue blue"]
    assert [p.position for p in photos] == [0, 1, 2]
    assert all((media / p.image.name).exists() for p in photos)
    assert all(p.image.name.startswith("spaces/photos/") for p in photos)
    room.refresh_from_db()
    assert room.photo.name == photos[0].image.name  # the cover

    red, green, blue = photos
    team.post(url("photo_move", place, room.uuid, blue.uuid), {"direction": "up"})
    assert [p.alt for p in room.photos.all()] == ["Vue red", "Vue blue", "Vue green"]
    team.post(url("photo_move", place, room.uuid, red.uuid), {"direction": "down"})
    assert [p.alt for p in room.photos.all()] == ["Vue blue", "Vue red", "Vue green"]
    assert [p.position for p in room.photos.all()] == [0, 1, 2]
    room.refresh_from_db()
    assert room.photo.name == blue.image.name
    # at the end already: nothing moves
    team.post(url("photo_move", place, room.uuid, green.uuid), {"direction": "down"})
    assert [p.alt for p in room.photos.all()] == ["Vue blue", "Vue red", "Vue green"]
    assert team.post(url("photo_move", place, room.uuid, green.uuid), {}).status_code == 400

    # The public page shows them in that order.
    public = text(team.get(url("resource", place, room.uuid)))
    assert _img_sources(public) == [p.image.url for p in room.photos.all()]
    assert 'alt="Vue blue"' in public

    with django_capture_on_commit_callbacks(execute=True):
        response = team.post(url("photo_delete", place, room.uuid, blue.uuid), follow=True)
    assert "Photo supprimée." in text(response)
    assert not (media / blue.image.name).exists()
    assert (media / red.image.name).exists()
    assert [(p.alt, p.position) for p in room.photos.all()] == [("Vue red", 0), ("Vue green", 1)]
    room.refresh_from_db()
    assert room.photo.name == red.image.name
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"resource.photo_add", "resource.photo_move", "resource.photo_delete"} <= actions


def test_deleting_the_last_photo_clears_the_cover(team, place, room):
    photo = services.photo_add(resource=room, by=None, image=png_upload())
    team.post(url("photo_delete", place, room.uuid, photo.uuid))
    room.refresh_from_db()
    assert room.photo.name == "" and not room.photos.exists()
    assert "<img" not in text(team.get(url("resource", place, room.uuid)))


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("notes.png", b"pas une image", content_type="image/png"),
            "Ce fichier n'est pas une photo lisible : envoyez une image JPEG, PNG, WebP ou GIF.",
        ),
        (
            SimpleUploadedFile("doc.pdf", b"%PDF-1.4 ...", content_type="application/pdf"),
            "Ce fichier n'est pas une photo lisible",
        ),
        (
            SimpleUploadedFile("enorme.png", png_bytes() + b"\0" * (5 * 1024 * 1024)),
            "Cette photo pèse 5,0 Mo : 5 Mo au plus.",
        ),
    ],
)
def test_bad_upload_is_refused_in_french(team, place, room, media, upload, message):
    response = team.post(url("photo_add", place, room.uuid), {"photo-image": upload})
    body = text(response)
    assert response.status_code == 400
    assert message in body
    assert "La photo n'a pas été ajoutée." in body
    assert not ResourcePhoto.objects.exists()
    assert not media.exists() or not any(media.rglob("*.*"))


def test_missing_upload_is_a_form_error(team, place, room):
    response = team.post(url("photo_add", place, room.uuid), {"photo-alt": "Rien"})
    assert response.status_code == 400
    assert "Choisissez une photo à envoyer." in text(response)


def test_photo_description_can_be_changed(team, place, room, media):
    team.post(
        url("photo_add", place, room.uuid),
        {"photo-image": png_upload("p.png"), "photo-alt": "Vue"},
    )
    photo = room.photos.get()
    target = url("photo_describe", place, room.uuid, photo.uuid)
    response = team.post(target, {"alt": "  La salle,   vue depuis la porte "}, follow=True)
    photo.refresh_from_db()
    assert photo.alt == "La salle, vue depuis la porte"
    assert "Description de la photo enregistrée." in text(response)
    entry = AuditEntry.objects.filter(action="resource.photo_describe").get()
    assert entry.changes["alt"] == ["Vue", "La salle, vue depuis la porte"]
    response = team.post(target, {"alt": "x" * 201}, follow=True)
    assert "200 caractères au plus." in text(response)
    photo.refresh_from_db()
    assert photo.alt == "La salle, vue depuis la porte"


def test_photo_is_downsized_and_loses_its_metadata(place, room, media):
    photo = services.photo_add(resource=room, by=None, image=jpeg_with_location())
    assert photo.image.name.endswith(".jpg") and "IMG_0001" not in photo.image.name
    with Image.open(media / photo.image.name) as stored:
        assert max(stored.size) == services.PHOTO_MAX_SIDE
        assert stored.size == (1600, 800)
        assert not stored.getexif()


def test_photo_limit(place, room):
    for _ in range(services.MAX_PHOTOS):
        services.photo_add(resource=room, by=None, image=png_upload())
    with pytest.raises(Conflict):
        services.photo_add(resource=room, by=None, image=png_upload())
    assert room.photos.count() == services.MAX_PHOTOS


# --- Maintenance ----------------------------------------------------------------------------------


def test_maintenance_entry_is_added_and_listed(team, place, laser, concierge):
    response = team.post(
        url("maintenance_add", place, laser.uuid),
        {
            "entretien-date": "2026-03-02",
            "entretien-note": "Nettoyage de la lentille et des miroirs",
            "entretien-performed_by": "Camille",
            "entretien-remarks": "Prévoir une lentille de rechange.",
            "entretien-cost": "12.50",
        },
        follow=True,
    )
    body = text(response)
    assert "Intervention ajoutée au carnet d'entretien." in body
    assert "Nettoyage de la lentille et des miroirs" in body
    assert "Fait par Camille" in body and "Prévoir une lentille de rechange." in body
    entry = MaintenanceEntry.objects.get()
    assert entry.resource == laser and entry.date == dt.date(2026, 3, 2)
    assert entry.cost == Decimal("12.50") and entry.by == concierge
    audit = AuditEntry.objects.get(action="maintenance.add")
    assert audit.target_uuid == laser.uuid and audit.changes["performed_by"] == [None, "Camille"]
    # The out-of-service form is one link away.
    assert f"{laser.get_absolute_url()}#hors-service" in body


def test_maintenance_without_what_was_done_is_refused(team, place, laser):
    response = team.post(
        url("maintenance_add", place, laser.uuid),
        {"entretien-date": "2026-03-02", "entretien-note": "", "entretien-cost": "-3"},
    )
    body = text(response)
    assert response.status_code == 400
    assert "Dites ce qui a été fait." in body
    assert "L'intervention n'a pas été notée" in body
    assert not MaintenanceEntry.objects.exists()


# --- Qualifications -------------------------------------------------------------------------------


def test_qualification_lets_the_member_book_and_revoking_stops_it(team, place, laser, member):
    user, person = member
    start, end = local(2030, 3, 5, 10), local(2030, 3, 5, 11)

    def book():
        return services.booking_create(
            resource=laser, by=user, level=Level.MEMBER, person=person, start=start, end=end
        )

    with pytest.raises(PermissionDenied):
        book()
    response = team.post(
        url("qualification_grant", place, laser.uuid),
        {
            "habilitation-person": str(person.uuid),
            "habilitation-granted_on": "2026-01-10",
            "habilitation-valid_until": "",
            "habilitation-trainer": "Sam",
            "habilitation-note": "Initiation découpe bois",
        },
        follow=True,
    )
    body = text(response)
    assert "Habilitation enregistrée pour Lina" in body
    assert "formé·e le 10 janvier 2026" in body and "sans limite de durée" in body
    q = Qualification.objects.get()
    assert (q.person, q.trainer, q.valid_until) == (person, "Sam", None)
    booking = book()
    services.booking_cancel(booking=booking, by=user, level=Level.MEMBER)

    response = team.post(url("qualification_revoke", place, laser.uuid, q.uuid), follow=True)
    assert "Habilitation retirée" in text(response)
    assert not Qualification.objects.exists()
    with pytest.raises(PermissionDenied) as exc:
        services.check_access(resource=laser, person=person, level=Level.MEMBER, start=start)
    assert "Cette machine demande une formation" in exc.value.message
    with pytest.raises(PermissionDenied):
        book()
    audit = AuditEntry.objects.get(action="qualification.revoke")
    assert audit.changes["person"] == ["Lina " + person.last_name, None]
    assert audit.changes["trainer"] == ["Sam", None]


def test_expired_qualification_is_marked(team, place, laser, member):
    services.qualification_grant(
        person=member[1],
        resource=laser,
        by=None,
        granted_on=dt.date(2020, 1, 1),
        valid_until=dt.date(2021, 1, 1),
    )
    other = make_person(place=place, first_name="Nour")
    services.qualification_grant(
        person=other, resource=laser, by=None, granted_on=dt.date(2024, 1, 1)
    )
    body = text(team.get(url("resource_edit", place, laser.uuid)))
    assert body.count(">expirée<") == 1
    assert body.count(">valable<") == 1
    assert "valable jusqu'au 1 janvier 2021" in body


def test_grant_errors_are_shown(team, place, laser):
    elsewhere = make_place(slug="ailleurs")
    stranger = make_person(place=elsewhere, first_name="Inconnue")
    response = team.post(
        url("qualification_grant", place, laser.uuid),
        {
            "habilitation-person": str(stranger.uuid),
            "habilitation-granted_on": "2026-01-10",
            "habilitation-valid_until": "2025-01-10",
        },
    )
    body = text(response)
    assert response.status_code == 400
    assert "Personne introuvable dans ce lieu" in body  # not a person of this place
    assert "La fin de validité est avant la formation." in body
    assert not Qualification.objects.exists()


# --- Query counts ---------------------------------------------------------------------------------


def _count(client, path):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries), text(response)


def _grow(place, resource, n, start=0):
    for i in range(start, start + n):
        services.photo_add(resource=resource, by=None, image=png_upload(), alt=f"Photo {i}")
        services.maintenance_add(
            resource=resource, by=None, date=dt.date(2026, 1, 1), note=f"Révision {i}"
        )
        services.qualification_grant(
            person=make_person(place=place, first_name=f"Formé{i}"),
            resource=resource,
            by=None,
            granted_on=dt.date(2025, 1, 1),
        )
        community.organisation_create(place=place, by=None, name=f"Organisation {i}")


def test_edit_page_query_count_is_flat(team, place, laser):
    path = url("resource_edit", place, laser.uuid)
    _grow(place, laser, 1)
    team.get(path)  # warm the session
    small, body = _count(team, path)
    assert "Révision 0" in body and "Formé0" in body
    _grow(place, laser, 9, start=1)
    large, body = _count(team, path)
    assert "Révision 9" in body and "Formé9" in body and body.count('alt="Photo ') == 10
    assert large == small, f"{small} queries with 1 of each, {large} with 10"


def test_public_page_photos_cost_one_query_whatever_their_number(client, place, room):
    path = url("resource", place, room.uuid)
    client.get(path)
    without, _body = _count(client, path)
    services.photo_add(resource=room, by=None, image=png_upload(), alt="Photo 0")
    one, body = _count(client, path)
    assert body.count('alt="Photo ') == 1
    for i in range(1, 10):
        services.photo_add(resource=room, by=None, image=png_upload(), alt=f"Photo {i}")
    ten, body = _count(client, path)
    assert body.count('alt="Photo ') == 10
    assert one == ten == without + 1


# --- Migration ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_migration_0003_copies_the_cover_and_goes_back():
    from django.db.migrations.executor import MigrationExecutor

    old = [("spaces", "0002_booking_no_overlap")]
    new = [("spaces", "0003_photos_maintenance_qualification_uuid")]
    executor = MigrationExecutor(connection)
    executor.migrate(old)
    try:
        state = executor.loader.project_state(old).apps
        place = state.get_model("core", "Place").objects.create(slug="m", name="M")
        person = state.get_model("community", "Person").objects.create(place=place, first_name="A")
        res = state.get_model("spaces", "Resource")
        covered = res.objects.create(place=place, name="Avec", photo="spaces/photos/a.jpg")
        res.objects.create(place=place, name="Sans")
        quals = state.get_model("spaces", "Qualification")
        for _ in range(2):
            quals.objects.create(
                place=place, person=person, resource=covered, granted_on=dt.date(2025, 1, 1)
            )

        executor = MigrationExecutor(connection)
        executor.migrate(new)
        state = executor.loader.project_state(new).apps
        photos = state.get_model("spaces", "ResourcePhoto").objects.all()
        assert [(p.resource_id, p.image.name, p.position) for p in photos] == [
            (covered.pk, "spaces/photos/a.jpg", 0)
        ]
        uuids = set(
            state.get_model("spaces", "Qualification").objects.values_list("uuid", flat=True)
        )
        assert len(uuids) == 2 and None not in uuids

        # Back: the cover is kept (restored where empty), the photos table goes.
        state.get_model("spaces", "Resource").objects.filter(pk=covered.pk).update(photo="")
        executor = MigrationExecutor(connection)
        executor.migrate(old)
        state = executor.loader.project_state(old).apps
        back = state.get_model("spaces", "Resource").objects.get(pk=covered.pk)
        assert back.photo.name == "spaces/photos/a.jpg"
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
