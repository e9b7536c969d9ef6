"""Documentation pages seen in a browser: who may do what, sanitised Markdown, licence and
JSON-LD, edit conflicts that keep the writer's text, history, diffs and reverting."""

import html
import json
import re
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conciergerie.commons.models import Page
from conciergerie.commons.services.pages import page_create, page_update
from tests.commons.conftest import make_commons
from tests.conftest import login
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def url(name, place, *args):
    return reverse(f"commons:{name}", args=[place.slug, *args])


def text(response):
    return html.unescape(response.content.decode())


def make_page(place, by=None, **over):
    fields = {"title": "Code social", "body": "Nous **partageons** les clés."}
    fields.update(over)
    return page_create(place=place, by=by, **fields)


def queries(client, path):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, response.status_code
    return len(ctx.captured_queries)


class Elements(HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(markup):
    parser = Elements()
    parser.feed(markup)
    return parser.tags


class TestAccess:
    @pytest.fixture
    def page(self, place):
        return make_page(place)

    @pytest.mark.parametrize("name", ["pages", "page", "page_history", "page_diff"])
    def test_anyone_reads(self, client, place, page, name):
        args = {"pages": [], "page": [page.slug], "page_history": [page.slug]}.get(
            name, [page.slug, 1]
        )
        assert client.get(url(name, place, *args)).status_code == 200

    @pytest.mark.parametrize("name", ["page_new", "page_edit"])
    def test_writing_needs_a_member(self, client, place, page, name):
        args = [] if name == "page_new" else [page.slug]
        response = client.get(url(name, place, *args))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("core:login"))
        login(client, make_user())  # an account, but no role in this place
        assert client.get(url(name, place, *args)).status_code == 403
        login(client, make_user(place=place, role="member"))
        assert client.get(url(name, place, *args)).status_code == 200

    def test_revert_is_for_the_team(self, client, place, page, member, concierge):
        page_update(
            page=page,
            by=None,
            title="Autre",
            body="x",
            license=page.license,
            commons=None,
            base_revision=1,
        )
        login(client, member)
        assert client.post(url("page_revert", place, page.slug, 1)).status_code == 403
        login(client, concierge)
        response = client.post(url("page_revert", place, page.slug, 1))
        assert response.status_code == 302
        page.refresh_from_db()
        assert page.revision == 3 and page.title == "Code social"
        assert client.get(url("page_revert", place, page.slug, 1)).status_code == 405

    def test_other_place_pages_are_not_found(self, client, place, other_place, page):
        assert client.get(url("page", other_place, page.slug)).status_code == 404
        assert client.get(url("page_history", other_place, page.slug)).status_code == 404
        make_page(other_place, title="Ailleurs")
        listing = text(client.get(url("pages", place)))
        assert "Code social" in listing and "Ailleurs" not in listing

    def test_unknown_revision_is_not_found(self, client, place, page):
        assert client.get(url("page_diff", place, page.slug, 7)).status_code == 404


class TestReading:
    def test_markdown_is_rendered_and_sanitised(self, client, place):
        body = (
            "## Règles\n\n**Important**\n\n"
            "<script>alert('x')</script>\n\n"
            "[clic](javascript:alert(1)) et <javascript:alert(2)>\n\n"
            '<img src="x" onerror="alert(3)">\n\n'
            "[bien](https://example.org)"
        )
        page = make_page(place, body=body)
        response = client.get(url("page", place, page.slug))
        assert response.status_code == 200
        content = response.content.decode()
        assert "<h2>Règles</h2>" in content and "<strong>Important</strong>" in content
        scripts = [attrs for tag, attrs in elements(content) if tag == "script"]
        # Only the page's own scripts: htmx (a file) and the JSON-LD data.
        assert all(a.get("src") or a.get("type") == "application/ld+json" for a in scripts)
        assert "<script>alert" not in content
        # What the writer typed, as it reaches the page.
        body_html = content.split('<div class="doc-body prose">', 1)[1].split("</div>", 1)[0]
        tags = elements(body_html)
        assert tags, "the body is on the page"
        hrefs = [attrs.get("href", "") for tag, attrs in tags if tag == "a"]
        assert "https://example.org" in hrefs
        assert not any(h.strip().lower().startswith("javascript:") for h in hrefs)
        assert not any(k.startswith("on") for _tag, attrs in tags for k in attrs)
        assert not any(tag == "img" for tag, _attrs in tags)

    def test_licence_authors_history_and_jsonld(self, client, place, member):
        make_page(place, by=member, license="CC-BY-4.0")
        response = client.get(url("page", place, "code-social"))
        content = text(response)
        assert 'href="https://creativecommons.org/licenses/by/4.0/deed.fr"' in content
        assert "Creative Commons Attribution 4.0" in content
        assert url("page_history", place, "code-social") in content
        found = re.search(
            r'<script type="application/ld\+json">(.*?)</script>', response.content.decode(), re.S
        )
        data = json.loads(found.group(1))
        assert data["@type"] == "CreativeWork"
        assert data["license"] == "https://creativecommons.org/licenses/by/4.0/deed.fr"
        assert data["publisher"]["name"] == place.name
        assert "author" not in data and "dateModified" in data

    def test_page_attached_to_commons(self, client, place):
        commons = make_commons(place)
        make_page(place, commons=commons)
        content = text(client.get(url("pages", place)))
        assert commons.name in content and commons.get_absolute_url() in content

    @pytest.mark.parametrize("role", [None, "member"])
    def test_list_query_count_is_flat(self, client, place, role):
        if role:
            login(client, make_user(place=place, role=role))
        commons = make_commons(place)
        make_page(place, title="Une", commons=commons)
        one = queries(client, url("pages", place))
        for n in range(4):
            make_page(place, title=f"Page {n}", commons=commons if n % 2 else None)
        assert queries(client, url("pages", place)) == one

    def test_page_query_count_is_flat_in_revisions(self, client, place):
        page = make_page(place, by=make_user(place=place, role="member"))
        one = queries(client, url("page", place, page.slug))
        for n in range(4):
            page = page_update(
                page=page,
                by=make_user(place=place, role="member"),
                title=page.title,
                body=f"v{n}",
                license=page.license,
                commons=None,
                base_revision=page.revision,
            )
        assert queries(client, url("page", place, page.slug)) == one
        assert queries(client, url("page_history", place, page.slug)) == queries(
            client,
            url(
                "page_history",
                place,
                make_page(place, title="Seule", by=page.revisions.first().author).slug,
            ),
        )


