"""The capacity guard: at no instant may what is held exceed what exists.

One service for everything that has a capacity over time — bookable resources now, events
and ticket tiers later. A caller opens `guarded(keys)` inside its write transaction, reads
what already holds the capacity, asks `check()` and writes; the guard makes that
read-check-write sequence atomic against every other writer on the same keys:

- PostgreSQL: one transaction-scoped advisory lock per key, all taken in one statement in
  sorted order so two writers needing several keys never deadlock; released at commit or
  rollback. `SET LOCAL lock_timeout` bounds the wait (CAPACITY_LOCK_TIMEOUT seconds):
  past it the caller gets `Busy` (503, nothing written) rather than a stuck request. Bookings of
  capacity-1 resources are also covered by an exclusion constraint on their time range
  (see the spaces migrations): the database itself refuses an overlap.
- SQLite: the settings open every transaction with BEGIN IMMEDIATE, which takes the
  database's single write lock before the first read: writers are serialised, the check
  reads what the previous writer committed. The threads of one server process also queue
  on a process lock first: SQLite's busy handler sleeps between retries (up to 100 ms),
  while the process lock hands over to the next writer at once. Its wait is bounded by
  the same timeout.

Deferred locking, `guarded(keys, deferred=True) as guard`: the caller writes its rows first,
then within `guard.locked(read)` reads what holds the capacity (every committed writer's rows,
and its own) and checks; a refusal raises, which rolls its rows back. On PostgreSQL only the
lock, the read (sent with the lock, in one round trip) and the COMMIT are then serialised —
the lock is held until the commit is flushed to disk, about 2 ms on the bench machine —
while concurrent writers' INSERTs overlap: event registrations, where every writer of a
popular event queues on the same key (bench/events.py). On SQLite the whole transaction is
serialised anyway and `locked()` adds nothing.

`GUARD` can be switched off (tests and bench only) to show the race it prevents: the check
then reads outside the write transaction, as naive code would (deferred: the rows are
committed first, then checked; a refusal leaves them in place).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection, transaction

from conciergerie.core.errors import Busy

_sqlite_writers = threading.Lock()


def enabled() -> bool:
    return bool(getattr(settings, "CAPACITY_GUARD", True))


def _lock_id(namespace: str, key: int) -> int:
    """A stable signed 64-bit id for pg_advisory_xact_lock."""
    digest = hashlib.blake2b(f"{namespace}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Guard:
    """Yielded by `guarded`: with `deferred`, `locked()` takes the keys' locks."""

    def __init__(self, namespace: str, keys: Iterable[int], *, pending: bool) -> None:
        self.namespace = namespace
        self.keys = list(keys)
        self.pending = pending

    @contextmanager
    def locked(self, read: tuple[str, Sequence[Any]] | None = None) -> Iterator[Any]:
        """The serialised part of a deferred guard. `read`, SQL returning one row and its
        parameters, is run right after the locks are granted and its row yielded: on
        PostgreSQL in the same round trip — each statement of a multi-statement query takes
        its own snapshot, so the read sees every writer that committed before the locks
        were granted, and the lock holder does not wait for its own process in between."""
        yield self.lock(read)

    def lock(self, read: tuple[str, Sequence[Any]] | None = None) -> Any:
        """Take the locks if still pending; run `read` (see `locked`) and return its row."""
        sql, params = read or ("", [])
        if not self.pending:
            if not read:
                return None
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchone()
        self.pending = False
        # One round trip: the lock timeout, the locks (unnest keeps the array's sorted
        # order: they are taken in it), then the read. Statements are sent together only
        # with psycopg's client-side binding (Django's default).
        statements: list[tuple[str, list[Any]]] = [
            ("SELECT set_config('lock_timeout', %s, true)", [f"{int(lock_timeout() * 1000)}ms"]),
            (
                "SELECT count(pg_advisory_xact_lock(k))"
                " FROM (SELECT unnest(%s::bigint[]) AS k) AS keys",
                [sorted({_lock_id(self.namespace, k) for k in self.keys})],
            ),
        ]
        if read:
            statements.append((sql, list(params)))
        together = not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding")
        if together:
            statements = [
                ("; ".join(q for q, _p in statements), [p for _q, ps in statements for p in ps])
            ]
        with connection.cursor() as cursor:
            try:
                for query, query_params in statements:
                    cursor.execute(query, query_params)
            except OperationalError as exc:
                if getattr(exc.__cause__, "sqlstate", "") == LOCK_NOT_AVAILABLE:
                    raise _busy() from exc
                raise
            if not read:
                return None
            if together:
                cursor.nextset()
                cursor.nextset()
            return cursor.fetchone()

    def can_commit_locked(self) -> bool:
        """Whether `commit_locked` may be used: PostgreSQL, locks still pending, statements
        sent together (client-side binding), and this guard's transaction the outermost one
        (inside a caller's transaction, committing is the caller's business)."""
        return (
            self.pending
            and connection.vendor == "postgresql"
            and not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding")
            and connection.in_atomic_block
            and not connection.savepoint_ids
        )

    def commit_locked(
        self,
        read: tuple[str, Sequence[Any]],
        columns: list[str],
        condition: str,
        params: list[Any],
        then: tuple[str, Sequence[Any]] | None = None,
        before: Sequence[tuple[str, Sequence[Any]]] = (),
    ) -> None:
        """Run `before` (statements and their parameters: rows of the caller's that need no
        lock), take the locks, check `condition` (SQL over the columns of `read`'s row, with
        `params`), run `then` (the counters the order changes) and COMMIT, all in one round
        trip (see `can_commit_locked`).

        The lock is then held only while the server checks and flushes the commit, never
        while this process waits for its turn to run Python — with dozens of threads per
        process, that wait (the GIL) made every other writer of the same key wait too.
        When the condition does not hold the server raises `Refused`: nothing is committed,
        the transaction is aborted and the caller's atomic block rolls it back."""
        sql, read_params = read
        names = ", ".join(columns)
        batch = "; ".join(
            [
                *(statement for statement, _params in before),
                "SELECT set_config('lock_timeout', %s, true)",
                "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(%s::bigint[]) AS k)"
                " AS keys",
                # conciergerie_refuse() raises (events migration 0003); CASE evaluates it only
                # when the condition fails. Only this module's and the caller's SQL go in.
                f"SELECT CASE WHEN {condition} THEN 1 ELSE conciergerie_refuse() END"  # noqa: S608
                f" FROM ({sql}) AS f({names})",
                *([then[0]] if then else []),
                "COMMIT",
            ]
        )
        self.pending = False
        with connection.cursor() as cursor:
            try:
                cursor.execute(
                    batch,
                    [
                        *(p for _statement, values in before for p in values),
                        f"{int(lock_timeout() * 1000)}ms",
                        sorted({_lock_id(self.namespace, k) for k in self.keys}),
                        *params,
                        *read_params,
                        *(then[1] if then else []),
                    ],
                )
            except DatabaseError as exc:
                state = getattr(exc.__cause__, "sqlstate", "")
                if state == REFUSED:
                    raise Refused from exc
                if state == LOCK_NOT_AVAILABLE:
                    raise _busy() from exc
                raise


