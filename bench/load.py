"""Load generators: wrk with a Lua script, or a bounded Python client as fallback.

Both run as separate processes, so the harness itself never competes with the
server for the event loop, and both stop by themselves: wrk after its duration (and
a per-thread request cap in the Lua script), the Python client after its duration or
its request cap, whichever comes first. A hard subprocess timeout backs both up.
"""

import ipaddress
import json
import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
LUA_SCRIPT = BENCH_DIR / "wrk" / "request.lua"
PYLOAD_SCRIPT = BENCH_DIR / "pyload.py"

# Safety cap on requests per run: far above what one core can answer.
MAX_RATE = 100_000


@dataclass
class Target:
    """One kind of request to send again and again."""

    label: str
    url: str
    method: str = "GET"
    body: str | None = None
    content_type: str | None = None
    bearer: str | None = None


@dataclass
class LoadResult:
    """What one load run measured; latencies in milliseconds."""

    label: str
    generator: str
    connections: int
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: dict[str, int] = field(default_factory=dict)
    capped: bool = False

    @property
    def error_count(self) -> int:
        """Failed or non-2xx responses of every kind."""
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for the results file."""
        return asdict(self)


class Running(Protocol):
    """A load run in progress."""

    def wait(self) -> LoadResult:
        """Block until the run ends and return its measurements."""
        ...


class Generator(Protocol):
    """Something that can send a target's requests for a while."""

    name: str

    def start(self, target: Target, connections: int, duration: int) -> Running:
        """Begin a run in the background."""
        ...


def run(gen: Generator, target: Target, connections: int, duration: int) -> LoadResult:
    """Run a target in the foreground."""
    return gen.start(target, connections, duration).wait()


class _Proc:
    """A generator subprocess with a hard deadline and a parser for its output."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        deadline: float,
        parse: Callable[[str], LoadResult],
        stdin: str | None = None,
    ) -> None:
        self._deadline = deadline
        self._parse = parse
        # The input goes through a file, not a pipe: a pipe would only be written
        # in wait(), and a generator started in the background would sit idle.
        with tempfile.TemporaryFile("w+") as job:
            job.write(stdin or "")
            job.flush()
            job.seek(0)
            self._proc = subprocess.Popen(
                argv,
                env=env,
                stdin=job,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )

    def wait(self) -> LoadResult:
        try:
            out, err = self._proc.communicate(timeout=self._deadline)
        except subprocess.TimeoutExpired as exc:
            self._proc.kill()
            self._proc.communicate()
            raise RuntimeError("load generator overran its deadline; killed") from exc
        if self._proc.returncode != 0:
            raise RuntimeError(f"load generator failed ({self._proc.returncode}): {err}")
        return self._parse(out)


class Wrk:
    """wrk with one thread (the machine has two cores: one for it, one for the server)."""

    def __init__(self, path: str, version: str, timeout: int = 10) -> None:
        self.path = path
        self.name = version
        self.timeout = timeout

    def start(self, target: Target, connections: int, duration: int) -> Running:
        """Start wrk against the target; the Lua script shapes the request."""
        env = dict(os.environ)
        env.update(
            BENCH_METHOD=target.method,
            BENCH_BODY=target.body or "",
            BENCH_CONTENT_TYPE=target.content_type or "",
            BENCH_BEARER=target.bearer or "",
            BENCH_MAX_REQUESTS=str(MAX_RATE * duration),
        )
        url = loopback_only(target.url)
        argv = [
            self.path, "-t1", f"-c{connections}", f"-d{duration}s",
            f"--timeout={self.timeout}s", "-s", str(LUA_SCRIPT), url,
        ]  # fmt: skip
        cap = MAX_RATE * duration

        def parse(out: str) -> LoadResult:
            return _parse_wrk(out, target.label, self.name, connections, cap)

        return _Proc(argv, env, duration + self.timeout + 15, parse)


def loopback_only(url: str) -> str:
    """Refuse any target that is not a plain-http loopback address."""
    host = urlsplit(url).hostname or ""
    if urlsplit(url).scheme != "http" or not (
        host == "localhost" or ipaddress.ip_address(host).is_loopback
    ):
        raise ValueError(f"the benchmark only loads loopback servers, not {url}")
    return url


def _parse_wrk(out: str, label: str, name: str, conns: int, cap: int) -> LoadResult:
    line = next((x for x in out.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no BENCH_JSON line:\n{out}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    lat = data["latency_us"]
    seconds = data["duration_us"] / 1e6
    # wrk counts non-2xx answers as requests too; only good answers count here.
    good = data["requests"] - data["errors"]["status"]
    return LoadResult(
        label=label,
        generator=name,
        connections=conns,
        requests=good,
        duration_s=seconds,
        rps=good / seconds if seconds else 0.0,
        p50_ms=lat["p50"] / 1000,
        p99_ms=lat["p99"] / 1000,
        mean_ms=lat["mean"] / 1000,
        max_ms=lat["max"] / 1000,
        errors={k: v for k, v in data["errors"].items() if v},
        capped=data["requests"] >= cap,
    )


class PyLoad:
    """The Python client (bench/pyload.py): slower than wrk, but always available.

    ``engine`` is ``raw`` (standard library only, runs in any Python) or ``httpx``
    (needs a Python with httpx, such as the client venv).
    """

    def __init__(
        self, python: Path | str, engine: str = "raw", timeout: int = 10
    ) -> None:
        self.python = python
        self.engine = engine
        self.name = f"python-{engine}"
        self.timeout = timeout

    def start(self, target: Target, connections: int, duration: int) -> Running:
        """Start the client for a fixed request."""
        headers = {}
        if target.content_type:
            headers["Content-Type"] = target.content_type
        if target.bearer:
            headers["Authorization"] = f"Bearer {target.bearer}"
        job = {
            "mode": "fixed",
            "url": target.url,
            "method": target.method,
            "headers": headers,
            "body": target.body,
        }
        return self._start(job, target.label, connections, duration)

    def start_refresh(
        self, label: str, url: str, tokens: list[str], duration: int
    ) -> Running:
        """Start refresh chains: each connection always sends its newest token."""
        job = {"mode": "refresh", "url": url, "refresh_tokens": tokens}
        return self._start(job, label, len(tokens), duration)

    def _start(
        self, job: dict[str, Any], label: str, connections: int, duration: int
    ) -> Running:
        job.update(
            engine=self.engine,
            connections=connections,
            duration=duration,
            timeout=self.timeout,
            max_requests=MAX_RATE * duration,
        )
        argv = [str(self.python), str(PYLOAD_SCRIPT)]

        def parse(out: str) -> LoadResult:
            data = json.loads(out.strip().splitlines()[-1])
            return LoadResult(label=label, generator=self.name, **data)

        deadline = duration + self.timeout + 15
        return _Proc(argv, dict(os.environ), deadline, parse, stdin=json.dumps(job))
