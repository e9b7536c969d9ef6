"""Read the instance's configuration from the environment.

Kept apart from settings.py so the CLI and the tests can ask the same questions
(where is the data directory? which database?) without importing Django.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULT_DATA_DIR = Path.cwd() / "data"


def env(name: str, default: str = "") -> str:
    return os.environ.get(f"CONCIERGERIE_{name}", default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = env(name, "1" if default else "0").strip().lower()
    return raw in {"1", "true", "yes", "on", "oui"}


def data_dir() -> Path:
    path = Path(env("DATA_DIR") or DEFAULT_DATA_DIR).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    return env("DATABASE_URL") or f"sqlite:///{data_dir() / 'conciergerie.sqlite3'}"


def secret_key() -> str:
    """The secret key lives in the data directory, created on first run, never in the repo."""
    explicit = env("SECRET_KEY")
    if explicit:
        return explicit
    path = data_dir() / "secret_key"
    if not path.exists():
        # O_EXCL: two processes starting together must not write two keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(50))
    return path.read_text().strip()
