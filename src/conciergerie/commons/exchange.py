"""Commons in and out of the instance: reading JSON and CSV files, writing both exports.

The format is documented in ``docs/commons-format.md``. The JSON file is an array of
objects carrying the keys of ``services.catalogue.FIELDS``. The CSV file has the same data,
one commons per line:

- encoding UTF-8, with or without BOM; separator ``;`` or ``,`` (a tab works too), detected
  on the first line; the first line names the columns, in any order;
- columns ``slug``, ``name``, ``summary``, ``description`` (Markdown, line breaks allowed in
  a quoted cell), ``url``, ``kind``, ``license``: the value as is;
- ``actions``, ``domains``, ``tags``: several values separated by `` | ``,
  e.g. ``gerer | documenter``;
- ``links``: parts separated by `` | ``, each ``label <https://…>``, ``label https://…``
  or a bare address, e.g. ``Documentation <https://doc.example.org> | Forum <https://…>``;
- ``contacts``: parts separated by `` | ``, each ``name (role) <e-mail or address>``; role and
  addresses are optional, and a contact with both an e-mail and a web address has two
  ``<…>``: ``Équipe Paheko (mainteneurs) <contact@paheko.cloud> <https://paheko.cloud>``;
- ``grid.<key>`` (``grid.adoption_time``, ``grid.complexity``…): one column per question of
  the qualification grid; an empty cell means "not known";
- unknown columns are ignored (and listed in the report); a cell the export protected from
  spreadsheets' formulas (``'=…``) is read back without its leading apostrophe.

Reading here never touches the database; writing reads the place's validated commons.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from conciergerie.commons.models import Commons, Domain
from conciergerie.commons.selectors.catalogue import grid_questions
from conciergerie.commons.services.catalogue import FIELDS, snapshot_of
from conciergerie.core.errors import InvalidInput
from conciergerie.core.models import Place

MAX_BYTES = 10 * 1024 * 1024
MAX_ITEMS = 5_000
SEPARATOR = " | "
LIST_COLUMNS = ("actions", "domains", "tags")
TEXT_COLUMNS = ("slug", "name", "summary", "description", "url", "kind", "license")
# The CSV's columns before the grid's, in the order the export writes them.
COLUMNS = [f for f in FIELDS if f != "grid"]
GRID_PREFIX = "grid."
DELIMITERS = (";", ",", "\t")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Field names as a volunteer reads them, for reports.
FIELD_LABELS = {
    "__all__": gettext_lazy("Commun"),
    "slug": gettext_lazy("Identifiant court"),
    "name": gettext_lazy("Nom"),
    "summary": gettext_lazy("Résumé"),
    "description": gettext_lazy("Description"),
    "url": gettext_lazy("Adresse du site"),
    "kind": gettext_lazy("Type"),
    "actions": gettext_lazy("Actions"),
    "domains": gettext_lazy("Domaines"),
    "tags": gettext_lazy("Mots-clés"),
    "license": gettext_lazy("Licence"),
    "links": gettext_lazy("Liens"),
    "contacts": gettext_lazy("Contacts"),
    "grid": gettext_lazy("Grille de qualification"),
}


def field_label(key: str, questions: dict[str, str] | None = None) -> str:
    """ "links.1.url" → "Liens n°2 (url)"; "grid.cost" → "Grille de qualification : Coût"
    (the question's label when `questions` {key: label} knows it)."""
    head, _sep, rest = key.partition(".")
    label = str(FIELD_LABELS.get(head, head))
    if not rest:
        return label
    if head == "grid":
        return f"{label} : {(questions or {}).get(rest, rest)}"
    number, _sep, sub = rest.partition(".")
    if number.isdecimal():
        label = _("%(field)s n°%(n)s") % {"field": label, "n": int(number) + 1}
        return f"{label} ({sub})" if sub else label
    return f"{label} ({rest})"


def file_error(message: str, key: str = "file") -> InvalidInput:
    return InvalidInput({key: [message]}, message)


def too_big_message() -> str:
    return _("Le fichier dépasse %(max)s Mo : découpez-le en plusieurs fichiers.") % {
        "max": MAX_BYTES // (1024 * 1024)
    }


def check_size(size: int, key: str = "file") -> None:
    if size > MAX_BYTES:
        raise file_error(too_big_message(), key)


def too_many_message() -> str:
    return _("Plus de %(max)s communs : découpez le fichier en plusieurs imports.") % {
        "max": f"{MAX_ITEMS:,}".replace(",", " ")
    }


def check_count(items: Any, key: str = "file") -> None:
    if isinstance(items, list) and len(items) > MAX_ITEMS:
        raise file_error(too_many_message(), key)


def _decode(content: bytes, key: str) -> str:
    check_size(len(content), key)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise file_error(
            _("Le fichier doit être encodé en UTF-8 (« CSV UTF-8 » dans votre tableur)."), key
        ) from None
    if "\x00" in text:
        raise file_error(_("Ce fichier n'est pas un fichier texte (caractères nuls)."), key)
    return text


# --- Reading JSON --------------------------------------------------------------------------------


def read_json(content: bytes, key: str = "file") -> Any:
    """The parsed JSON document (an array of commons is expected); InvalidInput otherwise."""
    text = _decode(content, key)
    if not text.strip():
        raise file_error(_("Le fichier est vide."), key)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise file_error(
            _("JSON invalide, ligne %(line)s, colonne %(col)s : %(error)s.")
            % {"line": exc.lineno, "col": exc.colno, "error": exc.msg},
            key,
        ) from None
    except RecursionError:  # [[[[… nested deeper than Python's stack
        raise file_error(
            _("JSON invalide : crochets ou accolades imbriqués trop profondément."), key
        ) from None
    except ValueError:  # a number with more than 4,300 digits
        raise file_error(_("JSON invalide : un nombre a beaucoup trop de chiffres."), key) from None
    if not isinstance(data, list):
        raise file_error(not_a_list_message(), key)
    check_count(data, key)
    return data


def not_a_list_message() -> str:
    return _("Un tableau JSON de communs est attendu : [ {…}, {…} ].")


# --- Reading CSV ---------------------------------------------------------------------------------


@dataclass
class CsvFile:
    items: list[dict[str, Any]]
    ignored: list[str] = field(default_factory=list)
    delimiter: str = ";"


def sniff_delimiter(header_line: str) -> str:
    """The separator used most on the header line (the format's keys hold none)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _cell(value: str) -> str:
    value = value.strip()
    # Undo the guard the export puts before formula-like text (see _guard).
    if value.startswith("'") and value[1:2] and value[1] in _FORMULA_START:
        value = value[1:]
    return value


def _parts(value: str) -> list[str]:
    return [p.strip() for p in value.split("|") if p.strip()]


_ANGLED = re.compile(r"\s*<([^<>]*)>\s*$")
_ROLE = re.compile(r"\s*\(([^()]*)\)\s*$")


def _is_address(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def parse_link(part: str) -> dict[str, str]:
    """ "Forum <https://…>", "Forum https://…" or "https://…" → {"label", "url"}."""
    match = _ANGLED.search(part)
    if match:
        return {"label": part[: match.start()].strip(), "url": match.group(1).strip()}
    label, _sep, last = part.rpartition(" ")
    if _is_address(last):
        return {"label": label.strip(), "url": last}
    if _is_address(part):
        return {"label": "", "url": part}
    return {"label": part, "url": ""}


def parse_contact(part: str) -> dict[str, str]:
    """ "Name (role) <email> <https://…>" → {"name", "role", "url", "email"}."""
    contact = {"name": "", "role": "", "url": "", "email": ""}
    rest = part.strip()
    while match := _ANGLED.search(rest):
        address = match.group(1).strip()
        if address.lower().startswith("mailto:"):
            address = address[7:]
        if "@" in address and not _is_address(address):
            contact["email"] = contact["email"] or address
        else:
            contact["url"] = contact["url"] or address
        rest = rest[: match.start()]
    match = _ROLE.search(rest)
    if match:
        contact["role"] = match.group(1).strip()
        rest = rest[: match.start()]
    contact["name"] = rest.strip()
    return contact


def row_to_item(row: dict[str, str]) -> dict[str, Any]:
    """One CSV line (column → cell) as an item of the import format."""
    item: dict[str, Any] = {}
    grid: dict[str, str] = {}
    for column, raw in row.items():
        value = _cell(raw or "")
        if column.startswith(GRID_PREFIX):
            if value:
                grid[column[len(GRID_PREFIX) :]] = value
        elif column in LIST_COLUMNS:
            item[column] = _parts(value)
        elif column == "links":
            item[column] = [parse_link(p) for p in _parts(value)]
        elif column == "contacts":
            item[column] = [parse_contact(p) for p in _parts(value)]
        elif column in TEXT_COLUMNS:
            item[column] = value
    if grid:
        item["grid"] = grid
    return item


def _known(column: str) -> bool:
    return column in COLUMNS or (column.startswith(GRID_PREFIX) and len(column) > len(GRID_PREFIX))


def read_csv(content: bytes, key: str = "file") -> CsvFile:
    """The items of a CSV file, in the same shape as the JSON format's; InvalidInput for a
    file that cannot be read as a whole."""
    text = _decode(content, key)
    if not text.strip():
        raise file_error(_("Le fichier est vide."), key)
    delimiter = sniff_delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if "name" not in header:
            raise file_error(
                _(
                    "La première ligne doit donner les noms des colonnes : %(columns)s, "
                    "grid.<question>… Colonnes trouvées : %(found)s."
                )
                % {
                    "columns": ", ".join(COLUMNS),
                    "found": ", ".join(f"« {h} »" for h in header if h) or "—",
                },
                key,
            )
        used = {i: h for i, h in enumerate(header) if _known(h)}
        ignored = [h for i, h in enumerate(header) if h and i not in used]
        items: list[dict[str, Any]] = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue  # a blank line in a spreadsheet is not a commons
            if len(items) >= MAX_ITEMS:
                raise file_error(too_many_message(), key)
            row = {h: (cells[i] if i < len(cells) else "") for i, h in used.items()}
            items.append(row_to_item(row))
    except csv.Error as exc:
        raise file_error(
            _("Fichier CSV illisible près de la ligne %(line)s (%(error)s).")
            % {"line": reader.line_num, "error": exc},
            key,
        ) from None
    return CsvFile(items=items, ignored=ignored, delimiter=delimiter)


def read_file(content: bytes, filename: str = "", key: str = "file") -> CsvFile:
    """A JSON or CSV file, told apart by its name, or else by its first character."""
    name = filename.lower()
    if name.endswith(".csv"):
        return read_csv(content, key)
    if name.endswith(".json"):
        return CsvFile(items=read_json(content, key), delimiter="")
    start = content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start in (b"[", b"{"):
        return CsvFile(items=read_json(content, key), delimiter="")
    return read_csv(content, key)


# --- Writing -------------------------------------------------------------------------------------


def export_commons(*, place: Place) -> list[Commons]:
    """The place's validated commons (open data), by name, their domains in one query."""
    return list(
        Commons.objects.filter(place=place, status=Commons.Status.VALIDATED)
        .prefetch_related(Prefetch("domains", queryset=Domain.objects.order_by("name")))
        .order_by("name", "id")
    )


def export_items(commons: Iterable[Commons]) -> list[dict[str, Any]]:
    """Commons in the import format: importing them elsewhere gives the same catalogue."""
    return [snapshot_of(c, [d.name for d in c.domains.all()]) for c in commons]


def write_json(items: list[dict[str, Any]]) -> str:
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"


def format_link(link: dict[str, str]) -> str:
    label, url = link.get("label", ""), link.get("url", "")
    if label and url:
        return f"{label} <{url}>"
    return url or label


def format_contact(contact: dict[str, str]) -> str:
    text = contact.get("name", "")
    if contact.get("role"):
        text += f" ({contact['role']})"
    elif text.endswith(")"):
        text += " ()"  # so that "Réseau (Sud)" is not read back as a role
    for key in ("email", "url"):
        if contact.get(key):
            text += f" <{contact[key]}>"
    return text.strip()


def item_to_row(item: dict[str, Any], grid_keys: list[str]) -> list[str]:
    row = []
    for column in COLUMNS:
        value = item.get(column)
        if column in LIST_COLUMNS:
            row.append(SEPARATOR.join(str(v) for v in value or []))
        elif column == "links":
            row.append(SEPARATOR.join(format_link(v) for v in value or []))
        elif column == "contacts":
            row.append(SEPARATOR.join(format_contact(v) for v in value or []))
        else:
            row.append("" if value is None else str(value))
    grid = item.get("grid") or {}
    row.extend("" if grid.get(k) is None else str(grid[k]) for k in grid_keys)
    return row


def _guard(value: str) -> str:
    """Keep a spreadsheet from running a cell as a formula (undone on import)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def grid_columns(*, place: Place, items: list[dict[str, Any]]) -> list[str]:
    """The place's grid questions, then any other key the items carry."""
    keys = [q.key for q in grid_questions(place=place)]
    for item in items:
        keys.extend(k for k in (item.get("grid") or {}) if k not in keys)
    return keys


def write_csv(items: list[dict[str, Any]], grid_keys: list[str]) -> str:
    """Semicolons and a BOM, so that Excel (French locale) opens it as it is."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([*COLUMNS, *(GRID_PREFIX + k for k in grid_keys)])
    for item in items:
        writer.writerow([_guard(v) for v in item_to_row(item, grid_keys)])
    return "\ufeff" + out.getvalue()
