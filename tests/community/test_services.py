import datetime as dt
from decimal import Decimal

import pytest

from conciergerie.community import selectors, services
from conciergerie.community.models import Introduction, Membership, Person, Tag
from conciergerie.core.errors import Conflict, InvalidInput
from conciergerie.core.models import AuditEntry
from conciergerie.core.permissions import Level
from tests.factories import make_membership, make_person, make_place

TODAY = dt.date.today()


@pytest.mark.django_db
class TestPeople:
    def test_duplicate_email_in_same_place_refused_with_clear_message(self, place, other_place):
        make_person(place=place, email="jo@example.org")
        with pytest.raises(Conflict) as exc:
            make_person(place=place, email="JO@example.org")
        assert exc.value.field == "email"
        assert "jo@example.org" in exc.value.message
        # Another place is another directory.
        make_person(place=other_place, email="jo@example.org")

    def test_invalid_email_refused_nothing_written(self, place):
        with pytest.raises(InvalidInput) as exc:
            make_person(place=place, email="pas-un-email", skills=["Soudure"])
        assert "email" in exc.value.errors
        assert not Person.objects.exists()
        assert not Tag.objects.exists()

    def test_tags_shared_and_matched_without_case_or_accents(self, place):
        a = make_person(place=place, skills=["Électronique"])
        b = make_person(place=place, skills=["electronique ", "Soudure"])
        assert Tag.objects.filter(place=place).count() == 2
        assert set(a.tags.all()) < set(b.tags.all())

    def test_fields_private_by_default(self, place):
        person = make_person(place=place, first_name="Zoé", email="zoe@example.org")
        for field in ("name", "email", "phone", "bio", "skills", "needs"):
            assert getattr(person, f"{field}_visibility") == "private"

    def test_update_audits_old_and_new_values_including_tags(self, place, concierge):
        person = make_person(place=place, first_name="Léa", skills=["Couture"])
        services.person_update(
            person=person, by=concierge, phone="0601020304", tags={"skill": ["Couture", "Tricot"]}
        )
        entry = AuditEntry.objects.filter(action="person.update").get()
        assert entry.changes["phone"] == ["", "0601020304"]
        assert entry.changes["tags_skill"] == [["Couture"], ["Couture", "Tricot"]]
        assert entry.actor == concierge

    def test_search_text_respects_visibility(self, place):
        person = make_person(
            place=place,
            first_name="Camille",
            email="camille@example.org",
            skills=["Menuiserie"],
            name_visibility="members",
        )
        person.refresh_from_db()
        assert "menuiserie" in person.search_all
        assert "menuiserie" not in person.search_members
        assert "camille" in person.search_members
        assert "camille@example.org" not in person.search_members
        assert person.search_public == ""

    def test_tag_rename_and_merge_reindex(self, place, concierge):
        person = make_person(place=place, skills=["Impression 3D"])
        other = make_person(place=place, skills=["Imprimante 3D"])
        tag = Tag.objects.get(label="Imprimante 3D")
        into = Tag.objects.get(label="Impression 3D")
        services.tag_merge(source=tag, into=into, by=concierge)
        assert list(other.tags.values_list("label", flat=True)) == ["Impression 3D"]
        services.tag_rename(tag=into, label="Fabrication additive", by=concierge)
        person.refresh_from_db()
        assert "fabrication additive" in person.search_all

    def test_tag_rename_to_existing_word_refused(self, place, concierge):
        make_person(place=place, skills=["Soudure", "Brasure"])
        with pytest.raises(Conflict):
            services.tag_rename(tag=Tag.objects.get(label="Brasure"), label="soudure", by=concierge)


@pytest.mark.django_db
class TestMemberships:
    def test_yearly_end_computed(self, place):
        person = make_person(place=place)
        m = make_membership(person=person, start=dt.date(2026, 3, 15))
        assert m.end == dt.date(2027, 3, 14)

    def test_calendar_period(self, place):
        m = make_membership(
            person=make_person(place=place), start=dt.date(2026, 3, 15), period="calendar"
        )
        assert m.end == dt.date(2026, 12, 31)

    def test_custom_period_requires_end(self, place):
        with pytest.raises(InvalidInput):
            make_membership(person=make_person(place=place), start=TODAY, period="custom")

    def test_overlapping_membership_refused(self, place):
        person = make_person(place=place)
        make_membership(person=person, start=dt.date(2026, 1, 1))
        with pytest.raises(Conflict):
            make_membership(person=person, start=dt.date(2026, 6, 1))

    def test_negative_fee_refused(self, place):
        with pytest.raises(InvalidInput) as exc:
            make_membership(person=make_person(place=place), start=TODAY, fee=Decimal("-5"))
        assert "fee" in exc.value.errors

    def test_renewals_due_lists_ending_soon_until_renewed(self, place, concierge):
        person = make_person(place=place)
        ending = make_membership(person=person, start=TODAY - dt.timedelta(days=350), status="paid")
        far = make_membership(person=make_person(place=place), start=TODAY, status="paid")
        due = list(selectors.renewals_due(place=place))
        assert ending in due and far not in due
        renewed = services.membership_renew(membership=ending, by=concierge)
        assert renewed.start == ending.end + dt.timedelta(days=1)
        assert renewed.fee == ending.fee
        assert ending not in list(selectors.renewals_due(place=place))

    def test_directory_membership_filters(self, place):
        paid = make_person(place=place, first_name="Payé")
        make_membership(person=paid, start=TODAY, status="paid")
        pending = make_person(place=place, first_name="Attente")
        make_membership(person=pending, start=TODAY, status="pending")
        expired = make_person(place=place, first_name="Expiré")
        make_membership(person=expired, start=TODAY - dt.timedelta(days=800), status="paid")
        none = make_person(place=place, first_name="Aucune")

        def names(state):
            qs = selectors.directory(
                place=place, viewer=None, level=Level.CONCIERGE, membership=state
            )
            return {p.first_name for p in qs}

        assert names("a_jour") == {"Payé"}
        assert names("en_attente") == {"Attente"}
        assert names("expiree") == {"Expiré"}
        assert names("aucune") == {"Aucune"}
        assert none.pk


