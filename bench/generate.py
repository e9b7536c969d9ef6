"""Benchmark data: N people across 2 places, with tags, organisations and memberships.

    python bench/generate.py --data-dir bench/out/x --people 10000 [--mode bulk|services]

Migrates the (SQLite, unless CONCIERGERIE_DATABASE_URL says otherwise) database in the
data directory, fills it, creates a concierge account, and writes bench_meta.json there
(what bench/run.py needs: slug, account, a skill tag id, person UUIDs).

Two modes, same data (same seed):
- `services` writes every person through community.services.person_create and
  membership_create — exactly what real use produces, audit log included;
- `bulk` (default) creates rows with bulk_create, then fills the search columns with the
  services' own community.services._reindex, in batches: the directory reads exactly the
  same columns as after person_create. Places, accounts, organisations and tags still go
  through the services. Measured on this machine for 2,000 people: see --help of run.py's
  report ("generation" line); bulk is the one that keeps a 10,000-people run short.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

SEED = 10_000
MAIN_SLUG = "bench-grand-lieu"
SECOND_SLUG = "bench-petit-lieu"
MAIN_SHARE = 0.8  # the second place is smaller, as in a real network
CONCIERGE_EMAIL = "concierge@bench.example"
BENCH_PASSWORD = "bench-conciergerie-42"
ORGANISATIONS_PER_PLACE = 40
BATCH = 500

# A long tail of rarer words, so the vocabulary has the few hundred tags of a big place.
CRAFTS = [
    "aquarelle", "calligraphie", "origami", "tricot", "crochet", "broderie", "reliure",
    "sérigraphie", "gravure", "linogravure", "marqueterie", "mosaïque", "vitrail",
    "lutherie", "horlogerie", "coutellerie", "dorure", "sculpture", "modelage", "tissage",
]  # fmt: skip
QUALIFIERS = [
    "débutant", "avancé", "pour enfants", "en atelier", "à domicile", "traditionnel",
    "numérique", "récup", "zéro déchet", "en plein air",
]  # fmt: skip


def setup(data_dir: Path) -> None:
    os.environ["CONCIERGERIE_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conciergerie.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def person_rows(rng: random.Random, count: int, today: dt.date) -> list[dict[str, Any]]:
    """Plain descriptions of `count` people: fields, tags, organisation indexes, memberships."""
    from conciergerie.core.text import fold
    from conciergerie.demo.data import ARCHETYPES, FIRST_NAMES, LAST_NAMES, VISIBILITY_PROFILES

    archetypes = list(ARCHETYPES)
    profiles = list(VISIBILITY_PROFILES)
    rare = [f"{c} {q}" for c in CRAFTS for q in QUALIFIERS]
    rows = []
    for i in range(count):
        pool = ARCHETYPES[archetypes[i % len(archetypes)]]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        skills = rng.sample(pool["skills"], rng.randint(1, 3))
        if rng.random() < 0.5:
            skills.append(rng.choice(rare))
        visibility = VISIBILITY_PROFILES[rng.choices(profiles, [12, 45, 20, 12, 11])[0]]
        fields = {
            "first_name": first,
            "last_name": last,
            "email": fold(f"{first}.{last}.{i}@bench.example").replace(" ", ""),
            "phone": f"06 39 98 {i % 100:02d} {i // 100 % 100:02d}" if rng.random() < 0.3 else "",
            "bio": rng.choice(pool["bios"]) if rng.random() < 0.5 else "",
            "skills_text": "Je peux montrer les bases." if rng.random() < 0.2 else "",
            "needs_text": "",
            **{f"{name}_visibility": level for name, level in visibility.items()},
        }
        tags = {
            "skill": skills,
            "need": [n for n in rng.sample(pool["needs"], rng.randint(0, 2)) if n not in skills],
            "interest": rng.sample(pool["interests"], rng.randint(0, 2)),
            "lendable": rng.sample(pool["lendables"], rng.randint(0, 1)),
        }
        memberships = []
        roll = rng.random()
        if roll < 0.85:  # a current yearly membership, sometimes after last year's
            start = today - dt.timedelta(days=rng.randint(0, 360))
            if rng.random() < 0.3:
                memberships.append((_year_before(start), "paid"))
            memberships.append((start, "pending" if rng.random() < 0.08 else "paid"))
        elif roll < 0.95:  # expired
            memberships.append((today - dt.timedelta(days=rng.randint(370, 700)), "paid"))
        orgs = [rng.randrange(ORGANISATIONS_PER_PLACE)] if rng.random() < 0.3 else []
        rows.append({"fields": fields, "tags": tags, "orgs": orgs, "memberships": memberships})
    return rows


def _year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _end(start: dt.date) -> dt.date:
    from conciergerie.community.services import membership_default_end

    return membership_default_end(start=start, period="yearly")


def fill_with_services(place: Any, rows: list[dict[str, Any]], orgs: list[Any]) -> None:
    from conciergerie.community import services

    for row in rows:
        person = services.person_create(
            place=place,
            by=None,
            tags=row["tags"],
            organisations=[orgs[i] for i in row["orgs"]],
            **row["fields"],
        )
        for start, status in row["memberships"]:
            services.membership_create(
                person=person, by=None, start=start, fee=Decimal("20"), status=status
            )


def fill_in_bulk(place: Any, rows: list[dict[str, Any]], orgs: list[Any]) -> None:
    from conciergerie.community import services
    from conciergerie.community.models import Affiliation, Membership, Person, PersonTag
    from conciergerie.core.text import fold

    labels = [label for row in rows for facet in row["tags"].values() for label in facet]
    tags = {t.folded: t for t in services.tags_ensure(place=place, labels=labels, by=None)}
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        people = Person.objects.bulk_create([Person(place=place, **r["fields"]) for r in chunk])
        PersonTag.objects.bulk_create(
            [
                PersonTag(person=p, tag=tags[fold(label)], facet=facet)
                for p, r in zip(people, chunk, strict=True)
                for facet, facet_labels in r["tags"].items()
                for label in dict.fromkeys(facet_labels)
            ]
        )
        Affiliation.objects.bulk_create(
            [
                Affiliation(person=p, organisation=orgs[i])
                for p, r in zip(people, chunk, strict=True)
                for i in r["orgs"]
            ]
        )
        Membership.objects.bulk_create(
            [
                Membership(
                    place=place,
                    person=p,
                    start=s,
                    end=_end(s),
                    period="yearly",
                    fee=Decimal("20"),
                    status=status,
                )
                for p, r in zip(people, chunk, strict=True)
                for s, status in r["memberships"]
            ]
        )
        # The search columns, computed by the services' own function: same text as
        # person_create would have stored.
        services._reindex(people)


def generate(*, people: int, mode: str) -> dict[str, Any]:
    from django.db import transaction
    from django.utils import timezone

    from conciergerie.community import services as community
    from conciergerie.community.models import Person, Tag
    from conciergerie.core import services as core

    rng = random.Random(SEED)
    today = timezone.localdate()
    sizes = {MAIN_SLUG: round(people * MAIN_SHARE), SECOND_SLUG: 0}
    sizes[SECOND_SLUG] = people - sizes[MAIN_SLUG]
    fill = fill_in_bulk if mode == "bulk" else fill_with_services
    started = time.monotonic()
    with transaction.atomic():  # one transaction: no commit per person on SQLite
        places = {}
        for slug, count in sizes.items():
            place = core.place_create(
                by=None, slug=slug, name=slug.replace("-", " ").title(), typology="fablab"
            )
            places[slug] = place
            orgs = [
                community.organisation_create(place=place, by=None, name=f"Organisation {n}")
                for n in range(ORGANISATIONS_PER_PLACE)
            ]
            fill(place, person_rows(rng, count, today), orgs)
        main = places[MAIN_SLUG]
        core.user_create(
            email=CONCIERGE_EMAIL, password=BENCH_PASSWORD, place=main, role="concierge"
        )
    seconds = time.monotonic() - started
    soudure = Tag.objects.get(place=main, folded="soudure")
    uuids = rng.sample(
        list(Person.objects.filter(place=main).order_by("pk").values_list("uuid", flat=True)),
        min(50, sizes[MAIN_SLUG]),
    )
    return {
        "people": people,
        "people_main": sizes[MAIN_SLUG],
        "mode": mode,
        "seconds": round(seconds, 2),
        "slug": MAIN_SLUG,
        "email": CONCIERGE_EMAIL,
        "password": BENCH_PASSWORD,
        "skill_tag_id": soudure.pk,
        "person_uuids": [str(u) for u in uuids],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--mode", choices=["bulk", "services"], default="bulk")
    args = parser.parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    setup(args.data_dir.resolve())
    meta = generate(people=args.people, mode=args.mode)
    (args.data_dir / "bench_meta.json").write_text(json.dumps(meta, indent=2))
    print(f"{meta['people']} personnes ({args.mode}) en {meta['seconds']} s", file=sys.stderr)


if __name__ == "__main__":
    main()