class Refused(Exception):
    """`Guard.commit_locked`'s condition did not hold: nothing was committed."""


@contextmanager
def guarded(namespace: str, keys: Iterable[int], *, deferred: bool = False) -> Iterator[Guard]:
    """A write transaction in which the capacity of `keys` cannot change under the caller
    (with `deferred`, from `guard.locked()` on: see the module's docstring)."""
    if not enabled():
        # Naive code: read and check in autocommit, write afterwards (deferred: write in
        # autocommit, then read and check). Tests only.
        yield Guard(namespace, keys, pending=False)
        return
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        # Inside a transaction this thread already holds SQLite's write lock: no queueing.
        if not _sqlite_writers.acquire(timeout=lock_timeout()):
            raise _busy()
        try:
            with transaction.atomic():
                yield Guard(namespace, keys, pending=False)
        finally:
            _sqlite_writers.release()
        return
    with transaction.atomic():
        guard = Guard(namespace, keys, pending=connection.vendor == "postgresql")
        if not deferred:
            guard.lock()
        yield guard


LOCK_NOT_AVAILABLE = "55P03"
REFUSED = "CR001"  # raised by conciergerie_refuse()


def lock_timeout() -> float:
    return float(getattr(settings, "CAPACITY_LOCK_TIMEOUT", 5))


def _busy() -> Busy:
    from django.utils.translation import gettext as _

    return Busy(_("Beaucoup de demandes en même temps sur ce créneau : réessayez dans un instant."))


def race_window() -> None:
    """Tests widen the gap between check and write to make a race visible with the guard off."""
    delay = float(getattr(settings, "CAPACITY_RACE_WINDOW", 0) or 0)
    if delay:
        time.sleep(delay)


@dataclass(frozen=True)
class Hold:
    start: dt.datetime
    end: dt.datetime
    quantity: int


def peak(holds: Sequence[Hold], start: dt.datetime, end: dt.datetime) -> tuple[int, Hold | None]:
    """The most held at any instant of [start, end), and one hold present at that instant."""
    events: list[tuple[dt.datetime, int, int]] = []
    for i, h in enumerate(holds):
        s, e = max(h.start, start), min(h.end, end)
        if s < e:
            events.append((s, 1, i))
            events.append((e, -1, i))
    # Ends sort before starts at the same instant: [10:00, 11:00) and [11:00, 12:00) touch.
    events.sort(key=lambda ev: (ev[0], ev[1]))
    current, best, witness = 0, 0, None
    active: set[int] = set()
    for _at, kind, i in events:
        if kind == 1:
            active.add(i)
            current += holds[i].quantity
            if current > best:
                best, witness = current, holds[i]
        else:
            active.discard(i)
            current -= holds[i].quantity
    return best, witness


def over_capacity_instants(holds: Sequence[Hold], capacity: int) -> list[dt.datetime]:
    """Every instant at which the holds exceed capacity (used by tests and the bench)."""
    events = sorted(
        [(h.start, 1, h.quantity) for h in holds] + [(h.end, -1, h.quantity) for h in holds],
        key=lambda ev: (ev[0], ev[1]),
    )
    current, bad = 0, []
    for at, kind, qty in events:
        current += qty if kind == 1 else -qty
        if current > capacity:
            bad.append(at)
    return bad
