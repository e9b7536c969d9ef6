"""Aiguillage: from a need in plain French to commons and people to call, each with why.

The full-text engine finds candidate commons; a small scoring then weighs what the guided
questions said (the action wanted, technical skills at hand, urgency, budget) and the
commons' health, so that every engine ranks the same way. People come after: the place's
aiguilleurs whose domains meet the suggested commons, then members whose skills answer the
need (the directory's mise en relation), as far as the viewer may see them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from conciergerie.commons import search
from conciergerie.commons.models import Action, Aiguilleur, Commons, Domain, Orientation
from conciergerie.commons.selectors.catalogue import grid_questions
from conciergerie.community.models import Person
from conciergerie.community.selectors import match_people
from conciergerie.core.errors import InvalidInput
from conciergerie.core.models import Place
from conciergerie.core.permissions import Level, visible_levels
from conciergerie.core.text import fold

MAX_NEED = 2000

# The guided questions: code → (label, choices). Every answer is optional.
QUESTIONS: dict[str, tuple[Any, list[tuple[str, Any]]]] = {
    "action": (gettext_lazy("Vous voulez surtout…"), list(Action.choices)),
    "maturity": (
        gettext_lazy("Où en est votre projet ?"),
        [
            ("idee", gettext_lazy("une idée")),
            ("demarrage", gettext_lazy("ça démarre")),
            ("en_cours", gettext_lazy("ça tourne déjà")),
            ("etabli", gettext_lazy("bien installé")),
        ],
    ),
    "budget": (
        gettext_lazy("Quel budget ?"),
        [
            ("aucun", gettext_lazy("aucun")),
            ("petit", gettext_lazy("quelques dizaines d'euros")),
            ("moyen", gettext_lazy("quelques centaines d'euros")),
            ("large", gettext_lazy("plus")),
        ],
    ),
    "skills": (
        gettext_lazy("Compétences techniques dans l'équipe ?"),
        [
            ("aucune", gettext_lazy("aucune")),
            ("quelques", gettext_lazy("un peu")),
            ("technique", gettext_lazy("une personne technique")),
        ],
    ),
    "urgency": (
        gettext_lazy("C'est pressé ?"),
        [
            ("pas_presse", gettext_lazy("pas pressé")),
            ("semaines", gettext_lazy("dans les semaines qui viennent")),
            ("urgent", gettext_lazy("urgent")),
        ],
    ),
}

FAST = {"heures", "jours"}


def clean_request(need: Any, answers: Any) -> tuple[str, dict[str, str]]:
    """The need and the guided answers, checked; every problem at once."""
    errors: dict[str, list[str]] = {}
    if not isinstance(need, str) or not need.strip():
        errors["need"] = [_("Décrivez votre besoin en quelques mots.")]
    elif len(need) > MAX_NEED:
        errors["need"] = [_("Trop long (%(n)s caractères au plus).") % {"n": MAX_NEED}]
    elif not search.words(need):
        errors["need"] = [_("Dites-en un peu plus : de quoi avez-vous besoin ?")]
    clean: dict[str, str] = {}
    if answers in (None, ""):
        answers = {}
    if not isinstance(answers, dict):
        errors["answers"] = [_("Les réponses doivent être un objet {question: réponse}.")]
        answers = {}
    for key, value in answers.items():
        if key not in QUESTIONS:
            errors[f"answers.{key}"] = [
                _("Question inconnue ; questions possibles : %(list)s.")
                % {"list": ", ".join(QUESTIONS)}
            ]
            continue
        if value in (None, ""):
            continue
        allowed = [code for code, _label in QUESTIONS[key][1]]
        if value not in allowed:
            errors[f"answers.{key}"] = [
                _("Choisissez parmi : %(list)s.") % {"list": ", ".join(allowed)}
            ]
            continue
        clean[key] = value
    if errors:
        raise InvalidInput(errors)
    return need.strip(), clean


@dataclass
class Suggestion:
    type: str  # "commons" | "person"
    id: str
    name: str
    url: str
    reasons: list[str] = field(default_factory=list)
    score: float = 0.0
    obj: Any = None

    @property
    def reason(self) -> str:
        return " ; ".join(self.reasons)


def _quote(words: list[str]) -> str:
    return ", ".join(f"« {w} »" for w in words)


def _commons_suggestions(
    place: Place, query: search.Query, typed: dict[str, str], answers: dict[str, str], limit: int
) -> list[Suggestion]:
    pool = search.ranked_ids(place=place, query=query, any_word=True, limit=40)
    if not pool:
        return []
    best = max(r for _pk, r in pool) or 1.0
    relevance = {pk: r / best for pk, r in pool}
    commons = (
        Commons.objects.filter(pk__in=relevance)
        .select_related("place")
        .prefetch_related(Prefetch("domains", queryset=Domain.objects.order_by("name")))
    )
    questions = {q.key: q for q in grid_questions(place=place)}
    action_label = dict(Action.choices)
    out = []
    for c in commons:
        grid = c.grid or {}
        score = relevance[c.pk]
        reasons: list[str] = []
        hits = search.matched_words(c, query)
        if hits:
            # Words found in the name, summary or keywords say more than the description.
            score += 0.5 * len(hits) / len(query.words)
            reasons.append(_("répond à %(words)s") % {"words": _quote([typed[w] for w in hits])})
        else:
            reasons.append(_("en parle dans sa description"))
        wanted = answers.get("action")
        if wanted and wanted in c.action_list:
            score += 0.4
            reasons.append(_("pour « %(action)s »") % {"action": action_label[wanted]})
        complexity = grid.get("complexity")
        if answers.get("skills") == "aucune" and isinstance(complexity, int) and complexity >= 4:
            score -= 0.3
        if answers.get("urgency") == "urgent" and grid.get("adoption_time") in FAST:
            score += 0.15
        if answers.get("budget") == "aucun" and "gratuit" in fold(str(grid.get("cost", ""))):
            score += 0.1
            reasons.append(_("gratuit"))
        if grid.get("dynamics") == "declin":
            score -= 0.15
        adoption = grid.get("adoption_time")
        if adoption and "adoption_time" in questions:
            easy = _("prise en main : %(time)s") % {
                "time": questions["adoption_time"].choice_label(adoption)
            }
            if isinstance(complexity, int):
                easy += _(", complexité %(n)s/5") % {"n": complexity}
            reasons.append(easy)
        out.append(
            Suggestion(
                type="commons",
                id=str(c.uuid),
                name=c.name,
                url=c.get_absolute_url(),
                reasons=reasons,
                score=round(score, 4),
                obj=c,
            )
        )
    out.sort(key=lambda s: (-s.score, s.name))
    return out[:limit]


def _shown_name(person: Person, allowed: set[str], is_team: bool) -> str | None:
    if is_team or person.name_visibility in allowed:
        return person.full_name
    return None


def _people_suggestions(
    place: Place,
    need: str,
    domains: list[Domain],
    level: Level,
    limit: int,
) -> list[Suggestion]:
    allowed = visible_levels(level)
    is_team = level >= Level.CONCIERGE
    out: list[Suggestion] = []
    seen: set[int] = set()
    domain_ids = [d.pk for d in domains]
    aiguilleurs = (
        Aiguilleur.objects.filter(place=place, active=True)
        .select_related("person__place")
        .prefetch_related(Prefetch("domains", queryset=Domain.objects.order_by("name")))
        .annotate(
            shared=Count("domains", filter=Q(domains__in=domain_ids), distinct=True),
            queue=Count(
                "orientations",
                filter=Q(orientations__outcome=Orientation.Outcome.PENDING),
                distinct=True,
            ),
        )
        .order_by("-shared", "queue", "person__last_name")
    )
    for a in aiguilleurs[:limit]:
        # Aiguilleurs agreed to be called: a visitor gets at least their first name.
        name = _shown_name(a.person, allowed, is_team) or a.person.first_name
        common = [d.name for d in a.domains.all() if d.pk in domain_ids]
        if common:
            reason = _("aiguilleur·euse, connaît %(domains)s") % {"domains": _quote(common)}
        else:
            reason = _("aiguilleur·euse du lieu : connaît l'écosystème et les personnes")
        reasons = [reason]
        if a.availability:
            reasons.append(_("disponible : %(when)s") % {"when": a.availability})
        out.append(
            Suggestion(
                type="person",
                id=str(a.person.uuid),
                name=name,
                url=a.person.get_absolute_url(),
                reasons=reasons,
                score=2.0 + a.shared,
                obj=a.person,
            )
        )
        seen.add(a.person.pk)
    for found in match_people(place=place, need=need, limit=limit * 3):
        person = found.person
        if person.pk in seen:
            continue
        # Suggest someone only through what this viewer may read of them.
        if not is_team and (
            person.skills_visibility not in allowed and person.lendables_visibility not in allowed
        ):
            continue
        shown = _shown_name(person, allowed, is_team)
        if shown is None:
            continue
        out.append(
            Suggestion(
                type="person",
                id=str(person.uuid),
                name=shown,
                url=person.get_absolute_url(),
                reasons=list(found.reasons),
                score=found.score,
                obj=person,
            )
        )
        seen.add(person.pk)
        if len(out) >= limit:
            break
    return out[:limit]


def suggest(
    *,
    place: Place,
    need: str,
    answers: dict[str, str] | None = None,
    level: Level = Level.ANONYMOUS,
    commons_limit: int = 5,
    people_limit: int = 3,
) -> list[Suggestion]:
    """Commons first (best first), then people to call. Call `clean_request` before."""
    answers = answers or {}
    query = search.parse(place=place, text=need)
    # The words as the person typed them, for reasons that quote them.
    typed = {search.words(w)[0]: w.lower() for w in need.split() if search.words(w)}
    for wrong, right in query.fixes:
        typed[right] = typed.get(wrong, wrong)
    for w in query.words:
        typed.setdefault(w, w)
    commons = _commons_suggestions(place, query, typed, answers, commons_limit)
    domains: dict[int, Domain] = {}
    for s in commons[:3]:
        for d in s.obj.domains.all():
            domains.setdefault(d.pk, d)
    people = _people_suggestions(place, need, list(domains.values()), level, people_limit)
    return [*commons, *people]


def as_public(suggestions: list[Suggestion], base_url: str) -> list[dict[str, Any]]:
    """What the API returns: no scores, absolute URLs."""
    return [
        {
            "type": s.type,
            "id": s.id,
            "name": s.name,
            "url": base_url + s.url,
            "reason": s.reason,
        }
        for s in suggestions
    ]
