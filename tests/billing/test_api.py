"""The billing JSON API: invoices and credit notes, their PDF, the FEC export."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conciergerie.billing import services
from conciergerie.billing.models import Invoice
from conciergerie.community import services as community
from conciergerie.core import services as core
from tests.billing.conftest import ON, issued_invoice
from tests.factories import make_person, make_place, make_user

MIXED = (
    ("Forfait coworking", "1", "180.00", "20"),
    ("Heure de salle", "1.5", "12.33", "20"),  # 18.495 -> 18.50
    ("Café", "3", "0.35", "5.5"),
    ("Formation", "1", "100.00", "0"),
)


def bearer(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {core.token_create(user=user)}"}


def cents(text):
    """An amount of the API: a string with exactly two decimals."""
    assert isinstance(text, str) and len(text.split(".")[1]) == 2, text
    return Decimal(text)


@pytest.fixture
def member(place, person):
    """Lina's account: a member of the place, linked to her directory entry."""
    user = make_user(place=place, role="member", email="lina@example.org")
    community.person_link_account(place=place, user=user)
    person.refresh_from_db()
    assert person.user_id == user.pk
    return user


@pytest.fixture
def neighbour(place):
    """Another member of the same place, with an account."""
    user = make_user(place=place, role="member", email="sam@example.org")
    person = make_person(place=place, first_name="Sam", email="sam@example.org", user=user)
    return user, person


@pytest.fixture
def elsewhere(db):
    """Another place, its team and one of its invoices."""
    other = make_place(slug="ailleurs", name="Ailleurs")
    team = make_user(place=other, role="concierge", email="equipe@ailleurs.org")
    someone = make_person(place=other, first_name="Ava")
    invoice = issued_invoice(other, someone, on=ON)
    return other, team, invoice


def draft_for(place, person, label="Brouillon", price="10.00"):
    draft = services.invoice_draft_create(place=place, by=None, person=person)
    services.invoice_line_add(invoice=draft, by=None, label=label, quantity=1, unit_price=price)
    return draft


def get(client, url, user=None, **params):
    return client.get(url, params, **(bearer(user) if user is not None else {}))


# --- Who may read what ---------------------------------------------------------------------------


