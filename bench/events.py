"""Event registration throughput and overselling under contention, on SQLite and PostgreSQL;
appends (or replaces) the « ## Inscriptions aux évènements » section of bench/RESULTS.md.

    python bench/events.py [--runs 2] [--seconds 2] [--rounds 3] [--timeout 1800] [--no-write]

`--runs` complete measurements one after the other (databases alternating), all reported:
the machine is shared and noisy. Per run and database: a fresh data directory under
bench/out/ (and, for PostgreSQL, a fresh database `conciergerie_bench_<random>`, dropped at
the end), migrated, with one place and its events; then one `conciergerie serve --threads 64`
process with CONCIERGERIE_BENCH=1 (the machinery is bench/run.py's, shared with
bench/bookings.py).

- Throughput: one event of 1,000,000 seats (nothing is refused: this measures the cost of a
  registration, not the capacity rule), three tiers. For 1, 8 and 64 concurrent clients
  (threads, keep-alive HTTP), rounds of `--seconds` alternate between the baseline
  `POST /bench/insert` (one INSERT of one row) and `POST /bench/register`: the real
  `registration_create` as an anonymous visitor (one attendee, a unique e-mail each, the
  "standard" tier, no e-mail sent), i.e. window, tier and amount, duplicate check, capacity
  guard, tickets, audit. Only confirmed registrations (201) count; p50 / p95 latency seen by
  the clients; the server process's CPU time per request (/proc). Then the same 64 clients
  on `conciergerie serve --workers 2 --threads 32`: two web processes sharing one port, the
  kernel handing the connections to them, the deployment for a 2-core machine; what the lock
  allows once one Python process (one core, the GIL) is not the limit.
- Oversell: events of 50 seats without a waitlist. (a) 64 clients at once, one seat each;
  (b) 64 clients × 2 orders of 2 attendees on a sliding scale whose "solidaire" tier has a
  quota of 10. Afterwards the database is read: seats confirmed per event and per tier,
  registrations whose tickets do not match their seats (half-written), and tiers whose seat
  counter (what the check reads) does not match the tickets.
- Split: in-process (Django's test client, no HTTP, no other load), 300 calls each of the
  baseline endpoint, the registration endpoint, `registration_create` alone and the event
  load the endpoint does, with CPU time, the time inside the database driver and the
  statements counted; the statements of one registration; and, on an event already holding
  20,000 seats, the service and the read made under the lock against `_held`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
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
    Server,
    bench_args,
    bench_server,
    django_setup,
    fresh_database,
    machine,
    objectives,
    percentile,
    process_cpu,
    run_step,
    sql_timer,
    write_section,
)

CONCURRENCY = [1, 8, 64]
CLIENTS = max(CONCURRENCY)
THREADS = 64
WORKERS = 2  # web processes, one per core of the 2-core bench machine
GOAL_PER_S = 200  # registrations per second, PostgreSQL, 64 clients
BIG = 1_000_000
SMALL = 50
QUOTA = 10
FILLED = 20_000  # seats already held for the split's "full event" case
SPLIT_N = 300
SECTION = "Inscriptions aux évènements"
SLUG = "banc-evenements"
KINDS = ("insert", "register")


# --- Django steps, run in a subprocess ------------------------------------------------------------


def _start() -> dt.datetime:
    """An evening 60 days ahead: registrations are open."""
    day = dt.datetime.now(dt.UTC) + dt.timedelta(days=60)
    return day.replace(hour=17, minute=0, second=0, microsecond=0)


def _event(place: Any, title: str, capacity: int, tiers: list[dict[str, Any]] | None) -> Any:
    from conciergerie.events import services

    start = _start()
    return services.event_create(
        place=place,
        by=None,
        title=title,
        start_at=start,
        end_at=start + dt.timedelta(hours=3),
        capacity=capacity,
        waitlist_enabled=False,
        tiers=tiers,
    )


def _sliding(quota: int) -> list[dict[str, Any]]:
    return [
        {"name": "solidaire", "price": "5", "quota": quota},
        {"name": "standard", "price": "15"},
        {"name": "soutien", "price": "25"},
    ]


def step_prepare() -> dict[str, Any]:
    django_setup()
    from conciergerie.core import services as core

    place = core.place_create(by=None, slug=SLUG, name="Banc d'essai, évènements")
    big = _event(place, "Grande conférence", BIG, _sliding(BIG))
    single = _event(place, "Atelier de 50 places", SMALL, None)
    sliding = _event(place, "Atelier de 50 places, prix solidaire", SMALL, _sliding(QUOTA))
    tiers = {t.name: str(t.uuid) for t in sliding.tiers.all()}
    return {
        "big": big.pk,
        "big_tier": str(big.tiers.get(name="standard").uuid),
        "single": single.pk,
        "sliding": sliding.pk,
        "tiers": tiers,
    }


def step_check() -> dict[str, Any]:
    """What the database holds after the load, per event of the bench place."""
    django_setup()
    from django.db.models import Count, F

    from conciergerie.events import services
    from conciergerie.events.models import Event, Registration, Ticket

    out = {}
    for event in Event.objects.filter(place__slug=SLUG):
        confirmed = Ticket.objects.filter(
            event=event, registration__status=Registration.Status.CONFIRMED
        )
        per_tier = dict(confirmed.values_list("tier__name").annotate(n=Count("id")).order_by())
        half = (
            Registration.objects.filter(event=event)
            .annotate(n=Count("tickets"))
            .exclude(n=F("seats"))
            .count()
        )
        out[str(event.pk)] = {
            "capacity": event.capacity,
            "seats": sum(per_tier.values()),
            "per_tier": per_tier,
            "registrations": dict(
                Registration.objects.filter(event=event)
                .values_list("status")
                .annotate(n=Count("id"))
                .order_by()
            ),
            "half_written": half,
            # tiers whose seat counter (read by the check) differs from the tickets
            "drift": len(services.seats_drift(event)),
        }
    return out


def step_split() -> dict[str, Any]:
    """Where one registration's time goes: the endpoints and the service in-process."""
    django_setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from conciergerie.core import services as core
    from conciergerie.core.permissions import Level
    from conciergerie.events import services
    from conciergerie.events.models import Event, Registration, SeatCount, Ticket

    place = core.place_create(by=None, slug="decoupe-evenements", name="Découpe")
    event = _event(place, "Découpe", BIG, _sliding(BIG))
    full = _event(place, "Découpe, déjà bien rempli", BIG, _sliding(BIG))
    tier = event.tiers.get(name="standard")
    client = Client(HTTP_HOST="localhost")
    seq = iter(range(10**9))

    def insert() -> int:
        return client.post("/bench/insert").status_code

    def endpoint() -> int:
        body = {"event": event.pk, "email": f"e{next(seq)}@decoupe.example.org"}
        body["tiers"] = [str(tier.uuid)]
        return client.post("/bench/register", body, content_type="application/json").status_code

    def service(on: Any = event, on_tier: Any = tier) -> int:
        services.registration_create(
            event=on,
            by=None,
            level=Level.ANONYMOUS,
            visitor_name="Visiteur du banc",
            visitor_email=f"s{next(seq)}@decoupe.example.org",
            attendees=[{"tier": str(on_tier.uuid), "name": "P"}],
            notify=False,
        )
        return 201

    def load_event() -> int:
        Event.objects.select_related("place").get(pk=event.pk)
        return 201

    def timed(call: Any) -> dict[str, float]:
        for _ in range(20):  # warm-up: connection, code paths
            assert call() == 201
        t0, cpu0 = time.perf_counter(), time.thread_time()
        with sql_timer() as sql:
            for _ in range(SPLIT_N):
                assert call() == 201
        total, cpu = time.perf_counter() - t0, time.thread_time() - cpu0
        return {
            "ms": total / SPLIT_N * 1000,
            "cpu_ms": cpu / SPLIT_N * 1000,
            "sql_ms": sql["seconds"] / SPLIT_N * 1000,
            "queries": sql["queries"] / SPLIT_N,
        }

    event = Event.objects.select_related("place").get(pk=event.pk)
    out: dict[str, Any] = {
        "insert": timed(insert),
        "endpoint": timed(endpoint),
        "service": timed(service),
        "load_event": timed(load_event),
    }
    with CaptureQueriesContext(connection) as captured:
        endpoint()
    out["statements"] = [_short(q["sql"]) for q in captured.captured_queries]
    # An event that already holds FILLED seats: what does the check's read cost there?
    full_tier = full.tiers.get(name="standard")
    regs = Registration.objects.bulk_create(
        Registration(
            event=full,
            place=place,
            visitor_name="Déjà là",
            visitor_email=f"deja{i}@decoupe.example.org",
            confirmed_at=_start(),
        )
        for i in range(FILLED)
    )
    Ticket.objects.bulk_create(
        (Ticket(registration=r, event=full, tier=full_tier, name="Déjà là") for r in regs),
        batch_size=2000,
    )
    SeatCount.objects.create(tier=full_tier, event=full, held=FILLED)  # as the service counts
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics, as autovacuum would have by then
    full = Event.objects.select_related("place").get(pk=full.pk)
    out["service_full"] = timed(lambda: service(full, full_tier))
    # The read inside the guard, against `_held` (every ticket joined with its registration,
    # what the cancel and update paths still use), on that event.
    probe = Registration(event=full, place=place, visitor_email="sonde@decoupe.example.org")
    probe.pk = 0
    sql, params = services._held_query(probe, [])

    def read() -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchone()
        return 201

    def held() -> int:
        services._held(full)
        return 201

    out["read_full"] = timed(read)
    out["held_full"] = timed(held)
    return out


