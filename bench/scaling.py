"""Cost that must not grow with the data: two servers side by side, small and large.

    python bench/scaling.py [--quick] [--only whoami|refresh|login] [--json PATH]

- whoami: one server with no revocations, one whose revocation view holds 100,000
  revoked sessions; `/auth/whoami` with wrk (target: large ≥ 0.95 of small).
- refresh: 1,000 sessions stored against 1,000,000, on SQLite and on PostgreSQL;
  `/auth/refresh` with 8 token chains (target ≥ 0.8).
- login: 1,000 users against 1,000,000; `/auth/login` from 8 clients, with cheap
  Argon2 parameters so that the look-up weighs as much as it can (target ≈ 1).

Rows are seeded with bulk SQL before the servers start. The two servers run at the
same time and are measured in alternating rounds (small, large, small, ...); each
large run is divided by the small runs beside it. `--quick` uses a tenth of the rows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from refresh import postgres_database, refresh_rate, sqlite_database
from seed import revoke_sqlite, seed_postgres, seed_sqlite
from twserver import Connection, Server, write_json, wrk

from tokenward.store.migrate import upgrade

CHEAP_HASHING = {
    "TOKENWARD_ARGON2_TIME_COST": "1",
    "TOKENWARD_ARGON2_MEMORY_COST": "8192",
}
CLIENTS = 8


def alternate(
    small: Callable[[], float], large: Callable[[], float], rounds: int
) -> dict[str, Any]:
    """small, large, small, ... and the ratio of each large run to its neighbours."""
    smalls, larges = [small()], []
    for _ in range(rounds):
        larges.append(large())
        smalls.append(small())
    ratios = [
        value / statistics.mean(smalls[i : i + 2]) for i, value in enumerate(larges)
    ]
    return {
        "small_rate": statistics.median(smalls),
        "large_rate": statistics.median(larges),
        "ratio": statistics.median(ratios),
        "ratios": ratios,
    }


@contextlib.contextmanager
def sqlite_server(
    folder: Path, name: str, env: dict[str, str], prepare: Callable[[str], Any]
) -> Iterator[Server]:
    """A server on a fresh SQLite file that `prepare` filled before the start."""
    db = folder / f"{name}.db"
    url = f"sqlite+aiosqlite:///{db}"
    asyncio.run(upgrade(url))
    prepare(str(db))
    with Server(folder / name, env={"TOKENWARD_DATABASE_URL": url, **env}) as server:
        yield server


def whoami_scaling(folder: Path, revoked: int, seconds: int, rounds: int) -> dict:
    def prepare_large(db: str) -> None:
        seeded = seed_sqlite(db, max(1, revoked // 100), revoked, 0)
        revoke_sqlite(db, seeded.session_ids, timedelta(seconds=930))

    with (
        sqlite_server(folder, "none", {}, lambda _db: None) as small,
        sqlite_server(folder, "revoked", {}, prepare_large) as large,
    ):
        for server in (small, large):
            email, password = server.account()
            server.token = server.login(email, password)["access_token"]  # type: ignore[attr-defined]

        def rate(server: Server) -> Callable[[], float]:
            headers = {"Authorization": f"Bearer {server.token}"}  # type: ignore[attr-defined]
            return lambda: wrk(f"{server.base}/auth/whoami", seconds, headers=headers).rps

        rate(small)()
        rate(large)()
        result = alternate(rate(small), rate(large), rounds)
    result["revoked_sessions"] = revoked
    return result


def refresh_scaling(
    folder: Path, backend: str, small_n: int, large_n: int, seconds: int, rounds: int
) -> dict:
    async def prepared(url: str, sessions: int) -> list[str]:
        await upgrade(url)
        if backend == "sqlite":
            db = url.split(":///", 1)[1]
            return seed_sqlite(
                db, max(1, sessions // 100), sessions, CLIENTS
            ).refresh_tokens
        seeded = await seed_postgres(url, max(1, sessions // 100), sessions, CLIENTS)
        return seeded.refresh_tokens

    async def run() -> dict:
        async with (
            database(folder, "small") as small_url,
            database(folder, "large") as large_url,
        ):
            chains = {
                "small": await prepared(small_url, small_n),
                "large": await prepared(large_url, large_n),
            }
            with (
                Server(folder / "rs", env={"TOKENWARD_DATABASE_URL": small_url}) as small,
                Server(folder / "rl", env={"TOKENWARD_DATABASE_URL": large_url}) as large,
            ):
                servers = {"small": small, "large": large}

                async def rate(name: str) -> float:
                    run, chains[name] = await refresh_rate(
                        servers[name].base, chains[name], seconds
                    )
                    return run.rate

                await rate("small")
                await rate("large")
                smalls, larges = [await rate("small")], []
                for _ in range(rounds):
                    larges.append(await rate("large"))
                    smalls.append(await rate("small"))
        ratios = [v / statistics.mean(smalls[i : i + 2]) for i, v in enumerate(larges)]
        return {
            "small_rate": statistics.median(smalls),
            "large_rate": statistics.median(larges),
            "ratio": statistics.median(ratios),
            "ratios": ratios,
        }

    database = sqlite_database if backend == "sqlite" else postgres_database
    result = asyncio.run(run())
    result.update(backend=backend, small_sessions=small_n, large_sessions=large_n)
    return result


async def login_rate(server: Server, email: str, password: str, seconds: float) -> float:
    """Successful logins per second from `CLIENTS` connections for `seconds`."""
    end = time.monotonic() + seconds
    count = 0

    async def client() -> None:
        nonlocal count
        conn = Connection(server.base)
        try:
            while time.monotonic() < end:
                status, body = await conn.request(
                    "POST", "/auth/login", {"email": email, "password": password}
                )
                if status != 200:
                    raise RuntimeError(f"login answered {status}: {body[:200]!r}")
                count += 1
        finally:
            await conn.close()

    began = time.monotonic()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return count / (time.monotonic() - began)


def login_scaling(
    folder: Path, small_n: int, large_n: int, seconds: int, rounds: int
) -> dict:
    with (
        sqlite_server(
            folder, "few", CHEAP_HASHING, lambda db: seed_sqlite(db, small_n, 0, 0)
        ) as small,
        sqlite_server(
            folder, "many", CHEAP_HASHING, lambda db: seed_sqlite(db, large_n, 0, 0)
        ) as large,
    ):
        accounts = {id(s): s.account() for s in (small, large)}

        def rate(server: Server) -> Callable[[], float]:
            email, password = accounts[id(server)]
            return lambda: asyncio.run(login_rate(server, email, password, seconds))

        rate(small)()
        rate(large)()
        result = alternate(rate(small), rate(large), rounds)
    result.update(small_users=small_n, large_users=large_n)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the rows")
    parser.add_argument("--only", choices=["whoami", "refresh", "login"])
    parser.add_argument(
        "--backend", choices=["sqlite", "postgres", "both"], default="both"
    )
    parser.add_argument("--seconds", type=int, help="seconds per run")
    parser.add_argument("--rounds", type=int, help="alternating rounds")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    seconds = args.seconds or (2 if args.quick else 4)
    rounds = args.rounds or (2 if args.quick else 3)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        steps: list[tuple[str, Callable[[], dict]]] = []
        if args.only in (None, "whoami"):
            steps.append(
                (
                    "whoami",
                    lambda: whoami_scaling(folder, 100_000 // scale, seconds, rounds),
                )
            )
        if args.only in (None, "refresh"):
            for backend in backends:
                steps.append((
                    f"refresh_{backend}",
                    lambda b=backend: refresh_scaling(
                        folder, b, 1_000, 1_000_000 // scale, seconds, rounds
                    ),
                ))  # fmt: skip
        if args.only in (None, "login"):
            steps.append(
                (
                    "login",
                    lambda: login_scaling(
                        folder, 1_000, 1_000_000 // scale, seconds, rounds
                    ),
                )
            )
        for name, step in steps:
            began = time.monotonic()
            results[name] = step()
            row = results[name]
            print(
                f"{name:<16} small {row['small_rate']:8.1f}/s  "
                f"large {row['large_rate']:8.1f}/s  ratio {row['ratio']:.2f}  "
                f"({time.monotonic() - began:.0f} s)",
                flush=True,
            )
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
