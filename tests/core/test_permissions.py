"""Walk every URL of the web UI as every role and check the answer."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from conciergerie.billing.models import Product, Subscription
from conciergerie.billing.services import invoices as billing
from conciergerie.commons.services.aiguillage import aiguilleur_set, orientation_request
from conciergerie.commons.services.campaigns import campaign_create
from conciergerie.commons.services.faq import faq_entry_save
from conciergerie.commons.services.moderation import proposal_create, report_create
from conciergerie.commons.services.pages import page_create
from conciergerie.community import services as community
from conciergerie.community.models import ImportBatch
from conciergerie.core import services as core
from conciergerie.core.permissions import Level
from conciergerie.events import services as events
from conciergerie.spaces import services as spaces
from conciergerie.spaces.feeds import calendar_feed_for
from tests.commons.conftest import commons_data, make_commons
from tests.conftest import login
from tests.factories import make_membership, make_person, make_place, make_user
from tests.spaces.images import png_upload

ROLES = ["anonymous", "outsider", "other_concierge", "member", "concierge", "admin"]
ROLE_LEVEL = {
    "anonymous": Level.ANONYMOUS,
    "outsider": Level.AUTHENTICATED,
    "other_concierge": Level.AUTHENTICATED,
    "member": Level.MEMBER,
    "concierge": Level.CONCIERGE,
    "admin": Level.ADMIN,
}
A, M, C, AD = Level.ANONYMOUS, Level.MEMBER, Level.CONCIERGE, Level.ADMIN
LOGGED = Level.AUTHENTICATED

# url name → (method, least level, status when allowed)
EXPECTED = {
    "core:home": ("get", A, 200),
    "core:healthz": ("get", A, 200),
    "core:login": ("get", A, 200),
    "core:logout": ("post", A, 302),
    "core:password_reset": ("get", A, 200),
    "core:password_reset_done": ("get", A, 200),
    "core:password_reset_confirm": ("get", A, 200),
    "core:password_reset_complete": ("get", A, 200),
    "core:invitation_accept": ("get", A, 200),
    "core:account": ("get", LOGGED, 200),
    "core:place": ("get", A, 200),
    "core:backoffice": ("get", C, 200),
    "core:place_edit": ("get", AD, 200),
    "core:team": ("get", C, 200),
    "core:role_change": ("post", AD, 302),
    "core:audit": ("get", C, 200),
    "core:outbox": ("get", C, 200),
    "community:directory": ("get", M, 200),
    "community:my_profile": ("get", M, 302),
    "community:person_create": ("get", C, 200),
    "community:person_suggest": ("get", C, 200),
    "community:person": ("get", A, 200),
    "community:person_edit": ("get", C, 200),
    "community:person_delete": ("post", C, 302),
    "community:membership_create": ("get", C, 200),
    "community:organisations": ("get", M, 200),
    "community:organisation_create": ("get", C, 200),
    "community:organisation": ("get", M, 200),
    "community:organisation_edit": ("get", C, 200),
    "community:memberships": ("get", C, 200),
    "community:membership_edit": ("get", C, 200),
    "community:membership_renew": ("post", C, 302),
    "community:introductions": ("get", C, 200),
    "community:introduction_new": ("get", C, 200),
    "community:introduction": ("get", C, 200),
    "community:vocabulary": ("get", C, 200),
    "community:import": ("get", C, 200),
    "community:import_preview": ("get", C, 200),
    "community:import_template": ("get", C, 200),
    "community:export": ("get", C, 200),
    "spaces:resources": ("get", A, 200),
    "spaces:resource": ("get", A, 200),
    "spaces:book": ("post", M, 400),  # allowed, but an empty form is refused
    "spaces:out_of_service": ("post", C, 400),
    "spaces:resource_create": ("get", C, 200),
    "spaces:resource_edit": ("get", C, 200),
    "spaces:photo_add": ("post", C, 400),  # allowed, but an empty form is refused
    "spaces:photo_delete": ("post", C, 302),
    "spaces:photo_move": ("post", C, 400),  # no direction given
    "spaces:photo_describe": ("post", C, 302),  # an empty description is allowed
    "spaces:maintenance_add": ("post", C, 400),
    "spaces:qualification_grant": ("post", C, 400),
    "spaces:qualification_revoke": ("post", C, 302),
    "spaces:my_bookings": ("get", M, 200),
    "spaces:booking": ("get", M, 200),
    "spaces:booking_action": ("post", M, 400),
    "spaces:pending": ("get", C, 200),
    "spaces:waitlist_join": ("post", M, 400),  # allowed, but an empty form is refused
    "spaces:waitlist_leave": ("post", M, 400),
    "spaces:series": ("post", M, 400),
    "spaces_feeds:resource_ics": ("get", A, 200),
    "spaces_feeds:person_feed_reset": ("post", M, 200),
    "spaces_feeds:person_ics": ("get", A, 200),  # whoever holds the token
    "events:events": ("get", A, 200),
    "events:event": ("get", A, 200),
    "events:register": ("post", A, 400),  # allowed, but an empty form is refused
    "events:event_create": ("get", C, 200),
    "events:event_edit": ("get", C, 200),
    "events:event_cancel": ("post", C, 302),
    "events:checkin": ("get", C, 200),
    "events:checkin_ticket": ("post", C, 302),
    "events:my_registrations": ("get", M, 200),
    "events:registration": ("get", A, 200),  # whoever holds the link
    "events:registration_action": ("post", A, 400),  # no action given
    "events_feeds:events_ics": ("get", A, 200),
    "events_feeds:events_atom": ("get", A, 200),
    "events_feeds:event_ics": ("get", A, 200),  # the test event is public
    "events_feeds:ticket": ("get", A, 200),  # whoever holds the token
    "events_feeds:ticket_qr": ("get", A, 200),
    "events_reports:event_report": ("get", C, 200),
    "events_reports:period_report": ("get", C, 200),
    "events_reports:attendance_csv": ("get", C, 200),
    "events_reports:signin_sheet": ("get", C, 200),
    "billing_reports:period_report": ("get", C, 200),
    "commons:list": ("get", A, 200),
    "commons:detail": ("get", A, 200),
    "commons:status": ("post", C, 302),  # no status given: said, sent back
    "commons:history": ("get", A, 200),
    "commons:revision_diff": ("get", A, 200),
    "commons:faq": ("get", A, 200),
    "commons:faq_edit": ("get", C, 200),
    "commons:faq_delete": ("post", C, 302),
    "commons:grid": ("get", C, 200),
    "commons:grid_add": ("get", C, 200),
    "commons:grid_question": ("get", C, 200),
    "commons:grid_delete": ("post", C, 302),
    "commons:grid_reset": ("post", C, 302),
    "commons:propose": ("get", M, 200),
    "commons:propose_edit": ("get", M, 200),
    "commons:report": ("get", M, 200),
    "commons:proposals": ("get", M, 200),
    "commons:proposal": ("get", M, 200),
    "commons:proposal_vote": ("post", M, 302),
    "commons:proposal_decide": ("post", C, 302),
    "commons:reports": ("get", C, 200),
    "commons:report_handle": ("post", C, 302),
    "commons:moderation_settings": ("get", C, 200),
    "commons:pages": ("get", A, 200),
    "commons:page": ("get", A, 200),
    "commons:page_new": ("get", M, 200),
    "commons:page_edit": ("get", M, 200),
    "commons:page_history": ("get", A, 200),
    "commons:page_diff": ("get", A, 200),
    "commons:page_revert": ("post", C, 302),
    "commons:campaigns": ("get", A, 200),
    "commons:campaign": ("get", A, 200),
    "commons:campaign_new": ("get", C, 200),
    "commons:campaign_edit": ("get", C, 200),
    "commons:pledge": ("post", M, 400),  # allowed, but an empty form is refused
    "commons:pledge_cancel": ("post", M, 302),
    "commons:aiguillage": ("get", A, 200),
    # The team, or an active aiguilleur (none among these roles): see test_aiguillage_views.
    "commons:orientations": ("get", C, 200),
    "commons:orientation_new": ("get", C, 200),
    "commons:orientation": ("get", C, 200),
    "commons:orientation_outcome": ("post", C, 400),
    "commons:orientation_assign": ("post", C, 302),  # nobody given: unassigned
    "commons:aiguilleurs": ("get", C, 200),
    "commons:aiguilleur_save": ("post", C, 400),
    "commons:aiguilleur_remove": ("post", C, 302),
    "commons:import": ("get", C, 200),
    "commons:starter": ("post", C, 302),
    "commons:export_json": ("get", A, 200),
    "commons:export_csv": ("get", A, 200),
    "billing_reports:fec": ("get", C, 200),
    "billing_reports:journal_csv": ("get", C, 200),
    "billing_reports:period_close": ("post", AD, 400),  # allowed, but an empty form is refused
    "billing:invoices": ("get", C, 200),
    "billing:invoice_create": ("get", C, 200),
    "billing:invoice": ("get", C, 200),
    "billing:invoice_line_add": ("post", C, 400),  # allowed, but an empty form is refused
    "billing:invoice_line_remove": ("post", C, 302),  # no line given: said, sent back
    "billing:invoice_buyer": ("post", C, 400),
    "billing:invoice_preview": ("get", C, 200),
    "billing:invoice_pdf": ("get", C, 200),
    "billing:invoice_issue": ("get", C, 200),  # the confirmation page
    "billing:invoice_delete": ("get", C, 200),  # the confirmation page
    "billing:invoice_payment": ("post", C, 400),
    "billing:credit_note_create": ("get", C, 200),
    "billing:payments": ("get", C, 200),
    "billing:fundings": ("get", C, 200),
    "billing:products": ("get", C, 200),
    "billing:product_create": ("get", C, 200),
    "billing:product": ("get", C, 200),
    "billing:subscriptions": ("get", C, 200),
    "billing:subscription": ("get", C, 200),
    "billing:subscription_create": ("get", C, 200),
    "billing:subscription_action": ("post", C, 302),  # no action given: said, sent back
    "billing:settings": ("get", AD, 200),
    "billing:my_invoices": ("get", M, 200),
    "billing:my_invoice_pdf": ("get", M, 404),  # somebody else's invoice, whoever asks
    "opendata:index": ("get", A, 200),
    "opendata:places_geojson": ("get", A, 200),
    "opendata:places_csv": ("get", A, 200),
    "opendata:places_jsonld": ("get", A, 200),
    "opendata:map": ("get", A, 200),
    "network:home": ("get", A, 200),
    "network:events_ics": ("get", A, 200),
    "network:manage": ("get", C, 200),
    "network:follow": ("post", C, 400),  # allowed, but an empty form is refused
    "network:unfollow": ("post", C, 404),  # no such follow in this place
    "network:follower_decide": ("post", C, 404),  # no such follower in this place
    "network:block": ("post", AD, 400),  # allowed, but an empty form is refused
    "network:actor_block": ("post", AD, 302),  # no account given: said, sent back
    "network:actor_unblock": ("post", AD, 302),
    # ActivityPub: public by nature; a browser is sent to the HTML page.
    "federation:webfinger": ("get", A, 404),  # no resource asked
    "federation:nodeinfo_links": ("get", A, 200),
    "federation:nodeinfo": ("get", A, 200),
    "federation:shared_inbox": ("get", A, 405),  # POST only
    "federation:actor": ("get", A, 302),
    "federation:inbox": ("get", A, 405),
    "federation:outbox": ("get", A, 200),
    "federation:followers": ("get", A, 200),
    "federation:following": ("get", A, 200),
    "federation:activity": ("get", A, 404),  # no such activity
    "federation:object": ("get", A, 302),
}
FEDERATION_INSTANCE_URLS = {
    "federation:webfinger",
    "federation:nodeinfo_links",
    "federation:nodeinfo",
    "federation:shared_inbox",
}

# Which events URL takes which object (each name's kwargs are set in `world`).
EVENT_URLS: set[str] = {
    "events:event",
    "events:register",
    "events:event_edit",
    "events:event_cancel",
    "events:checkin",
    "events:checkin_ticket",
    "events_feeds:event_ics",
    "events_reports:event_report",
    "events_reports:attendance_csv",
    "events_reports:signin_sheet",
}
REGISTRATION_URLS: set[str] = {"events:registration", "events:registration_action"}
TICKET_URLS: set[str] = {"events_feeds:ticket", "events_feeds:ticket_qr"}
# Billing: `invoice` is issued (to someone without an account), `draft` is not.
INVOICE_URLS: set[str] = {
    "billing:invoice",
    "billing:invoice_pdf",
    "billing:invoice_payment",
    "billing:credit_note_create",
    "billing:my_invoice_pdf",
}
DRAFT_URLS: set[str] = {
    "billing:invoice_line_add",
    "billing:invoice_line_remove",
    "billing:invoice_buyer",
    "billing:invoice_preview",
    "billing:invoice_issue",
    "billing:invoice_delete",
}


def _named_routes(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            if ns in {
                "core",
                "community",
                "spaces",
                "spaces_feeds",
                "events",
                "events_feeds",
                "events_reports",
                "billing_reports",
                "billing",
                "commons",
                "opendata",
                "federation",
                "network",
            }:
                yield from _named_routes(entry, ns)
        elif isinstance(entry, URLPattern) and namespace and entry.name:
            yield f"{namespace}:{entry.name}"


def test_every_url_has_an_expectation():
    assert set(_named_routes()) == set(EXPECTED)


COMMONS_URLS = ["commons:detail", "commons:status", "commons:history", "commons:propose_edit"]
COMMONS_URLS += ["commons:report"]
PAGE_URLS = ["commons:page", "commons:page_edit", "commons:page_history"]
CAMPAIGN_URLS = ["commons:campaign", "commons:campaign_edit", "commons:pledge"]
CAMPAIGN_URLS += ["commons:pledge_cancel"]
ORIENTATION_URLS = ["commons:orientation", "commons:orientation_outcome"]
ORIENTATION_URLS += ["commons:orientation_assign"]


@pytest.fixture
def world(db, settings, tmp_path):
    place = make_place(slug="fabrique", name="La Fabrique")
    other = make_place(slug="autre", name="Autre")
    users = {
        "outsider": make_user(email="dehors@example.org"),
        "other_concierge": make_user(place=other, role="concierge"),
        "member": make_user(place=place, role="member", email="membre@example.org"),
        "concierge": make_user(place=place, role="concierge"),
        "admin": make_user(place=place, role="admin"),
    }
    public = make_person(
        place=place, first_name="Publique", name_visibility="public", skills=["Soudure"]
    )
    member_person = community.person_link_account(place=place, user=users["member"])
    org = community.organisation_create(place=place, by=None, name="Asso")
    membership = make_membership(person=public, start=dt.date.today() - dt.timedelta(days=350))
    intro = community.introduction_create(
        place=place, by=users["concierge"], need="souder", helper=public, requester=member_person
    )
    batch = ImportBatch.objects.create(place=place, filename="x.csv", content="prenom;email\n")
    invitation = core.invitation_create(
        place=place, email="invite@example.org", role="member", by=users["admin"]
    )
    room = spaces.resource_create(place=place, by=None, name="Salle", horizon_days=3650)
    settings.MEDIA_ROOT = tmp_path
    photo = spaces.photo_add(resource=room, by=None, image=png_upload())
    qualification = spaces.qualification_grant(
        person=member_person, resource=room, by=None, granted_on=dt.date.today()
    )
    booking = spaces.booking_create(
        resource=room,
        by=None,
        level=Level.CONCIERGE,
        person=member_person,
        start=dt.datetime(2030, 3, 12, 10, tzinfo=dt.UTC),
        end=dt.datetime(2030, 3, 12, 11, tzinfo=dt.UTC),
        notify=False,
    )
    feed = calendar_feed_for(member_person)
    event = events.event_create(
        place=place,
        by=None,
        title="Atelier soudure",
        start_at=dt.datetime(2030, 3, 14, 18, tzinfo=dt.UTC),
        end_at=dt.datetime(2030, 3, 14, 20, tzinfo=dt.UTC),
        capacity=10,
    )
    registration = events.registration_create(
        event=event,
        by=users["member"],
        level=Level.MEMBER,
        person=member_person,
        attendees=[{}],
        notify=False,
    )
    ticket = registration.tickets.get()
    customer = make_person(place=place, first_name="Cliente")
    invoice = billing.invoice_draft_create(place=place, by=None, person=customer)
    billing.invoice_line_add(invoice=invoice, by=None, label="Pass", quantity=1, unit_price="15")
    invoice = billing.invoice_issue(invoice=invoice, by=None)
    draft = billing.invoice_draft_create(place=place, by=None, person=member_person)
    billing.invoice_line_add(invoice=draft, by=None, label="Salle", quantity=2, unit_price="9")
    plan = Product.objects.create(
        place=place, name="Forfait", kind=Product.Kind.PLAN, unit_price=Decimal("120")
    )
    subscription = Subscription.objects.create(
        place=place, person=member_person, plan=plan, start=dt.date.today()
    )
    commons = make_commons(place)
    faq = faq_entry_save(
        place=place, by=None, new_domain="gestion associative", question="Q ?", answer="R."
    )
    proposal = proposal_create(
        place=place, commons=commons, data=commons_data(summary="Autre."), by=users["member"]
    )
    report = report_create(commons=commons, by=users["member"], reason="Lien mort.")
    page = page_create(place=place, by=None, title="Recette", body="Texte.")
    campaign = campaign_create(
        place=place,
        by=None,
        commons=commons,
        title="Financer",
        description="",
        goal=Decimal("100"),
        ends_on=dt.date.today() + dt.timedelta(days=30),
    )
    orientation = orientation_request(
        place=place,
        need="gérer les adhésions",
        answers={},
        suggestions=[],
        contact_name="Léa",
        contact_email="lea@example.org",
    )
    guide = aiguilleur_set(place=place, person=public, by=None, domains=["gestion"])
    kwargs = {
        **{name: {"slug": commons.slug} for name in COMMONS_URLS},
        "commons:revision_diff": {"slug": commons.slug, "number": 1},
        "commons:faq_delete": {"pk": faq.pk},
        "commons:grid_question": {"key": "complexity"},
        "commons:grid_delete": {"key": "complexity"},
        "commons:proposal": {"uuid": proposal.uuid},
        "commons:proposal_vote": {"uuid": proposal.uuid},
        "commons:proposal_decide": {"uuid": proposal.uuid},
        "commons:report_handle": {"uuid": report.uuid},
        **{name: {"slug": page.slug} for name in PAGE_URLS},
        "commons:page_diff": {"slug": page.slug, "number": 1},
        "commons:page_revert": {"slug": page.slug, "number": 1},
        **{name: {"uuid": campaign.uuid} for name in CAMPAIGN_URLS},
        **{name: {"uuid": orientation.uuid} for name in ORIENTATION_URLS},
        "commons:aiguilleur_remove": {"person_uuid": guide.person.uuid},
        "spaces:resource": {"uuid": room.uuid},
        "spaces:book": {"uuid": room.uuid},
        "spaces:out_of_service": {"uuid": room.uuid},
        "spaces:resource_edit": {"uuid": room.uuid},
        "spaces:photo_add": {"uuid": room.uuid},
        "spaces:photo_delete": {"uuid": room.uuid, "photo_uuid": photo.uuid},
        "spaces:photo_move": {"uuid": room.uuid, "photo_uuid": photo.uuid},
        "spaces:photo_describe": {"uuid": room.uuid, "photo_uuid": photo.uuid},
        "spaces:maintenance_add": {"uuid": room.uuid},
        "spaces:qualification_grant": {"uuid": room.uuid},
        "spaces:qualification_revoke": {
            "uuid": room.uuid,
            "qualification_uuid": qualification.uuid,
        },
        "spaces:booking": {"uuid": booking.uuid},
        "spaces:booking_action": {"uuid": booking.uuid},
        "spaces:waitlist_join": {"uuid": room.uuid},
        "spaces:series": {"uuid": room.uuid},
        "spaces_feeds:resource_ics": {"uuid": room.uuid},
        # Events: `event` is public, `registration` is the member's, `ticket` its only ticket.
        **{name: {"uuid": event.uuid} for name in EVENT_URLS},
        **{name: {"uuid": registration.uuid} for name in REGISTRATION_URLS},
        **{name: {"uuid": event.uuid, "token": ticket.qr_token} for name in TICKET_URLS},
        "spaces_feeds:person_ics": {"token": feed.token},
        "core:password_reset_confirm": {"uidb64": "MQ", "token": "abc-def"},
        "core:invitation_accept": {"token": invitation.raw_token},
        "core:role_change": {"place_slug": place.slug, "user_uuid": users["member"].uuid},
        "community:person": {"uuid": public.uuid},
        "community:person_edit": {"uuid": public.uuid},
        "community:person_delete": {"uuid": public.uuid},
        "community:membership_create": {"person_uuid": public.uuid},
        "community:organisation": {"uuid": org.uuid},
        "community:organisation_edit": {"uuid": org.uuid},
        "community:membership_edit": {"uuid": membership.uuid},
        "community:membership_renew": {"uuid": membership.uuid},
        "community:introduction": {"uuid": intro.uuid},
        "community:import_preview": {"uuid": batch.uuid},
        **{name: {"uuid": invoice.uuid} for name in INVOICE_URLS},
        **{name: {"uuid": draft.uuid} for name in DRAFT_URLS},
        "billing:product": {"uuid": plan.uuid},
        "billing:subscription": {"uuid": subscription.uuid},
        "billing:subscription_action": {"uuid": subscription.uuid},
        "network:unfollow": {"follow_id": 999999},
        "federation:activity": {"uuid": "00000000-0000-4000-8000-000000000000"},
        "federation:object": {"kind": "evenement", "uuid": event.uuid},
        "network:follower_decide": {"follow_id": 999999},
    }
    return place, users, kwargs


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_url_answers_per_role(client, world, name, role):
    from django.urls import reverse

    place, users, kwargs = world
    method, least, ok = EXPECTED[name]
    args = dict(kwargs.get(name, {}))
    if (
        name.startswith(
            (
                "community:",
                "spaces",
                "events",
                "billing_reports",
                "billing:",
                "commons:",
                "network:",
            )
        )
        and name != "spaces_feeds:person_ics"
        or name
        in {
            "core:place",
            "core:backoffice",
            "core:place_edit",
            "core:team",
            "core:audit",
            "core:outbox",
        }
    ):
        args.setdefault("place_slug", place.slug)
    if name.startswith("federation:") and name not in FEDERATION_INSTANCE_URLS:
        args.setdefault("place_slug", place.slug)
    url = reverse(name, kwargs=args)
    if role != "anonymous":
        login(client, users[role])
    response = getattr(client, method)(url)
    level = ROLE_LEVEL[role]
    if name == "core:login" and role != "anonymous":
        assert response.status_code == 302  # already logged in: sent on
    elif level >= least:
        assert response.status_code == ok, (url, role, response.status_code)
    elif role == "anonymous":
        assert response.status_code == 302 and "/compte/connexion/" in response["Location"]
    else:
        assert response.status_code == 403, (url, role, response.status_code)


@pytest.mark.parametrize("role", ["anonymous", "outsider", "member"])
def test_hidden_person_is_404_not_403(client, world, role):
    """A profile whose name is not visible to the viewer does not exist for them."""
    place, users, _ = world
    hidden = make_person(place=place, first_name="Cachée")
    if role != "anonymous":
        login(client, users[role])
    assert client.get(hidden.get_absolute_url()).status_code == 404
