"""Serve the instance with waitress (pure Python, threaded, fine for a small place)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Sert Conciergerie en HTTP (waitress)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args: Any, host: str, port: int, threads: int, **options: Any) -> None:
        from waitress import serve

        from conciergerie.wsgi import application

        self.stdout.write(f"Conciergerie écoute sur http://{host}:{port}/")
        serve(application, host=host, port=port, threads=threads, ident="conciergerie")
