"""A real `tokenward serve` process on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    base_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    def cli(
        self, *args: str, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `tokenward ARGS` against the same database as the server."""
        return subprocess.run(
            [sys.executable, "-m", "tokenward", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def start_server(tmp_path: Path, **env: str) -> Server:
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TOKENWARD_")},
        "TOKENWARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}",
        "TOKENWARD_ISSUER": f"http://127.0.0.1:{port}",
        "TOKENWARD_ARGON2_TIME_COST": "1",
        "TOKENWARD_ARGON2_MEMORY_COST": "8192",
        **env,
    }
    log = tmp_path / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "tokenward", "serve", "--port", str(port)],
        env=environment,
        cwd=tmp_path,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return Server(base_url, environment, process, log)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not start: {log.read_text()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path)
    yield running
    stop_server(running)
