"""A real `tokenward serve` process on a free loopback port, and the CLI beside it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import FAST_HASHING

STARTUP_DEADLINE = 30.0


@dataclass
class LiveServer:
    base_url: str
    env: dict[str, str]
    database_path: Path
    process: subprocess.Popen[bytes]

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run `python -m tokenward ARGS` against the same database."""
        return run_cli(*args, env={**self.env, **env})


def server_env(database_path: Path, **settings: Any) -> dict[str, str]:
    """The environment of a test server: cheap hashing, generous limits, no `.env`."""
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{database_path}",
        "login_rate": "1000/minute",
        "ip_rate": "100000/minute",
        **FAST_HASHING,
        **settings,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENWARD_")}
    env.update({f"TOKENWARD_{k.upper()}": str(v) for k, v in values.items()})
    return env


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tokenward", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(directory: Path, **settings: Any) -> Iterator[LiveServer]:
    """Start a server, wait until it answers, and stop it afterwards."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    database_path = directory / "tokenward.db"
    settings.setdefault("issuer", base_url)
    env = server_env(database_path, **settings)
    log = (directory / f"server-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tokenward", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_up(base_url, process)
        yield LiveServer(base_url, env, database_path, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not answer in time")


def wait_for(condition: Any, deadline: float, step: float = 0.2) -> bool:
    """Poll `condition()` until it is true or `deadline` seconds have passed."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())