def _short(sql: str) -> str:
    """A statement in a few words; several sent together are joined with « + »."""
    parts = []
    for part in " ".join(sql.split()).split("; "):
        if "set_config('lock_timeout'" in part:
            parts.append("SET lock_timeout")
        elif "pg_advisory_xact_lock" in part:
            parts.append("pg_advisory_xact_lock")
        elif part.startswith("SELECT") and " FROM " in part:
            tables = dict.fromkeys(re.findall(r'(?:FROM|JOIN) \(?"?(\w+)"?', part))
            parts.append("SELECT … FROM " + ", ".join(t for t in tables if t != "SELECT"))
        elif part.startswith("INSERT INTO"):
            parts.append(" ".join(part.split()[:3]).replace('"', ""))
        else:
            parts.append(part[:40])
    return " + ".join(parts)


STEPS = {"_prepare": step_prepare, "_check": step_check, "_split": step_split}


# --- HTTP load -----------------------------------------------------------------------------------


class Load:
    """Up to 64 keep-alive clients, each with its own e-mail sequence."""

    def __init__(self, ports: list[int], meta: dict[str, Any], prefix: str = "client") -> None:
        self.conns = [Conn(ports[i % len(ports)]) for i in range(CLIENTS)]
        self.meta = meta
        self.prefix = prefix
        self.sent = [0] * CLIENTS

    def email(self, i: int) -> str:
        self.sent[i] += 1
        return f"{self.prefix}{i}-{self.sent[i]}@banc.example.org"

    def timed(self, kind: str, clients: int, seconds: float) -> tuple[Counter[int], float, list]:
        """Every client posts in a loop for `seconds`: status counts, wall time, latencies."""
        barrier = threading.Barrier(clients + 1)
        counts: Counter[int] = Counter()
        latencies: list[float] = []
        lock = threading.Lock()
        stop = [0.0]

        def client(i: int) -> None:
            local: Counter[int] = Counter()
            times = []
            conn = self.conns[i]
            barrier.wait()
            while time.perf_counter() < stop[0]:
                if kind == "insert":
                    status = conn.post("/bench/insert", {})
                else:
                    body = {"event": self.meta["big"], "email": self.email(i)}
                    body["tiers"] = [self.meta["big_tier"]]
                    status = conn.post("/bench/register", body)
                local[status] += 1
                times.append(conn.elapsed * 1000)
            with lock:
                counts.update(local)
                latencies.extend(times)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        started = time.perf_counter()
        stop[0] = started + seconds
        barrier.wait()
        for t in threads:
            t.join()
        return counts, time.perf_counter() - started, latencies

    def rush(self, event: int, orders: list[list[list[str | None]]]) -> Counter[int]:
        """Client i posts its orders (each a list of tiers, one per attendee) all at once."""
        barrier = threading.Barrier(len(orders))
        counts: Counter[int] = Counter()
        lock = threading.Lock()

        def client(i: int) -> None:
            local: Counter[int] = Counter()
            barrier.wait()
            for tiers in orders[i]:
                body = {"event": event, "email": self.email(i), "tiers": tiers}
                local[self.conns[i].post("/bench/register", body)] += 1
            with lock:
                counts.update(local)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(len(orders))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return counts