class TestAccess:
    @pytest.mark.parametrize("suffix", ["", "/{uuid}", "/{uuid}/pdf"])
    def test_anonymous_callers_get_401(self, client, place, person, suffix):
        invoice = issued_invoice(place, person, on=ON)
        url = "/api/v1/invoices" + suffix.format(uuid=invoice.uuid)
        resp = client.get(url, {"place": "etabli"})
        assert resp.status_code == 401
        assert resp.json()["detail"] == "Authentification requise."
        resp = client.get(url, {"place": "etabli"}, HTTP_AUTHORIZATION="Bearer faux")
        assert resp.status_code == 401

    def test_the_team_sees_every_invoice_of_the_place_drafts_included(
        self, client, place, person, concierge, neighbour, elsewhere
    ):
        mine = issued_invoice(place, person, on=ON)
        theirs = issued_invoice(place, neighbour[1], on=ON)
        draft = draft_for(place, person)
        data = get(client, "/api/v1/invoices", concierge, place="etabli").json()
        assert data["count"] == 3
        # Drafts first, then the latest issued.
        assert [i["id"] for i in data["items"]] == [
            str(draft.uuid),
            str(theirs.uuid),
            str(mine.uuid),
        ]
        assert {i["place"] for i in data["items"]} == {"etabli"}
        assert str(elsewhere[2].uuid) not in {i["id"] for i in data["items"]}
        # Without a slug: the caller's only place.
        assert get(client, "/api/v1/invoices", concierge).json()["count"] == 3

    def test_a_member_sees_only_their_own_issued_invoices(
        self, client, place, person, member, neighbour
    ):
        mine = issued_invoice(place, person, on=ON)
        draft_for(place, person)
        theirs = issued_invoice(place, neighbour[1], on=ON)
        data = get(client, "/api/v1/invoices", member, place="etabli").json()
        assert data["count"] == 1
        assert [i["id"] for i in data["items"]] == [str(mine.uuid)]
        resp = get(client, f"/api/v1/invoices/{mine.uuid}", member)
        assert resp.status_code == 200
        # A member's link leads to their own invoices, not to the back office.
        assert resp.json()["url"].endswith("/lieux/etabli/mes-factures/")
        # Someone else's invoice, or one's own draft: as if it did not exist.
        for other in (theirs, Invoice.objects.get(status=Invoice.Status.DRAFT)):
            for suffix in ("", "/pdf"):
                resp = get(client, f"/api/v1/invoices/{other.uuid}{suffix}", member)
                assert resp.status_code == 404, suffix
                assert resp.json()["detail"] == "Facture introuvable."
        assert get(client, "/api/v1/invoices", neighbour[0]).json()["count"] == 1

    def test_someone_without_a_role_in_the_place_is_refused(self, client, place, person):
        invoice = issued_invoice(place, person, on=ON)
        stranger = make_user(email="passant@example.org")
        resp = get(client, "/api/v1/invoices", stranger, place="etabli")
        assert resp.status_code == 403
        assert get(client, f"/api/v1/invoices/{invoice.uuid}", stranger).status_code == 404

    def test_another_place_team_never_learns_an_invoice_exists(
        self, client, place, person, elsewhere
    ):
        invoice = issued_invoice(place, person, on=ON)
        _other, team, theirs = elsewhere
        for suffix in ("", "/pdf"):
            resp = get(client, f"/api/v1/invoices/{invoice.uuid}{suffix}", team)
            assert resp.status_code == 404
        assert get(client, "/api/v1/invoices", team, place="etabli").status_code == 403
        # Their own place's list holds only their invoice.
        data = get(client, "/api/v1/invoices", team).json()
        assert [i["id"] for i in data["items"]] == [str(theirs.uuid)]

    def test_unknown_invoice_and_place(self, client, place, concierge):
        resp = get(client, "/api/v1/invoices/00000000-0000-0000-0000-000000000000", concierge)
        assert resp.status_code == 404
        resp = get(client, "/api/v1/invoices", concierge, place="nulle-part")
        assert resp.status_code == 404 and resp.json()["errors"] == {"place": ["Lieu introuvable."]}
        resp = get(client, "/api/v1/invoices/pas-un-uuid", concierge)
        assert resp.status_code == 400


# --- Listing -------------------------------------------------------------------------------------


class TestList:
    def test_filters(self, client, place, person, concierge):
        first = issued_invoice(place, person, on=ON)
        credit = services.invoice_issue(
            invoice=services.credit_note_create(invoice=first, by=None), by=None, on=ON
        )
        next_year = issued_invoice(place, person, on=dt.date(ON.year + 1, 1, 5))
        draft = draft_for(place, person)

        def ids(**params):
            data = get(client, "/api/v1/invoices", concierge, place="etabli", **params).json()
            assert data["count"] == len(data["items"])
            return {i["id"] for i in data["items"]}

        assert ids(status="brouillon") == {str(draft.uuid)}
        assert ids(status="emise") == {str(first.uuid), str(credit.uuid), str(next_year.uuid)}
        assert ids(kind="avoir") == {str(credit.uuid)}
        assert ids(year=ON.year) == {str(first.uuid), str(credit.uuid)}
        assert ids(year=ON.year + 1, kind="facture") == {str(next_year.uuid)}
        assert ids(year=2001) == set()

    def test_pagination(self, client, place, person, concierge):
        issued = [issued_invoice(place, person, on=ON) for _ in range(5)]
        newest_first = [str(i.uuid) for i in reversed(issued)]
        data = get(client, "/api/v1/invoices", concierge, limit=2, offset=1).json()
        assert data["count"] == 5
        assert [i["id"] for i in data["items"]] == newest_first[1:3]
        resp = get(client, "/api/v1/invoices", concierge, limit=0)
        assert resp.status_code == 400 and "limit" in resp.json()["errors"]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"status": "payee"}, "status"),
            ({"kind": "devis"}, "kind"),
            ({"year": "1789"}, "year"),
            ({"year": "deux-mille"}, "year"),
        ],
    )
    def test_bad_filters_are_400_with_a_field_message(
        self, client, place, concierge, params, field
    ):
        resp = get(client, "/api/v1/invoices", concierge, place="etabli", **params)
        assert resp.status_code == 400
        body = resp.json()
        assert body["detail"] and list(body["errors"]) == [field]
        assert body["errors"][field][0]

    def test_query_count_does_not_grow_with_the_invoices(self, client, place, person, concierge):
        headers = bearer(concierge)
        first = issued_invoice(place, person, on=ON)
        services.invoice_issue(
            invoice=services.credit_note_create(invoice=first, by=None), by=None, on=ON
        )

        def measure():
            with CaptureQueriesContext(connection) as ctx:
                resp = client.get("/api/v1/invoices", {"place": "etabli"}, **headers)
            assert resp.status_code == 200
            return len(ctx.captured_queries), resp.json()["count"]

        measure()  # the token's first use is written down once
        few, n = measure()
        assert n == 2
        for i in range(8):
            someone = make_person(place=place, first_name=f"Client{i}")
            invoice = issued_invoice(place, someone, lines=MIXED, on=ON)
            if i % 3 == 0:
                services.invoice_issue(
                    invoice=services.credit_note_create(invoice=invoice, by=None), by=None, on=ON
                )
        draft_for(place, person)
        many, n = measure()
        assert n == 2 + 8 + 3 + 1
        assert many == few, f"2 invoices: {few} queries, {n}: {many}"


