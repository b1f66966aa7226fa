"""Live servers for the interop and key tests, over `tests/e2e/conftest.py`'s helper."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Server, start_server, stop_server

# Many logins from one loopback address: the limits must not be what a test measures.
GENEROUS_LIMITS = {"login_rate": "1000/minute", "ip_rate": "100000/minute"}


def setting_env(**settings: Any) -> dict[str, str]:
    return {f"TOKENWARD_{name.upper()}": str(value) for name, value in settings.items()}


@contextmanager
def live_server(directory: Path, **settings: Any) -> Iterator[Server]:
    """`tokenward serve` with these settings, stopped when the block ends."""
    server = start_server(directory, **setting_env(**GENEROUS_LIMITS, **settings))
    try:
        yield server
    finally:
        stop_server(server)


def database_path(directory: Path) -> Path:
    """Where `start_server` keeps the SQLite database of a server in `directory`."""
    return directory / "e2e.db"


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tokenward", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def wait_for(condition: Callable[[], bool], deadline: float, step: float = 0.2) -> bool:
    """Poll `condition()` until it is true or `deadline` seconds have passed."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())
