"""Latency and memory of the community pages, written to bench/RESULTS.md.

    python bench/run.py [--sizes 100 10000] [-n 200] [--no-write]

For each size: a fresh data directory under bench/out/ (SQLite), `generate.py` fills it,
one `conciergerie serve` process is started on a free localhost port, a concierge logs in
over HTTP, then N requests of each page are timed, interleaved (one of each, round after
round) so that the machine's noise hits every page alike. /healthz is the baseline: the
same server, middleware and database round trip without any page work; pages are reported
as ratios to it because this machine is shared and absolute times drift between runs.

The server's RSS is read from /proc/PID/status (VmRSS) after start, idle before the load
and idle after it. The script stops its server itself (SIGTERM, then SIGKILL) and the whole
run is bounded by --timeout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import re
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
P95_GOAL_MS = 150.0
RSS_GOAL_MB = 150.0
GOAL_SIZE = 10_000
DEFAULT_PG = "postgresql://conciergerie@127.0.0.1:5432/conciergerie"
IDLE_SECONDS = 3.0
PAGES = ["healthz", "directory", "search", "skill", "person"]
LABELS = {
    "healthz": "/healthz (référence)",
    "directory": "annuaire",
    "search": "annuaire, recherche ?q=soudure",
    "skill": "annuaire, filtre compétence",
    "person": "fiche d'une personne",
}


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def check(self, what: str) -> None:
        if time.monotonic() > self.end:
            raise TimeoutError(f"délai dépassé pendant : {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    values = {k: int(v) / 1024 for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M)}
    return {"rss": round(values["VmRSS"], 1), "peak": round(values["VmHWM"], 1)}


class Client:
    """A keep-alive HTTP client with a cookie jar just big enough for a Django session."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(
        self, method: str, path: str, body: dict[str, str] | None = None
    ) -> tuple[int, bytes, float]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            content = response.read()
        except (http.client.HTTPException, OSError):
            # The server closed the kept-alive connection: one retry on a new one.
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            started = time.perf_counter()
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            content = response.read()
        elapsed = time.perf_counter() - started
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, content, elapsed

    def login(self, email: str, password: str) -> None:
        status, page, _t = self.request("GET", "/compte/connexion/")
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or not match:
            raise RuntimeError(f"page de connexion inattendue ({status})")
        status, _page, _t = self.request(
            "POST",
            "/compte/connexion/",
            {
                "csrfmiddlewaretoken": match.group(1).decode(),
                "username": email,
                "password": password,
            },
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"connexion refusée ({status})")


def start_server(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        CONCIERGERIE_DATA_DIR=str(data_dir),
        CONCIERGERIE_BASE_URL=f"http://127.0.0.1:{port}",
        CONCIERGERIE_DEBUG="0",
    )
    env.pop("CONCIERGERIE_DATABASE_URL", None)  # the goal is about SQLite
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [sys.executable, "-m", "conciergerie.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def wait_ready(proc: subprocess.Popen[bytes], port: int, deadline: Deadline) -> None:
    while True:
        deadline.check("démarrage du serveur")
        if proc.poll() is not None:
            raise RuntimeError(f"le serveur s'est arrêté (code {proc.returncode})")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.2)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))
    return ordered[index]


def measure_size(people: int, n: int, deadline: Deadline, mode: str) -> dict[str, Any]:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    data_dir = OUT / f"{stamp}-{people}"
    data_dir.mkdir(parents=True)
    env = dict(os.environ)
    env.pop("CONCIERGERIE_DATABASE_URL", None)
    print(f"[{people}] génération dans {data_dir.relative_to(ROOT)} …", file=sys.stderr)
    gen_started = time.monotonic()
    subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(BENCH / "generate.py"), "--data-dir", str(data_dir)]
        + ["--people", str(people), "--mode", mode],
        check=True,
        env=env,
        timeout=max(10.0, deadline.end - time.monotonic()),
    )
    meta = json.loads((data_dir / "bench_meta.json").read_text())
    meta["generation_total_seconds"] = round(time.monotonic() - gen_started, 1)
    port = free_port()
    proc = start_server(data_dir, port, data_dir / "serve.log")
    try:
        wait_ready(proc, port, deadline)
        memory = {"start": rss_mb(proc.pid)}
        time.sleep(IDLE_SECONDS)
        memory["idle_before"] = rss_mb(proc.pid)
        client = Client(port)
        client.login(meta["email"], meta["password"])
        base = f"/lieux/{meta['slug']}/annuaire/"
        uuids = meta["person_uuids"]
        paths = {
            "healthz": lambda i: "/healthz",
            "directory": lambda i: base,
            "search": lambda i: base + "?q=soudure",
            "skill": lambda i: base + f"?skill={meta['skill_tag_id']}",
            "person": lambda i: f"/lieux/{meta['slug']}/personnes/{uuids[i % len(uuids)]}/",
        }
        expect = {"directory": b"soudure", "search": b"soudure", "skill": b"soudure"}
        timings: dict[str, list[float]] = {page: [] for page in PAGES}
        warmup = 10
        print(f"[{people}] {n} requêtes par page …", file=sys.stderr)
        for i in range(-warmup, n):
            deadline.check("mesures")
            for page in PAGES:
                status, body, elapsed = client.request("GET", paths[page](i))
                if status != 200 or (page in expect and expect[page] not in body):
                    raise RuntimeError(f"{page} : réponse inattendue ({status})")
                if i >= 0:
                    timings[page].append(elapsed * 1000)
        time.sleep(IDLE_SECONDS)
        memory["idle_after"] = rss_mb(proc.pid)
    finally:
        stop_server(proc)
    stats = {
        page: {
            "p50": statistics.median(values),
            "p95": percentile(values, 0.95),
            "mean": statistics.fmean(values),
        }
        for page, values in timings.items()
    }
    return {"people": people, "meta": meta, "stats": stats, "memory": memory, "n": n}


