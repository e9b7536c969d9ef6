"""Federation fan-out: one public event published by a place with 1,000 followers, each on
its own inbox, delivered by `services.deliver_due` (the `conciergerie federation deliver`
worker); with `--write`, replaces the « ## Fédération : diffusion » section of RESULTS.md.

    python bench/federation.py [--inboxes 1000] [--write]

One process, a fresh SQLite data directory under bench/out/. The inboxes are served by a
separate process (`http.server`, threaded, answers 202 to every POST and counts them by
path), on loopback, so the worker's signing and HTTP are measured, not the receiver's.
Baseline in the same run: the same number of POSTs of the same body to the same server with
the same thread pool, unsigned and without the database (what the network alone costs).
Then the catch-up case: the receiving server is stopped, a second event is published, one
pass of the worker finds every inbox down (all retried later); the server comes back, the
pass at the retry time delivers everything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import OUT, free_port, machine, objectives, write_section  # noqa: E402

SECTION = "Fédération : diffusion"
GOAL_SECONDS = 60

RECEIVER = r"""
import sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
seen = set(); lock = threading.Lock()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            seen.add(self.path)
        self.send_response(202); self.send_header("Content-Length", "0"); self.end_headers()
    def do_GET(self):
        body = str(len(seen)).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 1024
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def receiver(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])  # noqa: S603
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)  # noqa: S310
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("receiver did not start")


def seen(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:  # noqa: S310
        return int(r.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inboxes", type=int, default=1000)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    n = args.inboxes
    OUT.mkdir(exist_ok=True)
    data = Path(tempfile.mkdtemp(dir=OUT, prefix="federation-"))
    os.environ.update(
        CONCIERGERIE_DATA_DIR=str(data),
        CONCIERGERIE_FEDERATION_ALLOW_LOOPBACK="1",
        DJANGO_SETTINGS_MODULE="conciergerie.settings",
    )
    os.environ.pop("CONCIERGERIE_DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from conciergerie.core import services as core
    from conciergerie.events import services as events
    from conciergerie.federation import fetch, services
    from conciergerie.federation.models import Delivery, Follow, RemoteActor

    info = machine()
    call_command("migrate", verbosity=0)
    port = free_port()
    server = receiver(port)
    base = f"http://127.0.0.1:{port}"
    try:
        place = core.place_create(by=None, slug="diffusion", name="Banc de diffusion")
        services.local_actor(place)
        actors = RemoteActor.objects.bulk_create(
            RemoteActor(
                url=f"https://f{i}.example/ap/lieu",
                domain=f"f{i}.example",
                username="lieu",
                inbox=f"{base}/inbox/{i}",
            )
            for i in range(n)
        )
        Follow.objects.bulk_create(
            Follow(place=place, remote=a, direction="follower", state="accepted") for a in actors
        )

        def publish(title: str) -> float:
            start = timezone.now() + dt.timedelta(days=20)
            t0 = time.perf_counter()
            with transaction.atomic():
                events.event_create(
                    place=place,
                    by=None,
                    title=title,
                    start_at=start,
                    end_at=start + dt.timedelta(hours=2),
                    capacity=30,
                )
            return time.perf_counter() - t0

        queued_s = publish("Conférence du réseau")
        queued = Delivery.objects.filter(state="pending").count()
        t0 = time.perf_counter()
        passes = 0
        while Delivery.objects.filter(state="pending").exists() and passes < 20:
            services.deliver_due(limit=n)
            passes += 1
        fan_out_s = time.perf_counter() - t0
        done = Delivery.objects.filter(state="done").count()
        received = seen(port)

        # Baseline: the same POSTs, unsigned, no database, same pool size.
        body = json.dumps(Delivery.objects.first().activity.payload).encode()

        def plain(i: int) -> int:
            return fetch.request(
                "POST", f"{base}/plain/{i}", body=body, headers={"Content-Type": "application/json"}
            ).status

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=services.DELIVERY_THREADS) as pool:
            statuses = list(pool.map(plain, range(n)))
        baseline_s = time.perf_counter() - t0
        assert statuses.count(202) == n

        # Catch-up: every inbox down, then back.
        server.terminate()
        server.wait()
        publish("Atelier du réseau")
        t0 = time.perf_counter()
        down = services.deliver_due(limit=n)
        down_s = time.perf_counter() - t0
        server = receiver(port)
        later = timezone.now() + dt.timedelta(minutes=2)
        t0 = time.perf_counter()
        back = services.deliver_due(now=later, limit=n)
        back_s = time.perf_counter() - t0
    finally:
        server.terminate()
        shutil.rmtree(data, ignore_errors=True)

    lines = [
        f"## {SECTION}",
        "",
        f"Écrit par `bench/federation.py` le {dt.datetime.now():%Y-%m-%d %H:%M}. Machine : "
        f"{info['nproc']} processeurs ({info['cpu'] or 'modèle inconnu'}), {info['system']}, "
        f"charge au départ {info['load']} ; Python {info['python']}, Django {info['django']}, "
        f"SQLite {info['sqlite']}.",
        "",
        "Méthode : voir l'en-tête de `bench/federation.py`. Un lieu, "
        f"{n} abonnés sur {n} boîtes de réception différentes (un serveur local dans un autre "
        "processus), un évènement public publié ; le travailleur (`services.deliver_due`, "
        f"{services.DELIVERY_THREADS} fils) signe et envoie chaque remise.",
        "",
        "| mesure | valeur |",
        "|---|---:|",
        f"| publier l'évènement (transaction comprise, {queued} remises mises en file) "
        f"| {queued_s * 1000:.0f} ms |",
        f"| diffuser à {n} boîtes ({passes} passe(s)) | {fan_out_s:.1f} s |",
        f"| remises réussies / reçues par le serveur | {done} / {received} |",
        f"| remises par seconde | {done / fan_out_s:.0f} |",
        f"| référence : {n} POST du même corps, non signés, sans base, même nombre de fils "
        f"| {baseline_s:.1f} s ({n / baseline_s:.0f}/s) |",
        f"| ratio diffusion / référence (temps) | {fan_out_s / baseline_s:.1f} |",
        f"| rattrapage : passe avec toutes les boîtes hors service "
        f"| {down_s:.1f} s, {down.retried} à réessayer, {down.sent} remises |",
        f"| rattrapage : passe à l'heure du nouvel essai, serveur revenu "
        f"| {back_s:.1f} s, {back.sent} remises, {back.retried} à réessayer |",
        "",
        *objectives(
            [
                f"- Diffusion à {n} boîtes en ≤ {GOAL_SECONDS} s : {fan_out_s:.1f} s — "
                + ("**atteint**" if fan_out_s <= GOAL_SECONDS and done == n else "**non atteint**"),
                f"- Rattrapage complet après une panne : {back.sent} / {n} — "
                + ("**atteint**" if back.sent == n else "**non atteint**"),
            ],
            f"python bench/federation.py --inboxes {n} --write",
        ),
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
