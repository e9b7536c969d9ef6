import io
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from conciergerie.core import permissions, services
from conciergerie.core.models import User


@pytest.mark.django_db
def test_createuser_with_role_then_token_create_prints_token_last(place):
    call_command(
        "createuser",
        email="Nouveau@Example.org",
        role="concierge",
        place=place.slug,
        password="un-mot-de-passe-long",
        stdout=io.StringIO(),
    )
    user = User.objects.get(email="nouveau@example.org")
    assert permissions.level(user, place) == permissions.Level.CONCIERGE
    out = io.StringIO()
    call_command("token", "create", email="nouveau@example.org", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    assert services.token_authenticate(raw=token) == user


@pytest.mark.django_db
def test_createuser_errors_are_clear(place):
    with pytest.raises(CommandError, match="Lieu inconnu"):
        call_command(
            "createuser",
            email="a@example.org",
            role="member",
            place="nulle-part",
            password="x" * 12,
        )
    call_command("createuser", email="a@example.org", password="x" * 12, stdout=io.StringIO())
    with pytest.raises(CommandError, match="existe déjà"):
        call_command("createuser", email="A@example.org", password="x" * 12)
    with pytest.raises(CommandError, match="Aucun compte"):
        call_command("token", "create", email="personne@example.org")


def test_console_script_runs_django_commands(tmp_path):
    """The installed `conciergerie` entry point answers with its subcommands."""
    env = {"CONCIERGERIE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "conciergerie.cli", "help"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for command in ("demo", "serve", "worker", "createuser", "token", "migrate"):
        assert command in out
    assert (tmp_path / "secret_key").exists()
