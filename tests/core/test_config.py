import json
import subprocess
import sys

import pytest
from django.db import connection

PROBE = (
    "import json, django; django.setup() if False else None; "
    "from conciergerie import settings as s; "
    "print(json.dumps({'debug': s.DEBUG, 'secure': s.SESSION_COOKIE_SECURE, "
    "'csrf_secure': s.CSRF_COOKIE_SECURE, 'hosts': s.ALLOWED_HOSTS, "
    "'db': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']), "
    "'key': s.SECRET_KEY, 'email': s.EMAIL_BACKEND}))"
)


def probe(tmp_path, **env):
    full = {"PATH": "/usr/bin:/bin", "CONCIERGERIE_DATA_DIR": str(tmp_path), **env}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=full, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)


def test_defaults_are_safe_and_key_is_generated_once(tmp_path):
    first = probe(tmp_path)
    assert first["debug"] is False
    assert first["db"] == "django.db.backends.sqlite3"
    assert first["name"] == str(tmp_path / "conciergerie.sqlite3")
    assert first["email"].endswith("OutboxEmailBackend")
    assert len(first["key"]) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert probe(tmp_path)["key"] == first["key"]


def test_https_base_url_makes_cookies_secure_and_sets_hosts(tmp_path):
    conf = probe(
        tmp_path,
        CONCIERGERIE_BASE_URL="https://lieu.example.org",
        CONCIERGERIE_DATABASE_URL="postgresql://u@127.0.0.1/x",
        CONCIERGERIE_EMAIL_HOST="smtp.example.org",
    )
    assert conf["secure"] and conf["csrf_secure"]
    assert "lieu.example.org" in conf["hosts"]
    assert conf["db"] == "django.db.backends.postgresql"
    assert conf["email"].endswith("smtp.EmailBackend")


@pytest.mark.django_db
def test_database_is_the_real_thing():
    """SQLite runs in WAL mode with foreign keys on; PostgreSQL is a real 15+ server."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
            cursor.execute("PRAGMA foreign_keys")
            assert cursor.fetchone()[0] == 1
        else:
            assert connection.vendor == "postgresql"
            assert connection.pg_version >= 150000
