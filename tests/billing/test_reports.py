"""Revenue reports (by stream, by kind of funding), the report page, the exports' downloads
and the closing form: figures, query counts, permissions, tenancy."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conciergerie.billing import services
from conciergerie.billing.models import Product
from conciergerie.billing.selectors.reports import (
    OWN,
    PRIVATE,
    PUBLIC,
    revenue_by_funding,
    revenue_by_stream,
    revenue_report,
)
from conciergerie.billing.services.accounting import funding_record
from tests.billing.conftest import make_product
from tests.billing.test_fec import invoice_of
from tests.conftest import login
from tests.factories import make_person, make_place, make_user

YEAR = 2026
START, END = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def report_url(place, **params):
    url = reverse("billing_reports:period_report", args=[place.slug])
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


@pytest.fixture
def products(place):
    return {
        "plan": make_product(
            place, name="Forfait", kind=Product.Kind.PLAN, unit_price=Decimal("100")
        ),
        "room": make_product(
            place, name="Salle", kind=Product.Kind.ROOM_HOUR, unit_price=Decimal("20")
        ),
        "membership": make_product(
            place, name="Adhésion", kind=Product.Kind.MEMBERSHIP, vat="0", unit_price=Decimal("30")
        ),
    }


@pytest.fixture
def books(place, person, products):
    """March: a plan (100) and 2 room hours (40); April: a membership (30) and a plan whose
    half is credited back (-50); a draft, a grant, a donation and a sponsorship."""
    march = invoice_of(
        place, person, [(products["plan"], "1"), (products["room"], "2")], on=dt.date(YEAR, 3, 5)
    )
    invoice_of(place, person, [(products["membership"], "1")], on=dt.date(YEAR, 4, 2))
    april = invoice_of(place, person, [(products["plan"], "1")], on=dt.date(YEAR, 4, 3))
    line = april.lines.get()
    credit = services.credit_note_create(invoice=april, by=None, quantities={line.pk: "0.5"})
    services.invoice_issue(invoice=credit, by=None, on=dt.date(YEAR, 4, 20))
    draft = services.invoice_draft_create(place=place, by=None, person=person)
    services.invoice_line_add(invoice=draft, by=None, product=products["plan"], quantity=7)
    for kind, funder, amount in (
        ("subvention", "Région", "3000"),
        ("don", "Amie", "70"),
        ("mecenat", "Entreprise locale", "500"),
    ):
        funding_record(
            place=place,
            by=None,
            kind=kind,
            funder=funder,
            amount=amount,
            received_on=dt.date(YEAR, 4, 15),
        )
    return march


def test_revenue_by_stream_deducts_credit_notes_and_ignores_drafts(place, books):
    report = revenue_by_stream(place, START, END)
    amounts = {row.key: row.amount for row in report.rows}
    assert amounts["abonnements"] == Decimal("150.00")  # 100 + 100 - 50
    assert amounts["locations"] == Decimal("40.00")
    assert amounts["adhesions"] == Decimal("30.00")
    assert amounts["evenements"] == Decimal("0.00")
    assert report.total == Decimal("220.00")
    shares = {row.key: row.share for row in report.rows}
    assert shares["abonnements"] == 68  # 150 / 220
    march, april = report.months[2], report.months[3]
    assert (march.label, march.total) == ("mars 2026", Decimal("140.00"))
    assert april.total == Decimal("80.00")  # 30 + 100 - 50
    assert len(report.months) == 12 and report.months[0].total == Decimal("0.00")
    # Only March: April's invoices and credit note stay out.
    assert revenue_by_stream(place, dt.date(YEAR, 3, 1), dt.date(YEAR, 3, 31)).total == Decimal(
        "140.00"
    )


def test_revenue_by_funding_separates_own_activity_grants_and_gifts(place, books):
    report = revenue_by_funding(place, START, END)
    amounts = {row.key: row.amount for row in report.rows}
    assert amounts == {
        OWN: Decimal("220.00"),
        PUBLIC: Decimal("3000.00"),
        PRIVATE: Decimal("570.00"),
    }
    assert report.total == Decimal("3790.00")
    assert report.months[3].cells == [Decimal("80.00"), Decimal("3000.00"), Decimal("570.00")]
    # The widest bar is the largest amount.
    assert [row.bar.width for row in report.rows][1] == "100.0"


def test_another_places_money_never_counts(place, books):
    other = make_place(slug="voisin", name="Voisin")
    someone = make_person(place=other, first_name="Sam")
    invoice_of(other, someone, [(make_product(other, unit_price=Decimal("999")), "1")])
    funding_record(
        place=other, by=None, kind="subvention", funder="Ville", amount="8888", received_on=START
    )
    report = revenue_report(place, START, END)
    assert report.streams.total == Decimal("220.00")
    assert report.fundings.total == Decimal("3790.00")
    assert revenue_report(other, START, END).streams.total == Decimal("999.00")


def test_report_query_count_is_flat(place, person, products, client):
    concierge = make_user(place=place, role="concierge")
    login(client, concierge)

    def queries():
        with CaptureQueriesContext(connection) as direct:
            revenue_report(place, START, END)
        with CaptureQueriesContext(connection) as page:
            assert (
                client.get(report_url(place, du="2026-01-01", au="2026-12-31")).status_code == 200
            )
        return len(direct), len(page)

    invoice_of(place, person, [(products["plan"], "1")], on=dt.date(YEAR, 2, 1))
    one = queries()
    assert one[0] == 2
    for month in range(3, 12):
        invoice_of(
            place,
            person,
            [(products["plan"], "1"), (products["room"], "1"), (products["membership"], "1")],
            on=dt.date(YEAR, month, 1),
        )
        funding_record(
            place=place,
            by=None,
            kind="don",
            funder="X",
            amount="5",
            received_on=dt.date(YEAR, month, 2),
        )
    assert queries() == one


def test_the_page_shows_figures_charts_and_tables(place, books, client):
    login(client, make_user(place=place, role="concierge"))
    response = client.get(report_url(place, du="01/01/2026", au="31/12/2026"))
    assert response.status_code == 200
    html = plain(response.content.decode())
    assert "220,00 €" in html and "3 000,00 €" in html and "570,00 €" in html
    assert "<svg" in html and "<caption>" in html  # the bars are also a table
    assert "mars 2026" in html
    assert "Clôturer" not in html  # closing is for admins
    # The default period is the current year.
    assert client.get(report_url(place)).context["report"].start == START


def test_a_bad_period_is_a_clear_400(place, client):
    login(client, make_user(place=place, role="concierge"))
    response = client.get(report_url(place, du="2026-05-01", au="2026-02-01"))
    assert response.status_code == 400
    assert "avant son début" in response.content.decode()
    response = client.get(report_url(place, du="hier", au="2026-02-01"))
    assert response.status_code == 400
    assert "Date invalide" in response.content.decode()


def test_the_fec_and_the_journal_download(place, books, client):
    login(client, make_user(place=place, role="concierge"))
    response = client.get(reverse("billing_reports:fec", args=[place.slug]) + "?annee=2026")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="732829320FEC20261231.txt"'
    text = response.content.decode("utf-8")
    assert text.startswith("JournalCode\tJournalLib\t") and books.number in text
    response = client.get(reverse("billing_reports:fec", args=[place.slug]) + "?annee=deux")
    assert response.status_code == 400
    assert "Indiquez une année" in response.content.decode()
    url = reverse("billing_reports:journal_csv", args=[place.slug])
    response = client.get(url + "?du=2026-03-01&au=2026-03-31")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeffjournal;") and books.number in body and "F2026-00002" not in body


def test_an_admin_closes_the_period_from_the_page(place, client):
    admin = make_user(place=place, role="admin")
    login(client, admin)
    page = client.get(report_url(place))
    assert "Clôturer la période" in page.content.decode()
    url = reverse("billing_reports:period_close", args=[place.slug])
    response = client.post(url, {"until": "2026-10-31"})
    assert response.status_code == 400
    assert "Cochez la case" in response.content.decode()
    assert services.settings_for(place).closed_until is None
    response = client.post(url, {"until": "31/10/2026", "confirm": "on"})
    assert response.status_code == 302
    assert services.settings_for(place).closed_until == dt.date(2026, 10, 31)
    response = client.post(url, {"until": "2026-09-30", "confirm": "on"})
    assert response.status_code == 400
    assert "ne revient pas en arrière" in plain(response.content.decode())
    assert services.settings_for(place).closed_until == dt.date(2026, 10, 31)


@pytest.mark.parametrize("role", ["member", "outsider"])
def test_members_and_outsiders_see_nothing(place, books, client, role):
    user = make_user(place=place, role="member") if role == "member" else make_user()
    login(client, user)
    for name in ("period_report", "fec", "journal_csv"):
        assert client.get(reverse(f"billing_reports:{name}", args=[place.slug])).status_code == 403
    close = reverse("billing_reports:period_close", args=[place.slug])
    assert client.post(close, {"until": "2026-01-31", "confirm": "on"}).status_code == 403
    assert services.settings_for(place).closed_until is None


def test_a_concierge_cannot_close(place, client):
    login(client, make_user(place=place, role="concierge"))
    close = reverse("billing_reports:period_close", args=[place.slug])
    assert client.post(close, {"until": "2026-01-31", "confirm": "on"}).status_code == 403
    assert services.settings_for(place).closed_until is None


def test_another_places_team_cannot_read_this_place(place, books, client):
    other = make_place(slug="voisin", name="Voisin")
    login(client, make_user(place=other, role="admin"))
    assert client.get(report_url(place)).status_code == 403
    assert client.get(reverse("billing_reports:fec", args=[place.slug])).status_code == 403
    own = client.get(report_url(other))
    assert own.status_code == 200 and "220,00" not in plain(own.content.decode())