@pytest.mark.django_db
class TestMatching:
    def test_ranked_with_reasons(self, place):
        welder = make_person(place=place, first_name="Wassim", skills=["Soudure", "Métallerie"])
        texter = make_person(
            place=place, first_name="Tom", skills_text="je fais de la soudure à l'arc"
        )
        make_person(place=place, first_name="Nadia", skills=["Comptabilité"])
        result = selectors.match_people(
            place=place, need="Besoin d'aide pour une soudure sur un vélo"
        )
        assert [s.person for s in result] == [welder, texter]
        assert "Soudure" in result[0].reason_text
        assert "soudure" in result[1].reason_text

    def test_plural_and_accents_match(self, place):
        helper = make_person(place=place, skills=["Réparation de vélos"])
        result = selectors.match_people(place=place, need="reparation velo")
        assert [s.person for s in result] == [helper]

    def test_requester_excluded_and_other_place_never_suggested(self, place):
        requester = make_person(place=place, skills=["Graphisme"])
        elsewhere = make_place()
        make_person(place=elsewhere, skills=["Graphisme"])
        assert selectors.match_people(place=place, need="graphisme", exclude=requester) == []

    def test_past_successes_rank_higher(self, place, concierge):
        a = make_person(place=place, first_name="A", last_name="A", skills=["Couture"])
        b = make_person(place=place, first_name="B", last_name="B", skills=["Couture"])
        intro = services.introduction_create(place=place, by=concierge, need="couture", helper=b)
        services.introduction_set_outcome(introduction=intro, by=concierge, outcome="success")
        result = selectors.match_people(place=place, need="couture")
        assert [s.person for s in result] == [b, a]


@pytest.mark.django_db
class TestIntroductions:
    def test_create_and_outcome_stats(self, place, concierge):
        helper = make_person(place=place)
        requester = make_person(place=place)
        i1 = services.introduction_create(
            place=place, by=concierge, need="x", helper=helper, requester=requester
        )
        services.introduction_create(place=place, by=concierge, need="y", helper=helper)
        services.introduction_set_outcome(
            introduction=i1, by=concierge, outcome="success", note="Ils ont réparé le vélo"
        )
        stats = selectors.introduction_stats(place=place)
        assert stats["total"] == 2 and stats["success"] == 1 and stats["led_somewhere"] == 1
        assert stats["rate"] == 50
        history = selectors.person_history(person=requester)
        assert [i.pk for i in history["introductions"]] == [i1.pk]

    def test_helper_from_other_place_refused(self, place, other_place, concierge):
        stranger = make_person(place=other_place)
        with pytest.raises(Exception):
            services.introduction_create(place=place, by=concierge, need="x", helper=stranger)
        assert not Introduction.objects.exists()

    def test_empty_need_and_self_introduction_refused(self, place, concierge):
        p = make_person(place=place)
        with pytest.raises(InvalidInput):
            services.introduction_create(place=place, by=concierge, need="  ", helper=p)
        with pytest.raises(InvalidInput):
            services.introduction_create(place=place, by=concierge, need="x", helper=p, requester=p)

    def test_unknown_outcome_refused(self, place, concierge):
        intro = services.introduction_create(
            place=place, by=concierge, need="x", helper=make_person(place=place)
        )
        with pytest.raises(InvalidInput):
            services.introduction_set_outcome(introduction=intro, by=concierge, outcome="bof")
        assert Membership.objects.count() == 0


@pytest.mark.django_db
def test_matching_ignores_stem_inside_another_word(place):
    make_person(place=place, skills_text="cartes électroniques")
    assert selectors.match_people(place=place, need="art") == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query", ["soudures", "Soudure", "SOUDURE", "dupont", "jo@example.org", "vélos", "chevaux"]
)
def test_directory_search_finds_words_plurals_and_emails(place, query):
    person = make_person(
        place=place,
        last_name="Dupont",
        email="jo@example.org",
        skills=["Soudure", "Vélo"],
        skills_text="dressage de chevaux",
    )
    make_person(place=place, last_name="Autre", skills=["Couture"])
    found = list(selectors.directory(place=place, viewer=None, level=Level.CONCIERGE, q=query))
    assert found == [person]