def machine() -> dict[str, str]:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        cpu = match.group(1).strip() if match else ""
    import django

    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
        "system": f"{platform.system()} {platform.release()}",
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# --- Shared by bench/bookings.py and bench/events.py --------------------------------------------


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conciergerie.settings")
    import django

    django.setup()


def run_step(script: str, step: str, env: dict[str, str], deadline: Deadline) -> dict[str, Any]:
    """Run `script step` (a Django step: one process can configure Django only once) and
    return the JSON object it prints last."""
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, script, step],
        env=env,
        capture_output=True,
        text=True,
        timeout=max(10.0, deadline.end - time.monotonic()),
    )
    if done.returncode:
        sys.stderr.write(done.stderr)
        done.check_returncode()
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@contextmanager
def sql_timer() -> Iterator[dict[str, float]]:
    """Time spent inside the database driver (COMMIT included) and statements run, while open."""
    from django.db import connection

    sql = {"seconds": 0.0, "queries": 0}

    def timed(execute: Any, query: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(query, params, many, context)
        finally:
            sql["seconds"] += time.perf_counter() - t0
            sql["queries"] += 1

    commit = connection._commit  # a transaction's COMMIT is the driver's time too

    def timed_commit() -> None:
        t0 = time.perf_counter()
        try:
            commit()
        finally:
            sql["seconds"] += time.perf_counter() - t0

    connection._commit = timed_commit  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(timed):
            yield sql
    finally:
        connection._commit = commit  # type: ignore[method-assign]


def pg_server() -> str:
    return os.environ.get("CONCIERGERIE_TEST_PG_URL") or DEFAULT_PG


def pg_create() -> tuple[str, str] | None:
    """A fresh database on the PostgreSQL server: (its URL, its name), or None if unreachable."""
    try:
        import psycopg

        name = f"conciergerie_bench_{secrets.token_hex(4)}"
        with psycopg.connect(pg_server(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - reported, the SQLite part still runs
        print(f"PostgreSQL indisponible : {exc}", file=sys.stderr)
        return None
    url = urllib.parse.urlsplit(pg_server())._replace(path=f"/{name}")
    return urllib.parse.urlunsplit(url), name


def pg_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(pg_server(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


@contextmanager
def fresh_database(
    db: str, label: str, deadline: Deadline
) -> Iterator[tuple[dict[str, str], Path] | None]:
    """A new data directory under bench/out/ (and for PostgreSQL a new database, dropped at
    the end), migrated: (the environment to run steps and servers on it, the directory), or
    None when the PostgreSQL server cannot be reached."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    data_dir = OUT / f"{stamp}-{label}-{db}"
    data_dir.mkdir(parents=True)
    env = dict(os.environ)
    env.pop("CONCIERGERIE_DATABASE_URL", None)
    env.update(CONCIERGERIE_DATA_DIR=str(data_dir), CONCIERGERIE_DEBUG="0")
    pg_name = None
    if db == "postgresql":
        created = pg_create()
        if created is None:
            yield None
            return
        env["CONCIERGERIE_DATABASE_URL"], pg_name = created
    try:
        print(f"[{db}] migrations dans {data_dir.relative_to(ROOT)} …", file=sys.stderr)
        subprocess.run(  # noqa: S603 - our own command
            [sys.executable, "-m", "conciergerie.cli", "migrate", "-v0"],
            env=env,
            check=True,
            timeout=max(10.0, deadline.end - time.monotonic()),
        )
        yield env, data_dir
    finally:
        if pg_name:
            pg_drop(pg_name)


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name (field 3 of proc(5) first)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def child_pids(pid: int) -> list[int]:
    """The live processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError):  # ended while we looked
                continue
    return sorted(found)


def process_cpu(pid: int) -> float:
    """CPU time (user + system) one process has used so far; 0 if it has ended."""
    try:
        fields = _stat(pid)
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server(NamedTuple):
    port: int
    pid: int

    def pids(self) -> list[int]:
        """The `serve` process, then the web processes it forked (`--workers`)."""
        return [self.pid, *child_pids(self.pid)]

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server has used so far, all its processes."""
        return sum(process_cpu(pid) for pid in self.pids())


@contextmanager
def bench_server(
    env: dict[str, str],
    data_dir: Path,
    threads: int,
    deadline: Deadline,
    log: str = "serve.log",
    workers: int = 1,
) -> Iterator[Server]:
    """One `conciergerie serve` with the /bench/ endpoints on a free port, ready; stopped after.
    `threads` is per process; `workers` > 1 forks that many web processes on the port."""
    port = free_port()
    server_env = dict(env, CONCIERGERIE_BENCH="1", CONCIERGERIE_BASE_URL=f"http://127.0.0.1:{port}")
    with (data_dir / log).open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own command
            [sys.executable, "-m", "conciergerie.cli", "serve", "--port", str(port)]
            + ["--threads", str(threads), "--workers", str(workers)],
            env=server_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(proc, port, deadline)
        while len(child_pids(proc.pid)) < (workers if workers > 1 else 0):
            deadline.check("démarrage des processus web")
            time.sleep(0.1)
        yield Server(port, proc.pid)
    finally:
        stop_server(proc)


class Conn:
    """One keep-alive connection posting JSON; `elapsed` is the last request's seconds."""

    def __init__(self, port: int, token: str = "") -> None:
        self.port = port
        self.token = token
        self.elapsed = 0.0
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, path: str, body: dict[str, Any]) -> int:
        data = json.dumps(body)
        headers = {"Content-Type": "application/json"}
        if self.token and path.startswith("/api/"):
            headers["Authorization"] = f"Bearer {self.token}"
        started = time.perf_counter()
        try:
            self.conn.request("POST", path, body=data, headers=headers)
            response = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            started = time.perf_counter()
            self.conn.request("POST", path, body=data, headers=headers)
            response = self.conn.getresponse()
        response.read()
        self.elapsed = time.perf_counter() - started
        return response.status


def write_section(heading: str, text: str) -> None:
    """Replace (or append) the `## heading` section of RESULTS.md, keeping the others."""
    path = BENCH / "RESULTS.md"
    current = path.read_text() if path.exists() else ""
    marker = f"\n## {heading}\n"
    after = ""
    if marker in current:
        at = current.index(marker)
        rest = current[at + len(marker) :]
        # Sections written after this one (by hand or by another bench) are kept.
        after = rest[rest.index("\n## ") :] if "\n## " in rest else ""
        current = current[:at]
    path.write_text(current.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n" + after)


def bench_args(
    argv: list[str] | None,
    doc: str | None,
    steps: dict[str, Any],
    timeout: float,
    runs: int | None = None,
) -> argparse.Namespace | None:
    """The command line of bench/bookings.py and bench/events.py: `script _step` runs that
    Django step and prints its JSON (None is returned), else the common options are parsed."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in steps:
        print(json.dumps(steps[argv[0]](), default=str))
        return None
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="durée d'une manche")
    parser.add_argument("--rounds", type=int, default=3, help="manches par niveau")
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    if runs is not None:
        parser.add_argument("--runs", type=int, default=runs, help="exécutions complètes")
    parser.add_argument("--timeout", type=float, default=timeout, help="secondes, en tout")
    parser.add_argument("--no-write", action="store_true", help="ne pas écrire RESULTS.md")
    return parser.parse_args(argv)


def objectives(goals: list[str], command: str) -> list[str]:
    """The closing « Objectifs » block of a bench section."""
    return ["### Objectifs", "", *goals, "", "Reproduire :", "", "```", command, "```", ""]


def report(results: list[dict[str, Any]], info: dict[str, str], elapsed: float) -> str:
    lines = [
        "# Benchmarks — annuaire et fiche personne",
        "",
        f"Écrit par `bench/run.py` le {dt.datetime.now():%Y-%m-%d %H:%M}, en {elapsed:.0f} s.",
        "",
        f"Machine : {info['nproc']} processeurs ({info['cpu'] or 'modèle inconnu'}), "
        f"{info['system']}, charge au départ {info['load']} ; Python {info['python']}, "
        f"Django {info['django']}, SQLite {info['sqlite']}.",
        "",
        "Méthode : une base SQLite neuve par taille, générée par `bench/generate.py` "
        "(80 % des personnes dans le grand lieu mesuré, 20 % dans le second) ; un seul "
        "processus `conciergerie serve` (waitress, 8 fils) ; un client HTTP keep-alive connecté "
        "comme concierge (il voit tout l'annuaire, c'est le cas le plus lourd) ; "
        f"{results[0]['n']} requêtes par page après 10 de chauffe, pages entrelacées. "
        "Temps mesurés côté client, réponse complète lue. **Ratio** = temps de la page / "
        "temps de `/healthz` au même percentile dans la même série : c'est le chiffre à "
        "comparer d'une exécution à l'autre, la machine étant partagée et bruyante.",
        "",
    ]
    for result in results:
        stats = result["stats"]
        base = stats["healthz"]
        meta = result["meta"]
        lines += [
            f"## {result['people']:,} personnes".replace(",", " "),
            "",
            f"Grand lieu : {meta['people_main']} personnes. Génération ({meta['mode']}) : "
            f"{meta['seconds']} s (avec migrations : {meta['generation_total_seconds']} s).",
            "",
            "| page | p50 (ms) | p95 (ms) | p50 / référence | p95 / référence |",
            "|---|---:|---:|---:|---:|",
        ]
        for page in PAGES:
            s = stats[page]
            lines.append(
                f"| {LABELS[page]} | {s['p50']:.1f} | {s['p95']:.1f} | "
                f"{s['p50'] / base['p50']:.1f} | {s['p95'] / base['p95']:.1f} |"
            )
        mem = result["memory"]
        lines += [
            "",
            f"Mémoire du processus `serve` (VmRSS) : {mem['start']['rss']} Mo au démarrage, "
            f"{mem['idle_before']['rss']} Mo au repos avant la charge, "
            f"{mem['idle_after']['rss']} Mo au repos après (pic VmHWM "
            f"{mem['idle_after']['peak']} Mo).",
            "",
        ]
    if len(results) > 1:
        small, big = results[0], results[-1]
        lines += [
            f"## Croissance de {small['people']} à {big['people']} personnes",
            "",
            "| page | p95 / référence (petit) | p95 / référence (grand) | facteur |",
            "|---|---:|---:|---:|",
        ]
        for page in PAGES[1:]:
            r_small = small["stats"][page]["p95"] / small["stats"]["healthz"]["p95"]
            r_big = big["stats"][page]["p95"] / big["stats"]["healthz"]["p95"]
            lines.append(
                f"| {LABELS[page]} | {r_small:.1f} | {r_big:.1f} | ×{r_big / r_small:.1f} |"
            )
        lines.append("")
    goal = next((r for r in results if r["people"] == GOAL_SIZE), results[-1])
    worst = max(PAGES[1:], key=lambda p: goal["stats"][p]["p95"])
    worst_p95 = goal["stats"][worst]["p95"]
    idle = max(goal["memory"]["idle_before"]["rss"], goal["memory"]["idle_after"]["rss"])
    lines += [
        "## Objectifs",
        "",
        f"- p95 ≤ {P95_GOAL_MS:.0f} ms à {goal['people']} personnes sur SQLite : pire page "
        f"« {LABELS[worst]} », p95 {worst_p95:.1f} ms — "
        + ("**atteint**." if worst_p95 <= P95_GOAL_MS else "**non atteint**."),
        f"- RSS au repos d'un processus `conciergerie serve` ≤ {RSS_GOAL_MB:.0f} Mo : "
        f"{idle} Mo (le plus haut des deux relevés au repos) — "
        + ("**atteint**." if idle <= RSS_GOAL_MB else "**non atteint**."),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, GOAL_SIZE])
    parser.add_argument("-n", type=int, default=200, help="requêtes par page")
    parser.add_argument("--mode", choices=["bulk", "services"], default="bulk")
    parser.add_argument("--timeout", type=float, default=1200, help="secondes, en tout")
    parser.add_argument("--no-write", action="store_true", help="ne pas écrire RESULTS.md")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "conciergerie.settings")
    deadline = Deadline(args.timeout)
    started = time.monotonic()
    info = machine()
    results = [measure_size(size, args.n, deadline, args.mode) for size in args.sizes]
    text = report(results, info, time.monotonic() - started)
    print(text)
    if not args.no_write:
        (BENCH / "RESULTS.md").write_text(text)


if __name__ == "__main__":
    main()
