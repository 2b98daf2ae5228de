"""A real Minga server for the live tests: ``minga serve --workers 2`` as a subprocess.

It runs in a process group of its own, so that ``kill`` takes the uvicorn master and its
workers down at once with SIGKILL (what an out-of-memory killer or a pulled plug does), and
``start`` brings it up again on the same database and port. Its settings are given in its
environment only (``MINGA_*``; it runs in a folder of its own, so no ``.env`` is read), and
everything it prints goes to one log file that a failing test shows.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app import __version__
from tests.payments.helpers import STRIPE_KEY, WEBHOOK_SECRET
from tests.utils import ADMIN_EMAIL, ADMIN_PASSWORD

WORKERS = 2
START_TIMEOUT = 90.0  # seconds: two workers importing the app on a busy 2-core machine
STOP_TIMEOUT = 15.0
MINGA = Path(sys.executable).with_name("minga")


def processes_of(group: int) -> list[int]:
    """The processes of a process group that still run (zombies are dead already)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        state, pgid = fields[0], int(fields[2])
        if pgid == group and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass
class LiveServer:
    database_url: str
    stripe_api_base: str
    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _log_offset: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.folder / "minga-serve.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def environment(self) -> dict[str, str]:
        """This process's environment without any ``MINGA_*`` of its own, and the server's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MINGA_")}
        # the server runs the code under test: this checkout's, whatever the virtualenv's
        # editable install points at
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPOSITORY), env.get("PYTHONPATH", "")) if p
        )
        env.update(
            {
                "MINGA_ENVIRONMENT": "test",
                "MINGA_DATABASE_URL": self.database_url,
                # 2 workers x (5 + 5 overflow) connections: room for the other test sessions
                # that share this PostgreSQL server (max_connections 100)
                "MINGA_DATABASE_POOL_SIZE": "5",
                "MINGA_SECRET_KEY": "live-tests-secret-key-0123456789abcdef",
                "MINGA_FIRST_ADMIN_EMAIL": ADMIN_EMAIL,
                "MINGA_FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD,
                # cheap hashes, as the in-process tests; the login limits stay the defaults
                "MINGA_ARGON2_TIME_COST": "1",
                "MINGA_ARGON2_MEMORY_KIB": "1024",
                "MINGA_ARGON2_PARALLELISM": "1",
                "MINGA_STRIPE_API_KEY": STRIPE_KEY,
                "MINGA_STRIPE_API_BASE": self.stripe_api_base,
                "MINGA_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "MINGA_MEDIA_DIR": str(self.folder / "media"),
                # the scheduler is on, as in production, and ticks often
                "MINGA_SCHEDULER_ENABLED": "true",
                "MINGA_SCHEDULER_INTERVAL_SECONDS": "2",
                "MINGA_LOG_LEVEL": "INFO",  # the access log too: what each worker answered
            }
        )
        return env

    def start(self) -> None:
        """Start the server and wait until both workers have started and it answers."""
        assert not self.running, "the live server is already running"
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._wait_port_free()
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {self.starts + 1} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(  # noqa: S603 - our own virtualenv's script
                [str(MINGA), "serve", "--workers", str(WORKERS), "--port", str(self.port)],
                cwd=self.folder,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: see kill()
            )
        self.starts += 1
        deadline = time.monotonic() + START_TIMEOUT
        while not (self._workers_ready() >= WORKERS and self._answers()):
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"minga serve exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(
                    f"minga serve was not ready within {START_TIMEOUT:.0f} s:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM to the master (it stops its workers gracefully), then SIGKILL to all."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_TIMEOUT)
        self.kill()

    def kill(self) -> list[int]:
        """kill -9 of the whole server: the uvicorn master and every worker at once. Returns
        the processes it killed, once none of them is left."""
        if self.process is None:
            return []
        group = self.process.pid  # the master leads its own process group
        killed = processes_of(group)
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
            os.killpg(group, signal.SIGKILL)
        self.process.wait()
        self.process = None
        deadline = time.monotonic() + 10
        while survivors := processes_of(group):
            if time.monotonic() > deadline:
                raise RuntimeError(f"processes {survivors} of the server survived SIGKILL")
            time.sleep(0.05)
        return killed

    def log_tail(self, lines: int = 150) -> str:
        if not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def log_since_start(self) -> list[str]:
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace").splitlines()

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``minga ARGS`` with the server's settings, as an operator would."""
        return subprocess.run(  # noqa: S603 - our own virtualenv's script
            [str(MINGA), *args],
            cwd=self.folder,
            env={**self.environment(), "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _workers_ready(self) -> int:
        """How many workers logged that they are ready since this start."""
        ready = f"minga {__version__} ready"
        count = 0
        for line in self.log_since_start():
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("logger") == "app.main" and entry.get("message") == ready:
                count += 1
        return count

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def _wait_port_free(self) -> None:
        """After a kill the port is free at once (the kernel closes a dead process's
        sockets); wait a little anyway rather than fail a start on it."""
        deadline = time.monotonic() + 10
        while True:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", self.port))
                    return
                except OSError:
                    if time.monotonic() > deadline:
                        raise
            time.sleep(0.1)
