"""Refresh throughput against a bare transaction doing the same writes, per database.

    python bench/refresh.py [--quick] [--backend sqlite|postgres|both] [--json PATH]

`/auth/refresh` runs on one tokenward worker; a Python async client keeps one token
chain per connection (each request sends the refresh token the previous answer gave).
The baseline is a loop of bare transactions through the same driver (aiosqlite or
asyncpg, no SQLAlchemy, no HTTP) with tokenward's statements: spend the old token,
read its session, store the next token, touch the session, with the same concurrency.
The two alternate (bare, refresh, bare, ...) and each refresh run is divided by the
bare runs beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
from pyload import RawConnection
from twserver import Server, write_json

from tokenward.store.migrate import upgrade

POSTGRES_ADMIN = os.environ.get(
    "TOKENWARD_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


@dataclass
class Run:
    rate: float
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    errors: int = 0


# The databases


@contextlib.asynccontextmanager
async def sqlite_database(folder: Path, name: str) -> AsyncIterator[str]:
    yield f"sqlite+aiosqlite:///{folder / name}.db"


@contextlib.asynccontextmanager
async def postgres_database(_folder: Path, name: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database on the local server, dropped afterwards."""
    db = f"tokenward_bench_{name}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{db}"')
        base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "")
        yield f"postgresql+asyncpg://{base}/{db}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


# The bare transaction


def _hash() -> bytes:
    return hashlib.sha256(secrets.token_bytes(32)).digest()


def statements(p: Callable[[int], str]) -> dict[str, str]:
    """tokenward's four statements of one rotation, in the driver's parameter style."""
    return {
        "spend": f"UPDATE refresh_tokens SET spent_at = {p(1)} "
        f"WHERE token_hash = {p(2)} AND spent_at IS NULL RETURNING session_id",
        "session": f"SELECT * FROM sessions WHERE id = {p(1)}",
        "store": "INSERT INTO refresh_tokens (token_hash, session_id, issued_at) "
        f"VALUES ({p(1)}, {p(2)}, {p(3)})",
        "touch": f"UPDATE sessions SET last_used_at = {p(1)}, ip = {p(2)}, "
        f"user_agent = {p(3)} WHERE id = {p(4)}",
        "user": "INSERT INTO users (id, email, email_key, password_hash, is_active, "
        "is_verified, is_admin, scopes, created_at, password_changed_at) VALUES "
        f"({', '.join(p(i) for i in range(1, 11))})",
        "new_session": "INSERT INTO sessions (id, user_id, created_at, last_used_at, "
        f"expires_at, scope) VALUES ({', '.join(p(i) for i in range(1, 7))})",
    }


class BareSqlite:
    """Raw aiosqlite: tokenward's pragmas, explicit transactions."""

    def __init__(self, url: str) -> None:
        self.path = url.split(":///", 1)[1]
        self.sql = statements(lambda _i: "?")

    async def connect(self) -> Any:
        conn = await aiosqlite.connect(self.path, isolation_level=None, timeout=30)
        for pragma in ("journal_mode=WAL", "busy_timeout=10000", "foreign_keys=ON"):
            await conn.execute(f"PRAGMA {pragma}")
        await conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @staticmethod
    def stamp(moment: datetime) -> Any:
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")

    async def execute(self, conn: Any, name: str, *args: Any) -> Any:
        cursor = await conn.execute(self.sql[name], args)
        return await cursor.fetchone()

    async def rotate(self, conn: Any, old: bytes, new: bytes, moment: datetime) -> None:
        now = self.stamp(moment)
        await conn.execute("BEGIN")
        try:
            (session_id,) = await self.execute(conn, "spend", now, old)
            await self.execute(conn, "session", session_id)
            await self.execute(conn, "store", new, session_id, now)
            await self.execute(conn, "touch", now, "127.0.0.1", "bench", session_id)
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise

    async def close(self, conn: Any) -> None:
        await conn.close()


