"""Factur-X: the EN 16931 XML of real invoices passes the official XSD and schematron, its
totals are the stored ones, and the PDF/A-3 carries it, is stored once and never changes."""

import datetime as dt
import hashlib
import io
from decimal import Decimal

import pytest
from lxml import etree
from pypdf import PdfReader

from conciergerie.billing import services
from conciergerie.billing.amounts import FRANCHISE_TEXT
from conciergerie.billing.documents import _store, draft_preview_pdf, invoice_pdf
from conciergerie.billing.facturx import invoice_xml
from conciergerie.billing.models import Invoice, InvoiceDocument
from conciergerie.community.services import organisation_create
from conciergerie.core.errors import Conflict
from conciergerie.core.money import format_amount
from tests.billing.conftest import ON
from tests.billing.facturx_check import fired_rules, schematron_failures, xsd_errors
from tests.concurrency.test_booking_race import run_together
from tests.factories import make_person, make_place

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
SUMMATION = (
    "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/"
    "ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
)
VAT_NUMBER = "FR44732829320"  # the fixture place's SIREN 732829320
IBAN = "FR7630006000011234567890189"
NOVEMBER = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def _vat_registered(place):
    billing = services.settings_for(place)
    billing.vat_number, billing.iban, billing.bic = VAT_NUMBER, IBAN, "AGRIFRPP"
    billing.save()


def _invoice(place, customer, lines, **draft):
    invoice = services.invoice_draft_create(place=place, by=None, **customer, **draft)
    for label, quantity, price, vat, unit in lines:
        services.invoice_line_add(
            invoice=invoice,
            by=None,
            label=label,
            quantity=quantity,
            unit_price=price,
            vat=vat,
            unit=unit,
        )
    return invoice


# Each case makes one real document through the services and returns it issued.


def several_rates(place, person):
    _vat_registered(place)
    invoice = _invoice(
        place,
        {"person": person},
        [
            ("Forfait coworking illimité", "1", "180.00", "20", "MON"),
            ("Repas du midi", "3", "12.50", "10", "C62"),
            ("Livre « Tiers-lieux »", "2", "9.99", "5.5", "C62"),
            ("Formation professionnelle", "1", "250.00", "0", "DAY"),
        ],
        period_start=NOVEMBER[0],
        period_end=NOVEMBER[1],
        note="Merci de votre fidélité.",
    )
    return services.invoice_issue(invoice=invoice, by=None, on=ON)


def franchise(place, person):
    other = make_place(
        slug="atelier-franchise",
        name="Atelier en franchise",
        siret="44306184100047",
        street="3 place du Marché",
        postal_code="79000",
        city="Niort",
        email="contact@franchise.example",
        billable=False,
    )
    billing = services.settings_for(other)
    billing.vat_franchise = True
    billing.save()
    someone = make_person(place=other, first_name="Théo", last_name="Blanc")
    invoice = _invoice(
        other,
        {"person": someone},
        [
            ("Journée de coworking", "4", "15.00", "20", "DAY"),
            ("Heure de découpe laser", "2.5", "18.00", "20", "HUR"),
        ],
    )
    return services.invoice_issue(invoice=invoice, by=None, on=ON)


def organisation(place, person):
    _vat_registered(place)
    org = organisation_create(
        place=place,
        by=None,
        name="Coopérative du Bocage",
        kind="cooperative",
        siret="55208131766522",
        email="compta@bocage.example",
    )
    invoice = _invoice(
        place,
        {"organisation": org},
        [
            ("Location de la grande salle", "7", "35.00", "20", "HUR"),
            ("Accompagnement de projet", "1.5", "400.00", "20", "DAY"),
        ],
    )
    services.invoice_draft_update(
        invoice=invoice,
        by=None,
        buyer={
            "street": "5 chemin des Haies",
            "postal_code": "79200",
            "city": "Parthenay",
            "country": "FR",
            "vat_number": "FR03552081317",
        },
    )
    return services.invoice_issue(invoice=invoice, by=None, on=ON)


