"""`/auth/whoami` and `/users/me` against `/healthz` on one tokenward worker, with wrk.

    python bench/hotpath.py [--quick] [--seconds N] [--rounds N] [--json PATH]

The routes run in alternating rounds (healthz, whoami, healthz, me, healthz, ...);
each ratio compares a route's run with the `/healthz` runs on either side of it, and
the median over the rounds is reported, because the machine is shared and drifts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from twserver import Server, WrkResult, write_json, wrk

ROUTES = ("/auth/whoami", "/users/me")


def bracketed(
    runs: list[tuple[str, WrkResult]], route: str, base: str = "/healthz"
) -> list[float]:
    """Each run of `route` divided by the mean of the `base` runs beside it."""
    ratios = []
    for i, (name, result) in enumerate(runs):
        if name != route:
            continue
        around = [
            runs[j][1].rps
            for j in (i - 1, i + 1)
            if 0 <= j < len(runs) and runs[j][0] == base
        ]
        if around:
            ratios.append(result.rps / statistics.mean(around))
    return ratios


def summary(runs: list[tuple[str, WrkResult]], route: str) -> dict[str, float]:
    mine = [r for name, r in runs if name == route]
    return {
        "rps": statistics.median(r.rps for r in mine),
        "cpu_us": statistics.median(r.cpu_us for r in mine),
        "p50_ms": statistics.median(r.p50_ms for r in mine),
        "p99_ms": statistics.median(r.p99_ms for r in mine),
        "errors": sum(r.errors for r in mine),
    }


def measure(
    server: Server, routes: tuple[str, ...], seconds: int, rounds: int, token: str
) -> dict[str, Any]:
    """Alternate `/healthz` with each route; return medians and bracketed ratios."""
    headers = {"Authorization": f"Bearer {token}"}

    def run(route: str) -> tuple[str, WrkResult]:
        given = headers if route != "/healthz" else None
        url = f"{server.base}{route}"
        return route, wrk(url, seconds, headers=given, server=server)

    for route in ("/healthz", *routes):
        wrk(f"{server.base}{route}", 1, headers=headers)
    runs = [run("/healthz")]
    for _ in range(rounds):
        for route in routes:
            runs += [run(route), run("/healthz")]

    result: dict[str, Any] = {"/healthz": summary(runs, "/healthz")}
    for route in routes:
        mine = summary(runs, route)
        result[route] = {
            **mine,
            "ratio_to_healthz": statistics.median(bracketed(runs, route)),
            "cpu_ratio_to_healthz": result["/healthz"]["cpu_us"] / mine["cpu_us"],
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s runs, 2 rounds")
    parser.add_argument("--seconds", type=int, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, help="alternating rounds")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    seconds = args.seconds or (2 if args.quick else 5)
    rounds = args.rounds or (2 if args.quick else 5)

    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp)) as server:
        email, password = server.account()
        token = server.login(email, password)["access_token"]
        result = measure(server, ROUTES, seconds, rounds, token)

    for route, row in result.items():
        ratio = row.get("ratio_to_healthz")
        shown = (
            f"  ratio {ratio:.2f} (by CPU {row['cpu_ratio_to_healthz']:.2f})"
            if ratio is not None
            else ""
        )
        print(
            f"{route:<14} {row['rps']:7.0f} rps {row['cpu_us']:6.0f} µs CPU  "
            f"p50 {row['p50_ms']:6.2f} ms  p99 {row['p99_ms']:6.2f} ms{shown}"
        )
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