class TestWriting:
    def test_member_creates_a_page(self, client, place, member):
        commons = make_commons(place)
        login(client, member)
        response = client.post(
            url("page_new", place),
            {
                "title": "Recette : la soupe partagée",
                "body": "Des légumes,\r\nde l'eau.",
                "license": "CC0-1.0",
                "commons": str(commons.uuid),
                "message": "",
            },
        )
        assert response.status_code == 302
        page = Page.objects.get()
        assert response["Location"] == page.get_absolute_url()
        assert (page.slug, page.license, page.commons, page.body) == (
            "recette-la-soupe-partagee",
            "CC0-1.0",
            commons,
            "Des légumes,\nde l'eau.",
        )
        assert page.revisions.get().author == member

    def test_errors_are_shown_on_the_form(self, client, place, member):
        login(client, member)
        response = client.post(
            url("page_new", place), {"title": "", "body": "Texte gardé", "license": "WTFPL"}
        )
        assert response.status_code == 400
        content = text(response)
        assert "Texte gardé" in content
        assert "Licence inconnue" in content
        assert not Page.objects.exists()

    def test_conflict_keeps_the_writers_text(self, client, place, member, concierge):
        page = make_page(place, body="ligne commune")
        login(client, member)
        form = client.get(url("page_edit", place, page.slug))
        assert 'name="base_revision" value="1"' in form.content.decode()
        # Meanwhile, the concierge saves a change.
        page_update(
            page=page,
            by=concierge,
            title=page.title,
            body="ligne commune\najout de Camille",
            license=page.license,
            commons=None,
            base_revision=1,
        )
        mine = {
            "title": page.title,
            "body": "ligne commune\r\nmon texte précieux",
            "license": page.license,
            "commons": "",
            "base_revision": "1",
        }
        response = client.post(url("page_edit", place, page.slug), mine)
        assert response.status_code == 409
        content = text(response)
        assert "mon texte précieux" in content  # still in the form
        assert "pendant que vous écriviez" in content
        assert "ajout de Camille" in content  # what the other person changed
        assert 'name="base_revision" value="2"' in response.content.decode()
        page.refresh_from_db()
        assert page.revision == 2 and "précieux" not in page.body
        # Having merged, they save again from revision 2.
        mine.update(base_revision="2", body="ligne commune\najout de Camille\nmon texte précieux")
        assert client.post(url("page_edit", place, page.slug), mine).status_code == 302
        page.refresh_from_db()
        assert page.revision == 3 and page.body.endswith("mon texte précieux")

    def test_saving_without_change(self, client, place, member):
        page = make_page(place)
        login(client, member)
        response = client.post(
            url("page_edit", place, page.slug),
            {"title": page.title, "body": page.body, "license": page.license, "base_revision": "1"},
            follow=True,
        )
        assert "Aucun changement" in text(response)
        page.refresh_from_db()
        assert page.revision == 1


class TestHistory:
    def test_history_and_diff(self, client, place, member):
        page = make_page(place, by=member, body="farine\neau")
        page_update(
            page=page,
            by=member,
            title="Code social du lieu",
            body="farine\neau\nsel",
            license=page.license,
            commons=None,
            base_revision=1,
            message="Ajout du sel",
        )
        history = text(client.get(url("page_history", place, page.slug)))
        assert "Ajout du sel" in history
        assert url("page_diff", place, page.slug, 2) in history
        diff = text(client.get(url("page_diff", place, page.slug, 2)))
        assert "Code social du lieu" in diff  # title change
        assert re.search(r"<ins>.*sel</ins>", diff)
        assert "1 ligne ajoutée" in diff

    def test_history_hides_private_names_from_visitors(self, client, place):
        writer = make_user(place=place, role="member", full_name="Dominique Secrète")
        make_page(place, by=writer)
        assert "Dominique Secrète" not in text(
            client.get(url("page_history", place, "code-social"))
        )
        login(client, make_user(place=place, role="member"))
        assert "Dominique Secrète" in text(client.get(url("page_history", place, "code-social")))
