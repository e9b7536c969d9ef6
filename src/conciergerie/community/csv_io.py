"""Reading and writing the people CSV: parsing and validation only, no database access.

The file format, documented on the import page:
- one line per person, the first line names the columns (see COLUMNS for accepted names);
- separator ``;``, ``,`` or tab (detected), encoding UTF-8 (with or without BOM) or Windows-1252;
- tags (Compétences, Besoins…) are separated by commas or semicolons inside the cell, like the
  profile form; several organisations are separated by semicolons (a name may hold a comma);
- dates jj/mm/aaaa or aaaa-mm-jj, amounts "20", "20,00" or "20.00 €";
- an empty cell changes nothing on an existing person.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from conciergerie.community.forms import split_labels
from conciergerie.community.models import Facet, Membership, Person
from conciergerie.core.text import fold

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 20_000
DELIMITERS = (";", "\t", ",")  # in order of preference when a header line is ambiguous


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # the name the export and the example file write
    aliases: tuple[str, ...]  # accepted names, best first when a file has several of them
    max_length: int = 0


def _key(name: str) -> str:
    """'E-mail', 'email', 'Courriel ' and 'Montant (€)' compare on letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", fold(name))


# The headers are part of the file format, not of the interface: they stay French whatever
# the language of the page, so that a file exported today re-imports tomorrow.
COLUMNS: tuple[Column, ...] = (
    Column(
        "first_name",
        "Prénom",
        (
            "prénom",
            "first_name",
            "first name",
            "given name",
            "prénom adhérent",
            "prénom de l'adhérent",
            "prénom participant",
            "prénom bénéficiaire",
            "prénom payeur",
        ),
        100,
    ),
    Column(
        "last_name",
        "Nom",
        (
            "nom",
            "last_name",
            "last name",
            "nom de famille",
            "surname",
            "family name",
            "nom adhérent",
            "nom de l'adhérent",
            "nom participant",
            "nom bénéficiaire",
            "nom payeur",
        ),
        100,
    ),
    Column(
        "email",
        "E-mail",
        (
            "email",
            "courriel",
            "mail",
            "adresse e-mail",
            "adresse mail",
            "adresse courriel",
            "email adhérent",
            "email de l'adhérent",
            "email participant",
            "email bénéficiaire",
            "email payeur",
            "courriel payeur",
        ),
        254,
    ),
    Column(
        "phone",
        "Téléphone",
        (
            "téléphone",
            "tél",
            "phone",
            "portable",
            "mobile",
            "numéro de téléphone",
            "phone number",
            "téléphone adhérent",
            "téléphone payeur",
        ),
        30,
    ),
    Column("kind", "Statut", ("statut", "kind", "type de personne", "person type")),
    Column(
        "organisations",
        "Organisation",
        (
            "organisation",
            "organisations",
            "organization",
            "organizations",
            "structure",
            "raison sociale",
            "société",
            "entreprise",
            "company",
        ),
        200,
    ),
    Column("bio", "Présentation", ("présentation", "bio", "biographie", "description", "about")),
    Column("skills", "Compétences", ("compétences", "compétence", "skills", "savoir-faire")),
    Column("needs", "Besoins", ("besoins", "besoin", "needs")),
    Column(
        "interests",
        "Centres d'intérêt",
        ("centres d'intérêt", "centre d'intérêt", "intérêts", "interests"),
    ),
    Column(
        "lendables",
        "Peut prêter",
        ("peut prêter", "ce que je peux prêter", "objets à prêter", "lendables", "can lend"),
    ),
    Column("skills_text", "Compétences (texte libre)", ("compétences (texte libre)",)),
    Column("needs_text", "Besoins (texte libre)", ("besoins (texte libre)",)),
    Column(
        "interests_text", "Centres d'intérêt (texte libre)", ("centres d'intérêt (texte libre)",)
    ),
    Column("lendables_text", "Peut prêter (texte libre)", ("peut prêter (texte libre)",)),
    Column(
        "start",
        "Adhésion début",
        (
            "adhésion début",
            "début adhésion",
            "date d'adhésion",
            "date adhésion",
            "date de début",
            "début",
            "membership start",
            "start date",
            "start",
            "date",
            "date de la commande",
            "date du paiement",
            "date paiement",
        ),
    ),
    Column(
        "end",
        "Adhésion fin",
        (
            "adhésion fin",
            "fin adhésion",
            "date de fin",
            "fin",
            "membership end",
            "end date",
            "end",
            "date d'expiration",
            "expiration",
            "valable jusqu'au",
        ),
    ),
    Column(
        "fee",
        "Cotisation",
        (
            "cotisation",
            "montant",
            "montant adhésion",
            "montant de la cotisation",
            "montant tarif",
            "fee",
            "amount",
            "prix",
        ),
    ),
    Column(
        "status",
        "État adhésion",
        (
            "état adhésion",
            "état de l'adhésion",
            "état",
            "membership status",
            "statut de la commande",
            "statut du paiement",
            "état du paiement",
            "payment status",
        ),
    ),
)
COLUMN = {c.key: c for c in COLUMNS}
REQUIRED = ("first_name", "email")
TAG_COLUMNS = {
    "skills": Facet.SKILL,
    "needs": Facet.NEED,
    "interests": Facet.INTEREST,
    "lendables": Facet.LENDABLE,
}
TEXT_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "bio",
    "skills_text",
    "needs_text",
    "interests_text",
    "lendables_text",
)
MEMBERSHIP_KEYS = ("start", "end", "fee", "status")

