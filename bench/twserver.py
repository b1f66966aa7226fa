"""A tokenward server process on loopback for the internal benchmarks, and wrk runs.

Shared by `hotpath.py`, `refresh.py`, `memory.py` and `scaling.py`: start a server
(one uvicorn worker) on a free port with its own database, talk to it with the
standard library, load it with wrk and read back rate and latency.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
UNLIMITED = "100000000/minute"
BENCH_ENV = {
    "TOKENWARD_IP_RATE": UNLIMITED,
    "TOKENWARD_LOGIN_RATE": UNLIMITED,
    "TOKENWARD_LOGIN_PAIR_RATE": UNLIMITED,
    "TOKENWARD_LOGIN_IP_RATE": UNLIMITED,
}


def write_json(path: Path | None, data: Any) -> None:
    """Keep a benchmark's numbers where `--json` asked, if it did."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """`tokenward serve` with the given settings; a context manager."""

    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    python: str = sys.executable
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **BENCH_ENV, **self.env}
        env.setdefault("TOKENWARD_DATABASE_URL", f"sqlite+aiosqlite:///{self.db_path}")
        log = (self.workdir / f"server-{self.port}.log").open("wb")
        command = [self.python, "-m", "tokenward", "serve"]
        self.process = subprocess.Popen(
            [*command, "--host", HOST, "--port", str(self.port)],
            cwd=self.workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited; see {log.name}")
            try:
                if request("GET", f"{self.base}/healthz", timeout=1)[0] == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not answer within 120 s")

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def db_path(self) -> Path:
        return self.workdir / "tokenward.db"

    def rss_mb(self) -> float:
        """Resident set size of the server process, in MiB."""
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server process has used so far."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def account(self) -> tuple[str, str]:
        """Register a fresh account; return its email and password."""
        email = f"bench-{secrets.token_hex(4)}@example.com"
        password = secrets.token_urlsafe(18)
        status, body = request(
            "POST", f"{self.base}/auth/register", {"email": email, "password": password}
        )
        if status != 201:
            raise RuntimeError(f"register answered {status}: {body}")
        return email, password

    def login(self, email: str, password: str) -> dict[str, Any]:
        status, body = request(
            "POST", f"{self.base}/auth/login", {"email": email, "password": password}
        )
        if status != 200:
            raise RuntimeError(f"login answered {status}: {body}")
        return body  # type: ignore[no-any-return]


def request(
    method: str,
    url: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, Any]:
    """One JSON request over loopback; the status and the decoded body."""
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # loopback only
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    return status, json.loads(raw) if raw else None


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0
    cpu_us: float = float("nan")  # server CPU per request, when the server was given


def wrk(
    url: str,
    seconds: int,
    connections: int = 16,
    headers: dict[str, str] | None = None,
    script: Path | None = None,
    server: Server | None = None,
) -> WrkResult:
    """One wrk run with one thread; a bounded time, loopback only.

    With `server`, also the server's CPU time per request, which the other work on a
    shared machine disturbs far less than the request rate.
    """
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError("wrk is only aimed at loopback servers started here")
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is missing: apt-get install -y wrk")
    command = [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    cpu_before = server.cpu_seconds() if server else 0.0
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    cpu = server.cpu_seconds() - cpu_before if server else float("nan")
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return WrkResult(
        rps,
        _percentile(out, "50"),
        _percentile(out, "99"),
        errors,
        requests,
        cpu / max(requests, 1) * 1e6,
    )


def _percentile(out: str, which: str) -> float:
    match = re.search(rf"^\s+{which}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if match is None:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


class Connection:
    """HTTP/1.1 keep-alive over one asyncio stream to a loopback server."""

    def __init__(self, base: str) -> None:
        if not base.startswith(f"http://{HOST}:"):
            raise ValueError("only loopback servers started here")
        self.port = int(base.rsplit(":", 1)[1])
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """Send one request and read its whole answer (Content-Length framing)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        payload = json.dumps(body).encode() if body is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status = int(head.split(" ", 2)[1])
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None
