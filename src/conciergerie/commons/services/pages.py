"""Writing documentation pages: every save is a new revision (a full copy, its author and
why), a change made from an older revision is refused, reverting makes a new revision."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from conciergerie.commons.models import Commons, Page, PageRevision
from conciergerie.commons.selectors.pages import DEFAULT_LICENSE, LICENSES
from conciergerie.core import permissions
from conciergerie.core.audit import audit_record
from conciergerie.core.errors import Conflict, InvalidInput, NotFound
from conciergerie.core.models import Place, User

TITLE_MAX = 200
BODY_MAX = 100_000
MESSAGE_MAX = 255
SLUG_MAX = 120
# Words the page URLs use after documentation/: never a page's slug.
RESERVED_SLUGS = {"nouvelle"}
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _clean(
    *, place: Place, title: Any, body: Any, license: Any, commons: Commons | None
) -> dict[str, Any]:
    """Every problem at once, per field."""
    errors: dict[str, list[str]] = {}
    title = " ".join(str(title or "").split())
    if not title:
        errors["title"] = [_("Donnez un titre à la page.")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [_("Trop long (%(n)s caractères au plus).") % {"n": TITLE_MAX}]
    # Browsers send CRLF: one kind of line end, so that diffs and "no change" hold.
    body = str(body or "").replace("\r\n", "\n").replace("\r", "\n").rstrip().lstrip("\n")
    if len(body) > BODY_MAX:
        errors["body"] = [
            _("Texte trop long : %(n)s caractères au plus (il en a %(len)s).")
            % {"n": f"{BODY_MAX:,}".replace(",", "\u202f"), "len": len(body)}
        ]
    license = str(license or "").strip()
    if license not in LICENSES:
        errors["license"] = [
            _("Licence inconnue. Choisissez parmi : %(list)s.") % {"list": ", ".join(LICENSES)}
        ]
    if commons is not None and (
        commons.place_id != place.pk or commons.status != Commons.Status.VALIDATED
    ):
        errors["commons"] = [_("Choisissez un commun validé de ce lieu.")]
    if errors:
        raise InvalidInput(errors)
    return {"title": title, "body": body, "license": license, "commons": commons}


def _slug_base(place: Place, title: str, slug: str) -> str:
    slug = (slug or "").strip()
    if slug:
        if not _SLUG.match(slug) or len(slug) > SLUG_MAX:
            raise InvalidInput(
                {"slug": [_("Lettres minuscules sans accents, chiffres et tirets.")]}
            )
        return slug
    return slugify(title)[: SLUG_MAX - 4].strip("-") or "page"


def _free_slug(place: Place, base: str) -> str:
    """`base`, or `base-2`, `base-3`… the first one no page of the place uses."""
    taken = set(
        Page.objects.filter(place=place, slug__startswith=base).values_list("slug", flat=True)
    )
    taken |= RESERVED_SLUGS
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _author_label(by: User | None) -> str:
    if by is None or not by.pk:
        return ""
    return (by.full_name or by.email)[:200]


def _add_revision(page: Page, *, by: User | None, message: str) -> PageRevision:
    return PageRevision.objects.create(
        page=page,
        number=page.revision,
        title=page.title,
        body=page.body,
        license=page.license,
        author=by if by is not None and by.pk else None,
        author_label=_author_label(by),
        message=message[:MESSAGE_MAX],
    )


def page_create(
    *,
    place: Place,
    by: User | None,
    title: str,
    body: str,
    license: str = DEFAULT_LICENSE,
    commons: Commons | None = None,
    slug: str = "",
    message: str = "",
) -> Page:
    """A new page and its first revision; its short name comes from the title."""
    clean = _clean(place=place, title=title, body=body, license=license, commons=commons)
    base = _slug_base(place, clean["title"], slug)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                page = Page.objects.create(
                    place=place,
                    slug=_free_slug(place, base),
                    revision=1,
                    **clean,
                )
                _add_revision(page, by=by, message=(message or _("Création")).strip())
                audit_record(
                    place=place,
                    actor=by,
                    action="page.create",
                    target=page,
                    changes={"title": [None, page.title], "license": [None, page.license]},
                )
            return page
        except IntegrityError:
            # Someone took the same short name a moment ago: take the next one.
            continue
    raise Conflict(_("Trop de pages créées en même temps : réessayez."))


def _locked(page: Page) -> Page:
    # Only the page row: PostgreSQL does not lock the nullable side of a join (its commons).
    current = Page.objects.select_for_update().get(pk=page.pk)
    current.place = page.place
    return current


def page_update(
    *,
    page: Page,
    by: User | None,
    title: str,
    body: str,
    license: str,
    commons: Commons | None,
    message: str = "",
    base_revision: int | None,
) -> Page:
    """Save a new revision. `base_revision` is the revision the writer started from: when
    someone saved in between, nothing is written and Conflict says so (their text is kept
    by the form). Saving without any change writes nothing."""
    place = page.place
    clean = _clean(place=place, title=title, body=body, license=license, commons=commons)
    with transaction.atomic():
        current = _locked(page)
        if base_revision is not None and base_revision != current.revision:
            raise Conflict(
                _(
                    "Quelqu'un a modifié cette page pendant que vous écriviez "
                    "(version %(n)s). Rien n'a été enregistré."
                )
                % {"n": current.revision}
            )
        # The licence is what authors agreed to: only the team may change it afterwards.
        if (
            clean["license"] != current.license
            and by is not None
            and not permissions.can(by, "commons.moderate", place)
        ):
            raise InvalidInput(
                {
                    "license": [
                        _("Seule l'équipe du lieu peut changer la licence d'une page existante.")
                    ]
                }
            )
        before: dict[str, Any] = {
            "title": current.title,
            "body": current.body,
            "license": current.license,
            "commons": current.commons,
        }
        if before == clean:
            return current
        for key, value in clean.items():
            setattr(current, key, value)
        current.revision += 1
        current.updated_at = timezone.now()
        current.save()
        _add_revision(current, by=by, message=message.strip())
        changes: dict[str, list[Any]] = {"revision": [current.revision - 1, current.revision]}
        for key in ("title", "license", "commons"):
            if before[key] != clean[key]:
                changes[key] = [before[key], clean[key]]
        if before["body"] != clean["body"]:
            changes["body_length"] = [len(before["body"]), len(clean["body"])]
        audit_record(place=place, actor=by, action="page.update", target=current, changes=changes)
    return current


def page_revert(*, page: Page, number: int, by: User | None) -> Page:
    """Bring an old revision's content back, as a new revision (history is never rewritten).
    Reverting to what the page already says writes nothing."""
    with transaction.atomic():
        current = _locked(page)
        old = (
            PageRevision.objects.filter(page=current, number=number).first()
            if 1 <= number <= current.revision
            else None
        )
        if old is None:
            raise NotFound(_("Cette version de la page n'existe pas."))
        if (old.title, old.body, old.license) == (current.title, current.body, current.license):
            return current
        before = (current.title, current.license)
        current.title, current.body, current.license = old.title, old.body, old.license
        current.revision += 1
        current.updated_at = timezone.now()
        current.save()
        _add_revision(current, by=by, message=_("Retour à la version %(n)s") % {"n": old.number})
        audit_record(
            place=current.place,
            actor=by,
            action="page.revert",
            target=current,
            changes={
                "revision": [current.revision - 1, current.revision],
                "reverted_to": [None, old.number],
                **({"title": [before[0], old.title]} if before[0] != old.title else {}),
                **({"license": [before[1], old.license]} if before[1] != old.license else {}),
            },
        )
    return current
