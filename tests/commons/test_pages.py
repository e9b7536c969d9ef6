"""Documentation pages: revisions, conflicts, licences, slugs, reverting; the selectors."""

import pytest

from conciergerie.commons.models import Commons, Page, PageRevision
from conciergerie.commons.selectors import pages as selectors
from conciergerie.commons.services.catalogue import commons_set_status
from conciergerie.commons.services.pages import page_create, page_revert, page_update
from conciergerie.core.errors import Conflict, InvalidInput, NotFound
from conciergerie.core.models import AuditEntry
from conciergerie.core.permissions import Level
from tests.commons.conftest import make_commons
from tests.factories import make_person, make_user

pytestmark = pytest.mark.django_db


def create(place, by=None, **over):
    fields = {"title": "Accueillir une nouvelle personne", "body": "## Étapes\n\n1. Sourire"}
    fields.update(over)
    return page_create(place=place, by=by, **fields)


def update(page, by=None, **over):
    fields = {
        "title": page.title,
        "body": page.body,
        "license": page.license,
        "commons": page.commons,
        "message": "",
        "base_revision": page.revision,
    }
    fields.update(over)
    return page_update(page=page, by=by, **fields)


class TestCreate:
    def test_first_revision_is_a_full_copy_with_author(self, place, member):
        page = create(place, by=member, message="Premier jet")
        assert page.revision == 1
        assert page.slug == "accueillir-une-nouvelle-personne"
        assert page.license == "CC-BY-SA-4.0"
        rev = page.revisions.get()
        assert (rev.number, rev.title, rev.body, rev.license) == (
            1,
            page.title,
            page.body,
            page.license,
        )
        assert rev.author == member
        assert rev.message == "Premier jet"
        entry = AuditEntry.objects.get(action="page.create")
        assert entry.actor == member and entry.target_uuid == page.uuid

    def test_slug_unique_per_place_with_suffix(self, place, other_place):
        first = create(place, title="Code social")
        second = create(place, title="Code  social ")
        third = create(place, title="Code social")
        elsewhere = create(other_place, title="Code social")
        assert [first.slug, second.slug, third.slug] == [
            "code-social",
            "code-social-2",
            "code-social-3",
        ]
        assert elsewhere.slug == "code-social"

    def test_reserved_word_is_never_a_slug(self, place):
        # "nouvelle/" is the address of the form for a new page.
        assert create(place, title="Nouvelle").slug == "nouvelle-2"

    def test_title_without_letters_still_gets_a_slug(self, place):
        assert create(place, title="???").slug == "page"

    def test_every_problem_at_once(self, place):
        with pytest.raises(InvalidInput) as exc:
            create(place, title="  ", body="x" * 100_001, license="WTFPL")
        assert set(exc.value.errors) == {"title", "body", "license"}
        assert Page.objects.count() == 0

    def test_title_too_long(self, place):
        with pytest.raises(InvalidInput) as exc:
            create(place, title="t" * 201)
        assert "title" in exc.value.errors

    @pytest.mark.parametrize(
        "license", ["CC-BY-SA-4.0", "CC-BY-4.0", "CC0-1.0", "GFDL-1.3", "etalab-2.0", "LAL-1.3"]
    )
    def test_free_licences(self, place, license):
        assert create(place, license=license).license == license

    def test_commons_must_be_validated_and_of_the_place(self, place, other_place):
        ours = make_commons(place)
        pending = make_commons(place, name="Dolibarr", url="https://dolibarr.org")
        commons_set_status(commons=pending, status=Commons.Status.PENDING, by=None)
        theirs = make_commons(other_place)
        assert create(place, commons=ours).commons == ours
        for bad in (pending, theirs):
            with pytest.raises(InvalidInput) as exc:
                create(place, commons=bad)
            assert "commons" in exc.value.errors

    def test_line_ends_are_normalised(self, place):
        page = create(place, body="\r\nun\r\ndeux\r\n\r\n")
        assert page.body == "un\ndeux"