def rush_orders(meta: dict[str, Any]) -> list[list[list[str | None]]]:
    rng = random.Random(20261123)
    sol, std = meta["tiers"]["solidaire"], meta["tiers"]["standard"]
    kinds = [[sol, sol], [sol, std], [std, std]]
    return [[rng.choice(kinds), rng.choice(kinds)] for _ in range(CLIENTS)]


# --- One database --------------------------------------------------------------------------------


def stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0}
    return {"p50": statistics.median(values), "p95": percentile(values, 0.95)}


def level(
    load: Load, servers: list[Server], clients: int, args: argparse.Namespace, deadline: Deadline
) -> dict[str, dict[str, Any]]:
    """Rounds alternating the baseline and the registration; rates, latencies, server CPU
    (all the server's processes; per web process too, to see how evenly they share)."""
    counts: dict[str, Counter[int]] = {kind: Counter() for kind in KINDS}
    seconds = dict.fromkeys(KINDS, 0.0)
    cpu = dict.fromkeys(KINDS, 0.0)
    per_process: dict[str, Counter[int]] = {kind: Counter() for kind in KINDS}
    others = dict.fromkeys(KINDS, 0.0)
    clients_cpu = dict.fromkeys(KINDS, 0.0)
    latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
    pids = [pid for server in servers for pid in server.pids()]
    for _ in range(args.rounds):
        for kind in KINDS:
            deadline.check("débit")
            cpu0 = {pid: process_cpu(pid) for pid in pids}
            busy0, own0 = machine_busy(), time.process_time()
            got, elapsed, times = load.timed(kind, clients, args.seconds)
            used = {pid: process_cpu(pid) - cpu0[pid] for pid in pids}
            cpu[kind] += sum(used.values())
            # Whatever else ran on the machine meanwhile: neither the server nor these clients.
            own = time.process_time() - own0
            clients_cpu[kind] += own
            others[kind] += machine_busy() - busy0 - sum(used.values()) - own
            per_process[kind].update(used)
            counts[kind].update(got)
            seconds[kind] += elapsed
            latencies[kind] += times
    web = [pid for server in servers for pid in server.pids()[1:]]  # forked web processes
    return {
        kind: {
            "ok": counts[kind][201],
            "other": sum(n for s, n in counts[kind].items() if s != 201),
            "per_s": counts[kind][201] / seconds[kind],
            "cpu_ms": cpu[kind] / max(1, sum(counts[kind].values())) * 1000,
            "cpu_share": cpu[kind] / seconds[kind],
            "process_shares": [per_process[kind][pid] / seconds[kind] for pid in web],
            "others_share": max(0.0, others[kind] / seconds[kind]),
            "clients_share": clients_cpu[kind] / seconds[kind],
            **stats(latencies[kind]),
        }
        for kind in KINDS
    }


