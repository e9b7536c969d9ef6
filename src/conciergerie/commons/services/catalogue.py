"""Writing commons: one validation for every door (forms, proposals, imports, the API),
then create or update with a new revision, the search columns and an audit entry."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from conciergerie.commons import grid, search
from conciergerie.commons.models import Action, Commons, CommonsRevision, Domain, Kind
from conciergerie.commons.people import public_label
from conciergerie.commons.selectors.catalogue import grid_questions
from conciergerie.core.audit import audit_record, diff
from conciergerie.core.errors import Conflict, InvalidInput
from conciergerie.core.models import Place, User

# The fields a commons is made of, in the order of the import format.
FIELDS = [
    "slug",
    "name",
    "summary",
    "description",
    "url",
    "kind",
    "actions",
    "domains",
    "tags",
    "license",
    "links",
    "contacts",
    "grid",
]
LIMITS = {"name": 120, "summary": 300, "description": 20000, "license": 100, "url": 500}
MAX_LIST = 30
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _text(data: dict[str, Any], key: str, errors: dict[str, list[str]], required: bool) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[key] = [_("Texte attendu.")]
        return ""
    value = value.strip()
    if required and not value:
        errors[key] = [_("Ce champ est obligatoire.")]
    elif key in LIMITS and len(value) > LIMITS[key]:
        errors[key] = [_("Trop long (%(n)s caractères au plus).") % {"n": LIMITS[key]}]
    return value


def _url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value


def _labels(data: dict[str, Any], key: str, errors: dict[str, list[str]]) -> list[str]:
    value = data.get(key) or []
    if isinstance(value, str):
        value = re.split(r"[|,;]", value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors[key] = [_("Liste de textes attendue.")]
        return []
    out = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    if len(out) > MAX_LIST or any(len(v) > 80 for v in out):
        errors[key] = [_("Au plus %(n)s éléments, de 80 caractères chacun.") % {"n": MAX_LIST}]
        return []
    return out


def _records(
    data: dict[str, Any], key: str, fields: tuple[str, ...], errors: dict[str, list[str]]
) -> list[dict[str, str]]:
    value = data.get(key) or []
    if not isinstance(value, list) or len(value) > MAX_LIST:
        errors[key] = [_("Liste attendue (%(n)s éléments au plus).") % {"n": MAX_LIST}]
        return []
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            errors[f"{key}.{i}"] = [_("Objet attendu.")]
            continue
        record = {f: str(item.get(f) or "").strip()[:200] for f in fields}
        url = record.get("url", "")
        if url and not _url(url):
            errors[f"{key}.{i}.url"] = [_("Adresse web invalide (http:// ou https://).")]
        email = record.get("email", "")
        if email and ("@" not in email or " " in email):
            errors[f"{key}.{i}.email"] = [_("Adresse e-mail invalide.")]
        if not any(record.values()):
            continue
        out.append(record)
    return out


def _reserved_slugs() -> frozenset[str]:
    """The catalogue's own page names (communs/questions/…): a commons cannot take one."""
    from conciergerie.commons.catalogue_urls import taken_words

    return taken_words()


def commons_clean(*, place: Place, data: Any) -> dict[str, Any]:
    """Check one commons' data (import format); every problem at once, per field."""
    if not isinstance(data, dict):
        raise InvalidInput({"__all__": [_("Un objet JSON est attendu pour chaque commun.")]})
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for key in ("name", "summary", "description", "url"):
        clean[key] = _text(data, key, errors, required=True)
    clean["license"] = _text(data, "license", errors, required=False)
    if clean["url"] and "url" not in errors and not _url(clean["url"]):
        errors["url"] = [_("Adresse web invalide (http:// ou https://).")]
    slug = data.get("slug") or ""
    if not isinstance(slug, str):
        errors["slug"] = [_("Texte attendu.")]
        slug = ""
    slug = slug.strip() or slugify(clean["name"])[:120]
    if not slug and "name" in errors:
        pass  # the missing name says it already
    elif not _SLUG.match(slug) or len(slug) > 120:
        errors["slug"] = [_("Lettres minuscules sans accents, chiffres et tirets.")]
    elif slug in _reserved_slugs():
        errors["slug"] = [
            _("Cet identifiant est celui d'une page du catalogue : choisissez-en un autre.")
        ]
    clean["slug"] = slug
    kind = data.get("kind")
    if kind not in Kind.values:
        errors["kind"] = [_("Choisissez parmi : %(list)s.") % {"list": ", ".join(Kind.values)}]
    clean["kind"] = kind if kind in Kind.values else ""
    actions = data.get("actions")
    if isinstance(actions, str):
        actions = [a.strip() for a in re.split(r"[|,;]", actions) if a.strip()]
    if not isinstance(actions, list) or not actions or any(a not in Action.values for a in actions):
        errors["actions"] = [
            _("Une ou plusieurs actions parmi : %(list)s.") % {"list": ", ".join(Action.values)}
        ]
        actions = []
    clean["actions"] = [a for a in Action.values if a in actions]
    clean["domains"] = _labels(data, "domains", errors)
    clean["tags"] = _labels(data, "tags", errors)
    clean["links"] = _records(data, "links", ("label", "url"), errors)
    clean["contacts"] = _records(data, "contacts", ("name", "role", "url", "email"), errors)
    clean["grid"] = grid.clean_answers(
        grid_questions(place=place), clean["kind"], data.get("grid"), errors
    )
    if errors:
        raise InvalidInput(errors)
    return clean


