"""Sign and verify cost of each signing algorithm, as tokenward uses them.

    python bench/algorithms.py [--rounds 5] [--iterations 1000]

For each algorithm: the bare signature operations (PyJWT's algorithm objects, as the
server calls them), then a whole `TokenService.issue` and `TokenService.verify`
(parsing, header and claim rules, revocation view), and the token's length. Rounds
interleave the algorithms so that a noisy neighbour slows all of them alike; the
median round is reported, in microseconds per operation.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable

from tokenward.clock import SystemClock
from tokenward.keys import KeyRing
from tokenward.revocation import RevocationView
from tokenward.store.memory import MemoryStore
from tokenward.tokens import TokenService

ALGORITHMS = ("EdDSA", "ES256", "RS256", "HS256")


def per_call(action: Callable[[], object], iterations: int) -> float:
    start = time.perf_counter()
    for _ in range(iterations):
        action()
    return (time.perf_counter() - start) / iterations * 1e6


async def service_for(alg: str) -> TokenService:
    keyring = KeyRing(alg, secret=b"x" * 32)
    await keyring.ensure_current(MemoryStore(), SystemClock().now())
    return TokenService(
        keyring, RevocationView(), SystemClock(), "https://issuer", "tokenward", 900
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=1000)
    args = parser.parse_args()

    services = {alg: asyncio.run(service_for(alg)) for alg in ALGORITHMS}
    samples: dict[str, dict[str, list[float]]] = {
        alg: {"sign": [], "verify": [], "issue": [], "check": []} for alg in ALGORITHMS
    }
    sizes = {}
    for _ in range(args.rounds):
        for alg, tokens in services.items():
            key = tokens.keyring.current
            token = tokens.issue("user-1", "session-1", "read write").token
            sizes[alg] = len(token)
            head, payload, _ = token.split(".")
            message = f"{head}.{payload}".encode()
            signature = key.algorithm.sign(message, key.signing_key)

            def sign(key=key, message=message):  # type: ignore[no-untyped-def]
                return key.algorithm.sign(message, key.signing_key)

            def verify(key=key, message=message, signature=signature):  # type: ignore[no-untyped-def]
                return key.algorithm.verify(message, key.verifying_key, signature)

            def issue(tokens=tokens):  # type: ignore[no-untyped-def]
                return tokens.issue("user-1", "session-1", "read write")

            def check(tokens=tokens, token=token):  # type: ignore[no-untyped-def]
                return tokens.verify(token)

            n = args.iterations
            samples[alg]["sign"].append(per_call(sign, n))
            samples[alg]["verify"].append(per_call(verify, n))
            samples[alg]["issue"].append(per_call(issue, n))
            samples[alg]["check"].append(per_call(check, n))

    print(
        f"{'alg':<6} {'sign µs':>8} {'verify µs':>10} {'issue µs':>9} "
        f"{'full verify µs':>15} {'token bytes':>12}"
    )
    for alg in ALGORITHMS:
        median = {name: statistics.median(v) for name, v in samples[alg].items()}
        print(
            f"{alg:<6} {median['sign']:>8.1f} {median['verify']:>10.1f} "
            f"{median['issue']:>9.1f} {median['check']:>15.1f} {sizes[alg]:>12}"
        )


if __name__ == "__main__":
    main()