def machine_busy() -> float:
    """CPU seconds all processors have spent busy since boot (/proc/stat)."""
    user, nice, system, _idle, _iowait, irq, softirq = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]
    )
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def connections(server: Server) -> list[int]:
    """Established client connections held by each web process of the server (/proc)."""
    port = f":{server.port:04X}"
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if Path(table).exists():
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[1].endswith(port) and fields[3] == "01":  # 01: ESTABLISHED
                    inodes.add(fields[9])
    held = []
    for pid in server.pids()[1:]:
        links = []
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                links.append(fd.readlink().name)
            except OSError:  # closed while we looked
                continue
        held.append(
            sum(1 for link in links if link.startswith("socket:[") and link[8:-1] in inodes)
        )
    return held


def measure(db: str, args: argparse.Namespace, deadline: Deadline) -> dict[str, Any]:
    with fresh_database(db, "events", deadline) as fresh:
        if fresh is None:
            return {"db": db, "skipped": True}
        env, data_dir = fresh
        meta = run_step(__file__, "_prepare", env, deadline)
        print(f"[{db}] découpe en processus …", file=sys.stderr)
        split = run_step(__file__, "_split", dict(env, CONCIERGERIE_BENCH="1"), deadline)
        with bench_server(env, data_dir, THREADS, deadline) as server:
            load = Load([server.port], meta)
            load.timed("insert", 8, 0.5)  # warm-up: connections, code paths
            load.timed("register", 8, 0.5)
            throughput = {}
            for clients in CONCURRENCY:
                print(f"[{db}] {clients} client(s) …", file=sys.stderr)
                throughput[clients] = level(load, [server], clients, args, deadline)
            deadline.check("survente")
            print(f"[{db}] survente …", file=sys.stderr)
            rush_single = load.rush(meta["single"], [[[None]] for _ in range(CLIENTS)])
            rush_sliding = load.rush(meta["sliding"], rush_orders(meta))
        # The same 64 clients on two web processes sharing the port (the deployment for
        # two cores): is the lock or the process the limit?
        print(f"[{db}] 64 clients, --workers {WORKERS} …", file=sys.stderr)
        with bench_server(
            env, data_dir, THREADS // WORKERS, deadline, "serve-workers.log", workers=WORKERS
        ) as server:
            load = Load([server.port], meta, prefix="paire")
            # All 64 connect during the warm-up: the kernel has shared them out before timing.
            load.timed("insert", CLIENTS, 0.5)
            load.timed("register", CLIENTS, 0.5)
            workers = level(load, [server], CLIENTS, args, deadline)
            held = connections(server)
        check = run_step(__file__, "_check", env, deadline)
    return {
        "db": db,
        "skipped": False,
        "throughput": throughput,
        "workers": workers,
        "workers_connections": held,
        "split": split,
        "rush": {"single": dict(rush_single), "sliding": dict(rush_sliding)},
        "check": {k: check[str(meta[k])] for k in ("big", "single", "sliding")},
    }


