"""Memory of one tokenward server: idle, after many sessions, after many revocations.

    python bench/memory.py [--quick] [--sessions N] [--no-expiry] [--json PATH]

1. Idle RSS right after start, and after one of each request (login, whoami, me,
   refresh), the hashing threads included.
2. N sessions (100,000; `--quick` 10,000) seeded with bulk SQL across N/100 users,
   then each used once through the API: a refresh, and a whoami with the new access
   token, so the verified-token cache, the user cache and the rate-limit table fill.
3. N revocations of those sessions written as tokenward writes them; the server's
   feed loads them into its revocation view (read from `/metrics`).
4. With an access lifetime of 60 s the revocations expire a minute later: the view
   must empty (skip the wait with `--no-expiry`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from seed import revoke_sqlite, seed_sqlite
from twserver import Connection, Server, request, write_json

from tokenward.store.migrate import upgrade

ACCESS_TTL = 60
CHAINS = 8


def view_entries(server: Server) -> int:
    """`tokenward_revocation_view_entries` from the server's metrics."""
    text = _get_text(f"{server.base}/metrics")
    match = re.search(r"^tokenward_revocation_view_entries (\S+)$", text, re.MULTILINE)
    return int(float(match.group(1))) if match else -1


def _get_text(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as resp:  # loopback only
        return resp.read().decode()


def settle(server: Server, seconds: float = 2.0) -> float:
    time.sleep(seconds)
    return server.rss_mb()


async def use_sessions(server: Server, tokens: list[str]) -> int:
    """Refresh each session once and call whoami with its new access token."""
    queue = list(reversed(tokens))
    done = 0

    async def worker() -> None:
        nonlocal done
        conn = Connection(server.base)
        try:
            while queue:
                token = queue.pop()
                status, body = await conn.request(
                    "POST", "/auth/refresh", {"refresh_token": token}
                )
                if status != 200:
                    raise RuntimeError(f"refresh answered {status}: {body[:200]!r}")
                access = json.loads(body)["access_token"]
                status, _ = await conn.request(
                    "GET", "/auth/whoami", headers={"Authorization": f"Bearer {access}"}
                )
                if status != 200:
                    raise RuntimeError(f"whoami answered {status}")
                done += 1
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(CHAINS)))
    return done


def warm_up(server: Server) -> None:
    """One of each request, so every code path and thread has run once."""
    email, password = server.account()
    pair = server.login(email, password)
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    for path in ("/auth/whoami", "/users/me"):
        status, _ = request("GET", f"{server.base}{path}", headers=headers)
        assert status == 200, path
    status, _ = request(
        "POST", f"{server.base}/auth/refresh", {"refresh_token": pair["refresh_token"]}
    )
    assert status == 200


def measure(sessions: int, wait_expiry: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"sessions": sessions, "revocations": sessions}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = folder / "tokenward.db"
        url = f"sqlite+aiosqlite:///{db}"
        asyncio.run(upgrade(url))
        seeded = seed_sqlite(str(db), max(1, sessions // 100), sessions, sessions)
        env = {
            "TOKENWARD_DATABASE_URL": url,
            "TOKENWARD_ACCESS_TTL": str(ACCESS_TTL),
            "TOKENWARD_LEEWAY": "0",
        }
        with Server(folder, env=env) as server:
            result["idle_rss_mb"] = settle(server)
            warm_up(server)
            result["warm_rss_mb"] = settle(server)
            print(f"idle {result['idle_rss_mb']:.1f} MiB, after one of each request "
                  f"{result['warm_rss_mb']:.1f} MiB", flush=True)  # fmt: skip

            began = time.monotonic()
            used = asyncio.run(use_sessions(server, seeded.refresh_tokens))
            result["sessions_used"] = used
            result["sessions_seconds"] = time.monotonic() - began
            result["sessions_rss_mb"] = settle(server)
            print(f"after {used} sessions refreshed and used: "
                  f"{result['sessions_rss_mb']:.1f} MiB", flush=True)  # fmt: skip

            revoke_sqlite(str(db), seeded.session_ids, timedelta(seconds=ACCESS_TTL))
            deadline = time.monotonic() + 30
            while view_entries(server) < sessions and time.monotonic() < deadline:
                time.sleep(0.5)
            result["view_entries"] = view_entries(server)
            result["revoked_rss_mb"] = settle(server)
            print(f"after {result['view_entries']} revocations in the view: "
                  f"{result['revoked_rss_mb']:.1f} MiB", flush=True)  # fmt: skip

            if wait_expiry:
                deadline = time.monotonic() + ACCESS_TTL + 30
                while view_entries(server) > 0 and time.monotonic() < deadline:
                    time.sleep(1)
                result["view_entries_after_expiry"] = view_entries(server)
                result["expired_rss_mb"] = settle(server)
                print(f"a minute later, {result['view_entries_after_expiry']} entries: "
                      f"{result['expired_rss_mb']:.1f} MiB", flush=True)  # fmt: skip
    result["growth_sessions_mb"] = result["sessions_rss_mb"] - result["warm_rss_mb"]
    result["growth_revocations_mb"] = result["revoked_rss_mb"] - result["sessions_rss_mb"]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 sessions")
    parser.add_argument("--sessions", type=int, help="sessions and revocations")
    parser.add_argument("--no-expiry", action="store_true", help="skip the wait")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    sessions = args.sessions or (10_000 if args.quick else 100_000)
    result = measure(sessions, wait_expiry=not args.no_expiry)
    print(
        f"growth: {result['growth_sessions_mb']:+.1f} MiB for {sessions} sessions, "
        f"{result['growth_revocations_mb']:+.1f} MiB for {sessions} revocations"
    )
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