# normalised name → (column key, rank); tests check that no name serves two columns
_ALIAS_RANK: dict[str, tuple[str, int]] = {}
for _column in COLUMNS:
    for _rank, _alias in enumerate(_column.aliases):
        _ALIAS_RANK.setdefault(_key(_alias), (_column.key, _rank))

KIND_VALUES = {
    **dict.fromkeys(["membre", "member", "adherent", "adherente"], Person.Kind.MEMBER),
    **dict.fromkeys(["visiteur", "visiteuse", "visiteureuse", "visitor"], Person.Kind.VISITOR),
    **dict.fromkeys(["benevole", "volunteer"], Person.Kind.VOLUNTEER),
}
# Words a payment platform puts in its own "Statut" column: worth a precise hint.
_PAYMENT_WORDS = {"valide", "validee", "paye", "payee", "regle", "reglee", "rembourse", "annule"}
STATUS_VALUES = {
    **dict.fromkeys(
        ["reglee", "regle", "payee", "paye", "paid", "valide", "validee", "acquittee"],
        Membership.Status.PAID,
    ),
    **dict.fromkeys(
        [
            "enattente",
            "enattentedepaiement",
            "pending",
            "aregler",
            "nonreglee",
            "nonpayee",
            "impayee",
        ],
        Membership.Status.PENDING,
    ),
    **dict.fromkeys(
        ["annulee", "annule", "cancelled", "canceled", "rembourse", "remboursee", "refunded"],
        Membership.Status.CANCELLED,
    ),
}
KIND_EXPORT: dict[str, str] = {
    Person.Kind.MEMBER: "membre",
    Person.Kind.VISITOR: "visiteur",
    Person.Kind.VOLUNTEER: "bénévole",
}
STATUS_EXPORT: dict[str, str] = {
    Membership.Status.PAID: "réglée",
    Membership.Status.PENDING: "en attente",
    Membership.Status.CANCELLED: "annulée",
}

_DATE_FR = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]\d{1,2}[:h]\d{2}(?::\d{2})?)?")
_DATE_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_AMOUNT = re.compile(r"\d+(?:\.\d{1,2})?")
_NUMBER_LIKE = re.compile(r"[+-]?[\d\s().-]*\d[\d\s().-]*")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class CsvFileError(Exception):
    """The file as a whole cannot be read: nothing to preview."""


@dataclass
class Row:
    line: int  # the spreadsheet's row number: the header is line 1
    values: dict[str, Any] = field(default_factory=dict)  # only the cells that are filled
    errors: list[str] = field(default_factory=list)

    @property
    def email(self) -> str:
        return str(self.values.get("email", ""))

    @property
    def name(self) -> str:
        return f"{self.values.get('first_name', '')} {self.values.get('last_name', '')}".strip()


@dataclass
class ParsedFile:
    rows: list[Row]
    columns: dict[str, str]  # key → the header as written in the file
    ignored: list[str]
    encoding: str = "utf-8"
    delimiter: str = ";"

    @property
    def errors(self) -> list[tuple[int, str]]:
        return [(row.line, message) for row in self.rows for message in row.errors]


# --- Reading ----------------------------------------------------------------------------------


