"""Importing commons (service) and the JSON/CSV exchange format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import IntegrityError

from conciergerie.commons import exchange, search
from conciergerie.commons.models import Commons, CommonsRevision, Domain
from conciergerie.commons.services.catalogue import snapshot_of
from conciergerie.commons.services.imports import commons_import, normalise_url
from conciergerie.core.errors import InvalidInput
from conciergerie.core.models import AuditEntry
from tests.commons.conftest import commons_data, make_commons

pytestmark = pytest.mark.django_db


def jitsi(**over):
    """Jitsi Meet with links, contacts and a grid (`over` replaces any of its keys)."""
    data = commons_data(
        name="Jitsi Meet",
        slug="jitsi-meet",
        summary="Visioconférence sans compte, dans le navigateur.",
        description="Des réunions à distance avec vidéo.",
        url="https://meet.jit.si",
        actions=["travailler", "animer"],
        domains=["visioconférence"],
        tags=["réunion à distance", "visio"],
        license="Apache-2.0",
        links=[{"label": "Documentation", "url": "https://jitsi.github.io/handbook/"}],
        contacts=[
            {
                "name": "Communauté Jitsi",
                "role": "forum",
                "url": "https://community.jitsi.org",
                "email": "",
            }
        ],
        grid={"adoption_time": "heures", "complexity": 1, "cost": "Gratuit", "hosting": "les_deux"},
    )
    return {**data, **over}


def snapshots(place):
    return {
        c.slug: snapshot_of(c, sorted(d.name for d in c.domains.all()))
        for c in Commons.objects.filter(place=place).prefetch_related("domains")
    }


def outcomes(report):
    return [line.outcome for line in report.items]


# --- The service ---------------------------------------------------------------------------------


def test_creates_commons_with_a_line_per_item(place, concierge):
    report = commons_import(place=place, items=[commons_data(), jitsi()], by=concierge)
    assert outcomes(report) == ["created", "created"]
    assert [line.index for line in report.items] == [1, 2]
    assert report.items[1].slug == "jitsi-meet"
    assert report.counts == {"created": 2, "updated": 0, "unchanged": 0, "error": 0}
    paheko = Commons.objects.get(place=place, slug="paheko")
    assert paheko.status == Commons.Status.VALIDATED
    assert paheko.revision == 1
    assert [d.name for d in paheko.domains.all()] == ["gestion associative"]
    assert Commons.objects.get(slug="jitsi-meet").grid["complexity"] == 1


def test_same_file_twice_changes_nothing(place, concierge):
    # Domains not in alphabetical order: still "unchanged" the second time.
    items = [commons_data(domains=["gestion associative", "comptabilité"]), jitsi()]
    commons_import(place=place, items=items, by=concierge)
    revisions = CommonsRevision.objects.count()
    report = commons_import(place=place, items=items, by=concierge)
    assert outcomes(report) == ["unchanged", "unchanged"]
    assert report.items[0].outcome_label == "inchangé"
    assert CommonsRevision.objects.count() == revisions
    assert Commons.objects.filter(place=place).count() == 2


def test_one_audit_entry_per_import_with_the_counts(place, concierge):
    commons_import(place=place, items=[commons_data(), {"name": "Incomplet"}], by=concierge)
    entries = AuditEntry.objects.filter(place=place, action="commons.import")
    assert entries.count() == 1
    changes = entries.get().changes
    assert changes["created"] == [None, 1]
    assert changes["error"] == [None, 1]
    assert entries.get().actor == concierge


def test_a_changed_item_updates_with_a_new_revision(place, concierge):
    make_commons(place)
    report = commons_import(
        place=place, items=[commons_data(summary="Adhérents, cotisations, compta.")], by=concierge
    )
    assert outcomes(report) == ["updated"]
    paheko = Commons.objects.get(place=place, slug="paheko")
    assert paheko.summary == "Adhérents, cotisations, compta."
    assert paheko.revision == 2
    assert paheko.revisions.first().author == concierge


def test_matched_by_address_when_the_slug_differs(place, concierge):
    make_commons(place)  # slug "paheko", url https://paheko.cloud
    item = commons_data(name="Paheko (ex-Garradin)", url="HTTPS://paheko.cloud/")
    report = commons_import(place=place, items=[item], by=concierge)
    assert outcomes(report) == ["updated"]
    assert Commons.objects.filter(place=place).count() == 1
    paheko = Commons.objects.get(place=place)
    # The file named no slug: the commons keeps its own (and its page's address).
    assert paheko.slug == "paheko"
    assert paheko.name == "Paheko (ex-Garradin)"


def test_normalised_addresses():
    assert normalise_url("HTTPS://Paheko.Cloud/") == normalise_url("https://paheko.cloud")
    assert normalise_url("https://a.org/docs/") == "https://a.org/docs"
    assert normalise_url("https://a.org/Docs") != normalise_url("https://a.org/docs")


def test_bad_items_leave_nothing_and_good_ones_are_imported(place, concierge):
    bad = commons_data(
        name="Fantôme",
        slug="fantome",
        url="https://fantome.example",
        kind="inconnu",
        domains=["domaine fantôme"],
        grid={"complexity": 9},
    )
    items = [commons_data(), bad, "pas un objet", jitsi()]
    report = commons_import(place=place, items=items, by=concierge)
    assert outcomes(report) == ["created", "error", "error", "created"]
    errors = report.items[1].errors
    assert set(errors) == {"kind", "grid.complexity"}
    assert report.items[1].name == "Fantôme"
    assert report.items[2].errors == {"__all__": ["Un objet JSON est attendu pour chaque commun."]}
    assert set(Commons.objects.values_list("slug", flat=True)) == {"paheko", "jitsi-meet"}
    assert not Domain.objects.filter(slug="domaine-fantome").exists()


def test_a_failure_while_saving_rolls_back_the_domains_of_that_item(place, concierge, monkeypatch):
    real = search.index_fields

    def failing(commons, domain_names):
        if commons.name == "Boum":
            raise IntegrityError("simulated")
        return real(commons, domain_names)

    monkeypatch.setattr(search, "index_fields", failing)
    items = [
        commons_data(name="Boum", slug="boum", url="https://boum.example", domains=["explosifs"]),
        jitsi(),
    ]
    report = commons_import(place=place, items=items, by=concierge)
    assert outcomes(report) == ["error", "created"]
    assert "__all__" in report.items[0].errors
    # domains_for had created "explosifs" before the failure: rolled back with the item.
    assert not Domain.objects.filter(place=place, slug="explosifs").exists()
    assert Domain.objects.filter(place=place, slug="visioconference").exists()
    assert list(Commons.objects.values_list("slug", flat=True)) == ["jitsi-meet"]


def test_not_a_list_is_one_clear_error(place, concierge):
    for items in ({"name": "Paheko"}, "texte", None, 12):
        with pytest.raises(InvalidInput) as exc:
            commons_import(place=place, items=items, by=concierge)
        assert "tableau" in exc.value.message
    assert not Commons.objects.exists()


def test_more_than_five_thousand_items_is_refused(place, concierge):
    with pytest.raises(InvalidInput) as exc:
        commons_import(place=place, items=[commons_data()] * 5001, by=concierge)
    assert "5 000" in exc.value.message
    assert not Commons.objects.exists()


def test_markdown_is_stored_as_written(place, concierge):
    text = "Bonjour <script>alert('x')</script> **gras**"
    commons_import(place=place, items=[commons_data(description=text)], by=concierge)
    assert Commons.objects.get().description == text


def test_new_commons_get_the_status_asked_existing_keep_theirs(place, concierge):
    make_commons(place)
    report = commons_import(
        place=place,
        items=[commons_data(summary="Autre résumé."), jitsi()],
        by=concierge,
        status=Commons.Status.PENDING,
    )
    assert outcomes(report) == ["updated", "created"]
    assert Commons.objects.get(slug="paheko").status == Commons.Status.VALIDATED
    assert Commons.objects.get(slug="jitsi-meet").status == Commons.Status.PENDING


def test_same_slug_in_another_place_is_another_commons(place, other_place, concierge):
    make_commons(other_place, summary="Chez l'autre lieu.")
    report = commons_import(place=place, items=[commons_data()], by=concierge)
    assert outcomes(report) == ["created"]
    assert Commons.objects.get(place=other_place).summary == "Chez l'autre lieu."
    assert Commons.objects.filter(slug="paheko").count() == 2


def test_a_slug_given_twice_in_a_file_updates_the_first(place, concierge):
    report = commons_import(
        place=place, items=[commons_data(), commons_data(summary="Deuxième version.")], by=None
    )
    assert outcomes(report) == ["created", "updated"]
    assert Commons.objects.get().summary == "Deuxième version."


# --- Reading and writing files -------------------------------------------------------------------


CSV_HEADER = "name;summary;description;url;kind;actions;domains;tags;license;links;contacts;"
CSV_HEADER += "grid.complexity;grid.adoption_time;notes"


def test_csv_with_bom_and_semicolons():
    line = (
        'Jitsi Meet;Visio sans compte.;"Des réunions\n**à distance**.";https://meet.jit.si;'
        "logiciel;travailler | animer;visioconférence;réunion à distance | visio;Apache-2.0;"
        "Documentation <https://jitsi.github.io/handbook/> | https://github.com/jitsi;"
        "Communauté Jitsi (forum) <https://community.jitsi.org> | Équipe <equipe@jitsi.org>;"
        "1;heures;à revoir"
    )
    parsed = exchange.read_csv(("\ufeff" + CSV_HEADER + "\r\n" + line + "\r\n").encode())
    assert parsed.delimiter == ";"
    assert parsed.ignored == ["notes"]
    [item] = parsed.items
    assert item["description"] == "Des réunions\n**à distance**."
    assert item["actions"] == ["travailler", "animer"]
    assert item["tags"] == ["réunion à distance", "visio"]
    assert item["links"] == [
        {"label": "Documentation", "url": "https://jitsi.github.io/handbook/"},
        {"label": "", "url": "https://github.com/jitsi"},
    ]
    assert item["contacts"] == [
        {
            "name": "Communauté Jitsi",
            "role": "forum",
            "url": "https://community.jitsi.org",
            "email": "",
        },
        {"name": "Équipe", "role": "", "url": "", "email": "equipe@jitsi.org"},
    ]
    assert item["grid"] == {"complexity": "1", "adoption_time": "heures"}


def test_csv_with_commas_and_links_without_brackets(place):
    text = (
        "name,summary,description,url,kind,actions,links\n"
        "Loomio,Décider ensemble.,Des sondages.,https://www.loomio.com,logiciel,animer,"
        "Aide https://help.loomio.com | Code https://github.com/loomio/loomio\n"
    )
    parsed = exchange.read_csv(text.encode())
    assert parsed.delimiter == ","
    assert parsed.items[0]["links"] == [
        {"label": "Aide", "url": "https://help.loomio.com"},
        {"label": "Code", "url": "https://github.com/loomio/loomio"},
    ]
    report = commons_import(place=place, items=parsed.items, by=None)
    assert outcomes(report) == ["created"]


@pytest.mark.parametrize(
    ("reader", "content", "expected"),
    [
        (exchange.read_csv, b"\xff\xfename\n", "UTF-8"),
        (exchange.read_csv, b"", "vide"),
        (exchange.read_csv, b"titre;resume\nx;y\n", "noms des colonnes"),
        (exchange.read_json, b'[{"name": "x",}]', "JSON invalide, ligne 1"),
        (exchange.read_json, b'{"name": "x"}', "tableau"),
        (exchange.read_json, b"", "vide"),
    ],
)
def test_unreadable_files(reader, content, expected):
    with pytest.raises(InvalidInput) as exc:
        reader(content)
    assert expected in exc.value.errors["file"][0]


def test_files_over_ten_megabytes_are_refused_before_parsing():
    with pytest.raises(InvalidInput) as exc:
        exchange.read_json(b"[" + b" " * (10 * 1024 * 1024) + b"]")
    assert "10 Mo" in exc.value.message


def test_file_kind_told_by_name_or_first_character():
    body = json.dumps([commons_data()]).encode()
    assert exchange.read_file(body, "communs.JSON").items[0]["name"] == "Paheko"
    assert exchange.read_file(b"\xef\xbb\xbf " + body, "").items[0]["name"] == "Paheko"
    assert exchange.read_file(b"name;url\nX;https://x.org\n", "x.txt").items[0]["name"] == "X"


def _catalogue(place):
    make_commons(place, description="- une liste en Markdown\n- =SOMME(A1) n'est pas une formule")
    make_commons(place, **jitsi())
    make_commons(
        place,
        name="Fiche d'adhésion",
        slug="fiche-adhesion",
        url="https://exemple.org/fiche/",
        kind="modele",
        actions=["gerer", "documenter"],
        domains=["gestion associative", "documentation"],
        tags=["adhésion, bulletin"],
        license="CC-BY-SA-4.0",
        links=[
            {"label": "", "url": "https://exemple.org/fiche.odt"},
            {"label": "Mode d'emploi", "url": ""},
        ],
        contacts=[{"name": "Réseau (Sud)", "role": "", "url": "", "email": "a@b.org"}],
        grid={"cost": "=gratuit", "last_activity": "2024-05", "active_contributors": 3},
    )
    pending = make_commons(place, name="En attente", slug="en-attente", url="https://attente.org")
    Commons.objects.filter(pk=pending.pk).update(status=Commons.Status.PENDING)


def test_json_export_reimports_into_another_place_as_the_same_catalogue(place, other_place):
    _catalogue(place)
    items = exchange.export_items(exchange.export_commons(place=place))
    assert [i["slug"] for i in items] == ["fiche-adhesion", "jitsi-meet", "paheko"]  # validated
    text = exchange.write_json(items)
    report = commons_import(place=other_place, items=exchange.read_json(text.encode()), by=None)
    assert outcomes(report) == ["created"] * 3
    expected = {k: v for k, v in snapshots(place).items() if k != "en-attente"}
    assert snapshots(other_place) == expected
    # …and importing the export back where it came from changes nothing.
    again = commons_import(place=place, items=items, by=None)
    assert outcomes(again) == ["unchanged"] * 3


def test_csv_export_reimports_into_another_place_as_the_same_catalogue(place, other_place):
    _catalogue(place)
    items = exchange.export_items(exchange.export_commons(place=place))
    text = exchange.write_csv(items, exchange.grid_columns(place=place, items=items))
    assert text.startswith("\ufeffslug;name;summary;description;url;kind;actions;")
    assert "grid.adoption_time" in text.splitlines()[0]
    assert "'- une liste" in text  # spreadsheets would read it as a formula
    parsed = exchange.read_csv(text.encode())
    assert parsed.ignored == []
    report = commons_import(place=other_place, items=parsed.items, by=None)
    assert outcomes(report) == ["created"] * 3
    expected = {k: v for k, v in snapshots(place).items() if k != "en-attente"}
    assert snapshots(other_place) == expected
    assert outcomes(commons_import(place=place, items=parsed.items, by=None)) == ["unchanged"] * 3


def test_field_labels_for_reports():
    assert exchange.field_label("name") == "Nom"
    assert exchange.field_label("links.1.url") == "Liens n°2 (url)"
    assert exchange.field_label("grid.cost") == "Grille de qualification : cost"
    assert exchange.field_label("grid.cost", {"cost": "Coût"}) == "Grille de qualification : Coût"


def test_the_documented_examples_import_and_agree(place):
    """docs/commons-format.md: its JSON and CSV examples are the same valid commons."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "commons-format.md").read_text()
    json_block = text.split("```json\n", 1)[1].split("```", 1)[0]
    csv_block = text.split("```csv\n", 1)[1].split("```", 1)[0]
    from_json = exchange.read_json(json_block.encode())
    from_csv = exchange.read_csv(csv_block.encode()).items
    report = commons_import(place=place, items=from_json, by=None)
    assert outcomes(report) == ["created"]
    assert outcomes(commons_import(place=place, items=from_csv, by=None)) == ["unchanged"]
