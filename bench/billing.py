"""The monthly billing run on 10,000 subscriptions, on SQLite and PostgreSQL; appends (or
replaces) the « ## Facturation mensuelle » section of bench/RESULTS.md.

    python bench/billing.py [--runs 2] [--subscriptions 10000] [--timeout 1800] [--no-write]

Per run and database: a fresh data directory under bench/out/ (and, for PostgreSQL, a fresh
database `conciergerie_bench_<random>`, dropped at the end), migrated (bench/run.py's
`fresh_database`). One place with three monthly plans, a room and a machine, 10,000 people
and 10,000 subscriptions written in bulk: 80 % running all November 2026, 15 % starting
during the month (prorated), 5 % paused ten days (prorated); plus 2,000 confirmed room and
machine bookings of November with an amount due, of which 500 took plan credits through
`credits_take` (some fully covered, some partly). A second, empty place measures the fixed
cost of the command.

- The run: `conciergerie billing run --period 2026-10 --place <slug> --date 2026-11-01`
  timed end to end from the shell (Python start, Django setup, the run, exit), then run a
  second time (must issue 0 invoices). The command's own figure (the run alone) is read
  from its output.
- Baseline, in the same database: `bulk_create` of as many invoice rows and line rows as
  the run wrote (same tables, same width, drafts), in batches of 500, in one rolled-back
  transaction — what merely writing those rows costs through the ORM.
- Checks: invoice numbers F2026-00001… contiguous, one invoice per customer, every
  subscription and booking billed once, `chain_verify` without a break.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (  # noqa: E402 - bench/run.py, the benches' shared helpers
    Deadline,
    bench_args,
    django_setup,
    fresh_database,
    machine,
    objectives,
    run_step,
    write_section,
)

SECTION = "Facturation mensuelle"
SLUG = "banc-facturation"
EMPTY = "banc-facturation-vide"
# A month already over, billed on the 1st of the next: issue dates may not be in the future.
PERIOD = "2026-10"
ISSUE_DATE = "2026-11-01"
GOAL_SECONDS = 30.0
SUBSCRIPTIONS = 10_000
BOOKINGS = 2_000
TAKING = 500  # bookings that take credits through the service
BATCH = 500


def _count() -> int:
    import os

    return int(os.environ.get("BENCH_SUBSCRIPTIONS", SUBSCRIPTIONS))


# --- Django steps, run in a subprocess ------------------------------------------------------------


def step_prepare() -> dict[str, Any]:
    django_setup()
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from conciergerie.billing.models import BillingSettings, Product, Subscription
    from conciergerie.billing.services.credits import credits_take
    from conciergerie.community.models import Person
    from conciergerie.core import services as core
    from conciergerie.spaces import services as spaces
    from conciergerie.spaces.models import Booking

    rng = random.Random(2026)
    count = _count()
    started = time.perf_counter()
    place = core.place_create(
        by=None,
        slug=SLUG,
        name="Banc d'essai, facturation",
        siret="73282932000074",
        street="1 rue du Banc",
        postal_code="86100",
        city="Châtellerault",
        email="banc@example.org",
    )
    core.place_create(by=None, slug=EMPTY, name="Banc d'essai, lieu vide")
    BillingSettings.objects.create(
        place=place, legal_name="Banc d'essai SCIC", vat_number="FR44732829320", payment_days=30
    )

    def product(name: str, kind: str, price: str, **extra: Any) -> Any:
        return Product.objects.create(
            place=place, name=name, kind=kind, unit_price=Decimal(price), **extra
        )

    plans = [  # desk_days None: unlimited desks
        product("Résident", "forfait", "300.00", unit="MON", room_hours=Decimal("8")),
        product("Nomade", "forfait", "95.50", unit="MON", desk_days=Decimal("10")),
        product("Atelier", "forfait", "60.00", unit="MON", desk_days=0, machine_hours=Decimal("4")),
    ]
    product("Heure de salle", "heure_salle", "10.00", unit="HUR")
    product("Heure machine", "heure_machine", "15.00", unit="HUR", vat="20")
    hours = {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    room, laser = (
        spaces.resource_create(
            place=place,
            by=None,
            name=name,
            kind=kind,
            capacity=1000,
            opening_hours=hours,
            horizon_days=3650,
            prices={"non_membre": ("heure", price), "membre": ("heure", price)},
        )
        for name, kind, price in (("Grande salle", "salle", "12.00"), ("Laser", "machine", "18.00"))
    )
    people = Person.objects.bulk_create(
        (
            Person(
                place=place,
                first_name=f"Prénom{i:05d}",
                last_name=rng.choice(["Martin", "Bernard", "Roux", "Petit", "Durand"]),
                email=f"abonne{i}@banc.example.org",
            )
            for i in range(count)
        ),
        batch_size=BATCH,
    )
    subs = []
    for i, person in enumerate(people):
        plan = plans[i % 3]
        kind = rng.random()
        sub = Subscription(place=place, person=person, plan=plan, start=dt.date(2026, 9, 1))
        if kind < 0.15:
            sub.start = dt.date(2026, 10, rng.randint(2, 28))
        elif kind < 0.20:
            day = rng.randint(1, 20)
            sub.paused_from, sub.paused_until = (
                dt.date(2026, 10, day),
                dt.date(2026, 10, day + 9),
            )
        subs.append(sub)
    Subscription.objects.bulk_create(subs, batch_size=BATCH)
    zone = ZoneInfo(place.timezone)
    bookings = []
    for i in range(BOOKINGS):
        person = people[rng.randrange(count)]
        resource = room if i % 2 else laser
        day = rng.randint(1, 30)
        start = dt.datetime(2026, 10, day, rng.randint(8, 16), tzinfo=zone)
        length = rng.choice([1, 2, 3])
        price = Decimal("12.00") if resource is room else Decimal("18.00")
        bookings.append(
            Booking(
                place=place,
                resource=resource,
                person=person,
                start_at=start,
                end_at=start + dt.timedelta(hours=length),
                status=Booking.Status.CONFIRMED,
                confirmed_at=start - dt.timedelta(days=3),
                price_category="non_membre",
                price_unit="heure",
                amount_due=price * length,
            )
        )
    Booking.objects.bulk_create(bookings, batch_size=BATCH)
    taking = list(
        Booking.objects.filter(place=place)
        .select_related("resource__place", "person")
        .order_by("id")[:TAKING]
    )
    covered = [credits_take(booking=b) for b in taking]
    return {
        "subscriptions": len(subs),
        "prorated": sum(1 for s in subs if s.start.month == 10),
        "paused": sum(1 for s in subs if s.paused_from),
        "bookings": BOOKINGS,
        "taking": len(taking),
        "fully_covered": sum(
            1 for b, c in zip(taking, covered, strict=True) if c and c * 60 >= _minutes(b)
        ),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _minutes(booking: Any) -> int:
    return int((booking.end_at - booking.start_at).total_seconds() // 60)


def step_baseline() -> dict[str, Any]:
    """bulk_create of as many invoice and line rows as the run wrote, then rolled back."""
    django_setup()
    from decimal import Decimal

    from django.db import transaction

    from conciergerie.billing.models import Invoice, InvoiceLine
    from conciergerie.core.models import Place

    place = Place.objects.get(slug=SLUG)
    invoices = Invoice.objects.filter(place=place).count()
    lines = InvoiceLine.objects.filter(invoice__place=place).count()
    buyer = {"name": "Prénom00000 Martin", "email": "abonne0@banc.example.org", "country": "FR"}
    started = time.perf_counter()
    with transaction.atomic():
        for first in range(0, invoices, BATCH):
            size = min(BATCH, invoices - first)
            drafts = Invoice.objects.bulk_create(
                Invoice(
                    place=place,
                    buyer=buyer,
                    period_start=dt.date(2026, 10, 1),
                    period_end=dt.date(2026, 10, 31),
                )
                for _ in range(size)
            )
            per = max(1, round(lines / invoices))
            InvoiceLine.objects.bulk_create(
                InvoiceLine(
                    invoice=d,
                    position=p,
                    label="Résident — octobre 2026",
                    quantity=Decimal("1"),
                    unit="MON",
                    unit_price=Decimal("300.00"),
                    vat="20",
                    net_amount=Decimal("300.00"),
                )
                for d in drafts
                for p in range(1, per + 1)
            )
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return {"seconds": seconds, "invoices": invoices, "lines": lines}


def step_check() -> dict[str, Any]:
    django_setup()
    from django.db.models import Count

    from conciergerie.billing.chain import chain_verify
    from conciergerie.billing.models import BillingRun, Invoice, InvoiceLine
    from conciergerie.core.models import Place
    from conciergerie.spaces.models import Booking

    place = Place.objects.get(slug=SLUG)
    sequences = list(
        Invoice.objects.filter(place=place, status="emise")
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )
    checked, breaks = chain_verify(place.pk)
    per_customer = (
        Invoice.objects.filter(place=place)
        .values("person_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    lines = InvoiceLine.objects.filter(invoice__place=place)
    return {
        "invoices": len(sequences),
        "gapless": sequences == list(range(1, len(sequences) + 1)),
        "chain_checked": checked,
        "chain_breaks": len(breaks),
        "customers_twice": per_customer,
        "plan_lines": lines.filter(charge_key__startswith="abo:").count(),
        "booking_lines": lines.filter(charge_key__startswith="resa:").count(),
        "bookings": Booking.objects.filter(place=place).count(),
        "runs": list(
            BillingRun.objects.filter(place=place)
            .order_by("id")
            .values_list("invoices_created", flat=True)
        ),
        "total_gross": str(
            sum(Invoice.objects.filter(place=place).values_list("total_gross", flat=True))
        ),
    }


STEPS = {"_prepare": step_prepare, "_baseline": step_baseline, "_check": step_check}


# --- Measure --------------------------------------------------------------------------------------


def timed_command(env: dict[str, str], slug: str, deadline: Deadline) -> dict[str, Any]:
    """`conciergerie billing run` from the shell: wall time, and the figures it prints."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "conciergerie.cli", "billing", "run", "--period", PERIOD]
        + ["--place", slug, "--date", ISSUE_DATE],
        env=env,
        capture_output=True,
        text=True,
        timeout=max(10.0, deadline.end - time.monotonic()),
    )
    wall = time.perf_counter() - started
    if done.returncode:
        sys.stderr.write(done.stderr)
        done.check_returncode()
    found = re.search(r"(\d+) facture\(s\) émise\(s\) en ([\d.]+) s", done.stdout)
    if not found:
        raise RuntimeError(f"sortie inattendue : {done.stdout!r}")
    return {"wall": wall, "invoices": int(found.group(1)), "inside": float(found.group(2))}