def decode(content: bytes) -> tuple[str, str]:
    """The text and the encoding's name; UTF-8 first, then what Excel writes in France."""
    if len(content) > MAX_BYTES:
        raise CsvFileError(
            _("Le fichier dépasse %(max)s Mo : découpez-le en plusieurs fichiers.")
            % {"max": MAX_BYTES // (1024 * 1024)}
        )
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Texte Unicode"
        candidates = ["utf-16"]
    elif content.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    else:
        candidates = ["utf-8", "cp1252"]
    for encoding in candidates:
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise CsvFileError(
            _(
                "Encodage du fichier non reconnu : enregistrez-le au format "
                "« CSV UTF-8 » depuis votre tableur."
            )
        )
    encoding = {"utf-8-sig": "utf-8", "cp1252": "windows-1252"}.get(encoding, encoding)
    if "\x00" in text:
        raise CsvFileError(
            _(
                "Ce fichier ne ressemble pas à un CSV (caractères nuls) : enregistrez-le au "
                "format « CSV UTF-8 » depuis votre tableur."
            )
        )
    return text, encoding


def sniff_delimiter(text: str) -> str:
    """The separator used most on the header line (names seldom hold one)."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first one on ties
    return best if counts[best] else ";"


def parse_people_csv(content: bytes) -> ParsedFile:
    text, encoding = decode(content)
    parsed = read_people(text)
    parsed.encoding = encoding
    return parsed


def read_people(text: str) -> ParsedFile:
    """Every line checked on its own and against the earlier ones; raises CsvFileError."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise CsvFileError(_("Le fichier est vide."))
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, [])
        columns, ignored, positions = _match_header(header)
        rows: list[Row] = []
        seen_emails: dict[str, int] = {}
        unnamed_with_data: set[int] = set()
        for line, cells in enumerate(reader, start=2):
            if line - 1 > MAX_ROWS:
                raise CsvFileError(
                    _(
                        "Le fichier contient plus de %(max)s lignes : découpez-le en "
                        "plusieurs fichiers."
                    )
                    % {"max": f"{MAX_ROWS:,}".replace(",", " ")}
                )
            if not any(c.strip() for c in cells):
                continue  # a blank line in a spreadsheet is not a person
            for i, cell in enumerate(cells[: len(header)]):
                if cell.strip() and not header[i].strip():
                    unnamed_with_data.add(i)
            row = _read_row(line, cells, header, positions, delimiter)
            if row.email:
                first = seen_emails.setdefault(row.email, line)
                if first != line:
                    row.errors.append(
                        _(
                            "L'e-mail %(email)s figure déjà à la ligne %(line)s : une personne "
                            "ne peut apparaître qu'une fois."
                        )
                        % {"email": row.email, "line": first}
                    )
            rows.append(row)
    except csv.Error as exc:
        raise CsvFileError(
            _("Fichier CSV illisible près de la ligne %(line)s (%(error)s).")
            % {"line": reader.line_num, "error": exc}
        )
    for i in sorted(unnamed_with_data):
        ignored.append(_("colonne n°%(n)s (sans titre)") % {"n": i + 1})
    return ParsedFile(rows=rows, columns=columns, ignored=ignored, delimiter=delimiter)


def _match_header(header: list[str]) -> tuple[dict[str, str], list[str], dict[str, int]]:
    if not any(h.strip() for h in header):
        raise CsvFileError(
            _("La première ligne doit donner les noms des colonnes (Prénom, Nom, E-mail…).")
        )
    best: dict[str, tuple[int, int]] = {}  # key → (alias rank, position)
    ignored: list[str] = []
    for position, name in enumerate(header):
        found = _ALIAS_RANK.get(_key(name))
        if found is None:
            if name.strip():
                ignored.append(name.strip())
            continue
        key, rank = found
        if key in best and best[key][0] <= rank:
            ignored.append(name.strip())
            continue
        if key in best:
            ignored.append(header[best[key][1]].strip())
        best[key] = (rank, position)
    missing = [k for k in REQUIRED if k not in best]
    if missing:
        raise CsvFileError(
            _("Colonne obligatoire absente : %(columns)s. Colonnes trouvées : %(found)s.")
            % {
                "columns": ", ".join(
                    _("« %(header)s » (ou %(aliases)s…)")
                    % {"header": COLUMN[k].header, "aliases": ", ".join(COLUMN[k].aliases[1:4])}
                    for k in missing
                ),
                "found": ", ".join(f"« {h.strip()} »" for h in header if h.strip()),
            }
        )
    positions = {key: position for key, (_rank, position) in best.items()}
    columns = {key: header[position].strip() for key, position in positions.items()}
    return columns, ignored, positions


def _cell(value: str) -> str:
    value = value.strip()
    # Undo the guard the export puts before formula-like text (see _guard).
    if value.startswith("'") and value[1:2] and value[1] in _FORMULA_START:
        value = value[1:]
    return value