# --- Report --------------------------------------------------------------------------------------


def _oversold(check: dict[str, Any], quota: int | None) -> int:
    over = max(0, check["seats"] - check["capacity"])
    if quota is not None:
        over += max(0, check["per_tier"].get("solidaire", 0) - quota)
    return over


def _n(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u202f")


def _codes(counts: dict[Any, int]) -> str:
    return ", ".join(f"{n} × {code}" for code, n in sorted(counts.items(), key=str))


def _rate_row(run: int, label: str, t: dict[str, dict[str, Any]]) -> str:
    reg, ins = t["register"], t["insert"]
    return (
        f"| {run} | {label} | {reg['per_s']:.0f} | {ins['per_s']:.0f} | "
        f"{reg['per_s'] / ins['per_s']:.2f} | {reg['p50']:.0f} / {reg['p95']:.0f} | "
        f"{ins['p50']:.0f} / {ins['p95']:.0f} | {reg['cpu_ms']:.1f} / {ins['cpu_ms']:.1f} | "
        f"{reg['cpu_share'] * 100:.0f} % | {reg['other']} / {ins['other']} |"
    )


def _split_text(sp: dict[str, Any]) -> str:
    e, s, i, ev = sp["endpoint"], sp["service"], sp["insert"], sp["load_event"]
    f, rd, hd = sp["service_full"], sp["read_full"], sp["held_full"]
    return (
        f"point d'accès `/bench/register` {e['ms']:.2f} ms dont {e['cpu_ms']:.2f} ms de CPU "
        f"et {e['sql_ms']:.2f} ms dans le pilote de la base pour {e['queries']:.0f} requêtes "
        f"SQL ; le service seul (évènement déjà chargé) {s['ms']:.2f} ms dont "
        f"{s['cpu_ms']:.2f} ms de CPU ; relire l'évènement et son lieu, ce que fait le point "
        f"d'accès à chaque requête, {ev['ms']:.2f} ms dont {ev['cpu_ms']:.2f} ms de CPU ; "
        f"référence {i['ms']:.2f} ms dont {i['cpu_ms']:.2f} ms de CPU et {i['sql_ms']:.2f} ms "
        f"de base. Sur un évènement qui tient déjà {_n(FILLED)} places : le service "
        f"{f['ms']:.2f} ms dont {f['sql_ms']:.2f} ms de base, la lecture faite sous le verrou "
        f"{rd['ms']:.2f} ms (le décompte par billets `_held`, qu'elle remplace : "
        f"{hd['ms']:.2f} ms)."
    )


def _reading(db: str, t64: dict[str, Any], workers: dict[str, Any], held: list[int]) -> str:
    reg, two = t64["register"], workers["register"]
    ceiling = 1000 / reg["cpu_ms"] if reg["cpu_ms"] else 0.0
    shares = " et ".join(f"{x * 100:.0f} %" for x in two["process_shares"])
    return (
        f"à 64 clients, le processus `serve` a utilisé {reg['cpu_share'] * 100:.0f} % d'un cœur, "
        f"{reg['cpu_ms']:.1f} ms de CPU par inscription : {ceiling:.0f} inscriptions/s pour un "
        "cœur occupé à plein, ce qu'un processus Python ne dépasse guère (GIL) ; "
        f"{reg['per_s']:.0f}/s mesurées. Avec `--workers {WORKERS}` (même verrou, même port), "
        f"{two['per_s']:.0f}/s ({two['per_s'] / reg['per_s']:.2f} × un processus) : les "
        f"processus web ont utilisé {shares} d'un cœur et tenaient "
        f"{' et '.join(map(str, held))} des 64 connexions. Pendant ces manches d'inscription, "
        f"les clients du banc (sur la même machine) ont pris {reg['clients_share'] * 100:.0f} % "
        f"d'un cœur (un processus) et {two['clients_share'] * 100:.0f} % (`--workers {WORKERS}`), "
        "les autres processus"
        + (", serveur PostgreSQL compris," if db == "postgresql" else "")
        + f" {reg['others_share'] * 100:.0f} % et {two['others_share'] * 100:.0f} %."
    )


def report(
    results: list[dict[str, Any]], info: dict[str, str], args: argparse.Namespace, elapsed: float
) -> str:
    lines = [
        f"## {SECTION}",
        "",
        f"Écrit par `bench/events.py` le {dt.datetime.now():%Y-%m-%d %H:%M}, en {elapsed:.0f} s. "
        f"Machine : {info['nproc']} processeurs ({info['cpu'] or 'modèle inconnu'}), "
        f"{info['system']}, charge au départ {info['load']}, à la fin "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} ; Python {info['python']}, "
        f"Django {info['django']}, SQLite {info['sqlite']}. Machine partagée et bruyante (les "
        "tests d'autres sessions tournent en même temps, sur le même serveur PostgreSQL) : "
        f"{args.runs} exécutions complètes à la suite, bases alternées, à comparer entre elles ; "
        "comparer les ratios plutôt que les débits absolus.",
        "",
        "Méthode : par exécution et par base, un dossier de données neuf (et pour PostgreSQL "
        "une base `conciergerie_bench_<aléa>` créée puis supprimée), un processus "
        f"`conciergerie serve --threads {THREADS}` avec `CONCIERGERIE_BENCH=1`. Débit : un "
        f"évènement de {_n(BIG)} places (rien n'est refusé : on mesure le coût d'une "
        "inscription, pas la règle de capacité) et trois tarifs ; pour 1, 8 et 64 clients HTTP "
        f"keep-alive (fils), {args.rounds} manches de {args.seconds:g} s alternées entre la "
        "référence `POST /bench/insert` (un INSERT d'une ligne, rien d'autre) et "
        "`POST /bench/register` : le vrai service `registration_create` pour un visiteur "
        "anonyme (une personne, une adresse e-mail différente à chaque fois, tarif standard, "
        "sans e-mail de confirmation), l'évènement et son lieu relus à chaque requête — "
        "fenêtre d'inscription, tarif et montant, doublon, garde de capacité (un seul "
        "évènement : toutes les inscriptions passent par le même verrou), billets, journal. "
        "Seules les réponses 201 comptent ; latences vues par les clients ; **CPU/requête** = "
        "temps CPU (utilisateur + système) du serveur pendant les manches ÷ requêtes "
        "servies ; **CPU serveur** = ce temps ÷ durée (100 % = un cœur). Dernière ligne : les "
        f"mêmes 64 clients sur `conciergerie serve --workers {WORKERS} --threads "
        f"{THREADS // WORKERS}`, {WORKERS} processus web sur le même port (le noyau leur répartit "
        "les connexions, toutes ouvertes pendant la chauffe) — le déploiement recommandé sur "
        "une machine à 2 cœurs ; le CPU y compte tous les processus. "
        f"Survente : deux évènements de {SMALL} places sans liste d'attente ; (a) 64 clients à "
        "la fois, une place chacun ; (b) 64 clients × 2 commandes de 2 personnes, tarifs mêlés "
        f"dont « solidaire » limité à {QUOTA} places ; puis la base est relue. Découpe : en "
        f"processus (client de test de Django, sans HTTP ni autre charge), moyenne de {SPLIT_N} "
        "appels ; le temps « dans le pilote » comprend le COMMIT et l'attente de la base.",
        "",
        "Historique : avant les changements du 2026-11-23 (verrou pris avant les INSERT, "
        "décompte des places par jointure des billets, requête construite par l'ORM sous le "
        "verrou), le même banc en manches de 1 s mesurait sur PostgreSQL 54, 66 et 95 "
        "inscriptions/s à 1, 8 et 64 clients (référence 277, 686, 714 INSERT/s) et sur SQLite "
        "231, 180 et 177/s ; le verrou était tenu 10 à 15 ms par inscription à 64 clients. "
        "Avant `serve --workers`, la dernière ligne mesurait deux processus `serve` "
        "indépendants sur deux ports, les clients partagés moitié-moitié : PostgreSQL 217 et "
        "228 inscriptions/s (un processus : 174 et 187/s), SQLite 202 et 203/s (un processus : "
        "173 et 169/s) — le 2026-11-23 à 15 h 35, sur une autre instance de la machine "
        "virtuelle (noyau 6.18.44-fc-v669), où une inscription coûtait 4.8 à 5.1 ms de CPU au "
        "processus `serve` sur PostgreSQL : comparer les rapports, pas les débits. "
        "Le 2026-12-06 à 01 h 11, juste avant les compteurs de places par tarif (la lecture sous "
        "le verrou additionnait alors les places de toutes les inscriptions de l'évènement), "
        "le regroupement des billets et du journal dans l'aller-retour du COMMIT et le nouvel "
        "ordre des routes, PostgreSQL `--workers 2` faisait 166 inscriptions/s contre 674 "
        "INSERT/s (rapport 0.25), un processus 117/s, sur une machine calme.",
        "",
    ]
    goals = []
    for db in args.databases:
        name = "SQLite" if db == "sqlite" else "PostgreSQL 15"
        runs = [r for r in results if r["db"] == db]
        lines += [f"### {name}", ""]
        if all(r["skipped"] for r in runs):
            lines += ["Serveur injoignable : non mesuré.", ""]
            continue
        runs = [r for r in runs if not r["skipped"]]
        lines += [
            "| exécution | clients | inscriptions confirmées/s | INSERT/s (référence) | ratio "
            "| inscription p50 / p95 (ms) | référence p50 / p95 (ms) "
            "| CPU/requête (ms, inscr. / réf.) | CPU serveur (inscr.) | non-201 (inscr. / réf.) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in runs:
            for clients, t in r["throughput"].items():
                lines.append(_rate_row(r["run"], str(clients), t))
            lines.append(_rate_row(r["run"], f"64, `--workers {WORKERS}`", r["workers"]))
        lines.append("")
        for r in runs:
            lines += [
                f"Lecture, exécution {r['run']} : "
                + _reading(db, r["throughput"][CLIENTS], r["workers"], r["workers_connections"]),
                "",
            ]
        for r in runs:
            lines += [f"Découpe, exécution {r['run']} : " + _split_text(r["split"]), ""]
        lines += [
            "Requêtes d'une inscription, dans l'ordre : "
            + " ; ".join(f"`{q}`" for q in runs[0]["split"]["statements"])
            + ".",
            "",
        ]
        overs, halves = [], []
        for r in runs:
            single, sliding = r["check"]["single"], r["check"]["sliding"]
            ra, rb = r["rush"]["single"], r["rush"]["sliding"]
            overs.append(
                sum(_oversold(c, QUOTA if k == "sliding" else None) for k, c in r["check"].items())
            )
            halves.append(sum(c["half_written"] for c in r["check"].values()))
            drift = sum(c.get("drift", 0) for c in r["check"].values())
            halves[-1] += drift
            lines += [
                f"Survente, exécution {r['run']} : (a) 64 demandes d'une place → {_codes(ra)}, "
                f"relu **{single['seats']} places confirmées sur {single['capacity']}** ; "
                f"(b) 128 commandes de 2 personnes → {_codes(rb)}, relu "
                f"**{sliding['seats']} places confirmées sur {sliding['capacity']}** dont "
                f"{sliding['per_tier'].get('solidaire', 0)} au tarif solidaire (quota {QUOTA}) ; "
                f"inscriptions à moitié écrites (billets ≠ places) : {halves[-1] - drift} ; "
                f"compteurs de places en désaccord avec les billets : {drift}.",
                "",
            ]
        goals.append(
            f"- {name}, 0 place vendue en trop (capacité et quota), à chaque exécution : "
            f"{' / '.join(map(str, overs))} — "
            + ("**atteint**." if not any(overs) and not any(halves) else "**non atteint**.")
        )
        one = [r["throughput"][CLIENTS]["register"]["per_s"] for r in runs]
        two = [r["workers"]["register"]["per_s"] for r in runs]
        inserts = [r["workers"]["insert"]["per_s"] for r in runs]

        def shown(values: list[float]) -> str:
            return " / ".join(f"{x:.0f}" for x in values)

        if db == "postgresql":
            goals.append(
                f"- {name}, ≥ {GOAL_PER_S} inscriptions confirmées/s à 64 clients, déploiement "
                f"recommandé pour 2 cœurs (`serve --workers {WORKERS}`) : {shown(two)} "
                f"(référence INSERT {shown(inserts)}) — "
                + ("**atteint**" if min(two) >= GOAL_PER_S else "**non atteint**")
                + f" ; un seul processus (`--workers 1`, un cœur au plus à cause du GIL) : "
                f"{shown(one)} — "
                + ("atteint aussi." if min(one) >= GOAL_PER_S else "non atteint.")
            )
        else:
            goals.append(
                f"- {name}, inscriptions confirmées/s à 64 clients : `--workers {WORKERS}` "
                f"{shown(two)}, un seul processus {shown(one)} (pas d'objectif chiffré ; les "
                "écritures y passent l'une après l'autre par le verrou de la base)."
            )
    lines += objectives(goals, "python bench/events.py --runs 2 --timeout 1800")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = bench_args(argv, __doc__, STEPS, timeout=1800, runs=2)
    if args is None:
        return
    deadline = Deadline(args.timeout)
    started = time.monotonic()
    info = machine()
    results = [
        measure(db, args, deadline) | {"run": run}
        for run in range(1, args.runs + 1)
        for db in args.databases
    ]
    text = report(results, info, args, time.monotonic() - started)
    print(text)
    if not args.no_write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