def measure(db: str, args: Any, deadline: Deadline) -> dict[str, Any]:
    with fresh_database(db, "billing", deadline) as fresh:
        if fresh is None:
            return {"db": db, "skipped": True}
        env, _data_dir = fresh
        env = dict(env, BENCH_SUBSCRIPTIONS=str(args.subscriptions))
        print(f"[{db}] {args.subscriptions} abonnements …", file=sys.stderr)
        prepared = run_step(__file__, "_prepare", env, deadline)
        print(f"[{db}] billing run …", file=sys.stderr)
        empty = timed_command(env, EMPTY, deadline)
        first = timed_command(env, SLUG, deadline)
        second = timed_command(env, SLUG, deadline)
        check = run_step(__file__, "_check", env, deadline)
        baseline = run_step(__file__, "_baseline", env, deadline)
    return {
        "db": db,
        "skipped": False,
        "prepared": prepared,
        "empty": empty,
        "first": first,
        "second": second,
        "check": check,
        "baseline": baseline,
    }


# --- Report ---------------------------------------------------------------------------------------


def _n(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u202f")


def report(results: list[dict[str, Any]], info: dict[str, str], args: Any, elapsed: float) -> str:
    size = _n(args.subscriptions)
    lines = [
        f"## {SECTION}",
        "",
        f"Écrit par `bench/billing.py` le {dt.datetime.now():%Y-%m-%d %H:%M}, en {elapsed:.0f} s. "
        f"Machine : {info['nproc']} processeurs ({info['cpu'] or 'modèle inconnu'}), "
        f"{info['system']}, charge au départ {info['load']} ; Python {info['python']}, "
        f"Django {info['django']}, SQLite {info['sqlite']}. Machine partagée et bruyante : "
        f"{args.runs} exécution(s) complète(s) à la suite, bases alternées.",
        "",
        "Méthode : par exécution et par base, un dossier de données neuf (et pour PostgreSQL "
        "une base `conciergerie_bench_<aléa>` créée puis supprimée), migré. Un lieu, trois "
        f"forfaits mensuels, une salle et une machine ; {size} personnes et {size} abonnements "
        "écrits en masse — 80 % courent tout octobre 2026, 15 % commencent en cours de mois "
        "(au prorata), 5 % ont dix jours de pause (au prorata) ; "
        f"{_n(BOOKINGS)} réservations confirmées d'octobre avec un montant dû, dont "
        f"{_n(TAKING)} ont pris des crédits de forfait par `credits_take` (couvertes en tout ou "
        "en partie). Puis, chronométré depuis le shell (démarrage de Python et de Django "
        f"compris) : `conciergerie billing run --period {PERIOD} --place … --date {ISSUE_DATE}`, "
        "une facture par client (le forfait du mois et les réservations non couvertes), émise "
        f"(numéro, instantanés vendeur et acheteur, totaux, chaîne de hachage), par lots de {BATCH} "
        "dans une transaction chacun ; puis une seconde fois (doit n'émettre aucune facture). "
        "« dans la commande » = le temps que la commande affiche pour le run seul. Un lieu vide "
        "donne le coût fixe de la commande. **Référence** : `bulk_create` d'autant de lignes de "
        "facture et de lignes de détail que le run en a écrit (mêmes tables, brouillons), par "
        f"lots de {BATCH}, dans une transaction annulée ensuite — le coût de la seule écriture "
        "de ces lignes par l'ORM. Vérifications : numéros F2026-00001… sans trou, une facture "
        "par client, chaque abonnement et réservation facturé une fois, `chain_verify` sans "
        "rupture.",
        "",
        "| base | exécution | abonnements | factures | lignes (forfaits + réservations) "
        "| `billing run` bout en bout (s) | dans la commande (s) | lieu vide (s) "
        "| référence bulk_create (s) | run ÷ référence | 2e passage (s, factures) "
        "| numéros sans trou | chaîne |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    goals = []
    for db in args.databases:
        name = "SQLite" if db == "sqlite" else "PostgreSQL 15"
        runs = [r for r in results if r["db"] == db and not r["skipped"]]
        if not runs:
            lines.append(f"| {name} | — | serveur injoignable : non mesuré | | | | | | | | | | |")
            continue
        for r in runs:
            c, f, s, b = r["check"], r["first"], r["second"], r["baseline"]
            lines.append(
                f"| {name} | {r['run']} | {_n(r['prepared']['subscriptions'])} | "
                f"{_n(f['invoices'])} | {_n(c['plan_lines'])} + {_n(c['booking_lines'])} | "
                f"{f['wall']:.1f} | {f['inside']:.1f} | {r['empty']['wall']:.1f} | "
                f"{b['seconds']:.1f} | {f['inside'] / b['seconds']:.1f} | "
                f"{s['wall']:.1f} s, {s['invoices']} | "
                f"{'oui' if c['gapless'] else '**non**'} | "
                + (
                    f"{_n(c['chain_checked'])} documents, intacte"
                    if not c["chain_breaks"]
                    else f"**{c['chain_breaks']} ruptures**"
                )
                + " |"
            )
        walls = [r["first"]["wall"] for r in runs]
        ok = all(
            r["first"]["wall"] <= GOAL_SECONDS
            and r["second"]["invoices"] == 0
            and r["check"]["gapless"]
            and not r["check"]["chain_breaks"]
            and not r["check"]["customers_twice"]
            for r in runs
        )
        goals.append(
            f"- {name}, {size} abonnements facturés et émis en ≤ {GOAL_SECONDS:.0f} s de bout en "
            f"bout, second passage à 0 facture, numéros sans trou, chaîne intacte : "
            + " / ".join(f"{w:.1f} s" for w in walls)
            + " — "
            + ("**atteint**." if ok else "**non atteint**.")
        )
    lines.append("")
    prepared = next((r["prepared"] for r in results if not r["skipped"]), None)
    if prepared:
        lines += [
            f"Données : {_n(prepared['prorated'])} abonnements au prorata d'un début en cours de "
            f"mois, {_n(prepared['paused'])} avec une pause ; sur les {_n(prepared['taking'])} "
            f"réservations qui ont pris des crédits, {_n(prepared['fully_covered'])} entièrement "
            "couvertes (donc absentes des factures).",
            "",
        ]
    lines += objectives(
        goals, f"python bench/billing.py --runs {args.runs} --timeout {args.timeout:.0f}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import argparse

    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--subscriptions", type=int, default=SUBSCRIPTIONS)
    own, rest = extra.parse_known_args(sys.argv[1:] if argv is None else argv)
    args = bench_args(rest, __doc__, STEPS, timeout=1800, runs=2)
    if args is None:
        return
    args.subscriptions = own.subscriptions
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
