"""`conciergerie serve`, one process or several (`--workers`), driven as an administrator would:
the real command in a subprocess on a migrated SQLite data directory, then HTTP requests,
signals, and the process table read from /proc."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

SCRIPT = Path(sys.executable).with_name("conciergerie")
CLI = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "conciergerie.cli"]

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="lit /proc")


def env_for(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "CONCIERGERIE_DATA_DIR": str(data_dir), "CONCIERGERIE_DEBUG": "0"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("CONCIERGERIE_DATABASE_URL", None)
    return env


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("serve")
    subprocess.run([*CLI, "migrate", "-v0"], env=env_for(path), check=True, timeout=300)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended while we looked
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def healthz(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read())


def wait_for(check: Callable[[], object], what: str, seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"toujours pas au bout de {seconds} s : {what}")
        time.sleep(0.1)


def answers(port: int) -> bool:
    try:
        return healthz(port)["status"] == "ok"
    except OSError:
        return False


@pytest.fixture
def serve(data_dir: Path, tmp_path: Path) -> Iterator[Callable[..., tuple]]:
    """Start `conciergerie serve ARGS` on a free port and wait until it answers."""
    started: list[subprocess.Popen] = []

    def start(*args: str) -> tuple[subprocess.Popen, int, Path]:
        port = free_port()
        log = tmp_path / f"serve-{port}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*CLI, "serve", "--port", str(port), *args],
                env=env_for(data_dir),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(proc)
        wait_for(lambda: proc.poll() is not None or answers(port), "le serveur répond")
        assert proc.poll() is None, log.read_text()
        return proc, port, log

    yield start
    for proc in started:  # a failed test leaves nothing running
        if proc.poll() is None:
            for pid in children(proc.pid):
                os.kill(pid, signal.SIGKILL)
            proc.kill()
            proc.wait(timeout=10)


def test_two_workers_share_the_port_are_replaced_and_stop_together(serve):
    proc, port, log = serve("--workers", "2", "--threads", "4")
    wait_for(lambda: len(children(proc.pid)) == 2, "deux processus web")
    first = children(proc.pid)
    for _ in range(20):
        assert healthz(port) == {"status": "ok", "database": "sqlite"}
    output = log.read_text()
    assert f"processus {proc.pid}" in output
    for pid in first:
        assert f"Processus web {pid} démarré." in output

    victim, survivor = first
    os.kill(victim, signal.SIGKILL)
    wait_for(
        lambda: victim not in children(proc.pid) and len(children(proc.pid)) == 2,
        "un remplaçant",
    )
    now = children(proc.pid)
    assert survivor in now
    replacement = next(pid for pid in now if pid != survivor)
    assert replacement not in first
    for _ in range(20):
        assert healthz(port)["status"] == "ok"
    assert f"Processus web {victim} arrêté (signal SIGKILL)" in log.read_text()

    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert time.monotonic() - started < 5
    for pid in (survivor, replacement):
        assert not Path(f"/proc/{pid}").exists()
    assert not answers(port)
    assert "Processus web arrêtés." in log.read_text()


def test_one_worker_serves_in_its_own_process(serve):
    proc, port, log = serve("--workers", "1")
    assert healthz(port) == {"status": "ok", "database": "sqlite"}
    assert children(proc.pid) == []
    assert f"Conciergerie écoute sur http://127.0.0.1:{port}/" in log.read_text()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)
    assert not answers(port)


def test_workers_must_be_at_least_one():
    with pytest.raises(CommandError, match="au moins 1 processus"):
        call_command("serve", workers=0)


def test_several_workers_without_fork_say_so(monkeypatch):
    monkeypatch.delattr(os, "fork")  # as on Windows
    with pytest.raises(CommandError, match="POSIX"):
        call_command("serve", workers=2, port=free_port())
