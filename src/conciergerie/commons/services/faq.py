"""Writing the FAQ: questions and answers per domain, kept by the place's moderators."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from conciergerie.commons.models import Domain, FaqEntry
from conciergerie.commons.services.catalogue import domains_for
from conciergerie.core.audit import audit_record, diff, snapshot
from conciergerie.core.errors import InvalidInput
from conciergerie.core.models import Place, User

QUESTION_MAX = 255
ANSWER_MAX = 10_000
DOMAIN_MAX = 80
POSITION_MAX = 32_767
_AUDITED = ["question", "answer", "domain", "position"]


def faq_entry_save(
    *,
    place: Place,
    by: User | None,
    question: str,
    answer: str,
    domain: Domain | None = None,
    new_domain: str = "",
    position: int = 0,
    entry: FaqEntry | None = None,
) -> FaqEntry:
    """Create an entry (entry=None) or change one; the domain is an existing one of the place
    or a new name (created, or found when it already exists under another spelling)."""
    question, answer, new_domain = (
        (question or "").strip(),
        (answer or "").strip(),
        (new_domain or "").strip(),
    )
    errors: dict[str, list[str]] = {}
    if not question:
        errors["question"] = [_("Écrivez la question.")]
    elif len(question) > QUESTION_MAX:
        errors["question"] = [_("Trop long (%(n)s caractères au plus).") % {"n": QUESTION_MAX}]
    if not answer:
        errors["answer"] = [_("Écrivez la réponse.")]
    elif len(answer) > ANSWER_MAX:
        errors["answer"] = [_("Trop long (%(n)s caractères au plus).") % {"n": ANSWER_MAX}]
    if domain is not None and domain.place_id != place.pk:
        errors["domain"] = [_("Ce domaine n'est pas celui de ce lieu.")]
    elif domain is None and not new_domain:
        errors["domain"] = [_("Choisissez un domaine ou donnez le nom d'un nouveau.")]
    elif domain is not None and new_domain:
        errors["new_domain"] = [_("Choisissez un domaine existant ou un nouveau, pas les deux.")]
    elif len(new_domain) > DOMAIN_MAX:
        errors["new_domain"] = [_("Trop long (%(n)s caractères au plus).") % {"n": DOMAIN_MAX}]
    if isinstance(position, bool) or not isinstance(position, int):
        errors["position"] = [_("Un nombre entier est attendu.")]
    elif not 0 <= position <= POSITION_MAX:
        errors["position"] = [_("Entre 0 et %(n)s.") % {"n": POSITION_MAX}]
    if entry is not None and entry.place_id != place.pk:
        errors["__all__"] = [_("Cette question n'est pas celle de ce lieu.")]
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        if domain is None:
            domain = domains_for(place=place, names=[new_domain])[0]
        before = snapshot(entry, _AUDITED) if entry is not None else {}
        if entry is None:
            entry = FaqEntry(place=place)
        entry.domain = domain
        entry.question = question
        entry.answer = answer
        entry.position = position
        entry.save()
        after = snapshot(entry, _AUDITED)
        audit_record(
            place=place,
            actor=by,
            action="commons.faq.update" if before else "commons.faq.create",
            target=entry,
            changes=diff(before, after),
        )
    return entry


def faq_entry_delete(*, entry: FaqEntry, by: User | None) -> None:
    with transaction.atomic():
        audit_record(
            place=entry.place,
            actor=by,
            action="commons.faq.delete",
            target=entry,
            changes=diff(snapshot(entry, _AUDITED), {}),
        )
        entry.delete()
