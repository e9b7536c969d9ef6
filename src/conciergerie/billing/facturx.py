"""The Factur-X XML of an issued invoice or credit note: UN/CEFACT CII, profile EN 16931.

The XML is built by the `factur-x` package from a data dict keyed by EN 16931 business terms
(BT-1, BG-4, …); this module only maps the stored invoice onto those terms. Every amount is
read from the invoice and its lines as stored at issue (rounded once by `billing.amounts`):
nothing is recomputed here, so the XML, the PDF, the JSON and the FEC agree to the cent, and
the EN 16931 schematron checks that the stored figures add up.

Credit notes are TypeCode 381. Their stored lines carry negative quantities and amounts, but
in a 381 document the type code already says "credit": EN 16931 expects the quantities and
amounts of a credit note as positive figures, so the XML shows their magnitudes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from lxml import etree, objectify

from conciergerie.billing.amounts import FRANCHISE_TEXT, totals, vat_terms
from conciergerie.billing.models import Invoice, InvoiceLine
from conciergerie.core.errors import Conflict

LEVEL = "en16931"
GUIDELINE = "urn:cen.eu:en16931:2017"  # BT-24, set by factur-x from LEVEL
INVOICE_TYPE = "380"  # UNTDID 1001: commercial invoice
CREDIT_NOTE_TYPE = "381"  # UNTDID 1001: credit note
# Schemes of the ISO 6523 ICD list: a SIREN (9 digits) is a legal registration identifier
# under 0002; a SIRET (SIREN + establishment, 14 digits) is an identifier under 0009.
SCHEME_SIREN = "0002"
SCHEME_SIRET = "0009"
# UNTDID 4461 payment means: 58 SEPA credit transfer (needs the payee's IBAN, BR-61); without
# an IBAN the place is paid at its counter (cash, cheque, card): ZZZ, "mutually defined".
MEANS_SEPA_TRANSFER = "58"
MEANS_OTHER = "ZZZ"
# UNTDID 4451 subject codes of the notes (BT-21). TXD "tax declaration" carries the VAT
# franchise mention, as the French e-invoicing rules expect; AAB "terms of payments" the
# place's late-payment and discount mentions; AAI "general information" the invoice's note.
NOTE_TAX = "TXD"
NOTE_PAYMENT_TERMS = "AAB"
NOTE_GENERAL = "AAI"


def _amount(value: Decimal, sign: int) -> str:
    return f"{value * sign:.2f}"


def _quantity(value: Decimal, sign: int) -> str:
    # Up to three decimals are stored; write them without trailing zeros (2, 1.5, 0.125).
    text = f"{value * sign:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _siren(siret: str) -> str:
    return siret[:9] if len(siret) == 14 and siret.isdigit() else ""


def _party(data: dict[str, Any], *, seller: bool) -> dict[str, Any]:
    siret = (data.get("siret") or "").replace(" ", "")
    vat_number = (data.get("vat_number") or "").replace(" ", "").upper()
    party: dict[str, Any] = {
        "name": data.get("name") or "",
        # BR-08/BR-10: both parties have a postal address with a country code.
        "country_code": (data.get("country") or "FR").upper(),
    }
    for key, field in (("addr_l1", "street"), ("postcode", "postal_code"), ("city", "city")):
        if data.get(field):
            party[key] = data[field]
    if siret:
        party["identifiers"] = {SCHEME_SIRET: siret}  # BT-29 / BT-46
        if _siren(siret):
            party["legal_identifier"] = _siren(siret)  # BT-30 / BT-47
            party["legal_identifier_schemeid"] = SCHEME_SIREN
    if vat_number:
        party["vat_identifier"] = vat_number  # BT-31 / BT-48
    elif seller and data.get("vat_franchise") and _siren(siret):
        # A place under the franchise has often no VAT number, yet its exempt lines need a
        # tax identifier of the seller (BR-E-02): its SIREN is how the tax office knows it.
        party["tax_identifier"] = _siren(siret)  # BT-32
    if data.get("email"):
        # BT-34 / BT-49: the electronic address, scheme EM (e-mail).
        party["einvoicing_addr"] = data["email"]
        party["einvoicing_addr_schemeid"] = "EM"
    if seller and (data.get("email") or data.get("phone")):
        party["contacts"] = [
            {
                key: value
                for key, value in (("email", data.get("email")), ("phone", data.get("phone")))
                if value
            }
        ]
    return party


def _notes(invoice: Invoice) -> list[dict[str, str]]:
    notes: list[dict[str, str]] = []
    if invoice.note.strip():
        notes.append({"BT-21": NOTE_GENERAL, "BT-22": invoice.note.strip()})
    if invoice.seller.get("vat_franchise"):
        notes.append({"BT-21": NOTE_TAX, "BT-22": FRANCHISE_TEXT})
    mentions = (invoice.seller.get("legal_mentions") or "").strip()
    if mentions:
        notes.append({"BT-21": NOTE_PAYMENT_TERMS, "BT-22": mentions})
    return notes


def payment_terms_text(invoice: Invoice) -> str:
    """BT-20, also printed on the PDF."""
    due: dt.date | None = invoice.due_date
    if due is None or invoice.issue_date is None:
        return ""
    when = due.strftime("%d/%m/%Y")
    if invoice.is_credit_note:
        return _("Avoir remboursé ou déduit d'une prochaine facture, à compter du %(date)s.") % {
            "date": when
        }
    days = (due - invoice.issue_date).days
    if days <= 0:
        return _("Paiement à réception, le %(date)s.") % {"date": when}
    return _("Paiement à %(days)s jours, au plus tard le %(date)s.") % {"days": days, "date": when}


def _line(position: int, line: InvoiceLine, sign: int) -> dict[str, Any]:
    terms = vat_terms(line.vat)
    data: dict[str, Any] = {
        "BT-126": str(position),
        "BT-153": line.label,
        "BT-129": _quantity(line.quantity, sign),
        "BT-130": line.unit,
        "BT-146": f"{line.unit_price:.2f}",  # a price is never negative
        "BT-131": _amount(line.net_amount, sign),
        "BT-151": terms.category,
        "BT-152": f"{terms.rate:.2f}",
    }
    if line.period_start:
        data["BT-134"] = line.period_start
    if line.period_end:
        data["BT-135"] = line.period_end
    return data


def invoice_data(invoice: Invoice) -> dict[str, Any]:
    """The EN 16931 data dict of an issued invoice (business term → value)."""
    if not invoice.is_issued:
        raise Conflict(_("Un brouillon n'a pas de facture Factur-X : émettez-le d'abord."))
    credit = invoice.is_credit_note
    # 381: magnitudes (see the module docstring); 380: as stored (never negative).
    sign = -1 if credit else 1
    lines = list(invoice.lines.all())
    groups = totals(lines).groups
    seller = invoice.seller
    data: dict[str, Any] = {
        "BT-1": invoice.number,
        "BT-2": invoice.issue_date,
        "BT-3": CREDIT_NOTE_TYPE if credit else INVOICE_TYPE,
        "BT-5": "EUR",
        "BT-24": GUIDELINE,
        "BG-1": _notes(invoice),
        "BG-4": _party(seller, seller=True),
        "BG-7": _party(invoice.buyer, seller=False),
        "BG-23": [
            {
                "BT-116": _amount(group.base, sign),
                "BT-117": _amount(group.amount, sign),
                "BT-118": group.terms.category,
                "BT-119": f"{group.terms.rate:.2f}",
                **(
                    {"BT-120": group.terms.exemption_reason} if group.terms.exemption_reason else {}
                ),
                **({"BT-121": group.terms.exemption_code} if group.terms.exemption_code else {}),
            }
            for group in groups
        ],
        "BG-25": [_line(n, line, sign) for n, line in enumerate(lines, start=1)],
        "BT-106": _amount(sum((line.net_amount for line in lines), Decimal("0")), sign),
        "BT-109": _amount(invoice.total_net, sign),
        "BT-110": _amount(invoice.total_vat, sign),
        "BT-112": _amount(invoice.total_gross, sign),
        # Nothing is deducted as prepaid (BT-113): what is due is the gross total.
        "BT-115": _amount(invoice.total_gross, sign),
    }
    if invoice.due_date:
        data["BT-9"] = invoice.due_date
    terms = payment_terms_text(invoice)
    if terms:
        data["BT-20"] = terms
    if invoice.period_start:
        data["BT-73"] = invoice.period_start
    if invoice.period_end:
        data["BT-74"] = invoice.period_end
    if not credit:
        iban = (seller.get("iban") or "").replace(" ", "").upper()
        if iban:
            data["BT-81"] = MEANS_SEPA_TRANSFER
            data["BT-82"] = _("Virement SEPA")
            data["BT-84"] = iban
            if seller.get("name"):
                data["BT-85"] = seller["name"]
            if seller.get("bic"):
                data["BT-86"] = seller["bic"].replace(" ", "").upper()
            data["BT-83"] = invoice.number  # remittance information: the reference to quote
        else:
            data["BT-81"] = MEANS_OTHER
            data["BT-82"] = _("Espèces, chèque ou carte, à l'accueil du lieu")
    if invoice.corrects is not None:
        data["BG-3"] = [
            {"BT-25": invoice.corrects.number, "BT-26": invoice.corrects.issue_date}
            if invoice.corrects.issue_date
            else {"BT-25": invoice.corrects.number}
        ]
    return data


def invoice_xml(invoice: Invoice) -> bytes:
    """The Factur-X (CII, EN 16931) XML of an issued invoice or credit note, UTF-8."""
    # Imported here: the package loads pypdf and requests (~0.3 s), worth it only for a document.
    from facturx import generate_cii_xml

    # Checks are left to the callers: the PDF embedding checks the XSD, the tests run the
    # schematron (which factur-x would otherwise send to an HTTP Saxon server). French
    # whatever the reader's language: the texts belong to a French legal document.
    with translation.override("fr"):
        data = invoice_data(invoice)
    xml = generate_cii_xml(data, level=LEVEL, check_xsd=False, check_schematron=False)
    # factur-x builds with lxml.objectify, which marks an element without children as
    # xsi:nil (ApplicableHeaderTradeDelivery when there is no delivery information), and the
    # XSD refuses a nil there: drop the mark, the empty element is what the schema expects.
    root = etree.fromstring(xml)
    objectify.deannotate(root, pytype=True, xsi=True, xsi_nil=True, cleanup_namespaces=True)
    cleaned: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return cleaned
