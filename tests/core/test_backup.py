"""`conciergerie backup` then `conciergerie restore` into a fresh instance loses nothing.

These tests drive the real command line in subprocesses, each instance with its own data
directory, as an administrator would on two machines. On the PostgreSQL run the target is
a new, empty PostgreSQL database: a SQLite instance moves to PostgreSQL.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "conciergerie.cli"]
EXCLUDED = [
    "contenttypes",
    "auth.permission",
    "sessions",
    "django_tasks_database",
]
LOGO = """
from django.core.files.base import ContentFile
from PIL import Image
import io
from conciergerie.core.models import Place
buf = io.BytesIO()
Image.new("RGB", (8, 8), (200, 60, 20)).save(buf, "PNG")
place = Place.objects.order_by("pk").first()
place.logo.save("logo-etabli.png", ContentFile(buf.getvalue()))
"""


def run(data_dir: Path, *args: str, database_url: str = "", check: bool = True):
    env = {**os.environ, "CONCIERGERIE_DATA_DIR": str(data_dir)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("CONCIERGERIE_DATABASE_URL", None)
    if database_url:
        env["CONCIERGERIE_DATABASE_URL"] = database_url
    result = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed:\n{result.stdout}\n{result.stderr}")
    return result


def dump(data_dir: Path, database_url: str = "") -> list[dict]:
    out = run(
        data_dir,
        "dumpdata",
        "--natural-foreign",
        *[f"--exclude={e}" for e in EXCLUDED],
        database_url=database_url,
    ).stdout
    return json.loads(out)


def media(data_dir: Path) -> dict[str, str]:
    root = data_dir / "media"
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> tuple[Path, Path]:
    """A SQLite instance with the demo data, a logo, and its backup archive."""
    data = tmp_path_factory.mktemp("source")
    run(data, "migrate", "--no-input")
    run(data, "loaddemo")
    run(data, "shell", "--no-imports", "-c", LOGO)
    out = run(data, "backup", "--output", str(data / "sauvegarde.tar.gz")).stdout
    assert "Sauvegarde écrite" in out
    return data, data / "sauvegarde.tar.gz"


@pytest.fixture
def target_url():
    """An empty database of the kind this test run uses: SQLite, or a new PostgreSQL one."""
    base = os.environ.get("CONCIERGERIE_DATABASE_URL", "")
    if not base.startswith("postgres"):
        yield ""
        return
    import psycopg

    name = f"conciergerie_restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_round_trip_loses_nothing(source, target_url, tmp_path):
    data, archive = source
    run(tmp_path, "migrate", "--no-input", database_url=target_url)  # an empty instance
    out = run(tmp_path, "restore", str(archive), database_url=target_url).stdout
    assert "Restauration terminée" in out

    before, after = dump(data), dump(tmp_path, target_url)
    assert len(before) > 300  # the demo: places, people, tags, memberships, accounts…
    assert after == before
    assert media(tmp_path) == media(data)
    assert any(name.startswith("logos/") or "logo" in name for name in media(data))

    # The restored instance works: people can log in with their old password, and new
    # rows get fresh ids after the restored ones (sequences moved on PostgreSQL).
    check = run(
        tmp_path,
        "shell",
        "--no-imports",
        "-c",
        "from django.contrib.auth import authenticate;"
        "from conciergerie.core.models import Place;"
        "print(bool(authenticate(email='concierge@letabli.example', password='demo-conciergerie')));"
        "p = Place.objects.create(name='Nouveau lieu', slug='nouveau-lieu');"
        "print(p.pk > Place.objects.exclude(pk=p.pk).order_by('-pk').first().pk);"
        # The full-text index is rebuilt from the restored rows (triggers / generated column).
        "from conciergerie.commons.selectors.catalogue import commons_search;"
        "etabli = Place.objects.get(slug='etabli-chatellerault');"
        "print(commons_search(place=etabli, q='cotisations').commons[0].slug)",
        database_url=target_url,
    ).stdout.split()
    assert check == ["True", "True", "paheko"]


def test_restore_refuses_an_instance_that_has_data(source):
    data, archive = source
    result = run(data, "restore", str(archive), check=False)
    assert result.returncode != 0
    assert "n'est pas vide" in result.stderr


def test_a_damaged_archive_restores_nothing(source, tmp_path):
    _data, archive = source
    damaged = tmp_path / "abimee.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w:gz") as dst:
        for member in src:
            content = src.extractfile(member).read()
            if member.name == "data/community.person.jsonl":
                content += b" "  # one byte more: what a bad disk or an edit does
            member.size = len(content)
            dst.addfile(member, io.BytesIO(content))
    target = tmp_path / "cible"
    run(target, "migrate", "--no-input")
    result = run(target, "restore", str(damaged), check=False)
    assert result.returncode != 0
    assert "Somme de contrôle incorrecte" in result.stderr
    people = run(
        target,
        "shell",
        "--no-imports",
        "-c",
        "from conciergerie.community.models import Person; print(Person.objects.count())",
    ).stdout.strip()
    assert people == "0"
