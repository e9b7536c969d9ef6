"""Test settings: the real ones, with a fast password hasher and tasks run inline."""

from conciergerie.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
EMAIL_BACKEND = "conciergerie.core.mail.OutboxEmailBackend"
LOGGING = {"version": 1, "disable_existing_loggers": False}