class BarePostgres:
    """Raw asyncpg; it prepares and caches statements per connection, as SQLAlchemy's
    asyncpg dialect does."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+asyncpg://", "postgresql://")
        self.sql = statements(lambda i: f"${i}")

    async def connect(self) -> Any:
        return await asyncpg.connect(self.url)

    @staticmethod
    def stamp(moment: datetime) -> Any:
        return moment

    async def execute(self, conn: Any, name: str, *args: Any) -> Any:
        return await conn.fetchrow(self.sql[name], *args)

    async def rotate(self, conn: Any, old: bytes, new: bytes, moment: datetime) -> None:
        async with conn.transaction():
            (session_id,) = await self.execute(conn, "spend", moment, old)
            await self.execute(conn, "session", session_id)
            await self.execute(conn, "store", new, session_id, moment)
            await self.execute(conn, "touch", moment, "127.0.0.1", "bench", session_id)

    async def close(self, conn: Any) -> None:
        await conn.close()


async def seed_bare(bare: Any, chains: int) -> list[bytes]:
    """One user and `chains` sessions, each with one live refresh token."""
    now = bare.stamp(datetime.now(UTC))
    later = bare.stamp(datetime.now(UTC) + timedelta(days=30))
    user_id, email = str(uuid.uuid4()), "bare@example.com"
    conn = await bare.connect()
    heads = []
    try:
        await bare.execute(
            conn, "user", user_id, email, email, "x", True, False, False, "", now, now
        )
        for _ in range(chains):
            session_id, head = str(uuid.uuid4()), _hash()
            await bare.execute(
                conn, "new_session", session_id, user_id, now, now, later, ""
            )
            await bare.execute(conn, "store", head, session_id, now)
            heads.append(head)
    finally:
        await bare.close(conn)
    return heads


async def bare_rate(bare: Any, heads: list[bytes], seconds: float) -> tuple[Run, list]:
    """Rotations per second of the bare transaction, one chain per connection.

    The connections run freely: on SQLite that beats taking turns on a lock, as
    one connection's round trips to its thread overlap another's.
    """
    conns = [await bare.connect() for _ in heads]
    count = 0
    end = time.monotonic() + seconds

    async def chain(conn: Any, head: bytes) -> bytes:
        nonlocal count
        while time.monotonic() < end:
            nxt = _hash()
            await bare.rotate(conn, head, nxt, datetime.now(UTC))
            head, count = nxt, count + 1
        return head

    began = time.monotonic()
    try:
        chains = (chain(c, h) for c, h in zip(conns, heads, strict=True))
        heads = list(await asyncio.gather(*chains))
    finally:
        for conn in conns:
            await bare.close(conn)
    return Run(count / (time.monotonic() - began)), heads


# Refresh over HTTP


async def refresh_rate(base: str, tokens: list[str], seconds: float) -> tuple[Run, list]:
    """Refreshes per second, one token chain per connection; chains survive the run."""
    job = {
        "url": f"{base}/auth/refresh",
        "method": "POST",
        "headers": {"Content-Type": "application/json", "User-Agent": "bench"},
    }
    latencies: list[float] = []
    errors = 0
    end = time.monotonic() + seconds

    async def chain(token: str) -> str:
        nonlocal errors
        conn = RawConnection(job)
        try:
            while time.monotonic() < end:
                began = time.perf_counter()
                status, body = await conn.send(
                    json.dumps({"refresh_token": token}).encode()
                )
                if status != 200:
                    errors += 1
                    raise RuntimeError(f"refresh answered {status}: {body[:200]!r}")
                latencies.append(time.perf_counter() - began)
                token = json.loads(body)["refresh_token"]
        finally:
            await conn.close()
        return token

    began = time.monotonic()
    tokens = list(await asyncio.gather(*(chain(t) for t in tokens)))
    elapsed = time.monotonic() - began
    latencies.sort()
    return (
        Run(
            len(latencies) / elapsed,
            latencies[len(latencies) // 2] * 1000,
            latencies[int(len(latencies) * 0.99)] * 1000,
            errors,
        ),
        tokens,
    )


async def measure_backend(
    backend: str, folder: Path, chains: int, seconds: float, rounds: int
) -> dict[str, Any]:
    database = sqlite_database if backend == "sqlite" else postgres_database
    async with database(folder, "server") as url, database(folder, "bare") as bare_url:
        await upgrade(bare_url)
        bare: Any = (
            BareSqlite(bare_url) if backend == "sqlite" else BarePostgres(bare_url)
        )
        heads = await seed_bare(bare, chains)
        with Server(folder / backend, env={"TOKENWARD_DATABASE_URL": url}) as server:
            email, password = await asyncio.to_thread(server.account)
            tokens = [
                (await asyncio.to_thread(server.login, email, password))["refresh_token"]
                for _ in range(chains)
            ]
            _, tokens = await refresh_rate(server.base, tokens, 1)
            _, heads = await bare_rate(bare, heads, 1)

            bares, refreshes = [], []
            run, heads = await bare_rate(bare, heads, seconds)
            bares.append(run)
            for _ in range(rounds):
                run, tokens = await refresh_rate(server.base, tokens, seconds)
                refreshes.append(run)
                run, heads = await bare_rate(bare, heads, seconds)
                bares.append(run)
    ratios = [
        r.rate / statistics.mean([bares[i].rate, bares[i + 1].rate])
        for i, r in enumerate(refreshes)
    ]
    return {
        "backend": backend,
        "chains": chains,
        "refresh_rps": statistics.median(r.rate for r in refreshes),
        "refresh_p50_ms": statistics.median(r.p50_ms for r in refreshes),
        "refresh_p99_ms": statistics.median(r.p99_ms for r in refreshes),
        "bare_tps": statistics.median(b.rate for b in bares),
        "ratio": statistics.median(ratios),
        "ratios": ratios,
    }


async def amain(args: argparse.Namespace) -> list[dict[str, Any]]:
    seconds = args.seconds or (2 if args.quick else 5)
    rounds = args.rounds or (2 if args.quick else 4)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            row = await measure_backend(backend, Path(tmp), args.chains, seconds, rounds)
            results.append(row)
            print(
                f"{backend:<9} refresh {row['refresh_rps']:7.0f}/s "
                f"(p50 {row['refresh_p50_ms']:.1f} ms, "
                f"p99 {row['refresh_p99_ms']:.1f} ms)"
                f"  bare {row['bare_tps']:7.0f}/s  ratio {row['ratio']:.2f}",
                flush=True,
            )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s runs, 2 rounds")
    parser.add_argument(
        "--backend", choices=["sqlite", "postgres", "both"], default="both"
    )
    parser.add_argument("--chains", type=int, default=8, help="concurrent chains")
    parser.add_argument("--seconds", type=float, help="seconds per run")
    parser.add_argument("--rounds", type=int, help="alternating rounds")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    results = asyncio.run(amain(args))
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