# --- One invoice ---------------------------------------------------------------------------------


class TestDetail:
    def test_lines_vat_breakdown_and_totals_are_the_stored_figures(
        self, client, place, person, concierge
    ):
        invoice = issued_invoice(place, person, lines=MIXED, on=ON)
        data = get(client, f"/api/v1/invoices/{invoice.uuid}", concierge).json()
        assert data["number"] == "F2026-00001" and data["kind"] == "facture"
        assert data["status"] == "emise" and data["currency"] == "EUR"
        assert data["issue_date"] == ON.isoformat()
        assert data["due_date"] == (ON + dt.timedelta(days=30)).isoformat()
        assert data["seller"]["name"] == "L'Établi" and data["seller"]["siret"] == "73282932000074"
        assert data["buyer"]["name"] == "Lina Roux" and data["buyer_name"] == "Lina Roux"
        assert data["corrects"] is None and data["credit_notes"] == []
        assert data["pdf"].endswith(f"/api/v1/invoices/{invoice.uuid}/pdf")
        assert data["url"].endswith(f"/lieux/etabli/facturation/factures/{invoice.uuid}/")

        lines = data["lines"]
        assert [(x["label"], x["quantity"], x["unit_price"], x["net"]) for x in lines] == [
            ("Forfait coworking", "1", "180.00", "180.00"),
            ("Heure de salle", "1.5", "12.33", "18.50"),
            ("Café", "3", "0.35", "1.05"),
            ("Formation", "1", "100.00", "100.00"),
        ]
        assert [(x["vat"], x["vat_category"], x["vat_rate"]) for x in lines] == [
            ("20", "S", "20.00"),
            ("20", "S", "20.00"),
            ("5.5", "S", "5.50"),
            ("0", "E", "0.00"),
        ]
        groups = data["vat_breakdown"]
        assert [(g["category"], g["rate"], g["base"], g["amount"]) for g in groups] == [
            ("E", "0.00", "100.00", "0.00"),
            ("S", "5.50", "1.05", "0.06"),
            ("S", "20.00", "198.50", "39.70"),
        ]
        assert groups[0]["exemption_reason"]
        # The JSON says what is stored, and adds up.
        totals = data["totals"]
        net, vat, gross = (cents(totals[k]) for k in ("net", "vat", "gross"))
        assert (net, vat, gross) == (invoice.total_net, invoice.total_vat, invoice.total_gross)
        assert net == sum(cents(x["net"]) for x in lines) == sum(cents(g["base"]) for g in groups)
        assert vat == sum(cents(g["amount"]) for g in groups)
        assert gross == net + vat == Decimal("339.31")
        assert data["amount_paid"] == "0.00" and data["amount_due"] == totals["gross"]

    def test_a_credit_note_is_negative_and_names_the_invoice(
        self, client, place, person, concierge
    ):
        invoice = issued_invoice(place, person, lines=MIXED, on=ON)
        lines = list(invoice.lines.all())
        partial = services.credit_note_create(
            invoice=invoice, by=None, quantities={lines[0].pk: "1"}, reason="Mois non utilisé."
        )
        partial = services.invoice_issue(invoice=partial, by=None, on=ON)
        data = get(client, f"/api/v1/invoices/{partial.uuid}", concierge).json()
        assert data["number"] == "AV2026-00001" and data["kind"] == "avoir"
        assert data["corrects"] == invoice.number and data["corrects_id"] == str(invoice.uuid)
        assert [(x["quantity"], x["unit_price"], x["net"]) for x in data["lines"]] == [
            ("-1", "180.00", "-180.00")
        ]
        assert data["vat_breakdown"] == [
            {
                "category": "S",
                "rate": "20.00",
                "base": "-180.00",
                "amount": "-36.00",
                "exemption_reason": "",
            }
        ]
        assert data["totals"] == {"net": "-180.00", "vat": "-36.00", "gross": "-216.00"}
        assert cents(data["totals"]["gross"]) == partial.total_gross
        assert data["amount_due"] == "0.00" and data["overdue"] is False
        # The corrected invoice knows it, and what is left to pay shrinks.
        data = get(client, f"/api/v1/invoices/{invoice.uuid}", concierge).json()
        assert data["credit_notes"] == ["AV2026-00001"]
        assert data["amount_credited"] == "-216.00"
        assert cents(data["amount_due"]) == invoice.total_gross - Decimal("216.00")

    def test_a_draft_has_no_number_and_live_totals(self, client, place, person, concierge):
        draft = draft_for(place, person, price="12.50")
        data = get(client, f"/api/v1/invoices/{draft.uuid}", concierge).json()
        assert data["number"] == "" and data["status"] == "brouillon"
        assert data["issue_date"] is None and data["seller"]["name"] == ""
        assert data["totals"] == {"net": "12.50", "vat": "2.50", "gross": "15.00"}
        assert data["amount_due"] == "0.00" and data["overdue"] is False

    def test_overdue(self, client, place, person, concierge):
        old = issued_invoice(place, person, on=dt.date(2020, 3, 2))
        data = get(client, f"/api/v1/invoices/{old.uuid}", concierge).json()
        assert data["overdue"] is True and data["amount_due"] == "36.00"
        services.invoice_issue(
            invoice=services.credit_note_create(invoice=old, by=None),
            by=None,
            on=dt.date(2020, 3, 3),
        )
        data = get(client, f"/api/v1/invoices/{old.uuid}", concierge).json()
        assert data["overdue"] is False and data["amount_due"] == "0.00"

    def test_payments_lower_what_is_left_to_pay(self, client, place, person, member, concierge):
        from conciergerie.billing.services.payments import payment_record

        old = issued_invoice(place, person, lines=MIXED, on=dt.date(2020, 3, 2))
        payment_record(
            place=place,
            by=None,
            person=person,
            method="virement",
            amount="100.00",
            received_on=dt.date(2020, 3, 20),
            allocations=[(old, "100.00")],
        )
        data = get(client, f"/api/v1/invoices/{old.uuid}", member).json()
        assert data["totals"]["gross"] == "339.31"
        assert data["amount_paid"] == "100.00" and data["amount_due"] == "239.31"
        assert data["overdue"] is True
        listed = get(client, "/api/v1/invoices", concierge).json()["items"][0]
        assert (listed["amount_paid"], listed["amount_due"]) == ("100.00", "239.31")
        payment_record(
            place=place,
            by=None,
            person=person,
            method="cheque",
            amount="239.31",
            received_on=dt.date(2020, 4, 2),
        )
        data = get(client, f"/api/v1/invoices/{old.uuid}", member).json()
        assert data["amount_paid"] == "339.31" and data["amount_due"] == "0.00"
        assert data["overdue"] is False

    def test_query_count_does_not_grow_with_lines(self, client, place, person, concierge):
        headers = bearer(concierge)
        small = issued_invoice(place, person, on=ON)
        big = issued_invoice(place, person, lines=MIXED * 5, on=ON)
        services.invoice_issue(
            invoice=services.credit_note_create(invoice=big, by=None), by=None, on=ON
        )

        def measure(invoice):
            with CaptureQueriesContext(connection) as ctx:
                resp = client.get(f"/api/v1/invoices/{invoice.uuid}", **headers)
            assert resp.status_code == 200
            return len(ctx.captured_queries)

        measure(small)
        assert measure(small) == measure(big)


