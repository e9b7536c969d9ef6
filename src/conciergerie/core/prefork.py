"""Several web processes on one listening socket, for `conciergerie serve --workers N` (POSIX).

One Python process is held to about one core by the GIL; on a machine with several cores the
parent binds the socket once and forks N workers that all accept on it (the kernel hands each
new connection to one of them). The parent only supervises: a worker that dies is replaced
(later and later if they keep dying), SIGTERM or SIGINT stops them all.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

STOP = {signal.SIGTERM, signal.SIGINT}
STABLE_SECONDS = 10.0  # a worker that lived this long was not crash-looping
FIRST_DELAY = 0.5
MAX_DELAY = 10.0
GRACE_SECONDS = 10.0  # after SIGTERM, then SIGKILL


def listen(host: str, port: int) -> socket.socket:
    """The listening socket all workers share (port 0: a free one, see getsockname)."""
    family, _type, _proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    return socket.create_server(address, family=family, backlog=1024)


def _ended(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"code {code}"


class Prefork:
    """`run_worker(sock)` serves on the shared socket until stopped, in each of `count`
    forked processes. The caller closes its database connections before `run()`: a
    connection opened before a fork would be shared by every worker."""

    def __init__(
        self,
        run_worker: Callable[[socket.socket], None],
        sock: socket.socket,
        count: int,
        log: Callable[[str], None],
    ) -> None:
        self.run_worker = run_worker
        self.sock = sock
        self.count = count
        self.log = log
        self.workers: dict[int, float] = {}  # pid → when it started (monotonic)
        self.restarts: list[float] = []  # when to start a replacement (monotonic)
        self.delay = 0.0
        self.wake = (-1, -1)  # the pipe signals write to

    def run(self) -> None:
        # Signals only wake the loop (a byte per signal in a pipe, read by select): the
        # supervising itself never runs inside a signal handler.
        self.wake = os.pipe()
        for fd in self.wake:
            os.set_blocking(fd, False)
        watched = [signal.SIGCHLD, *STOP]
        previous: dict[int, Any] = {s: signal.signal(s, lambda *_: None) for s in watched}
        old_wakeup = signal.set_wakeup_fd(self.wake[1])
        try:
            for _ in range(self.count):
                self.spawn()
            while True:
                timeout = None
                if self.restarts:
                    timeout = max(0.0, min(self.restarts) - time.monotonic())
                ready, _w, _x = select.select([self.wake[0]], [], [], timeout)
                got = set(os.read(self.wake[0], 512)) if ready else set()
                if got & STOP:
                    break
                self.reap()
                now = time.monotonic()
                for due in [t for t in self.restarts if t <= now]:
                    self.restarts.remove(due)
                    self.spawn()
        finally:
            self.stop()
            signal.set_wakeup_fd(old_wakeup)
            for number, handler in previous.items():
                signal.signal(number, handler)
            for fd in self.wake:
                os.close(fd)
            self.sock.close()

    def spawn(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            self._worker()
        self.workers[pid] = time.monotonic()
        self.log(f"Processus web {pid} démarré.")

    def _worker(self) -> NoReturn:
        """In the child: the parent's signal plumbing undone, then serve until stopped."""
        code = 0
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            for fd in self.wake:
                os.close(fd)
            self.run_worker(self.sock)
        except KeyboardInterrupt:
            pass
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            # Never return into the parent's code (nor run its atexit handlers).
            os._exit(code)

    def reap(self) -> None:
        """Collect the workers that ended and plan their replacements."""
        while self.workers:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            started = self.workers.pop(pid, None)
            if started is None:
                continue
            lived = time.monotonic() - started
            if lived >= STABLE_SECONDS:
                self.delay = 0.0
            else:  # dying young, again and again: do not spin
                self.delay = min(MAX_DELAY, max(FIRST_DELAY, self.delay * 2))
            self.log(
                f"Processus web {pid} arrêté ({_ended(status)}) après {lived:.0f} s ; "
                f"remplacé dans {self.delay:g} s."
            )
            self.restarts.append(time.monotonic() + self.delay)

    def stop(self) -> None:
        """SIGTERM to every worker, SIGKILL to those still there after the grace period."""
        for pid in self.workers:  # not reaped yet: the pid is still theirs
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        while self.workers:
            for pid in list(self.workers):
                if os.waitpid(pid, os.WNOHANG)[0]:
                    del self.workers[pid]
            if self.workers and time.monotonic() > deadline:
                for pid in self.workers:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                self.workers.clear()
            elif self.workers:
                time.sleep(0.02)
        self.log("Processus web arrêtés.")
