"""The accounting journal of a period as a CSV a spreadsheet opens as it is.

The same entries as the FEC (`billing/fec.py`: accounts, journals, lettering), one line per
entry line, in date order, with the columns:

- ``journal``: VT (ventes), BQ (banque) or CA (caisse);
- ``date``: the entry's date (``jj/mm/aaaa``);
- ``écriture``: the entry's number in the period (its lines balance);
- ``pièce``: the invoice or credit note number, ``REG-…`` for a payment, ``FIN-…`` for a
  grant or donation;
- ``compte`` and ``intitulé du compte``;
- ``compte client`` and ``client``: the customer's auxiliary account, on 411 lines;
- ``libellé``;
- ``débit`` and ``crédit``: euros with a decimal comma (``12,50``);
- ``lettrage``: the letter shared by an invoice and the payments that settled it.

Separator ``;`` and UTF-8 with a BOM, like the other exports; a cell a spreadsheet would
run as a formula is written with a leading apostrophe (the people export's guard).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from conciergerie.billing.fec import amount_text, entries
from conciergerie.community.csv_io import _guard as guard_cell
from conciergerie.core.models import Place

CSV_COLUMNS = (
    "journal",
    "date",
    "écriture",
    "pièce",
    "compte",
    "intitulé du compte",
    "compte client",
    "client",
    "libellé",
    "débit",
    "crédit",
    "lettrage",
)


def journal_csv(place: Place, start: dt.date, end: dt.date) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries(place, start, end):
        for row in entry.rows:
            cells = [
                entry.journal,
                entry.date.strftime("%d/%m/%Y"),
                str(entry.number),
                entry.piece,
                row.account,
                row.account_label,
                row.aux,
                row.aux_label,
                entry.label,
                amount_text(row.debit),
                amount_text(row.credit),
                row.letter,
            ]
            writer.writerow([guard_cell(cell) for cell in cells])
    # The BOM makes Excel (French locale) read UTF-8 instead of Windows-1252.
    return "\ufeff" + out.getvalue()
