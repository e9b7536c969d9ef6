"""The starter catalogue and the `conciergerie commons` command."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from conciergerie.commons import starter
from conciergerie.commons.models import Commons, CommonsRevision, FaqEntry
from conciergerie.commons.starter import starter_load
from tests.commons.conftest import commons_data, make_commons

pytestmark = pytest.mark.django_db

FAQ = [
    {
        "domain": "gestion associative",
        "question": "Quel outil pour les adhésions ?",
        "answer": "Regardez **Paheko**.",
    },
    {
        "domain": "Visioconférence",
        "question": "Une visio sans compte ?",
        "answer": "Jitsi Meet.",
    },
    {"domain": "gestion associative", "question": "", "answer": "Sans question"},
]


@pytest.fixture
def starter_dir(tmp_path):
    items = [
        commons_data(),
        commons_data(
            name="Jitsi Meet",
            slug="jitsi-meet",
            url="https://meet.jit.si",
            domains=["visioconférence"],
            actions=["travailler"],
        ),
    ]
    (tmp_path / "catalogue.json").write_text(json.dumps(items), encoding="utf-8")
    (tmp_path / "faq.json").write_text(json.dumps(FAQ), encoding="utf-8")
    return tmp_path


def test_loads_commons_and_faq_once(place, concierge, starter_dir):
    report = starter_load(place, concierge, directory=starter_dir)
    assert report.commons.counts["created"] == 2
    assert (report.faq_created, len(report.faq_errors)) == (2, 1)
    assert "n°3" in report.faq_errors[0]
    assert not report.ok
    faq = FaqEntry.objects.get(question="Une visio sans compte ?")
    # The FAQ's domain is the commons' one (matched on its slug, whatever the case).
    assert faq.domain == Commons.objects.get(slug="jitsi-meet").domains.get()
    revisions = CommonsRevision.objects.count()
    again = starter_load(place, concierge, directory=starter_dir)
    assert again.commons.counts["unchanged"] == 2
    assert (again.faq_created, again.faq_unchanged) == (0, 2)
    assert FaqEntry.objects.filter(place=place).count() == 2
    assert CommonsRevision.objects.count() == revisions


def test_a_changed_answer_is_updated(place, starter_dir):
    starter_load(place, None, directory=starter_dir)
    changed = [dict(FAQ[0], answer="Regardez **Paheko** ou Garradin.")]
    (starter_dir / "faq.json").write_text(json.dumps(changed), encoding="utf-8")
    report = starter_load(place, None, directory=starter_dir)
    assert report.faq_updated == 1
    entry = FaqEntry.objects.get(question="Quel outil pour les adhésions ?")
    assert entry.answer == "Regardez **Paheko** ou Garradin."


def test_the_real_starter_catalogue_loads_without_errors(place):
    assert (starter.STARTER_DIR / "catalogue.json").exists()
    report = starter_load(place, None)
    assert report.commons.failed == [], [(i.name, i.errors) for i in report.commons.failed]
    assert report.faq_errors == []
    assert report.commons.counts["created"] >= 10
    assert Commons.objects.filter(place=place, status=Commons.Status.VALIDATED).count() >= 10
    if (starter.STARTER_DIR / "faq.json").exists():
        assert report.faq_created > 0
    again = starter_load(place, None)
    assert again.commons.counts["unchanged"] == again.commons.total


# --- The command ---------------------------------------------------------------------------------


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("commons", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_export_round_trip_between_places(place, other_place, tmp_path):
    make_commons(place)
    make_commons(place, name="Loomio", slug="loomio", url="https://loomio.com", kind="service")
    for fmt in ("json", "csv"):
        target = tmp_path / f"communs.{fmt}"
        _out, err = run("export", "--place", place.slug, "--format", fmt, "--output", str(target))
        assert "2 commun(s) exporté(s)" in err
        out, _err = run("import", str(target), "--place", other_place.slug)
        expected = "2 créé(s)" if fmt == "json" else "2 inchangé(s)"
        assert expected in out
    assert set(Commons.objects.filter(place=other_place).values_list("slug", flat=True)) == {
        "paheko",
        "loomio",
    }


def test_export_to_standard_output(place):
    make_commons(place)
    out, _err = run("export", "--place", place.slug)
    assert json.loads(out)[0]["slug"] == "paheko"


def test_import_exits_with_1_when_an_item_failed(place, tmp_path):
    path = tmp_path / "communs.txt"
    path.write_text(json.dumps([commons_data(), {"name": "Incomplet"}]), encoding="utf-8")
    with pytest.raises(CommandError) as exc:
        run("import", str(path), "--place", place.slug, "--format", "json")
    assert exc.value.returncode == 1
    assert Commons.objects.filter(place=place).count() == 1  # the good one is kept


def test_import_errors_name_the_item_and_field(place, tmp_path, capsys):
    path = tmp_path / "communs.json"
    path.write_text(json.dumps([{"name": "Incomplet"}]), encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("commons", "import", str(path), "--place", place.slug, stderr=err)
    assert "n°1 Incomplet : " in err.getvalue()
    assert "Résumé : Ce champ est obligatoire." in err.getvalue()


def test_unreadable_file_and_unknown_place(place, tmp_path):
    path = tmp_path / "communs.json"
    path.write_text("{pas du json", encoding="utf-8")
    with pytest.raises(CommandError, match="JSON invalide"):
        run("import", str(path), "--place", place.slug)
    with pytest.raises(CommandError, match="Aucun lieu"):
        run("import", str(path), "--place", "nulle-part")
    with pytest.raises(CommandError, match="introuvable"):
        run("import", str(tmp_path / "absent.json"), "--place", place.slug)


def test_starter_command(place, starter_dir, monkeypatch):
    monkeypatch.setattr(starter, "STARTER_DIR", starter_dir)
    with pytest.raises(CommandError) as exc:  # the fixture's third FAQ entry is refused
        run("starter", "--place", place.slug)
    assert exc.value.returncode == 1
    assert Commons.objects.filter(place=place).count() == 2
    (starter_dir / "faq.json").write_text(json.dumps(FAQ[:2]), encoding="utf-8")
    out, _err = run("starter", "--place", place.slug)
    assert "2 inchangé(s)" in out