def partial_credit_note(place, person):
    invoice = several_rates(place, person)
    lines = {line.label: line for line in invoice.lines.all()}
    credit = services.credit_note_create(
        invoice=invoice,
        by=None,
        quantities={lines["Repas du midi"].pk: "2", lines["Formation professionnelle"].pk: "1"},
        reason="Repas non servis, formation annulée.",
    )
    return services.invoice_issue(invoice=credit, by=None, on=ON)


def total_credit_note(place, person):
    invoice = organisation(place, person)
    credit = services.credit_note_create(invoice=invoice, by=None)
    return services.invoice_issue(invoice=credit, by=None, on=ON)


def three_decimals(place, person):
    _vat_registered(place)
    invoice = _invoice(
        place,
        {"person": person},
        [
            ("Impression 3D (heures)", "1.125", "12.33", "20", "HUR"),  # 13.87125 -> 13.87
            ("Café", "3", "0.35", "5.5", "C62"),  # 1.05; 5.5 %: 0.05775 -> 0.06
        ],
    )
    return services.invoice_issue(invoice=invoice, by=None, on=ON)


CASES = [
    several_rates,
    franchise,
    organisation,
    partial_credit_note,
    total_credit_note,
    three_decimals,
]


def _summation(xml: bytes) -> dict[str, Decimal]:
    root = etree.fromstring(xml)
    return {
        bt: Decimal(root.xpath(SUMMATION + f"ram:{tag}/text()", namespaces=NS)[0])
        for bt, tag in (
            ("BT-106", "LineTotalAmount"),
            ("BT-109", "TaxBasisTotalAmount"),
            ("BT-110", "TaxTotalAmount"),
            ("BT-112", "GrandTotalAmount"),
            ("BT-115", "DuePayableAmount"),
        )
    }


