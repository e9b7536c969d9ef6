"""Serve the instance with waitress (pure Python, threaded, fine for a small place).

`--workers N` runs N such processes on one socket (POSIX): one Python process uses about
one core (the GIL), so two cores with PostgreSQL want two workers. See core/prefork.py.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Sert Conciergerie en HTTP (waitress)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8, help="fils par processus")
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="processus web sur le même port (Linux, macOS) ; 2 pour une machine à 2 cœurs",
        )

    def handle(
        self, *args: Any, host: str, port: int, threads: int, workers: int, **options: Any
    ) -> None:
        if workers < 1:
            raise CommandError("--workers : au moins 1 processus.")
        if workers > 1 and not hasattr(os, "fork"):
            raise CommandError(
                "--workers supérieur à 1 demande un système POSIX (Linux, macOS…) ; "
                "sous Windows, lancez un seul processus."
            )
        from waitress import serve

        from conciergerie.wsgi import application

        if workers == 1:
            self.stdout.write(f"Conciergerie écoute sur http://{host}:{port}/")
            serve(application, host=host, port=port, threads=threads, ident="conciergerie")
            return

        from django.db import connections

        from conciergerie.core.prefork import Prefork, listen

        sock = listen(host, port)
        self.log(
            f"Conciergerie écoute sur http://{host}:{sock.getsockname()[1]}/ : {workers} "
            f"processus web de {threads} fils, surveillés par le processus {os.getpid()}."
        )
        connections.close_all()  # each worker opens its own

        def run_worker(shared: Any) -> None:
            serve(application, sockets=[shared], threads=threads, ident="conciergerie")

        Prefork(run_worker, sock, workers, self.log).run()

    def log(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()