def _read_row(
    line: int, cells: list[str], header: list[str], positions: dict[str, int], delimiter: str
) -> Row:
    row = Row(line=line)
    extra = [c for c in cells[len(header) :] if c.strip()]
    if extra:
        row.errors.append(
            _(
                "La ligne a %(found)s cellules pour %(expected)s colonnes : une valeur "
                "contient-elle le séparateur « %(sep)s » sans guillemets ?"
            )
            % {
                "found": len(cells),
                "expected": len(header),
                "sep": _("tabulation") if delimiter == "\t" else delimiter,
            }
        )
    raw = {key: _cell(cells[pos]) if pos < len(cells) else "" for key, pos in positions.items()}
    header_of = {key: header[pos].strip() for key, pos in positions.items()}

    def error(key: str, message: str, **params: Any) -> None:
        row.errors.append(f"« {header_of.get(key, COLUMN[key].header)} » : " + message % params)

    for key in TEXT_FIELDS:
        value = raw.get(key, "")
        if not value:
            continue
        limit = COLUMN[key].max_length
        if limit and len(value) > limit:
            error(key, _("trop long (%(max)s caractères au plus)."), max=limit)
        else:
            row.values[key] = value
    if not raw.get("first_name"):
        row.errors.append(_("Prénom manquant."))

    email = raw.get("email", "").lower()
    if not email:
        row.errors.append(
            _("E-mail manquant : il sert à reconnaître la personne lors d'un prochain import.")
        )
    else:
        try:
            validate_email(email)
        except ValidationError:
            error("email", _("e-mail invalide « %(value)s »."), value=raw["email"])
        else:
            if len(email) > COLUMN["email"].max_length:
                error("email", _("trop long (%(max)s caractères au plus)."), max=254)
            else:
                row.values["email"] = email

    if raw.get("kind"):
        kind = KIND_VALUES.get(_key(raw["kind"]))
        if kind is not None:
            row.values["kind"] = kind
        elif _key(raw["kind"]) in _PAYMENT_WORDS:
            error(
                "kind",
                _(
                    "« %(value)s » ressemble à un état de paiement : renommez cette colonne "
                    "« État adhésion »."
                ),
                value=raw["kind"],
            )
        else:
            error(
                "kind",
                _("statut inconnu « %(value)s » (membre, visiteur ou bénévole)."),
                value=raw["kind"],
            )

    for key, facet in TAG_COLUMNS.items():
        if not raw.get(key):
            continue
        labels = split_labels(raw[key])
        too_long = [label for label in labels if len(" ".join(label.split())) > 80]
        if too_long:
            error(
                key, _("mot-clé trop long (80 caractères au plus) : « %(tag)s »."), tag=too_long[0]
            )
        else:
            row.values.setdefault("tags", {})[facet] = labels

    if raw.get("organisations"):
        names = list(dict.fromkeys(n.strip() for n in raw["organisations"].split(";") if n.strip()))
        too_long = [n for n in names if len(n) > 200]
        if too_long:
            error("organisations", _("nom d'organisation trop long (200 caractères au plus)."))
        else:
            row.values["organisations"] = names

    _read_membership(row, raw, error)
    return row


def _read_membership(row: Row, raw: dict[str, str], error: Any) -> None:
    if not any(raw.get(k) for k in MEMBERSHIP_KEYS):
        return
    membership: dict[str, Any] = {}
    ok = True
    for key in ("start", "end"):
        if raw.get(key):
            try:
                membership[key] = parse_date(raw[key])
            except ValueError:
                ok = False
                error(
                    key,
                    _("date invalide « %(value)s » (attendu jj/mm/aaaa ou aaaa-mm-jj)."),
                    value=raw[key],
                )
    if raw.get("fee"):
        try:
            membership["fee"] = parse_amount(raw["fee"])
        except ValueError as exc:
            ok = False
            error("fee", "%(reason)s", reason=str(exc))
    if raw.get("status"):
        status = STATUS_VALUES.get(_key(raw["status"]))
        if status is None:
            ok = False
            error(
                "status",
                _("état inconnu « %(value)s » (réglée, en attente ou annulée)."),
                value=raw["status"],
            )
        else:
            membership["status"] = status
    if not raw.get("start"):
        row.errors.append(
            _("Adhésion sans date de début : remplissez « %(column)s ».")
            % {"column": COLUMN["start"].header}
        )
        return
    if "start" in membership and "end" in membership and membership["end"] < membership["start"]:
        ok = False
        row.errors.append(
            _("La fin de l'adhésion (%(end)s) est avant son début (%(start)s).")
            % {"end": f"{membership['end']:%d/%m/%Y}", "start": f"{membership['start']:%d/%m/%Y}"}
        )
    if ok:
        row.values["membership"] = membership