def _text(pdf: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return text.replace("\u202f", " ").replace("\xa0", " ")


def _french(amount: Decimal) -> str:
    return format_amount(amount).replace("\u202f", " ")


@pytest.mark.parametrize("make", CASES, ids=[case.__name__ for case in CASES])
def test_the_xml_passes_the_xsd_and_the_en16931_schematron(place, person, make):
    invoice = make(place, person)
    xml = invoice_xml(invoice)

    assert xsd_errors(xml) == []
    assert fired_rules(xml) > 50  # the schematron did look at the document
    failures = schematron_failures(xml)
    assert failures == [], "\n".join(str(f) for f in failures)


@pytest.mark.parametrize("make", CASES, ids=[case.__name__ for case in CASES])
def test_the_xml_totals_are_the_stored_ones(place, person, make):
    invoice = make(place, person)
    root = etree.fromstring(invoice_xml(invoice))
    figures = _summation(invoice_xml(invoice))
    type_code = root.xpath("//rsm:ExchangedDocument/ram:TypeCode/text()", namespaces=NS)[0]

    # A credit note (381) shows as positive what is stored negative.
    sign = -1 if invoice.is_credit_note else 1
    assert type_code == ("381" if invoice.is_credit_note else "380")
    assert invoice.total_gross * sign > 0
    lines = list(invoice.lines.all())
    assert figures["BT-106"] == sign * sum(line.net_amount for line in lines)
    assert figures["BT-109"] == sign * invoice.total_net
    assert figures["BT-110"] == sign * invoice.total_vat
    assert figures["BT-112"] == sign * invoice.total_gross
    assert figures["BT-115"] == sign * invoice.total_gross
    line_amounts = root.xpath(
        "//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount/text()",
        namespaces=NS,
    )
    assert [Decimal(a) for a in line_amounts] == [sign * line.net_amount for line in lines]
    if invoice.is_credit_note:
        # BT-25: the credit note names the invoice it corrects.
        preceding = root.xpath(
            "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()", namespaces=NS
        )
        assert preceding == [invoice.corrects.number]


def test_rates_exemptions_and_identifiers_as_en16931_expects(place, person):
    invoice = several_rates(place, person)
    root = etree.fromstring(invoice_xml(invoice))
    header = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"
    breakdown = [
        (
            tax.findtext("ram:CategoryCode", namespaces=NS),
            tax.findtext("ram:RateApplicablePercent", namespaces=NS),
            tax.findtext("ram:BasisAmount", namespaces=NS),
            tax.findtext("ram:CalculatedAmount", namespaces=NS),
            tax.findtext("ram:ExemptionReason", namespaces=NS),
        )
        for tax in root.xpath(header, namespaces=NS)
    ]
    assert breakdown == [
        ("E", "0.00", "250.00", "0.00", "Exonération de TVA"),
        ("S", "5.50", "19.98", "1.10", None),
        ("S", "10.00", "37.50", "3.75", None),
        ("S", "20.00", "180.00", "36.00", None),
    ]
    seller = root.xpath("//ram:SellerTradeParty", namespaces=NS)[0]
    assert seller.findtext("ram:GlobalID[@schemeID='0009']", namespaces=NS) == "73282932000074"
    assert (
        seller.findtext("ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']", namespaces=NS)
        == "732829320"
    )
    assert (
        seller.findtext("ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']", namespaces=NS)
        == VAT_NUMBER
    )
    assert seller.findtext("ram:PostalTradeAddress/ram:CountryID", namespaces=NS) == "FR"
    means = root.xpath("//ram:SpecifiedTradeSettlementPaymentMeans", namespaces=NS)[0]
    assert means.findtext("ram:TypeCode", namespaces=NS) == "58"
    assert (
        means.findtext("ram:PayeePartyCreditorFinancialAccount/ram:IBANID", namespaces=NS) == IBAN
    )
    period = root.xpath(
        "//ram:ApplicableHeaderTradeSettlement/ram:BillingSpecifiedPeriod", namespaces=NS
    )[0]
    assert period.findtext("ram:StartDateTime/udt:DateTimeString", namespaces=NS) == "20261101"
    assert period.findtext("ram:EndDateTime/udt:DateTimeString", namespaces=NS) == "20261130"
    due = root.xpath(
        "//ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString/text()",
        namespaces=NS,
    )
    assert due == [f"{invoice.due_date:%Y%m%d}"]


def test_a_franchise_invoice_says_so_with_its_codes(place, person):
    invoice = franchise(place, person)
    root = etree.fromstring(invoice_xml(invoice))
    tax = root.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=NS)
    assert len(tax) == 1
    assert tax[0].findtext("ram:CategoryCode", namespaces=NS) == "E"
    assert tax[0].findtext("ram:ExemptionReason", namespaces=NS) == FRANCHISE_TEXT
    assert tax[0].findtext("ram:ExemptionReasonCode", namespaces=NS) == "VATEX-FR-FRANCHISE"
    notes = {
        note.findtext("ram:SubjectCode", namespaces=NS): note.findtext("ram:Content", namespaces=NS)
        for note in root.xpath("//rsm:ExchangedDocument/ram:IncludedNote", namespaces=NS)
    }
    assert notes["TXD"] == FRANCHISE_TEXT
    # No VAT number: the seller is known to the tax office by its SIREN (BR-E-02).
    assert root.xpath(
        "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='FC']/text()",
        namespaces=NS,
    ) == ["443061841"]


def test_a_forged_total_is_caught_by_the_schematron(place, person):
    invoice = several_rates(place, person)
    root = etree.fromstring(invoice_xml(invoice))
    grand_total = root.xpath(SUMMATION + "ram:GrandTotalAmount", namespaces=NS)[0]
    grand_total.text = str(invoice.total_gross + Decimal("1.00"))
    forged = etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    assert xsd_errors(forged) == []  # still well-formed and schema-valid…
    rules = {failure.rule for failure in schematron_failures(forged)}
    assert "BR-CO-15" in rules  # …but BT-112 is no longer BT-109 + BT-110


