"""Bounded async HTTP load client, started by bench/load.py as its own process.

It is the fallback when wrk is missing, and the only way to measure refresh: every
refresh spends the token it sends, so each connection must send the token that its
previous answer returned, which a static wrk script cannot do.

Two engines. ``raw`` (the default) speaks HTTP/1.1 keep-alive over asyncio streams
with the standard library alone; ``httpx`` uses httpx.AsyncClient and needs the
client venv. On this two-core machine httpx topped out at a few hundred requests a
second, below the servers it measures, so it is kept only as an option.

Reads one JSON job on stdin and prints one JSON result line. The run ends at its
deadline, dropping requests still in flight as wrk does, or earlier when the shared
request cap is reached; the harness's subprocess timeout backs that.
Only loopback addresses are accepted.
"""

import asyncio
import contextlib
import ipaddress
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit


@dataclass
class Tally:
    """Shared counters of one run."""

    cap: int
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    sent: int = 0

    def error(self, kind: str) -> None:
        """Count one failure of the given kind."""
        self.errors[kind] = self.errors.get(kind, 0) + 1


class SendError(Exception):
    """A request that got no HTTP answer; ``kind`` names why."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Connection(Protocol):
    """One client connection that sends a request and returns status and body."""

    async def send(self, body: bytes | None) -> tuple[int, bytes]: ...

    async def close(self) -> None: ...


def loopback_only(url: str) -> tuple[str, int]:
    """Host and port of a loopback URL; anything else is refused."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    is_loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    if parts.scheme != "http" or not is_loopback:
        raise SystemExit(f"pyload only sends to plain-http loopback servers, not {url}")
    return host, parts.port or 80


class RawConnection:
    """HTTP/1.1 keep-alive over one asyncio stream, reconnecting after a failure."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.host, self.port = loopback_only(job["url"])
        parts = urlsplit(job["url"])
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        head = [f"{job['method']} {target} HTTP/1.1", f"Host: {parts.netloc}"]
        head += [f"{k}: {v}" for k, v in (job.get("headers") or {}).items()]
        self.head = head
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def _request(self, body: bytes | None) -> bytes:
        lines = list(self.head)
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")

    async def send(self, body: bytes | None) -> tuple[int, bytes]:
        """Send one request and read its whole answer."""
        if self.writer is None:
            try:
                self.reader, self.writer = await asyncio.open_connection(
                    self.host, self.port
                )
            except OSError as exc:
                raise SendError("connect") from exc
        assert self.reader is not None
        try:
            self.writer.write(self._request(body))
            await self.writer.drain()
            head = await self.reader.readuntil(b"\r\n\r\n")
            status, length, close = _parse_head(head)
            payload = await self.reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            await self.close()
            raise SendError("read") from exc
        if close:
            await self.close()
        return status, payload

    async def close(self) -> None:
        """Drop the connection; the next send opens a new one."""
        writer, self.writer, self.reader = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    """Status, Content-Length and whether the server will close the connection."""
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip().lower()
    if "chunked" in fields.get("transfer-encoding", ""):
        raise OSError("chunked answers are not supported by the raw engine")
    close = fields.get("connection") == "close"
    return status, int(fields.get("content-length", "0")), close


class HttpxConnection:
    """The same interface over a shared httpx.AsyncClient."""

    def __init__(self, job: dict[str, Any], client: Any) -> None:
        loopback_only(job["url"])
        self.job = job
        self.client = client

    async def send(self, body: bytes | None) -> tuple[int, bytes]:
        """Send one request through the client's pool."""
        import httpx

        try:
            resp = await self.client.request(
                self.job["method"], self.job["url"], content=body
            )
        except httpx.TimeoutException as exc:
            raise SendError("timeout") from exc
        except httpx.ConnectError as exc:
            raise SendError("connect") from exc
        except httpx.HTTPError as exc:
            raise SendError("read") from exc
        return resp.status_code, resp.content

    async def close(self) -> None:
        """The shared client is closed by the run."""


async def _timed(
    conn: Connection, tally: Tally, body: bytes | None, timeout: float
) -> bytes | None:
    """One request; records its latency or its failure; returns the body or None."""
    tally.sent += 1
    began = time.perf_counter()
    try:
        status, payload = await asyncio.wait_for(conn.send(body), timeout)
    except TimeoutError:
        await conn.close()
        tally.error("timeout")
        return None
    except SendError as exc:
        tally.error(exc.kind)
        return None
    if not 200 <= status < 400:
        tally.error("status")
        return None
    tally.latencies.append(time.perf_counter() - began)
    return payload


async def _fixed(conn: Connection, job: dict[str, Any], tally: Tally, end: float) -> None:
    body = job["body"].encode() if job.get("body") else None
    while time.monotonic() < end and tally.sent < tally.cap:
        await _timed(conn, tally, body, float(job["timeout"]))


async def _refresh(
    conn: Connection, job: dict[str, Any], tally: Tally, end: float, token: str
) -> None:
    while time.monotonic() < end and tally.sent < tally.cap:
        body = json.dumps({"refresh_token": token}).encode()
        payload = await _timed(conn, tally, body, float(job["timeout"]))
        if payload is None:
            tally.error("chain_broken")
            return
        token = json.loads(payload)["refresh_token"]


async def _run(job: dict[str, Any]) -> dict[str, Any]:
    conns = int(job["connections"])
    tally = Tally(cap=int(job["max_requests"]))
    if job["mode"] == "refresh":
        job["method"] = "POST"
        job["headers"] = {"Content-Type": "application/json"}
    client = None
    if job.get("engine") == "httpx":
        import httpx

        limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
        client = httpx.AsyncClient(
            headers=job.get("headers") or {},
            limits=limits,
            timeout=float(job["timeout"]),
        )
        pool: list[Connection] = [HttpxConnection(job, client) for _ in range(conns)]
    else:
        pool = [RawConnection(job) for _ in range(conns)]
    began = time.monotonic()
    end = began + float(job["duration"])
    if job["mode"] == "refresh":
        tokens = job["refresh_tokens"]
        workers = [
            _refresh(c, job, tally, end, t) for c, t in zip(pool, tokens, strict=True)
        ]
    else:
        workers = [_fixed(c, job, tally, end) for c in pool]
    # Like wrk, stop at the deadline: requests still in flight then are dropped.
    tasks = [asyncio.create_task(worker) for worker in workers]
    try:
        _, pending = await asyncio.wait(tasks, timeout=float(job["duration"]))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    finally:
        elapsed = time.monotonic() - began
        for conn in pool:
            await conn.close()
        if client is not None:
            await client.aclose()
    return _summary(tally, conns, elapsed)


def _summary(tally: Tally, conns: int, elapsed: float) -> dict[str, Any]:
    lat = sorted(tally.latencies)

    def pct(q: float) -> float:
        return lat[round(q * (len(lat) - 1))] * 1000 if lat else 0.0

    return {
        "connections": conns,
        "requests": len(lat),
        "duration_s": elapsed,
        "rps": len(lat) / elapsed if elapsed else 0.0,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "mean_ms": sum(lat) / len(lat) * 1000 if lat else 0.0,
        "max_ms": lat[-1] * 1000 if lat else 0.0,
        "errors": tally.errors,
        "capped": tally.sent >= tally.cap,
    }


def main() -> None:
    """Read the job, run it, print the result."""
    job = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(_run(job))))


if __name__ == "__main__":
    main()