def domains_for(*, place: Place, names: list[str]) -> list[Domain]:
    """The place's domains with these names, created when new (matched on their slug)."""
    wanted = {slugify(n)[:90] or "domaine": n for n in names}
    existing = {d.slug: d for d in Domain.objects.filter(place=place, slug__in=list(wanted))}
    for slug, name in wanted.items():
        if slug not in existing:
            try:
                with transaction.atomic():
                    existing[slug] = Domain.objects.create(place=place, slug=slug, name=name[:80])
            except IntegrityError:  # created meanwhile by another request
                existing[slug] = Domain.objects.get(place=place, slug=slug)
    return [existing[s] for s in wanted]


def snapshot_of(commons: Commons, domain_names: list[str]) -> dict[str, Any]:
    """The commons as the import format sees it: what revisions keep and exports give."""
    return {
        "slug": commons.slug,
        "name": commons.name,
        "summary": commons.summary,
        "description": commons.description,
        "url": commons.url,
        "kind": commons.kind,
        "actions": commons.action_list,
        "domains": domain_names,
        "tags": list(commons.tags or []),
        "license": commons.license,
        "links": list(commons.links or []),
        "contacts": list(commons.contacts or []),
        "grid": dict(commons.grid or {}),
    }


def _apply(commons: Commons, clean: dict[str, Any]) -> None:
    for key in ("slug", "name", "summary", "description", "url", "kind", "tags", "license"):
        setattr(commons, key, clean[key])
    commons.links = clean["links"]
    commons.contacts = clean["contacts"]
    commons.grid = clean["grid"]
    commons.actions = "," + ",".join(clean["actions"]) + ","


def _slug_taken(place: Place, slug: str, exclude_pk: int | None) -> bool:
    qs = Commons.objects.filter(place=place, slug=slug)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def _record_revision(commons: Commons, data: dict[str, Any], by: User | None, message: str) -> None:
    commons.revision += 1
    Commons.objects.filter(pk=commons.pk).update(revision=commons.revision)
    CommonsRevision.objects.create(
        commons=commons,
        number=commons.revision,
        data=data,
        author=by if by is not None and by.pk else None,
        author_label=public_label(place=commons.place, user=by),
        message=message[:255],
    )


def commons_create(
    *,
    place: Place,
    data: Any,
    by: User | None,
    status: str = Commons.Status.VALIDATED,
    message: str = "",
) -> Commons:
    clean = commons_clean(place=place, data=data)
    with transaction.atomic():
        if _slug_taken(place, clean["slug"], None):
            raise InvalidInput({"slug": [_("Un commun porte déjà cet identifiant.")]})
        commons = Commons(place=place, status=status, proposed_by=by if by and by.pk else None)
        _apply(commons, clean)
        domains = domains_for(place=place, names=clean["domains"])
        search.index_fields(commons, [d.name for d in domains])
        try:
            with transaction.atomic():
                commons.save()
        except IntegrityError:  # the same slug, written meanwhile by another request
            raise InvalidInput({"slug": [_("Un commun porte déjà cet identifiant.")]}) from None
        commons.domains.set(domains)
        _record_revision(commons, clean, by, message or _("Création"))
        search.vocabulary_add(place=place, texts=[commons.name, commons.summary, commons.keywords])
        audit_record(place=place, actor=by, action="commons.create", target=commons)
    return commons


def commons_update(
    *,
    commons: Commons,
    data: Any,
    by: User | None,
    message: str = "",
    base_revision: int | None = None,
) -> Commons:
    """Apply new data; a change made from an older revision than the current one is refused."""
    place = commons.place
    clean = commons_clean(place=place, data=data)
    with transaction.atomic():
        current = Commons.objects.select_for_update().get(pk=commons.pk)
        if base_revision is not None and base_revision != current.revision:
            raise Conflict(
                _(
                    "Ce commun a été modifié entre-temps (version %(n)s) : "
                    "rechargez la page et refaites votre changement."
                )
                % {"n": current.revision}
            )
        if _slug_taken(place, clean["slug"], current.pk):
            raise InvalidInput({"slug": [_("Un commun porte déjà cet identifiant.")]})
        before = snapshot_of(current, list(current.domains.values_list("name", flat=True)))
        # Answers to questions since removed from the grid are kept, not silently dropped
        # (forms only send the current questions).
        asked = {q.key for q in grid_questions(place=place)}
        kept = {k: v for k, v in (current.grid or {}).items() if k not in asked}
        clean["grid"] = {**kept, **clean["grid"]}
        if before == clean:
            return current
        _apply(current, clean)
        domains = domains_for(place=place, names=clean["domains"])
        search.index_fields(current, [d.name for d in domains])
        current.updated_at = timezone.now()
        current.save()
        current.domains.set(domains)
        _record_revision(current, clean, by, message)
        search.vocabulary_add(place=place, texts=[current.name, current.summary, current.keywords])
        audit_record(
            place=place,
            actor=by,
            action="commons.update",
            target=current,
            changes=diff(
                {k: v for k, v in before.items() if k != "description"},
                {k: v for k, v in clean.items() if k != "description"},
            ),
        )
    return current


def commons_set_status(*, commons: Commons, status: str, by: User | None) -> Commons:
    if status not in Commons.Status.values:
        raise InvalidInput({"status": [_("État inconnu.")]})
    with transaction.atomic():
        old = commons.status
        Commons.objects.filter(pk=commons.pk).update(status=status, updated_at=timezone.now())
        commons.status = status
        audit_record(
            place=commons.place,
            actor=by,
            action="commons.status",
            target=commons,
            changes={"status": [old, status]},
        )
    return commons
