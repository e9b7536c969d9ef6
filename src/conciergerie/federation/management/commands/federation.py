"""`conciergerie federation follow|deliver|status|block|rotate-key`."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count
from django.utils import timezone

from conciergerie.core.errors import DomainError
from conciergerie.core.models import Place
from conciergerie.federation import services, vocab
from conciergerie.federation.models import Delivery, Follow, InboxItem, RemoteObject


class Command(BaseCommand):
    help = "Le réseau : suivre un lieu, envoyer les activités en attente, voir l'état."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        follow = sub.add_parser("follow", help="suivre un lieu d'une autre instance")
        follow.add_argument("--place", required=True, help="identifiant court du lieu d'ici")
        follow.add_argument("target", help="@lieu@exemple.org ou l'adresse de l'acteur")
        deliver = sub.add_parser("deliver", help="envoyer ce qui est dû (le travailleur)")
        deliver.add_argument("--once", action="store_true", help="une passe, puis s'arrêter")
        deliver.add_argument("--interval", type=float, default=5.0, help="secondes entre passes")
        sub.add_parser("status", help="abonnements, files d'envoi et de réception")
        block = sub.add_parser("block", help="bloquer une instance, ou un seul compte (--actor)")
        block.add_argument("domain", nargs="?", help="l'instance à bloquer : exemple.org")
        block.add_argument("--reason", default="", help="pour une instance")
        block.add_argument("--actor", help="un compte : son adresse https://… ou acct:nom@hôte")
        block.add_argument("--place", help="le lieu d'ici au nom duquel bloquer le compte")
        block.add_argument("--undo", action="store_true", help="débloquer le compte (--actor)")
        rotate = sub.add_parser("rotate-key", help="changer la clé d'un lieu")
        rotate.add_argument("--place", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "follow":
                self._follow(options["place"], options["target"])
            elif action == "deliver":
                self._deliver(options["once"], options["interval"])
            elif action == "status":
                self._status()
            elif action == "block":
                self._block(options)
            elif action == "rotate-key":
                services.key_rotate(place=self._place(options["place"]), by=None)
                self.stdout.write("Nouvelle clé ; les abonnés en sont informés.")
        except DomainError as exc:
            raise CommandError(str(exc)) from exc

    def _place(self, slug: str) -> Place:
        place = Place.objects.filter(slug=slug).first()
        if place is None:
            raise CommandError(f"Lieu inconnu : {slug}")
        return place

    def _block(self, options: dict[str, Any]) -> None:
        if options["actor"] is None:
            if not options["domain"] or options["undo"] or options["place"]:
                raise CommandError("Indiquez une instance (exemple.org) ou --place et --actor.")
            blocked = services.domain_block(
                domain=options["domain"], reason=options["reason"], by=None
            )
            self.stdout.write(f"Instance bloquée : {blocked.domain}")
            return
        if options["domain"] or not options["place"]:
            raise CommandError("Un compte se bloque avec --place SLUG --actor ADRESSE, seuls.")
        remote = services.actor_block(
            place=self._place(options["place"]),
            actor=options["actor"],
            blocked=not options["undo"],
            by=None,
        )
        verb = "débloqué" if options["undo"] else "bloqué"
        self.stdout.write(f"Compte {verb} : {remote.handle} ({remote.url})")

    def _follow(self, slug: str, target: str) -> None:
        place = self._place(slug)
        follow = services.follow_request(place=place, target=target, by=None)
        self.stdout.write(
            f"{place.slug} demande à suivre {follow.remote.handle} ({follow.remote.url}) ; "
            "la demande part avec `conciergerie federation deliver`."
        )

    def _deliver(self, once: bool, interval: float) -> None:
        while True:
            processed = services.inbox_process_pending()
            run = services.deliver_due()
            if once or run.sent or run.retried or run.failed or processed:
                self.stdout.write(
                    f"{timezone.now():%H:%M:%S} envoyées {run.sent}, à réessayer {run.retried}, "
                    f"abandonnées {run.failed}, reçues traitées {processed}"
                )
            if once:
                return
            time.sleep(interval)

    def _status(self) -> None:
        self.stdout.write(f"Instance : {vocab.host()}")
        for place in Place.objects.order_by("slug"):
            counts = dict(
                Follow.objects.filter(place=place)
                .values_list("direction", "state")
                .annotate(n=Count("id"))
                .values_list("direction", "n")
            )
            self.stdout.write(
                f"  @{place.slug}@{vocab.host()} : suit {counts.get('following', 0)}, "
                f"abonnés {counts.get('follower', 0)}"
            )
            for follow in Follow.objects.filter(place=place).select_related("remote"):
                self.stdout.write(
                    f"    {follow.get_direction_display()} {follow.remote.handle} "
                    f"({follow.get_state_display()})"
                )
        deliveries = dict(Delivery.objects.values_list("state").annotate(n=Count("id")).order_by())
        due = Delivery.objects.filter(
            state=Delivery.State.PENDING, next_attempt_at__lte=timezone.now()
        ).count()
        self.stdout.write(
            f"Envois : {deliveries.get('pending', 0)} en attente dont {due} dus, "
            f"{deliveries.get('done', 0)} remis, {deliveries.get('failed', 0)} abandonnés"
        )
        inbox = dict(InboxItem.objects.values_list("state").annotate(n=Count("id")).order_by())
        self.stdout.write(
            "Réception : " + ", ".join(f"{k} {v}" for k, v in sorted(inbox.items())) or "rien"
        )
        objects = dict(
            RemoteObject.objects.filter(deleted_at=None)
            .values_list("kind")
            .annotate(n=Count("id"))
            .order_by()
        )
        self.stdout.write(
            "Reçu du réseau : " + ", ".join(f"{k} {v}" for k, v in sorted(objects.items()))
        )
