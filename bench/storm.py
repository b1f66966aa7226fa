"""`/auth/whoami` during a login storm, and login throughput against the hashing limit.

    python bench/storm.py [--quick] [--hash-threads N] [--json PATH]

One tokenward worker with the default Argon2 parameters. In rounds: 8 clients log
in without pause; whoami alone (wrk); whoami while the 8 clients log in again. The
storm's whoami rate is divided by the idle runs beside it (target ≥ 0.6, with p99
≤ 10 ms). Logins per second (without whoami load) are divided by the hashing limit:
hash threads ÷ the time of one Argon2 verification with the server's parameters,
timed in this run between the rounds (target ≥ 0.8); also against the limit timed
with as many verifications at once as there are hash threads, since parallel Argon2
runs slow each other down on a small machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from twserver import Connection, Server, WrkResult, write_json, wrk

from tokenward.config import Settings

CLIENTS = 8


def verify_seconds(settings: Settings, budget: float, parallel: int = 1) -> float:
    """Time of one Argon2 verification with the server's parameters, while `parallel`
    of them run at once (as many as the server has hash threads, say)."""
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
    )
    stored = hasher.hash("correct horse battery staple")

    def one(_: int) -> float:
        began = time.perf_counter()
        hasher.verify(stored, "correct horse battery staple")
        return time.perf_counter() - began

    timings: list[float] = []
    end = time.monotonic() + budget
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        while time.monotonic() < end or len(timings) < 5:
            timings.extend(pool.map(one, range(parallel)))
    return statistics.median(timings)


class Storm:
    """`CLIENTS` connections logging in without pause, on a thread of its own."""

    def __init__(self, server: Server, email: str, password: str) -> None:
        self.server, self.email, self.password = server, email, password
        self.logins = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()))

    def __enter__(self) -> Storm:
        self.began = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        self.seconds = time.monotonic() - self.began

    async def _run(self) -> None:
        body = {"email": self.email, "password": self.password}

        async def client() -> None:
            conn = Connection(self.server.base)
            try:
                while not self._stop.is_set():
                    status, _ = await conn.request("POST", "/auth/login", body)
                    if status == 200:
                        self.logins += 1
                    else:
                        self.errors += 1
            finally:
                await conn.close()

        await asyncio.gather(*(client() for _ in range(CLIENTS)))


def measure(
    hash_threads: int | None, seconds: int, storm_seconds: int, rounds: int
) -> dict[str, Any]:
    env: dict[str, str] = {}
    if hash_threads is not None:
        env["TOKENWARD_HASH_THREADS"] = str(hash_threads)
    settings = Settings(_env_file=None, **{k[10:].lower(): v for k, v in env.items()})  # type: ignore[arg-type]

    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp), env=env) as server:
        email, password = server.account()
        token = server.login(email, password)["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        url = f"{server.base}/auth/whoami"
        wrk(url, 1, headers=headers)

        idle: list[WrkResult] = [wrk(url, seconds, headers=headers)]
        stormy: list[WrkResult] = []
        login_rates: list[float] = []
        verify_times: list[float] = []
        parallel_times: list[float] = []
        storm_logins: list[float] = []
        for _ in range(rounds):
            with Storm(server, email, password) as alone:
                time.sleep(storm_seconds)
            login_rates.append(alone.logins / alone.seconds)
            time.sleep(1)  # the server finishes the logins still queued
            verify_times.append(verify_seconds(settings, 1.0))
            parallel_times.append(verify_seconds(settings, 1.0, settings.hash_threads))

            with Storm(server, email, password) as storm:
                time.sleep(1)
                stormy.append(wrk(url, storm_seconds - 2, headers=headers))
                time.sleep(1)
            storm_logins.append(storm.logins / storm.seconds)
            time.sleep(1)
            idle.append(wrk(url, seconds, headers=headers))

    verify = statistics.median(verify_times)
    limit = settings.hash_threads / verify
    parallel_verify = statistics.median(parallel_times)
    parallel_limit = settings.hash_threads / parallel_verify
    ratios = [
        s.rps / statistics.mean([idle[i].rps, idle[i + 1].rps])
        for i, s in enumerate(stormy)
    ]
    return {
        "hash_threads": settings.hash_threads,
        "cores": os.cpu_count(),
        "verify_ms": verify * 1000,
        "hashing_limit": limit,
        "login_rate": statistics.median(login_rates),
        "login_ratio": statistics.median(login_rates) / limit,
        "parallel_verify_ms": parallel_verify * 1000,
        "parallel_hashing_limit": parallel_limit,
        "login_ratio_parallel": statistics.median(login_rates) / parallel_limit,
        "logins_during_whoami_load": statistics.median(storm_logins),
        "whoami_idle_rps": statistics.median(r.rps for r in idle),
        "whoami_idle_p99_ms": statistics.median(r.p99_ms for r in idle),
        "whoami_storm_rps": statistics.median(r.rps for r in stormy),
        "whoami_storm_p99_ms": statistics.median(r.p99_ms for r in stormy),
        "whoami_ratio": statistics.median(ratios),
        "whoami_ratios": ratios,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, 2 rounds")
    parser.add_argument("--hash-threads", type=int, help="TOKENWARD_HASH_THREADS")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    seconds, storm, rounds = (2, 6, 2) if args.quick else (4, 12, 3)
    result = measure(args.hash_threads, seconds, storm, args.rounds or rounds)
    print(
        f"hash threads {result['hash_threads']} on {result['cores']} cores, "
        f"verify {result['verify_ms']:.1f} ms: limit {result['hashing_limit']:.1f}/s, "
        f"logins {result['login_rate']:.1f}/s (ratio {result['login_ratio']:.2f}; "
        f"{result['login_ratio_parallel']:.2f} of "
        f"{result['parallel_hashing_limit']:.1f}/s "
        f"timing {result['hash_threads']} verifications at once)\n"
        f"whoami idle {result['whoami_idle_rps']:.0f} rps "
        f"(p99 {result['whoami_idle_p99_ms']:.1f} ms), storm "
        f"{result['whoami_storm_rps']:.0f} rps (p99 {result['whoami_storm_p99_ms']:.1f} "
        f"ms): ratio {result['whoami_ratio']:.2f}"
    )
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
