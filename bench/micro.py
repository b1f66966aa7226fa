"""In-process micro-benchmarks: `TokenService.verify` against plain PyJWT decode.

    python bench/micro.py [--quick] [--json PATH]

For each algorithm the script issues a batch of distinct tokens and times, in
alternating rounds (A-B-A, so drift on a shared machine hits every side alike):

- `pyjwt`: `jwt.decode` with the key, algorithm, audience, issuer and required claims;
- `verify`: tokenward's verify of tokens it has not seen (every rule, no cache);
- `repeat`: tokenward's verify of one token it has already verified (the cache).

Ratios are per round, against the PyJWT rounds on either side; the median is shown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt

from tokenward.clock import SystemClock
from tokenward.keys import KeyRing, SigningKey
from tokenward.revocation import RevocationView
from tokenward.store.memory import MemoryStore
from tokenward.tokens import TokenService

ALGORITHMS = ("EdDSA", "ES256", "RS256", "HS256")
ISSUER = "http://localhost:8000"
AUDIENCE = "tokenward"
REQUIRED = ["exp", "iat", "iss", "aud", "sub", "jti"]


def keyring_for(alg: str) -> KeyRing:
    """A loaded key ring of `alg`, on an in-memory store."""
    secret = os.urandom(32) if alg == "HS256" else None
    ring = KeyRing(alg, secret=secret)
    asyncio.run(ring.ensure_current(MemoryStore(), SystemClock().now()))
    return ring


def service(ring: KeyRing, cache_size: int) -> TokenService:
    return TokenService(
        ring,
        RevocationView(),
        SystemClock(),
        issuer=ISSUER,
        audience=AUDIENCE,
        access_ttl=900,
        cache_size=cache_size,
    )


def per_call_us(fn: Callable[[str], Any], tokens: list[str]) -> float:
    """Microseconds per call of `fn` over `tokens`."""
    start = time.perf_counter()
    for token in tokens:
        fn(token)
    return (time.perf_counter() - start) / len(tokens) * 1e6


def bench_alg(alg: str, count: int, rounds: int) -> dict[str, Any]:
    ring = keyring_for(alg)
    key: SigningKey = ring.current
    issuer = service(ring, cache_size=0)
    tokens = [
        issuer.issue(f"user-{i}", f"session-{i}", "read").token for i in range(count)
    ]
    repeated = [tokens[0]] * count

    def pyjwt(token: str) -> Any:
        return jwt.decode(
            token,
            key.verifying_key,
            algorithms=[alg],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": REQUIRED},
        )

    uncached = service(ring, cache_size=0)
    cached = service(ring, cache_size=1024)
    cached.verify(tokens[0])

    runs: dict[str, list[float]] = {"pyjwt": [], "verify": [], "repeat": []}
    runs["pyjwt"].append(per_call_us(pyjwt, tokens))
    for _ in range(rounds):
        runs["verify"].append(per_call_us(uncached.verify, tokens))
        runs["pyjwt"].append(per_call_us(pyjwt, tokens))
        runs["repeat"].append(per_call_us(cached.verify, repeated))
        runs["pyjwt"].append(per_call_us(pyjwt, tokens))

    base = runs["pyjwt"]
    verify_ratios = [
        v / ((base[2 * i] + base[2 * i + 1]) / 2) for i, v in enumerate(runs["verify"])
    ]
    repeat_ratios = [
        v / ((base[2 * i + 1] + base[2 * i + 2]) / 2)
        for i, v in enumerate(runs["repeat"])
    ]
    return {
        "alg": alg,
        "token_bytes": len(tokens[0]),
        "pyjwt_us": statistics.median(base),
        "verify_us": statistics.median(runs["verify"]),
        "repeat_us": statistics.median(runs["repeat"]),
        "verify_ratio": statistics.median(verify_ratios),
        "repeat_ratio": statistics.median(repeat_ratios),
    }


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            names = [
                line.split(":", 1)[1].strip() for line in info if "model name" in line
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "pyjwt": jwt.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer tokens and rounds")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    count, rounds = (300, 3) if args.quick else (2000, 7)

    results = []
    print(
        f"{'alg':<6} {'pyjwt µs':>9} {'verify µs':>10} {'repeat µs':>10} "
        f"{'verify/pyjwt':>13} {'repeat/pyjwt':>13}"
    )
    for alg in ALGORITHMS:
        row = bench_alg(alg, count, rounds)
        results.append(row)
        print(
            f"{alg:<6} {row['pyjwt_us']:9.1f} {row['verify_us']:10.1f} "
            f"{row['repeat_us']:10.2f} {row['verify_ratio']:13.2f} "
            f"{row['repeat_ratio']:13.3f}",
            flush=True,
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"machine": machine(), "count": count, "rounds": rounds}
        args.json.write_text(json.dumps({**payload, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
