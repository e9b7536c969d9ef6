"""Run the background task queue kept in the database (e-mails, imports, later billing), the
clock-driven chores (expired waiting-list offers) every minute, and the federation's
deliveries every few seconds."""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections

CHORES_EVERY = 60.0  # seconds
FEDERATION_EVERY = 5.0  # seconds: activities to other instances leave soon after the change
log = logging.getLogger(__name__)


def run_chores() -> int:
    """What must happen when time passes, not when someone acts: offers that ran out go to
    the next person waiting; overdue invoices get their payment reminder. Returns how many
    things changed."""
    from conciergerie.billing.services.payments import reminders_due
    from conciergerie.events.services import offers_expire

    changed = offers_expire()
    return changed + reminders_due()


def _chores_loop(stop: threading.Event) -> None:
    while not stop.wait(CHORES_EVERY):
        try:
            run_chores()
        except Exception:  # a chore failing must not stop the queue; the next round retries
            log.exception("Échec d'une tâche périodique")
        finally:
            close_old_connections()


def run_federation() -> None:
    """One round of the federation's work: received activities left unprocessed (the request
    that stored them failed), then the deliveries that are due."""
    from conciergerie.federation import services

    services.inbox_process_pending()
    services.deliver_due()


def _federation_loop(stop: threading.Event) -> None:
    """What `conciergerie federation deliver` does, inside the worker: one process to run."""
    while not stop.wait(FEDERATION_EVERY):
        try:
            run_federation()
        except Exception:  # the next round retries; deliveries keep their own backoff
            log.exception("Échec de l'envoi vers le réseau")
        finally:
            close_old_connections()


class Command(BaseCommand):
    help = "Exécute les tâches de fond (file d'attente en base de données)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Traite ce qui est en attente, puis s'arrête."
        )
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args: Any, once: bool, interval: float, **options: Any) -> None:
        argv = [
            "--queue-name",
            "*",
            "--interval",
            str(interval),
            "--no-startup-delay",
            "--no-reload",
        ]
        run_chores()
        if once:
            argv.append("--batch")
            call_command("db_worker", *argv, verbosity=options.get("verbosity", 1))
            return
        stop = threading.Event()
        threading.Thread(target=_chores_loop, args=(stop,), daemon=True, name="chores").start()
        threading.Thread(
            target=_federation_loop, args=(stop,), daemon=True, name="federation"
        ).start()
        try:
            call_command("db_worker", *argv, verbosity=options.get("verbosity", 1))
        finally:
            stop.set()