class TestUpdate:
    def test_new_revision_and_audit(self, place, member, concierge):
        page = create(place, by=member)
        page = update(page, by=concierge, body="Nouveau texte", message="Réécriture")
        assert page.revision == 2
        revs = list(page.revisions.order_by("number"))
        assert [r.number for r in revs] == [1, 2]
        assert revs[0].body == "## Étapes\n\n1. Sourire"  # the old text is kept
        assert revs[1].body == "Nouveau texte" and revs[1].author == concierge
        assert revs[1].message == "Réécriture"
        entry = AuditEntry.objects.get(action="page.update")
        assert entry.changes["revision"] == [1, 2]
        assert "body_length" in entry.changes

    def test_no_change_writes_nothing(self, place):
        page = create(place)
        same = update(page, body=page.body.replace("\n", "\r\n"))
        assert same.revision == 1
        assert PageRevision.objects.count() == 1
        assert not AuditEntry.objects.filter(action="page.update").exists()

    def test_edit_from_an_older_revision_is_refused(self, place, member, concierge):
        page = create(place)
        # Both open the form at revision 1; the concierge saves first.
        update(page, by=concierge, body="Version de Camille", base_revision=1)
        with pytest.raises(Conflict):
            update(page, by=member, body="Version de Sam", base_revision=1)
        page.refresh_from_db()
        assert page.body == "Version de Camille" and page.revision == 2

    def test_attach_to_commons_is_a_change(self, place):
        commons = make_commons(place)
        page = update(create(place), commons=commons)
        assert page.revision == 2 and page.commons == commons

    def test_unknown_licence_is_a_field_error(self, place):
        page = create(place)
        with pytest.raises(InvalidInput) as exc:
            update(page, license="Propriétaire")
        assert list(exc.value.errors) == ["license"]


class TestRevert:
    def test_revert_makes_a_new_revision_with_the_old_content(self, place, concierge):
        page = create(place, title="Recette du pain")
        page = update(page, title="Recette du pain (v2)", body="Autre", license="CC0-1.0")
        page = page_revert(page=page, number=1, by=concierge)
        assert page.revision == 3
        assert (page.title, page.body, page.license) == (
            "Recette du pain",
            "## Étapes\n\n1. Sourire",
            "CC-BY-SA-4.0",
        )
        assert page.slug == "recette-du-pain"
        last = page.revisions.get(number=3)
        assert last.message == "Retour à la version 1"
        assert AuditEntry.objects.filter(action="page.revert").count() == 1

    def test_revert_to_the_current_content_is_a_no_op(self, place):
        page = create(place)
        assert page_revert(page=page, number=1, by=None).revision == 1

    def test_unknown_revision(self, place):
        with pytest.raises(NotFound):
            page_revert(page=create(place), number=9, by=None)


class TestSelectors:
    def test_list_is_per_place(self, place, other_place):
        create(place, title="Chez nous")
        create(other_place, title="Ailleurs")
        assert [p.title for p in selectors.pages_list(place=place)] == ["Chez nous"]

    def test_pages_for_commons(self, place):
        commons = make_commons(place)
        attached = create(place, title="Installer Paheko", commons=commons)
        create(place, title="Code social")
        assert selectors.pages_for_commons(commons) == [attached]

    def test_authors_follow_directory_visibility(self, place):
        public = make_user(place=place, role="member", full_name="Alex Compte")
        make_person(
            place=place,
            first_name="Alex",
            last_name="Public",
            user=public,
            name_visibility="public",
        )
        private = make_user(place=place, role="member", full_name="Compte Discret")
        make_person(place=place, first_name="Dominique", last_name="Discrète", user=private)
        page = create(place, by=public)
        page = update(page, by=private, body="deux")
        page = update(page, by=public, body="trois")

        def detail(level):
            return selectors.page_detail(page=page, viewer_level=level, url="u", place_url="p")

        anonymous = detail(Level.ANONYMOUS)
        assert anonymous.authors == ["Alex Public"] and anonymous.hidden_authors == 1
        team = detail(Level.CONCIERGE)
        assert team.authors == ["Alex Public", "Dominique Discrète"] and team.hidden_authors == 0

    def test_jsonld_has_licence_date_and_no_author(self, place, member):
        page = create(place, by=member, body="</script><b>x</b>")
        detail = selectors.page_detail(
            page=page,
            viewer_level=Level.ANONYMOUS,
            url="https://ex.org/p",
            place_url="https://ex.org",
        )
        assert "https://creativecommons.org/licenses/by-sa/4.0/" in detail.jsonld
        assert page.updated_at.isoformat() in detail.jsonld
        assert "author" not in detail.jsonld
        assert "</script>" not in detail.jsonld
        assert place.name in detail.jsonld

    def test_diff_shows_lines_title_and_licence(self, place):
        page = create(place, title="Pain", body="farine\neau\nsel")
        page = update(
            page, title="Pain au levain", body="farine\neau\nlevain\nsel", license="CC0-1.0"
        )
        new = selectors.page_revision(page=page, number=2)
        diff = selectors.revision_diff(page=page, new=new)
        assert diff.title_change == ("Pain", "Pain au levain")
        assert diff.license_change[1].code == "CC0-1.0"
        assert [line.text for line in diff.lines if line.kind == "added"] == ["levain"]
        assert diff.added == 1 and diff.removed == 0