# --- PDF -----------------------------------------------------------------------------------------


class TestPdf:
    def test_an_issued_invoice_downloads_as_a_pdf(self, client, place, person, member):
        invoice = issued_invoice(place, person, on=ON)
        resp = get(client, f"/api/v1/invoices/{invoice.uuid}/pdf", member)
        assert resp.status_code == 200
        assert resp["Content-Type"] == "application/pdf"
        assert 'filename="F2026-00001.pdf"' in resp["Content-Disposition"]
        assert resp["Cache-Control"] == "private, no-store"
        assert resp.content.startswith(b"%PDF")

    def test_a_draft_has_no_pdf_yet(self, client, place, person, concierge):
        draft = draft_for(place, person)
        resp = get(client, f"/api/v1/invoices/{draft.uuid}/pdf", concierge)
        assert resp.status_code == 409
        assert "brouillon" in resp.json()["detail"].lower()


# --- FEC -----------------------------------------------------------------------------------------


class TestFec:
    def test_the_team_downloads_the_year(self, client, place, person, concierge):
        issued_invoice(place, person, lines=MIXED, on=ON)
        resp = get(client, "/api/v1/exports/fec", concierge, year=ON.year, place="etabli")
        assert resp.status_code == 200, resp.content
        assert resp["Cache-Control"] == "private, no-store"
        assert resp["Content-Type"].startswith("text/plain")
        assert "attachment" in resp["Content-Disposition"]
        from conciergerie.billing.fec import fec_filename

        assert fec_filename(place, ON.year) in resp["Content-Disposition"]
        rows = resp.content.decode().splitlines()
        assert len(rows[0].split("\t")) == 18
        assert any("F2026-00001" in row for row in rows[1:])

    def test_members_and_strangers_are_refused(self, client, place, member, elsewhere):
        assert get(client, "/api/v1/exports/fec", year=ON.year, place="etabli").status_code == 401
        resp = get(client, "/api/v1/exports/fec", member, year=ON.year)
        assert resp.status_code == 403
        resp = get(client, "/api/v1/exports/fec", elsewhere[1], year=ON.year, place="etabli")
        assert resp.status_code == 403

    @pytest.mark.parametrize("year", [None, "1999", "3000", "MMXXVI"])
    def test_a_bad_year_is_a_field_error(self, client, place, concierge, year):
        params = {"place": "etabli"} | ({"year": year} if year is not None else {})
        resp = get(client, "/api/v1/exports/fec", concierge, **params)
        assert resp.status_code == 400
        assert list(resp.json()["errors"]) == ["year"]


def test_openapi_documents_the_billing_paths(client, db):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    doc = resp.json()
    for path in (
        "/api/v1/invoices",
        "/api/v1/invoices/{invoice_id}",
        "/api/v1/invoices/{invoice_id}/pdf",
        "/api/v1/exports/fec",
    ):
        assert "get" in doc["paths"][path], path
    assert {"InvoiceOut", "InvoicePage", "LineOut", "VatGroupOut"} <= set(
        doc["components"]["schemas"]
    )
    pdf = doc["paths"]["/api/v1/invoices/{invoice_id}/pdf"]["get"]["responses"]["200"]
    assert "application/pdf" in pdf["content"]