@pytest.mark.parametrize("make", CASES, ids=[case.__name__ for case in CASES])
def test_the_pdf_is_a_pdfa3_carrying_the_xml_and_the_legal_text(place, person, make):
    invoice = make(place, person)
    pdf = invoice_pdf(invoice)
    reader = PdfReader(io.BytesIO(pdf))

    assert reader.attachments["factur-x.xml"] == [invoice_xml(invoice)]
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data()
    assert b"<pdfaid:part>3</pdfaid:part>" in xmp
    assert b"<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    assert b"<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in xmp
    assert root["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"
    filespec = root["/AF"][0].get_object()
    assert filespec["/AFRelationship"] == "/Data"

    text = _text(pdf)
    assert invoice.number in text
    assert invoice.seller["siret"] in text
    assert _french(invoice.total_net) in text
    assert _french(invoice.total_gross) in text
    if invoice.seller["vat_franchise"]:
        assert FRANCHISE_TEXT in text
    else:
        assert _french(invoice.total_vat) in text
        assert invoice.seller["vat_number"] in text
        assert FRANCHISE_TEXT not in text
    if invoice.is_credit_note:
        assert f"Corrige la facture n° {invoice.corrects.number}" in text
    if invoice.buyer.get("siret"):
        assert invoice.buyer["siret"] in text and invoice.buyer["vat_number"] in text


def test_the_pdf_is_stored_once_and_served_unchanged(place, person):
    invoice = several_rates(place, person)
    first = invoice_pdf(invoice)
    stored = InvoiceDocument.objects.get(invoice=invoice)
    assert bytes(stored.pdf) == first
    assert stored.sha256 == hashlib.sha256(first).hexdigest()

    # The place changes its settings: the issued document does not.
    billing = services.settings_for(place)
    billing.legal_name = "Nouveau nom"
    billing.save()
    assert invoice_pdf(invoice) == first
    # A second rendering racing the first one gets the stored document, not its own.
    assert _store(invoice, b"%PDF-1.7 another rendering") == first
    assert InvoiceDocument.objects.filter(invoice=invoice).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_downloads_all_get_the_one_stored_document(place, person):
    invoice = several_rates(place, person)
    results: list[bytes] = []

    def download() -> None:
        results.append(invoice_pdf(invoice))

    outcomes = run_together([download] * 4)

    assert outcomes == {"ok": 4}
    stored = bytes(InvoiceDocument.objects.get(invoice=invoice).pdf)
    assert results == [stored] * 4


def test_a_long_invoice_numbers_its_pages_and_keeps_its_totals(place, person):
    _vat_registered(place)
    lines = [(f"Réservation n° {n}", "1", "10.00", "20", "HUR") for n in range(1, 61)]
    invoice = services.invoice_issue(
        invoice=_invoice(place, {"person": person}, lines), by=None, on=ON
    )
    reader = PdfReader(io.BytesIO(invoice_pdf(invoice)))
    pages = [" ".join(page.extract_text().split()) for page in reader.pages]

    assert len(pages) >= 2
    for n, text in enumerate(pages, start=1):
        assert f"Page {n} / {len(pages)}" in text
        assert "Désignation" in text  # the table header is repeated
    assert _french(Decimal("720.00")) in _text(invoice_pdf(invoice))
    assert "Réservation n° 60" in pages[-1]


def test_a_draft_has_no_invoice_pdf_but_a_marked_preview(place, person):
    draft = _invoice(place, {"person": person}, [("Journée", "2", "15.00", "20", "DAY")])

    with pytest.raises(Conflict) as refused:
        invoice_pdf(draft)
    assert "brouillon" in refused.value.message
    with pytest.raises(Conflict):
        invoice_xml(Invoice.objects.get(pk=draft.pk))

    preview = draft_preview_pdf(draft)
    text = _text(preview)
    assert "BROUILLON—sansvaleur" in "".join(text.split())  # the mark is drawn askew
    assert _french(Decimal("36.00")) in text
    assert PdfReader(io.BytesIO(preview)).attachments == {}
    assert not InvoiceDocument.objects.exists()
    issued = services.invoice_issue(invoice=draft, by=None, on=ON)
    with pytest.raises(Conflict):
        draft_preview_pdf(issued)
