"""The import page (moderators), the open-data exports and the starter catalogue button."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conciergerie.commons import starter
from conciergerie.commons.models import Commons, FaqEntry
from conciergerie.commons.services.catalogue import commons_set_status
from tests.commons.conftest import commons_data, make_commons
from tests.conftest import login
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def url(name, place):
    return reverse(f"commons:{name}", kwargs={"place_slug": place.slug})


def upload(name, content, content_type="application/json"):
    if isinstance(content, str):
        content = content.encode()
    return SimpleUploadedFile(name, content, content_type=content_type)


def post_file(client, place, name, content):
    return client.post(url("import", place), {"file": upload(name, content)})


class TestAccess:
    def test_import_page_is_for_moderators(self, client, place, member):
        response = client.get(url("import", place))
        assert response.status_code == 302
        assert "/connexion" in response["Location"] or "login" in response["Location"]
        assert login(client, member).get(url("import", place)).status_code == 403

    def test_concierge_sees_the_import_page(self, concierge_client, place):
        response = concierge_client.get(url("import", place))
        assert response.status_code == 200
        html = response.content.decode()
        assert "Importer un fichier" in html
        assert 'enctype="multipart/form-data"' in html
        assert url("export_csv", place) in html

    def test_another_places_concierge_may_not_import(self, client, place, other_place):
        stranger = make_user(place=other_place, role="concierge")
        response = login(client, stranger).post(
            url("import", place), {"file": upload("c.json", json.dumps([commons_data()]))}
        )
        assert response.status_code == 403
        assert not Commons.objects.exists()

    def test_starter_is_post_only_and_for_moderators(self, client, place, member):
        assert login(client, member).post(url("starter", place)).status_code == 403
        client.logout()
        concierge = make_user(place=place, role="concierge")
        assert login(client, concierge).get(url("starter", place)).status_code == 405


class TestImport:
    def test_report_per_item_with_errors_in_french(self, concierge_client, place):
        items = [
            commons_data(),
            commons_data(
                name="Sans type",
                slug="sans-type",
                url="https://x.org",
                kind="truc",
                grid={"complexity": 9},
            ),
            commons_data(name="Jitsi Meet", slug="jitsi-meet", url="https://meet.jit.si"),
        ]
        response = post_file(concierge_client, place, "communs.json", json.dumps(items))
        assert response.status_code == 200
        html = response.content.decode()
        assert "1 commun n&#x27;a pas été importé" in html or "1 commun n'a pas été importé" in html
        assert "<strong>Type</strong> : Choisissez parmi" in html
        assert "<strong>Grille de qualification : Complexité</strong> : Une note de 1 à 5" in html
        assert "créé" in html and "erreur" in html
        assert (
            reverse("commons:detail", kwargs={"place_slug": place.slug, "slug": "paheko"}) in html
        )
        assert set(Commons.objects.values_list("slug", flat=True)) == {"paheko", "jitsi-meet"}

    def test_csv_file_and_reimport_unchanged(self, concierge_client, place):
        csv = (
            "name;summary;description;url;kind;actions;domains;grid.complexity;remarques\n"
            "Loomio;Décider ensemble.;Des sondages;https://loomio.com;logiciel;animer | gerer;"
            "sondages et décisions;2;à voir\n"
        )
        first = post_file(concierge_client, place, "communs.csv", csv)
        assert first.status_code == 200
        assert "« remarques »" in first.content.decode()
        loomio = Commons.objects.get(place=place)
        assert loomio.action_list == ["gerer", "animer"]
        assert loomio.grid == {"complexity": 2}
        second = post_file(concierge_client, place, "communs.csv", csv)
        assert ">inchangé<" in second.content.decode()
        assert Commons.objects.get(place=place).revision == 1

    @pytest.mark.parametrize(
        ("name", "content", "message"),
        [
            ("c.json", "[{]", "JSON invalide"),
            ("c.json", '{"name": "Paheko"}', "tableau JSON"),
            ("c.csv", b"\xff\xfe\x00", "UTF-8"),
        ],
    )
    def test_unreadable_files_are_refused_clearly(
        self, concierge_client, place, name, content, message
    ):
        response = post_file(concierge_client, place, name, content)
        assert response.status_code == 400
        assert message in response.content.decode()
        assert not Commons.objects.exists()

    def test_file_over_ten_megabytes(self, concierge_client, place):
        big = b"[" + b" " * (10 * 1024 * 1024) + b"]"
        response = post_file(concierge_client, place, "gros.json", big)
        assert response.status_code == 400
        assert "dépasse 10 Mo" in response.content.decode()

    def test_no_file(self, concierge_client, place):
        response = concierge_client.post(url("import", place), {})
        assert response.status_code == 400
        assert 'aria-invalid="true"' in response.content.decode()


class TestExport:
    def test_exports_are_open_data_of_validated_commons(self, client, place, other_place):
        make_commons(place)
        pending = make_commons(place, name="En attente", slug="en-attente", url="https://a.org")
        commons_set_status(commons=pending, status=Commons.Status.PENDING, by=None)
        make_commons(other_place, name="Ailleurs", slug="ailleurs", url="https://ailleurs.org")
        response = client.get(url("export_json", place))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/json")
        assert 'filename="communs-fabrique-' in response["Content-Disposition"]
        items = json.loads(response.content)
        assert [i["slug"] for i in items] == ["paheko"]
        assert items[0]["domains"] == ["gestion associative"]
        csv = client.get(url("export_csv", place))
        assert csv.status_code == 200
        text = csv.content.decode("utf-8-sig")
        assert text.splitlines()[0].startswith("slug;name;summary;")
        assert "Paheko" in text and "En attente" not in text and "Ailleurs" not in text

    @pytest.mark.parametrize("name", ["export_json", "export_csv"])
    def test_export_query_count_is_flat(self, client, place, name):
        def queries():
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url(name, place)).status_code == 200
            return len(ctx.captured_queries)

        make_commons(place)
        one = queries()
        for i in range(9):
            make_commons(place, name=f"Commun {i}", slug=f"commun-{i}", url=f"https://c{i}.org")
        assert queries() == one


class TestStarter:
    def test_loads_then_redirects_to_the_list(self, concierge_client, place, tmp_path, monkeypatch):
        (tmp_path / "catalogue.json").write_text(json.dumps([commons_data()]), encoding="utf-8")
        faq = [
            {
                "domain": "gestion associative",
                "question": "Par où commencer ?",
                "answer": "Par **Paheko**.",
            }
        ]
        (tmp_path / "faq.json").write_text(json.dumps(faq), encoding="utf-8")
        monkeypatch.setattr(starter, "STARTER_DIR", tmp_path)
        response = concierge_client.post(url("starter", place), follow=True)
        assert response.redirect_chain[-1][0] == url("list", place)
        assert "Catalogue de départ chargé" in response.content.decode()
        assert Commons.objects.get(place=place).status == Commons.Status.VALIDATED
        assert FaqEntry.objects.get(place=place).question == "Par où commencer ?"
