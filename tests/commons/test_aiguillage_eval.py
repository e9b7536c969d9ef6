"""The aiguillage's evaluation set: needs written as volunteers write them → the commons a
good aiguilleur would put in the top 5 (tests/commons/eval_needs.json), over the starter
catalogue. Recall@5 = the share of expected commons found in the first five suggestions,
averaged over the needs; the goal is ≥ 0.9 on each database engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection

import conciergerie.commons
from conciergerie.commons.selectors.aiguillage import clean_request, suggest
from conciergerie.commons.services.catalogue import commons_create
from tests.factories import make_place

pytestmark = pytest.mark.django_db

CATALOGUE = Path(conciergerie.commons.__file__).parent / "starter" / "catalogue.json"
NEEDS = Path(__file__).parent / "eval_needs.json"
GOAL = 0.9


def test_recall_at_5_reaches_the_goal(capsys):
    place = make_place()
    for item in json.loads(CATALOGUE.read_text(encoding="utf-8")):
        commons_create(place=place, data=item, by=None)
    cases = json.loads(NEEDS.read_text(encoding="utf-8"))
    assert len(cases) >= 40
    recalls, misses = [], []
    for case in cases:
        need, answers = clean_request(case["need"], case.get("answers", {}))
        top = [
            s.obj.slug
            for s in suggest(place=place, need=need, answers=answers)
            if s.type == "commons"
        ][:5]
        expected = set(case["expected"])
        recalls.append(len(expected & set(top)) / len(expected))
        if not expected <= set(top):
            misses.append(f"{case['need']!r}: expected {sorted(expected - set(top))}, got {top}")
    recall = sum(recalls) / len(recalls)
    with capsys.disabled():
        print(f"\naiguillage recall@5 on {connection.vendor}: {recall:.3f} over {len(cases)} needs")
        for miss in misses:
            print("  missed", miss)
    assert recall >= GOAL, misses
