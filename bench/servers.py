"""Start servers under test as subprocesses on loopback and stop them again.

Every server gets one uvicorn worker on a free 127.0.0.1 port, its output goes to a
log file (a full pipe would stall it), and it runs in its own process group so that
stopping it also stops anything it spawned.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

HOST = "127.0.0.1"


def free_port() -> int:
    """Ask the kernel for an unused loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerSpec:
    """How to start one server; ``{port}`` in argv is replaced by the chosen port."""

    name: str
    argv: list[str]
    cwd: Path
    ready_path: str
    env: dict[str, str] = field(default_factory=dict)
    start_timeout: float = 60.0


def uvicorn_spec(name: str, python: Path, app_dir: Path, ready_path: str) -> ServerSpec:
    """A peer app served by uvicorn with one worker and no access log."""
    argv = [
        str(python), "-m", "uvicorn", "app:app",
        "--host", HOST, "--port", "{port}", "--workers", "1",
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    return ServerSpec(name=name, argv=argv, cwd=app_dir, ready_path=ready_path)


class Server:
    """A running server; use as a context manager so that it always stops."""

    def __init__(self, spec: ServerSpec, log_dir: Path) -> None:
        self.spec = spec
        self.port = free_port()
        self.log_path = log_dir / f"{spec.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """Root URL of the server, without a trailing slash."""
        return f"http://{HOST}:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL of a path on this server."""
        return self.base_url + path

    def start(self) -> None:
        """Spawn the process and wait until its ready path answers 200."""
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Start the process without waiting for it, so several can boot at once."""
        argv = [a.replace("{port}", str(self.port)) for a in self.spec.argv]
        env = {**os.environ, **self.spec.env, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                argv,
                cwd=self.spec.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        """Wait until the ready path answers 200; stop the process if it never does."""
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.spec.start_timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(
                    f"{self.spec.name} exited with {self._proc.returncode} while "
                    f"starting; the end of its log:\n{self.log_tail(5)}"
                )
            try:
                status, _ = request(self.url(self.spec.ready_path), timeout=1.0)
            except OSError:
                status = 0
            if status == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(
            f"{self.spec.name} was not ready in {self.spec.start_timeout:.0f} s; "
            f"the end of its log:\n{self.log_tail(5)}"
        )

    def log_tail(self, lines: int = 20) -> str:
        """Last lines of the server's log, to explain a failure."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """Send SIGTERM to the server's own process group, then SIGKILL if needed."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def settle(self, path: str, budget: float = 15.0, fast: float = 0.05) -> float:
        """Wait until a cheap request answers quickly again after a storm.

        A server that hashed on its event loop still owes the backlog of a storm
        when the load generator stops; the next measurement must not pay for it.
        Returns the seconds waited.
        """
        start = time.monotonic()
        while time.monotonic() - start < budget:
            began = time.monotonic()
            with contextlib.suppress(OSError):
                request(self.url(path), timeout=budget)
            if time.monotonic() - began < fast:
                break
            time.sleep(0.05)
        return time.monotonic() - start

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def request(
    url: str,
    method: str = "GET",
    json_body: Any = None,
    form: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, Any]:
    """One HTTP request with the standard library, for setup and checks.

    Returns the status and the decoded JSON body (or the text, or None).
    """
    data: bytes | None = None
    all_headers = dict(headers or {})
    if json_body is not None:
        data = json.dumps(json_body).encode()
        all_headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # loopback only
            return resp.status, _decode(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, _decode(err.read())


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
