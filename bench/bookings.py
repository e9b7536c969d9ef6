"""Booking throughput, overbooking under contention and availability search, on SQLite and
PostgreSQL; appends (or replaces) the « ## Réservations » section of bench/RESULTS.md.

    python bench/bookings.py [--seconds 2] [--rounds 3] [--timeout 600] [--no-write]

Per database: a fresh data directory under bench/out/ (and, for PostgreSQL, a fresh database
`conciergerie_bench_<random>` on CONCIERGERIE_TEST_PG_URL or the local test server, dropped
at the end), migrated; a place with 64 capacity-1 resources (one per client) and 4 contended
ones (2 of capacity 1, 2 of capacity 3); then one `conciergerie serve --threads 64` process
with CONCIERGERIE_BENCH=1.

- Throughput: for 1, 8 and 64 concurrent clients (threads, keep-alive HTTP), rounds of
  `--seconds` alternate between the baseline `POST /bench/insert` (one INSERT of one row)
  and `POST /bench/book` (the real booking service as a concierge: rules, capacity guard,
  audit). Each client books its own resource on consecutive slots, so every booking should
  succeed; only 201 answers count. Ratio = bookings/s ÷ inserts/s.
- Contention: 64 clients book random overlapping slots of the 4 contended resources; then
  every resource's bookings are replayed by `over_capacity_instants` (must find none).
- Search: 500 resources (1 to 12 places, various features) with about 3 bookings a day over
  7 days; `selectors.search` over those 7 days, timed in-process, 100 runs after 5 warm-ups.

- Split: the booking and the baseline called in-process (Django's test client, no HTTP),
  300 each, with the time inside the database driver and the queries counted apart.

Django steps (setup, split, search, counting) run in a subprocess per database (`_prepare`,
`_split`, `_search`, `_overcap`) since one process can only configure Django once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import secrets
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (  # noqa: E402 - bench/run.py, the benches' shared helpers
    Conn,
    Deadline,
    bench_args,
    bench_server,
    django_setup,
    fresh_database,
    machine,
    objectives,
    percentile,
    sql_timer,
    write_section,
)
from run import run_step as run_script_step  # noqa: E402

CONCURRENCY = [1, 8, 64]
CLIENTS = max(CONCURRENCY)
THREADS = 64
RATIO_GOAL = 0.6
SEARCH_P95_GOAL_MS = 50.0
SEARCH_RESOURCES = 500
SEARCH_RUNS = 100
CONTENTION_REQUESTS = 15  # per client
HALF_HOUR = dt.timedelta(minutes=30)
API_BOOKINGS = "/api/v1/bookings"
FEATURES = ["vidéoprojecteur", "écran", "tableau blanc", "visio", "cuisine", "accessible"]
KINDS = ["salle", "bureau", "machine", "materiel"]


# --- Django steps, run in a subprocess ------------------------------------------------------------


_django = django_setup


def _base_day() -> dt.datetime:
    """Midnight UTC, 60 days ahead: far from anything else, bookable by a concierge."""
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + dt.timedelta(days=60)


def step_prepare() -> dict[str, Any]:
    _django()
    from django.urls import Resolver404, resolve

    from conciergerie.core import services as core
    from conciergerie.spaces import services
    from conciergerie.spaces.models import Resource

    place = core.place_create(by=None, slug="banc", name="Banc d'essai")
    place.opening_hours = {}  # always open: only capacity decides
    place.save()

    def make(name: str, cap: int) -> int:
        r = services.resource_create(
            place=place, by=None, name=name, kind="salle", capacity=cap, horizon_days=3650
        )
        return int(r.pk)

    own = [make(f"Poste {i:02d}", 1) for i in range(CLIENTS)]
    contended = [make("Box A", 1), make("Box B", 1), make("Salle A", 3), make("Salle B", 3)]
    meta: dict[str, Any] = {"own": own, "contended": contended, "capacities": [1, 1, 3, 3]}
    # The public API when it exists (a concierge's Bearer token), else /bench/book.
    try:
        resolve(API_BOOKINGS)
    except Resolver404:
        return meta | {"path": "/bench/book", "token": ""}
    user = core.user_create(
        email="concierge@banc.example.org",
        password=secrets.token_urlsafe(16),
        place=place,
        role="concierge",
    )
    uuids = dict(Resource.objects.filter(place=place).values_list("pk", "uuid"))
    return meta | {
        "path": API_BOOKINGS,
        "token": core.token_create(user=user, name="bench"),
        "own": [str(uuids[pk]) for pk in own],
        "contended": [str(uuids[pk]) for pk in contended],
    }


def step_search() -> dict[str, Any]:
    _django()
    from conciergerie.core import services as core
    from conciergerie.core.permissions import Level
    from conciergerie.spaces import rules, selectors
    from conciergerie.spaces.models import Booking, Resource
    from conciergerie.spaces.views import SEARCH_RESULTS

    rng = random.Random(42)
    week = {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    place = core.place_create(by=None, slug="recherche", name="Grand tiers-lieu")
    place.opening_hours = week
    place.save()
    Resource.objects.bulk_create(
        [
            Resource(
                place=place,
                name=f"Ressource {i:03d}",
                kind=KINDS[i % len(KINDS)],
                capacity=rng.choice([1, 1, 1, 2, 4, 6, 8, 12]),
                features=sorted(rng.sample(FEATURES, rng.randint(0, 3))),
            )
            for i in range(SEARCH_RESOURCES)
        ]
    )
    resources = list(Resource.objects.filter(place=place).select_related("place"))
    zone = rules.place_zone(resources[0])
    today = dt.datetime.now(zone).date()
    monday = today + dt.timedelta(days=7 - today.weekday())
    first = dt.datetime(monday.year, monday.month, monday.day, tzinfo=zone)
    bookings = []
    for r in resources:
        for day in range(7):
            t = first + dt.timedelta(days=day, hours=8)
            for _ in range(rng.randint(2, 4)):
                t += rng.randint(0, 4) * HALF_HOUR
                end = t + rng.randint(1, 4) * HALF_HOUR
                if end > first + dt.timedelta(days=day, hours=20):
                    break
                bookings.append(
                    Booking(
                        place=place,
                        resource=r,
                        start_at=t,
                        end_at=end,
                        seats=rng.randint(1, r.capacity),
                        exclusive=r.capacity == 1,
                        status=Booking.Status.CONFIRMED,
                    )
                )
                t = end
    Booking.objects.bulk_create(bookings, batch_size=2000)
    start, end = first, first + dt.timedelta(days=7)
    queries = [
        {
            "seats": rng.choice([1, 1, 2, 4, 8]),
            "minutes": rng.choice([60, 90, 120, 180]),
            "kind": rng.choice(["", "", *KINDS]),
            "features": rng.choice([[], [], ["vidéoprojecteur"], ["visio", "écran"]]),
        }
        for _ in range(SEARCH_RUNS + 5)
    ]
    timings, found = [], []
    for i, q in enumerate(queries):
        t0 = time.perf_counter()
        result = selectors.search(
            place=place, level=Level.CONCIERGE, start=start, end=end, limit=SEARCH_RESULTS, **q
        )
        elapsed = (time.perf_counter() - t0) * 1000
        if i >= 5:
            timings.append(elapsed)
            found.append(result.total)
    return {
        "resources": len(resources),
        "bookings": len(bookings),
        "p50": statistics.median(timings),
        "p95": percentile(timings, 0.95),
        "mean": statistics.fmean(timings),
        "max": max(timings),
        "found_median": statistics.median(found),
    }


def step_overcap() -> dict[str, Any]:
    _django()
    from conciergerie.core import capacity
    from conciergerie.spaces.models import Booking, Resource

    over, total = 0, 0
    for r in Resource.objects.filter(place__slug="banc"):
        rows = Booking.objects.filter(resource=r, status__in=Booking.HOLDING).values_list(
            "start_at", "end_at", "seats"
        )
        holds = [capacity.Hold(s, e, n) for s, e, n in rows]
        total += len(holds)
        over += len(capacity.over_capacity_instants(holds, r.capacity))
    return {"over": over, "bookings": total}


def step_split() -> dict[str, Any]:
    """Where one booking's time goes: the same two endpoints called in-process (no HTTP, no
    other load), with the time spent inside the database driver measured apart."""
    _django()
    from django.test import Client

    from conciergerie.core import services as core
    from conciergerie.spaces import services

    place = core.place_create(by=None, slug="decoupe", name="Découpe")
    place.opening_hours = {}
    place.save()
    resource = services.resource_create(place=place, by=None, name="Poste", horizon_days=3650)
    user = core.user_create(
        email="concierge@decoupe.example.org",
        password=secrets.token_urlsafe(16),
        place=place,
        role="concierge",
    )
    client = Client(
        HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {core.token_create(user=user)}"
    )
    first = _base_day() + dt.timedelta(days=120)

    def book(i: int) -> int:
        start = first + i * HALF_HOUR
        body = {"resource": str(resource.uuid), "start": start.isoformat()}
        body["end"] = (start + HALF_HOUR).isoformat()
        return client.post(
            API_BOOKINGS, json.dumps(body), content_type="application/json"
        ).status_code

    def insert(_i: int) -> int:
        return client.post("/bench/insert").status_code

    out: dict[str, Any] = {}
    for name, call in (("insert", insert), ("book", book)):
        for i in range(20):  # warm-up: connection, token's last use, code paths
            assert call(1000 + i) == 201
        n = 300
        t0 = time.perf_counter()
        with sql_timer() as sql:
            for i in range(n):
                assert call(i) == 201
        total = time.perf_counter() - t0
        out[name] = {
            "ms": total / n * 1000,
            "sql_ms": sql["seconds"] / n * 1000,
            "queries": sql["queries"] / n,
        }
    return out


STEPS = {
    "_prepare": step_prepare,
    "_search": step_search,
    "_overcap": step_overcap,
    "_split": step_split,
}


def run_step(step: str, env: dict[str, str], deadline: Deadline) -> dict[str, Any]:
    return run_script_step(__file__, step, env, deadline)


# --- HTTP load -----------------------------------------------------------------------------------


class Load:
    """Up to 64 keep-alive clients; each keeps its connection and its slot counter."""

    def __init__(self, port: int, meta: dict[str, Any]) -> None:
        self.conns = [Conn(port, meta["token"]) for _ in range(CLIENTS)]
        self.meta = meta
        self.next_slot = [0] * CLIENTS
        self.base = _base_day()

    def book_body(self, i: int) -> dict[str, Any]:
        k = self.next_slot[i]
        self.next_slot[i] += 1
        start = self.base + k * HALF_HOUR
        return {
            "resource": self.meta["own"][i],
            "start": start.isoformat(),
            "end": (start + HALF_HOUR).isoformat(),
            "seats": 1,
        }

    def timed(self, path: str, clients: int, seconds: float) -> tuple[Counter[int], float]:
        """Every client posts in a loop for `seconds`; status counts and the wall time."""
        barrier = threading.Barrier(clients + 1)
        counts: Counter[int] = Counter()
        lock = threading.Lock()
        stop = [0.0]

        def client(i: int) -> None:
            local: Counter[int] = Counter()
            barrier.wait()
            while time.perf_counter() < stop[0]:
                body = {} if path == "/bench/insert" else self.book_body(i)
                local[self.conns[i].post(path, body)] += 1
            with lock:
                counts.update(local)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        started = time.perf_counter()
        stop[0] = started + seconds
        barrier.wait()
        for t in threads:
            t.join()
        return counts, time.perf_counter() - started

    def contention(self) -> Counter[int]:
        rng = random.Random(7)
        day = self.base + dt.timedelta(days=200)
        plans = [
            [
                (
                    rng.randrange(len(self.meta["contended"])),
                    rng.randrange(0, 8),
                    rng.randrange(1, 4),
                    rng.randint(1, 2),
                )
                for _ in range(CONTENTION_REQUESTS)
            ]
            for _ in range(CLIENTS)
        ]
        barrier = threading.Barrier(CLIENTS)
        counts: Counter[int] = Counter()
        lock = threading.Lock()

        def client(i: int) -> None:
            local: Counter[int] = Counter()
            barrier.wait()
            for which, offset, length, seats in plans[i]:
                start = day + offset * HALF_HOUR
                body = {
                    "resource": self.meta["contended"][which],
                    "start": start.isoformat(),
                    "end": (start + length * HALF_HOUR).isoformat(),
                    "seats": min(seats, self.meta["capacities"][which]),
                }
                local[self.conns[i].post(self.meta["path"], body)] += 1
            with lock:
                counts.update(local)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return counts


# --- One database --------------------------------------------------------------------------------


def measure(db: str, args: argparse.Namespace, deadline: Deadline) -> dict[str, Any]:
    with fresh_database(db, "bookings", deadline) as fresh:
        if fresh is None:
            return {"db": db, "skipped": True}
        env, data_dir = fresh
        meta = run_step("_prepare", env, deadline)
        split = run_step("_split", dict(env, CONCIERGERIE_BENCH="1"), deadline)
        print(f"[{db}] recherche sur {SEARCH_RESOURCES} ressources …", file=sys.stderr)
        search = run_step("_search", env, deadline)
        with bench_server(env, data_dir, THREADS, deadline) as server:
            load = Load(server.port, meta)
            load.timed("/bench/insert", 8, 0.5)  # warm-up: connections, code paths
            load.timed(meta["path"], 8, 0.5)
            throughput = {}
            for clients in CONCURRENCY:
                print(f"[{db}] {clients} client(s) …", file=sys.stderr)
                totals: dict[str, Counter[int]] = {"insert": Counter(), "book": Counter()}
                seconds = {"insert": 0.0, "book": 0.0}
                for _ in range(args.rounds):
                    for kind in ("insert", "book"):
                        deadline.check("débit")
                        path = "/bench/insert" if kind == "insert" else meta["path"]
                        counts, elapsed = load.timed(path, clients, args.seconds)
                        totals[kind].update(counts)
                        seconds[kind] += elapsed
                throughput[clients] = {
                    kind: {
                        "ok": totals[kind][201],
                        "other": sum(n for s, n in totals[kind].items() if s != 201),
                        "per_s": totals[kind][201] / seconds[kind],
                    }
                    for kind in ("insert", "book")
                }
            deadline.check("contention")
            print(f"[{db}] contention …", file=sys.stderr)
            contention = load.contention()
        overcap = run_step("_overcap", env, deadline)
    return {
        "db": db,
        "skipped": False,
        "throughput": throughput,
        "contention": dict(contention),
        "overcap": overcap,
        "search": search,
        "path": meta["path"],
        "split": split,
    }


# --- Report --------------------------------------------------------------------------------------


def report(
    results: list[dict[str, Any]], info: dict[str, str], args: argparse.Namespace, elapsed: float
) -> str:
    lines = [
        "## Réservations",
        "",
        f"Écrit par `bench/bookings.py` le {dt.datetime.now():%Y-%m-%d %H:%M}, en {elapsed:.0f} s. "
        f"Machine : {info['nproc']} processeurs ({info['cpu'] or 'modèle inconnu'}), "
        f"{info['system']}, charge au départ {info['load']} ; Python {info['python']}, "
        f"Django {info['django']}, SQLite {info['sqlite']}. Machine partagée et bruyante : "
        "comparer les ratios plutôt que les débits absolus.",
        "",
        f"Méthode : par base, un dossier de données neuf (et pour PostgreSQL une base "
        f"`conciergerie_bench_<aléa>` créée puis supprimée), un processus "
        f"`conciergerie serve --threads {THREADS}` avec `CONCIERGERIE_BENCH=1`. Débit : pour "
        f"1, 8 et 64 clients HTTP keep-alive (fils), {args.rounds} manches de {args.seconds:g} s "
        "alternées entre la référence `POST /bench/insert` (un INSERT d'une ligne, rien d'autre) "
        "et la réservation par l'API publique `POST /api/v1/bookings` avec le jeton d'un "
        "concierge (à défaut `POST /bench/book`) : le vrai service `booking_create` — règles, "
        "garde de capacité, journal ; chaque client réserve sa propre ressource sur des créneaux "
        "successifs, seules les réponses 201 comptent. Contention : 64 clients × "
        f"{CONTENTION_REQUESTS} demandes sur des créneaux qui se chevauchent de 4 ressources "
        "(2 de capacité 1, 2 de capacité 3), puis chaque ressource est rejouée par "
        "`over_capacity_instants`. Recherche : `selectors.search` sur 7 jours, "
        f"{SEARCH_RESOURCES} ressources (capacité 1 à 12, équipements variés) avec 2 à 4 "
        f"réservations par jour, en processus, {SEARCH_RUNS} requêtes variées après 5 de chauffe, "
        "comme la page de recherche la fait : la disponibilité de toutes les ressources "
        "candidates est calculée (le premier jour d'abord, toute la semaine pour celles qui n'y "
        "ont pas de créneau), les 30 créneaux les plus tôt sont rendus avec le nombre des "
        "autres.",
        "",
    ]
    goals = []
    for r in results:
        name = "SQLite" if r["db"] == "sqlite" else "PostgreSQL 15"
        if r["skipped"]:
            lines += [f"### {name}", "", "Serveur injoignable : non mesuré.", ""]
            continue
        lines += [
            f"### {name}",
            "",
            f"Réservation mesurée : `POST {r['path']}`.",
            "",
            "| clients | réservations confirmées/s | INSERT/s (référence) | ratio | non-201 (résa / réf.) |",
            "|---:|---:|---:|---:|---:|",
        ]
        for clients, t in r["throughput"].items():
            ratio = t["book"]["per_s"] / t["insert"]["per_s"]
            lines.append(
                f"| {clients} | {t['book']['per_s']:.0f} | {t['insert']['per_s']:.0f} | "
                f"{ratio:.2f} | {t['book']['other']} / {t['insert']['other']} |"
            )
        sp = r["split"]
        lines += [
            "",
            "Où passe le temps d'une réservation (les deux mêmes requêtes en processus, sans "
            f"HTTP ni autre charge) : réservation {sp['book']['ms']:.1f} ms dont "
            f"{sp['book']['sql_ms']:.1f} ms dans le pilote de la base (COMMIT compris) pour "
            f"{sp['book']['queries']:.0f} requêtes SQL ; référence {sp['insert']['ms']:.1f} ms "
            f"dont {sp['insert']['sql_ms']:.1f} ms pour {sp['insert']['queries']:.0f} requête. "
            "Le reste est du Python : l'ORM de Django (construire chaque requête, lire chaque "
            "ligne en objet), l'API et le jeton.",
        ]
        c = r["contention"]
        s = r["search"]
        over = r["overcap"]["over"]
        lines += [
            "",
            f"Contention : {sum(c.values())} demandes, {c.get(201, 0)} acceptées (201), "
            f"{c.get(409, 0)} refusées (409)"
            + "".join(f", {n} en {code}" for code, n in sorted(c.items()) if code not in (201, 409))
            + f". Après coup, {r['overcap']['bookings']} réservations rejouées : "
            f"**{over} instant(s) au-delà de la capacité**.",
            "",
            f"Recherche de disponibilité ({s['resources']} ressources, {s['bookings']} "
            f"réservations, 7 jours) : p50 {s['p50']:.1f} ms, p95 {s['p95']:.1f} ms, "
            f"moyenne {s['mean']:.1f} ms, max {s['max']:.1f} ms ; {s['found_median']:.0f} "
            "ressources trouvées (médiane).",
            "",
        ]
        worst = min(t["book"]["per_s"] / t["insert"]["per_s"] for t in r["throughput"].values())
        goals += [
            f"- {name}, réservations confirmées/s ≥ {RATIO_GOAL} × INSERT/s à chaque niveau : "
            f"pire ratio {worst:.2f} — "
            + ("**atteint**." if worst >= RATIO_GOAL else "**non atteint**."),
            f"- {name}, recherche 500 ressources × 7 jours p95 ≤ {SEARCH_P95_GOAL_MS:.0f} ms : "
            f"{s['p95']:.1f} ms — "
            + ("**atteint**." if s["p95"] <= SEARCH_P95_GOAL_MS else "**non atteint**."),
            f"- {name}, 0 instant au-delà de la capacité après contention : {over} — "
            + ("**atteint**." if over == 0 else "**non atteint**."),
        ]
    lines += objectives(goals, "python bench/bookings.py --timeout 600")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = bench_args(argv, __doc__, STEPS, timeout=600)
    if args is None:
        return
    deadline = Deadline(args.timeout)
    started = time.monotonic()
    info = machine()
    results = [measure(db, args, deadline) for db in args.databases]
    text = report(results, info, args, time.monotonic() - started)
    print(text)
    if not args.no_write:
        write_section("Réservations", text)


if __name__ == "__main__":
    main()