def parse_date(value: str) -> dt.date:
    """jj/mm/aaaa or aaaa-mm-jj, a time after it is tolerated (platform exports add one)."""
    value = value.strip()
    if match := _DATE_FR.fullmatch(value):
        day, month, year = (int(g) for g in match.groups())
    elif match := _DATE_ISO.fullmatch(value):
        year, month, day = (int(g) for g in match.groups())
    else:
        raise ValueError(value)
    if not 1900 <= year <= 2200:
        raise ValueError(value)
    return dt.date(year, month, day)  # ValueError on 31/02


def parse_amount(value: str) -> Decimal:
    """'20', '20,00', '20.00 €', '1 234,50 €' → Decimal; refuses negatives and 3 decimals."""
    text = re.sub(r"(?i)€|eur(?:os?)?|[\s\u00a0\u202f']", "", value)
    if text.startswith("-") and _AMOUNT.fullmatch(_normalise_number(text[1:]) or "x"):
        raise ValueError(
            _("le montant ne peut pas être négatif (« %(value)s »).") % {"value": value}
        )
    number = _normalise_number(text)
    if not _AMOUNT.fullmatch(number):
        raise ValueError(_("montant invalide « %(value)s » (ex. 20 ou 20,00).") % {"value": value})
    try:
        amount = Decimal(number).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValueError(_("montant invalide « %(value)s ».") % {"value": value})
    if amount >= Decimal("100000000"):
        raise ValueError(_("montant trop grand « %(value)s ».") % {"value": value})
    return amount


def _normalise_number(text: str) -> str:
    """The last of ',' and '.' is the decimal mark, the other one groups thousands."""
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            return text.replace(".", "").replace(",", ".")
        return text.replace(",", "")
    return text.replace(",", ".")


# --- Writing ----------------------------------------------------------------------------------


def _guard(value: str) -> str:
    """Keep a spreadsheet from running a cell as a formula; phone numbers stay as they are."""
    if value.startswith(_FORMULA_START) and not _NUMBER_LIKE.fullmatch(value):
        return "'" + value
    return value


def _write(rows: Iterable[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([c.header for c in COLUMNS])
    for row in rows:
        writer.writerow([_guard(row.get(c.key, "")) for c in COLUMNS])
    # The BOM makes Excel (French locale) read UTF-8 instead of Windows-1252.
    return "\ufeff" + out.getvalue()


def _amount_fr(amount: Decimal) -> str:
    return f"{amount:.2f}".replace(".", ",")


def export_row(person: Person) -> dict[str, str]:
    """One person and their latest membership; reads only what export_rows prefetched."""
    tags: dict[str, list[str]] = {f: [] for f in Facet.values}
    for link in person.person_tags.all():
        tags[link.facet].append(link.tag.label)
    row = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "phone": person.phone,
        "kind": KIND_EXPORT.get(person.kind, person.kind),
        "organisations": " ; ".join(o.name for o in person.organisations.all()),
        "bio": person.bio,
        "skills_text": person.skills_text,
        "needs_text": person.needs_text,
        "interests_text": person.interests_text,
        "lendables_text": person.lendables_text,
    }
    for key, facet in TAG_COLUMNS.items():
        row[key] = ", ".join(tags[facet])
    memberships = list(person.memberships.all())  # prefetched, latest end first
    if memberships:
        latest = memberships[0]
        row.update(
            start=f"{latest.start:%d/%m/%Y}",
            end=f"{latest.end:%d/%m/%Y}",
            fee=_amount_fr(latest.fee),
            status=STATUS_EXPORT.get(latest.status, latest.status),
        )
    return row


def export_people_csv(rows: Iterable[Person]) -> str:
    """The people CSV: semicolons, UTF-8 with BOM, the headers the importer reads."""
    return _write(export_row(person) for person in rows)


def example_csv() -> str:
    """A small file showing every column, offered for download on the import page."""
    return _write(
        [
            {
                "first_name": "Camille",
                "last_name": "Martin",
                "email": "camille.martin@example.org",
                "phone": "06 12 34 56 78",
                "kind": "membre",
                "organisations": "Atelier Vélo",
                "bio": "Mécanicienne vélo, aime transmettre.",
                "skills": "mécanique vélo, soudure",
                "needs": "comptabilité",
                "interests": "jardinage",
                "lendables": "perceuse",
                "start": "01/09/2025",
                "end": "31/08/2026",
                "fee": "20,00",
                "status": "réglée",
            },
            {
                "first_name": "Karim",
                "last_name": "Benali",
                "email": "karim.benali@example.org",
                "kind": "bénévole",
                "skills": "accueil, cuisine",
            },
        ]
    )
