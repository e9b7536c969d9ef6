"""CSV import (preview, confirm) and export of people and memberships."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conciergerie.community import csv_io, imports, selectors, services
from conciergerie.community.models import (
    Facet,
    ImportBatch,
    Membership,
    Organisation,
    Person,
    Tag,
)
from conciergerie.core.errors import Conflict, InvalidInput
from conciergerie.core.models import AuditEntry
from tests.conftest import login
from tests.factories import make_membership, make_person, make_user

pytestmark = pytest.mark.django_db

HEADER = (
    "Prénom;Nom;E-mail;Téléphone;Statut;Organisation;Compétences;Besoins;"
    "Adhésion début;Adhésion fin;Cotisation;État adhésion"
)
GOOD_LINES = [
    "Camille;Martin;camille@example.org;06 12 34 56 78;membre;Atelier Vélo;soudure, vélo;"
    "comptabilité;01/09/2025;31/08/2026;20,00;réglée",
    'Karim;Benali;Karim.Benali@Example.org;;bénévole;"Atelier vélo; Coop du coin";accueil;;'
    "2025-01-15;;5 €;en attente",
    "Léa;;lea@example.org;;;;;;;;;",
]


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return "\r\n".join(lines).encode(encoding)


GOOD = csv_bytes(HEADER, *GOOD_LINES)


def create_batch(place, by, content: bytes, filename: str = "personnes.csv") -> ImportBatch:
    return imports.import_batch_create(place=place, by=by, filename=filename, content=content)


def upload(client, place, content: bytes, filename: str = "personnes.csv"):
    return client.post(
        reverse("community:import", args=[place.slug]),
        {"file": SimpleUploadedFile(filename, content, content_type="text/csv")},
    )


def preview_url(batch: ImportBatch) -> str:
    return reverse("community:import_preview", args=[batch.place.slug, batch.uuid])


def tag_labels(person: Person, facet: str) -> set[str]:
    return {link.tag.label for link in person.person_tags.filter(facet=facet)}


# --- Parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01/09/2025", dt.date(2025, 9, 1)),
        ("1/9/2025", dt.date(2025, 9, 1)),
        ("2025-09-01", dt.date(2025, 9, 1)),
        ("12/09/2025 14:32", dt.date(2025, 9, 12)),
        ("2025-09-12T14:32:00+02:00", dt.date(2025, 9, 12)),
    ],
)
def test_parse_date_accepts_french_and_iso(text, expected):
    assert csv_io.parse_date(text) == expected


@pytest.mark.parametrize("text", ["31/02/2025", "09/01/25", "2025/09/01", "demain", "13/13/2025"])
def test_parse_date_refuses(text):
    with pytest.raises(ValueError):
        csv_io.parse_date(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20", Decimal("20.00")),
        ("20,00", Decimal("20.00")),
        ("20.00 €", Decimal("20.00")),
        ("€20.5", Decimal("20.50")),
        ("1 234,50 €", Decimal("1234.50")),
        ("1\u202f234,50", Decimal("1234.50")),
        ("1.234,50", Decimal("1234.50")),
        ("0", Decimal("0.00")),
        ("15 EUR", Decimal("15.00")),
    ],
)
def test_parse_amount(text, expected):
    assert csv_io.parse_amount(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("-5", "négatif"), ("-5,00 €", "négatif"), ("vingt", "invalide"), ("20,005", "invalide")],
)
def test_parse_amount_refuses(text, message):
    with pytest.raises(ValueError, match=message):
        csv_io.parse_amount(text)


def test_delimiter_is_sniffed():
    assert csv_io.sniff_delimiter("Prénom;Nom;E-mail\n") == ";"
    assert csv_io.sniff_delimiter("Prénom,Nom,E-mail\n") == ","
    assert csv_io.sniff_delimiter("Prénom\tNom\tE-mail\n") == "\t"


def test_header_aliases_are_matched_without_case_or_accents():
    parsed = csv_io.read_people(
        "PRENOM,last_name,Courriel,telephone,Centres d'interet\nA,B,a@x.org,1,x"
    )
    assert set(parsed.columns) == {"first_name", "last_name", "email", "phone", "interests"}
    assert parsed.ignored == []
    assert parsed.rows[0].values["tags"] == {Facet.INTEREST: ["x"]}


def test_every_alias_belongs_to_one_column():
    owner: dict[str, str] = {}
    for column in csv_io.COLUMNS:
        for alias in (column.header, *column.aliases):
            assert owner.setdefault(csv_io._key(alias), column.key) == column.key, alias
        assert csv_io._key(column.header) == csv_io._key(column.aliases[0])


def test_line_numbers_follow_the_spreadsheet_rows():
    """A quoted cell on two physical lines is still one spreadsheet row; blank rows count."""
    text = 'Prénom;E-mail;Présentation\nAna;ana@x.org;"deux\nlignes"\n;;\nBob;pas-un-mail;\n'
    parsed = csv_io.read_people(text)
    assert [r.line for r in parsed.rows] == [2, 4]
    assert parsed.rows[0].values["bio"] == "deux\nlignes"
    assert parsed.errors == [(4, "« E-mail » : e-mail invalide « pas-un-mail ».")]


def test_a_shifted_line_is_an_error_not_silently_misread():
    parsed = csv_io.read_people("Prénom;E-mail\nAna;ana@x.org;en trop\n")
    assert parsed.errors[0][0] == 2
    assert "3 cellules pour 2 colonnes" in parsed.errors[0][1]


# --- File-level errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "vide"),
        (b"\r\n\r\n", "vide"),
        (b";;;\nAna;ana@x.org", "noms des colonnes"),
        (csv_bytes("Nom;E-mail", "Martin;m@x.org"), "Colonne obligatoire absente : « Prénom »"),
        (csv_bytes("Prénom;Nom", "Ana;Martin"), "Colonne obligatoire absente : « E-mail »"),
        (b"x" * (2 * 1024 * 1024 + 1), "2 Mo"),
        (b"P\x00r\x00", "caractères nuls"),
    ],
)
def test_unreadable_files_are_refused_with_one_clear_error(place, concierge, content, message):
    with pytest.raises(InvalidInput) as exc:
        create_batch(place, concierge, content)
    assert message in exc.value.errors["file"][0]
    assert not ImportBatch.objects.exists()


def test_too_many_rows_is_refused(place, concierge):
    lines = [f"P{i};p{i}@x.org" for i in range(csv_io.MAX_ROWS + 1)]
    with pytest.raises(InvalidInput) as exc:
        create_batch(place, concierge, csv_bytes("Prénom;E-mail", *lines))
    assert "plus de 20 000 lignes" in exc.value.message


def test_max_rows_is_accepted(place, concierge):
    lines = [f"P{i};p{i}@x.org" for i in range(csv_io.MAX_ROWS)]
    batch = create_batch(place, concierge, csv_bytes("Prénom;E-mail", *lines))
    assert batch.report["rows"] == csv_io.MAX_ROWS


# --- Service: apply ---------------------------------------------------------------------------


def test_good_file_creates_people_tags_organisations_memberships(place, concierge):
    batch = create_batch(place, concierge, GOOD)
    assert batch.report["errors"] == 0
    assert Person.objects.count() == 0  # nothing written before confirmation

    report = imports.import_batch_apply(batch=batch, by=concierge)

    assert report == {"created": 3, "updated": 0, "unchanged": 0, "memberships_created": 2}
    batch.refresh_from_db()
    assert batch.imported_at is not None
    assert batch.report == report
    camille = Person.objects.get(place=place, email="camille@example.org")
    assert (camille.first_name, camille.last_name, camille.phone) == (
        "Camille",
        "Martin",
        "06 12 34 56 78",
    )
    assert camille.kind == Person.Kind.MEMBER
    assert tag_labels(camille, Facet.SKILL) == {"soudure", "vélo"}
    assert tag_labels(camille, Facet.NEED) == {"comptabilité"}
    assert [o.name for o in camille.organisations.all()] == ["Atelier Vélo"]
    (m,) = camille.memberships.all()
    assert (m.start, m.end, m.fee, m.status) == (
        dt.date(2025, 9, 1),
        dt.date(2026, 8, 31),
        Decimal("20.00"),
        Membership.Status.PAID,
    )
    karim = Person.objects.get(place=place, email="karim.benali@example.org")
    assert karim.kind == Person.Kind.VOLUNTEER
    # "Atelier vélo" is the same organisation as "Atelier Vélo" (case-insensitive).
    assert sorted(o.name for o in karim.organisations.all()) == ["Atelier Vélo", "Coop du coin"]
    assert Organisation.objects.filter(place=place).count() == 2
    (m,) = karim.memberships.all()
    assert (m.start, m.end, m.fee, m.status) == (
        dt.date(2025, 1, 15),
        dt.date(2026, 1, 14),  # one year when the end is empty
        Decimal("5.00"),
        Membership.Status.PENDING,
    )
    lea = Person.objects.get(place=place, email="lea@example.org")
    assert lea.kind == Person.Kind.MEMBER and not lea.memberships.exists()
    # The directory search sees imported people (they went through person_create).
    assert "soudure" in camille.search_all
    entry = AuditEntry.objects.get(action="import.apply")
    assert entry.actor == concierge
    assert entry.changes["created"] == [None, 3]
    assert entry.changes["memberships_created"] == [None, 2]


def test_reimporting_the_same_file_creates_nothing(place, concierge):
    imports.import_batch_apply(batch=create_batch(place, concierge, GOOD), by=concierge)
    counts = (Person.objects.count(), Membership.objects.count(), Tag.objects.count())
    updates = AuditEntry.objects.filter(action="person.update").count()

    second = create_batch(place, concierge, GOOD)
    plan = imports.import_batch_plan(batch=second)
    assert [r.action for r in plan.rows] == ["unchanged"] * 3
    assert [r.membership_exists for r in plan.rows] == [True, True, False]
    report = imports.import_batch_apply(batch=second, by=concierge)

    assert report == {"created": 0, "updated": 0, "unchanged": 3, "memberships_created": 0}
    assert (Person.objects.count(), Membership.objects.count(), Tag.objects.count()) == counts
    assert AuditEntry.objects.filter(action="person.update").count() == updates


def test_a_batch_is_applied_only_once(place, concierge):
    batch = create_batch(place, concierge, GOOD)
    imports.import_batch_apply(batch=batch, by=concierge)
    with pytest.raises(Conflict, match="déjà été importé"):
        imports.import_batch_apply(batch=batch, by=concierge)
    assert Person.objects.count() == 3


def test_update_changes_only_the_cells_the_file_fills(place, concierge):
    person = make_person(
        place=place,
        first_name="Camille",
        last_name="Martin",
        email="camille@example.org",
        phone="01 02 03 04 05",
        bio="Présentation existante",
        skills=["couture"],
        needs=["local"],
    )
    content = csv_bytes(
        "Prénom;Nom;E-mail;Téléphone;Présentation;Compétences;Besoins",
        "Camille;;CAMILLE@example.org;;;Soudure;",
    )
    plan = imports.import_batch_plan(batch=create_batch(place, concierge, content))
    (row,) = plan.rows
    assert row.action == "update" and row.person == person
    assert row.changed == ["Compétences"]

    report = imports.import_batch_apply(batch=create_batch(place, concierge, content), by=concierge)

    assert report["updated"] == 1
    person.refresh_from_db()
    assert (person.last_name, person.phone, person.bio) == (
        "Martin",
        "01 02 03 04 05",
        "Présentation existante",
    )
    assert tag_labels(person, Facet.SKILL) == {"Soudure"}
    assert tag_labels(person, Facet.NEED) == {"local"}  # empty cell: kept


def test_matching_is_limited_to_the_place(place, other_place, concierge):
    make_person(place=other_place, first_name="Camille", email="camille@example.org")
    report = imports.import_batch_apply(batch=create_batch(place, concierge, GOOD), by=concierge)
    assert report["created"] == 3
    assert Person.objects.filter(email="camille@example.org").count() == 2


ERROR_FILE = csv_bytes(
    HEADER,
    "Ana;Bon;ana@example.org;;;;;;01/01/2025;;10;réglée",  # 2: fine
    "Bob;Mauvais;pas-un-mail;;;;;;;;;",  # 3
    ";SansPrénom;sans@example.org;;;;;;;;;",  # 4
    "Chloé;Date;chloe@example.org;;;;;;31/02/2025;;;",  # 5
    "Dan;Négatif;dan@example.org;;;;;;01/01/2025;;-5;",  # 6
    "Eva;Invalide;eva@example.org;;;;;;01/01/2025;;vingt euros;",  # 7
    "Ana;Doublon;ANA@example.org;;;;;;;;;",  # 8
    "Fred;Période;fred@example.org;;;;;;01/09/2025;01/08/2025;;",  # 9
    "Gus;SansMail;;;;;;;;;;",  # 10
    "Hugo;SansDébut;hugo@example.org;;;;;;;;20;",  # 11
    "Iris;Statut;iris@example.org;;Validé;;;;;;;",  # 12
)
EXPECTED_ERRORS = [
    (3, "e-mail invalide « pas-un-mail »"),
    (4, "Prénom manquant"),
    (5, "date invalide « 31/02/2025 »"),
    (6, "le montant ne peut pas être négatif"),
    (7, "montant invalide « vingt euros »"),
    (8, "L'e-mail ana@example.org figure déjà à la ligne 2"),
    (9, "La fin de l'adhésion (01/08/2025) est avant son début (01/09/2025)"),
    (10, "E-mail manquant"),
    (11, "Adhésion sans date de début"),
    (12, "ressemble à un état de paiement"),
]


def test_every_bad_line_is_reported_with_its_number(place, concierge):
    plan = imports.import_batch_plan(batch=create_batch(place, concierge, ERROR_FILE))
    errors = plan.errors
    assert [line for line, _ in errors] == [line for line, _ in EXPECTED_ERRORS]
    for (line, message), (expected_line, expected) in zip(errors, EXPECTED_ERRORS, strict=True):
        assert line == expected_line and expected in message, (line, message)
    assert plan.counts["rows"] == 11  # no line dropped
    assert [r.action for r in plan.rows if not r.errors] == ["create"]


def test_applying_a_file_with_errors_is_refused_and_writes_nothing(place, concierge):
    batch = create_batch(place, concierge, ERROR_FILE)
    with pytest.raises(InvalidInput) as exc:
        imports.import_batch_apply(batch=batch, by=concierge)
    assert "10 erreurs" in exc.value.message
    assert "Ligne 3 : « E-mail » : e-mail invalide « pas-un-mail »." in exc.value.errors["__all__"]
    assert not Person.objects.exists()
    assert not Membership.objects.exists()
    batch.refresh_from_db()
    assert batch.imported_at is None


def test_overlapping_membership_is_an_error_in_the_preview(place, concierge):
    person = make_person(place=place, first_name="Ana", email="ana@example.org")
    make_membership(person=person, start=dt.date(2025, 1, 1))
    content = csv_bytes("Prénom;E-mail;Adhésion début", "Ana;ana@example.org;01/06/2025")
    plan = imports.import_batch_plan(batch=create_batch(place, concierge, content))
    assert plan.errors == [
        (
            2,
            "Cette personne a déjà une adhésion du 01/01/2025 au 31/12/2025, qui chevauche "
            "celle du fichier (01/06/2025 – 31/05/2026).",
        )
    ]


def test_a_failure_while_applying_rolls_everything_back(place, concierge, monkeypatch):
    real = services.membership_create

    def fail_on_second(**kwargs):
        if kwargs["person"].email.startswith("karim"):
            raise Conflict("boum")
        return real(**kwargs)

    monkeypatch.setattr(services, "membership_create", fail_on_second)
    batch = create_batch(place, concierge, GOOD)
    with pytest.raises(InvalidInput, match="Ligne 3 : boum"):
        imports.import_batch_apply(batch=batch, by=concierge)
    assert not Person.objects.exists()
    assert not Organisation.objects.exists()
    assert not Membership.objects.exists()
    assert not AuditEntry.objects.filter(action="import.apply").exists()
    batch.refresh_from_db()
    assert batch.imported_at is None


def test_cp1252_file_with_semicolons_and_accents(place, concierge):
    content = csv_bytes(
        "Prénom;Nom;Courriel;Compétences;Cotisation;Adhésion début",
        "Hélène;Lefèvre;helene@example.org;céramique;12,50 €;15/03/2025",
        encoding="cp1252",
    )
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    batch = create_batch(place, concierge, content)
    assert batch.report["encoding"] == "windows-1252"
    assert batch.report["delimiter"] == ";"
    imports.import_batch_apply(batch=batch, by=concierge)
    person = Person.objects.get(email="helene@example.org")
    assert (person.first_name, person.last_name) == ("Hélène", "Lefèvre")
    assert tag_labels(person, Facet.SKILL) == {"céramique"}
    assert person.memberships.get().fee == Decimal("12.50")


def test_utf8_with_bom_and_tabs(place, concierge):
    content = "\ufeffPrénom\tE-mail\tBesoins\nZoé\tzoe@example.org\tun local; du temps\n"
    batch = create_batch(place, concierge, content.encode("utf-8"))
    assert batch.report["delimiter"] == "\t"
    imports.import_batch_apply(batch=batch, by=concierge)
    zoe = Person.objects.get(email="zoe@example.org")
    assert zoe.first_name == "Zoé"
    assert tag_labels(zoe, Facet.NEED) == {"un local", "du temps"}


HELLOASSO = csv_bytes(
    "Numéro,Formule,Montant (€),Statut de la commande,Nom adhérent,Prénom adhérent,"
    "Nom payeur,Prénom payeur,Email payeur,Date,Date de naissance,Raison sociale",
    '1001,Adhésion individuelle,"25,00",Validé,Durand,Inès,Durand,Marc,'
    "ines.durand@example.org,12/09/2025 14:32,01/02/1990,",
    "1002,Adhésion structure,50.00,Validé,Petit,Noé,Petit,Noé,noe@example.org,"
    "2025-09-13 09:05,,La Ressourcerie",
)


def test_helloasso_like_export(place, concierge):
    batch = create_batch(place, concierge, HELLOASSO, "export-helloasso.csv")
    plan = imports.import_batch_plan(batch=batch)
    assert plan.errors == []
    assert plan.parsed.columns["first_name"] == "Prénom adhérent"  # the member, not the payer
    assert set(plan.parsed.ignored) == {
        "Numéro",
        "Formule",
        "Nom payeur",
        "Prénom payeur",
        "Date de naissance",
    }
    imports.import_batch_apply(batch=batch, by=concierge)
    ines = Person.objects.get(email="ines.durand@example.org")
    assert (ines.first_name, ines.last_name) == ("Inès", "Durand")
    m = ines.memberships.get()
    assert (m.start, m.fee, m.status) == (dt.date(2025, 9, 12), Decimal("25.00"), "paid")
    noe = Person.objects.get(email="noe@example.org")
    assert [o.name for o in noe.organisations.all()] == ["La Ressourcerie"]


# --- Export -----------------------------------------------------------------------------------


def make_people(place, n: int) -> list[Person]:
    people = []
    for i in range(n):
        person = make_person(
            place=place,
            first_name=f"Prénom{i}",
            email=f"personne{i}@example.org",
            phone="+33 6 12 34 56 78",
            skills=["soudure", f"compétence {i % 4}"],
            needs=["local"] if i % 2 else [],
        )
        if i % 3 == 0:
            make_membership(person=person, start=dt.date(2024, 1, 1))
            make_membership(person=person, start=dt.date(2025, 1, 1), status="paid")
        people.append(person)
    return people


def test_export_is_excel_friendly(place, concierge_client):
    person = make_person(place=place, first_name="Zoé", email="zoe@example.org", bio="=1+1")
    make_membership(person=person, start=dt.date(2025, 3, 1), fee=Decimal("12.5"), status="paid")
    response = concierge_client.get(reverse("community:export", args=[place.slug]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment;" in response["Content-Disposition"]
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].split(";")[:3] == ["Prénom", "Nom", "E-mail"]
    assert ";Zoé;" in f";{lines[1]}"
    assert "'=1+1" in lines[1]  # a spreadsheet must not run it as a formula
    assert "01/03/2025;28/02/2026;12,50;réglée" in lines[1]


def test_export_then_import_changes_nothing(place, concierge, concierge_client):
    people = make_people(place, 6)
    org = services.organisation_create(place=place, by=None, name="Atelier, vélo & co")
    services.person_update(
        person=people[0],
        by=None,
        organisations=[org],
        bio='Ligne 1\nLigne 2 ; avec « guillemets » "doubles"',
        kind=Person.Kind.VISITOR,
        lendables_text="- une perceuse",
        tags={Facet.INTEREST: ["jardin"], Facet.LENDABLE: ["perceuse"]},
    )
    before = (Person.objects.count(), Membership.objects.count(), AuditEntry.objects.count())
    exported = concierge_client.get(reverse("community:export", args=[place.slug])).content

    batch = create_batch(place, concierge, exported, "export.csv")
    plan = imports.import_batch_plan(batch=batch)
    assert plan.errors == []
    assert plan.parsed.ignored == []
    assert [(r.action, r.changed) for r in plan.rows] == [("unchanged", [])] * 6
    report = imports.import_batch_apply(batch=batch, by=concierge)

    assert report == {"created": 0, "updated": 0, "unchanged": 6, "memberships_created": 0}
    # Only the batch's own two audit entries were written.
    assert (Person.objects.count(), Membership.objects.count(), AuditEntry.objects.count()) == (
        before[0],
        before[1],
        before[2] + 2,
    )


def test_export_into_another_place_recreates_the_people(place, other_place, concierge):
    make_people(place, 3)
    text = csv_io.export_people_csv(selectors.export_rows(place=place))
    report = imports.import_batch_apply(
        batch=create_batch(other_place, concierge, text.encode()), by=concierge
    )
    assert report == {"created": 3, "updated": 0, "unchanged": 0, "memberships_created": 1}
    copy = Person.objects.get(place=other_place, email="personne0@example.org")
    assert tag_labels(copy, Facet.SKILL) == {"soudure", "compétence 0"}
    assert copy.memberships.get().start == dt.date(2025, 1, 1)  # the latest one


EXPORT_QUERIES = 8


@pytest.mark.parametrize("n", [3, 30])
def test_export_query_count_is_flat(place, concierge_client, django_assert_num_queries, n):
    make_people(place, n)
    url = reverse("community:export", args=[place.slug])
    # session, user, place, role, then people + tags + organisations + memberships
    with django_assert_num_queries(EXPORT_QUERIES):
        response = concierge_client.get(url)
    assert len(response.content.decode("utf-8-sig").splitlines()) == n + 1


def test_export_only_holds_the_place_people(place, other_place, concierge_client):
    make_person(place=place, first_name="Ici", email="ici@example.org")
    make_person(place=other_place, first_name="Ailleurs", email="ailleurs@example.org")
    body = concierge_client.get(reverse("community:export", args=[place.slug])).content.decode()
    assert "ici@example.org" in body and "ailleurs@example.org" not in body


# --- Views ------------------------------------------------------------------------------------


def test_upload_page_explains_the_format(place, concierge_client):
    response = concierge_client.get(reverse("community:import", args=[place.slug]))
    assert response.status_code == 200
    content = response.content.decode()
    assert reverse("community:export", args=[place.slug]) in content
    assert reverse("community:import_template", args=[place.slug]) in content
    assert "prénom adhérent" in content  # the accepted names are listed
    assert "20 000 lignes" in content
    assert 'enctype="multipart/form-data"' in content
    assert '<label for="id_file">' in content


def test_example_file_imports_cleanly(place, concierge, concierge_client):
    response = concierge_client.get(reverse("community:import_template", args=[place.slug]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    plan = imports.import_batch_plan(batch=create_batch(place, concierge, response.content))
    assert plan.errors == [] and plan.parsed.ignored == []
    assert plan.counts["created"] == 2 and plan.counts["memberships"] == 1


def test_upload_preview_confirm_journey(place, concierge_client):
    content = csv_bytes(HEADER + ";Date de naissance", *[line + ";" for line in GOOD_LINES])
    response = upload(concierge_client, place, content)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == preview_url(batch)
    assert batch.place == place and batch.filename == "personnes.csv"

    page = concierge_client.get(preview_url(batch)).content.decode()
    assert "Date de naissance" in page  # the ignored column is shown, not silently dropped
    assert "Nouvelle personne" in page
    assert "Confirmer l'import" in page
    assert not Person.objects.exists()

    response = concierge_client.post(preview_url(batch), follow=True)
    assert response.redirect_chain[-1][0] == reverse("community:directory", args=[place.slug])
    assert "3 personne(s) ajoutée(s)" in response.content.decode()
    assert Person.objects.filter(place=place).count() == 3

    again = concierge_client.get(preview_url(batch)).content.decode()
    assert "Ce fichier a été importé le" in again
    assert "Confirmer l'import" not in again


def test_preview_lists_errors_and_confirm_is_refused(place, concierge_client):
    upload(concierge_client, place, ERROR_FILE)
    batch = ImportBatch.objects.get()
    response = concierge_client.get(preview_url(batch))
    page = response.content.decode()
    assert 'role="alert"' in page
    assert "10 erreurs à corriger" in page
    assert "Confirmer l'import" not in page
    for line, message in EXPECTED_ERRORS:
        assert f'<th scope="row">{line}</th>' in page
        assert message.replace("'", "&#x27;") in page

    response = concierge_client.post(preview_url(batch), follow=True)
    assert "10 erreurs" in response.content.decode()
    assert not Person.objects.exists()
    batch.refresh_from_db()
    assert batch.imported_at is None


def test_preview_shows_updates(place, concierge, concierge_client):
    make_person(place=place, first_name="Camille", last_name="Ancien", email="camille@example.org")
    batch = create_batch(place, concierge, GOOD)
    page = concierge_client.get(preview_url(batch)).content.decode()
    assert "de Camille Ancien : Nom, Téléphone, Compétences, Besoins, Organisation" in page


def test_preview_is_capped_at_200_rows(place, concierge, concierge_client):
    lines = [f"P{i};p{i}@x.org" for i in range(250)]
    batch = create_batch(place, concierge, csv_bytes("Prénom;E-mail", *lines))
    response = concierge_client.get(preview_url(batch))
    assert len(response.context["rows"]) == 200
    assert "Les 200 premières lignes sur 250" in response.content.decode()
    assert response.context["counts"]["created"] == 250


def test_unreadable_upload_shows_the_error_on_the_form(place, concierge_client):
    response = upload(concierge_client, place, csv_bytes("Nom;Ville", "Martin;Lyon"))
    assert response.status_code == 200
    assert "Colonne obligatoire absente" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_member_is_forbidden(place, concierge, member_client):
    batch = create_batch(place, concierge, GOOD)
    for name, args in [
        ("community:import", []),
        ("community:import_template", []),
        ("community:export", []),
        ("community:import_preview", [batch.uuid]),
    ]:
        url = reverse(name, args=[place.slug, *args])
        assert member_client.get(url).status_code == 403, name
    assert upload(member_client, place, GOOD).status_code == 403
    assert member_client.post(preview_url(batch)).status_code == 403
    assert not Person.objects.exists()
    assert ImportBatch.objects.count() == 1


def test_anonymous_is_sent_to_login(place, client):
    response = client.get(reverse("community:export", args=[place.slug]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core:login"))


def test_a_batch_is_invisible_from_another_place(place, other_place, concierge, client):
    batch = create_batch(place, concierge, GOOD)
    # A concierge of both places still cannot reach place A's batch through place B's URL.
    from conciergerie.core import services as core

    core.role_set(place=other_place, user=concierge, role="concierge", by=None)
    other = make_user(place=other_place, role="concierge")
    for user in (concierge, other):
        c = login(client, user)
        url = reverse("community:import_preview", args=[other_place.slug, batch.uuid])
        assert c.get(url).status_code == 404
        assert c.post(url).status_code == 404
        c.logout()
    batch.refresh_from_db()
    assert batch.imported_at is None
    assert not Person.objects.exists()
