"""Measurement patterns shared by every scenario: A-B-A rounds, storms, hash cost.

The machine is shared and its speed drifts, so targets are never measured in one
block each: they alternate with their baseline, and each ratio compares a run with
the baseline runs on either side of it.
"""

import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from load import Generator, LoadResult, Target, run
from report import Row, Scenario, bracketed_ratios


@dataclass
class Settings:
    """Durations in whole seconds (wrk takes no fractions) and connection counts."""

    run_s: int
    warmup_s: int
    rounds: int
    storm_s: int
    login_s: int
    hash_budget_s: float
    connections: int = 16
    storm_connections: int = 8

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for the results file."""
        return asdict(self)


QUICK = Settings(run_s=2, warmup_s=1, rounds=2, storm_s=5, login_s=3, hash_budget_s=0.3)
FULL = Settings(run_s=5, warmup_s=2, rounds=4, storm_s=10, login_s=5, hash_budget_s=2.0)

# URLs already warmed up in this run: a second comparison on them needs no warm-up.
_warmed: set[str] = set()


def log(message: str) -> None:
    """Progress line on the terminal."""
    print(message, flush=True)


def show(result: LoadResult) -> LoadResult:
    """Log one run as it ends, and pass it on."""
    errors = f"  errors {result.errors}" if result.errors else ""
    if not result.requests:
        errors += f"  (no answer in {result.duration_s:.1f} s)"
    log(
        f"    {result.label:<40} {result.rps:9.1f} rps  p50 {result.p50_ms:7.2f} ms  "
        f"p99 {result.p99_ms:8.2f} ms{errors}"
    )
    return result


def check(target: Target, expect: int = 200) -> None:
    """Send the target's request once, so a wrong route or token fails loudly."""
    headers = {}
    if target.bearer:
        headers["Authorization"] = f"Bearer {target.bearer}"
    if target.content_type:
        headers["Content-Type"] = target.content_type
    body = target.body.encode() if target.body else None
    req = urllib.request.Request(
        target.url, data=body, method=target.method, headers=headers
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # loopback only
            status = resp.status
    except urllib.error.HTTPError as err:
        status = err.code
    if status != expect:
        raise RuntimeError(
            f"{target.label}: {target.url} answered {status}, not {expect}"
        )


def alternate(
    gen: Generator, settings: Settings, baseline: Target, others: list[Target]
) -> list[Row]:
    """Measure baseline, others, baseline, others, ..., baseline; return rows.

    The baseline runs ``rounds + 1`` times, each other target ``rounds`` times, and
    every ratio is that target's rate over the mean of the two baselines around it.
    """
    targets = [baseline, *others]
    for target in targets:
        check(target)
    cold = [t for t in targets if t.url not in _warmed]
    if settings.warmup_s and cold:
        log("    warm-up")
        for target in cold:
            run(gen, target, settings.connections, settings.warmup_s)
            _warmed.add(target.url)
    results: dict[str, list[LoadResult]] = {t.label: [] for t in targets}

    def measure(target: Target) -> None:
        result = run(gen, target, settings.connections, settings.run_s)
        results[target.label].append(show(result))

    for _ in range(settings.rounds):
        for target in targets:
            measure(target)
    measure(baseline)
    base = results[baseline.label]
    rows = [Row.from_runs(baseline.label, base, [1.0])]
    for target in others:
        runs = results[target.label]
        rows.append(Row.from_runs(target.label, runs, bracketed_ratios(runs, base)))
    return rows


def storm(
    gen: Generator,
    settings: Settings,
    protected: Target,
    login: Target,
    settle: Callable[[], float],
) -> list[Row]:
    """A protected route alone, then during a login storm, for a number of rounds.

    The storm is ``storm_connections`` clients logging in without pause for
    ``storm_s`` seconds; the protected route is measured inside it, one second after
    it starts and ending one second before it stops.
    """
    check(protected)
    check(login)
    inner = max(1, settings.storm_s - 2)
    alone: list[LoadResult] = []
    during: list[LoadResult] = []
    logins: list[LoadResult] = []
    for _ in range(max(1, settings.rounds - 1)):
        alone.append(show(run(gen, protected, settings.connections, inner)))
        running = gen.start(login, settings.storm_connections, settings.storm_s)
        time.sleep(1.0)
        result = run(gen, protected, settings.connections, inner)
        result.label = f"{protected.label} during storm"
        during.append(show(result))
        logins.append(show(running.wait()))
        waited = settle()
        if waited > 0.5:
            log(f"    (server needed {waited:.1f} s to drain the storm)")
    ratios = [d.rps / a.rps for d, a in zip(during, alone, strict=True) if a.rps]
    return [
        Row.from_runs(f"{protected.label} alone", alone, [1.0]),
        Row.from_runs(f"{protected.label} during storm", during, ratios),
        Row.from_runs(f"{login.label} (the storm)", logins),
    ]


def p99_note(rows: list[Row]) -> str:
    """Say how the protected route's p99 moved between alone and during the storm."""
    alone, during = rows[0], rows[1]
    if not alone.p99_ms:
        return "p99 alone was zero"
    bound = "at least " if "lower bound" in during.note else ""
    return (
        f"p99 alone {alone.p99_ms:.2f} ms, during the storm {bound}"
        f"{during.p99_ms:.2f} ms ({bound}{during.p99_ms / alone.p99_ms:.1f}x)"
    )


def hash_cost(python: Path, cwd: Path, setup: str, verify: str, budget: float) -> float:
    """Seconds per password verification, timed inside the peer's own venv.

    ``setup`` defines ``pw`` and ``h`` (a stored hash); ``verify`` is the expression
    the app evaluates at login. Runs at least three verifications, else for
    ``budget`` seconds.
    """
    code = (
        "import time\n"
        f"{setup}\n"
        f"{verify}\n"
        "n, t0 = 0, time.perf_counter()\n"
        f"while n < 3 or time.perf_counter() - t0 < {budget}:\n"
        f"    {verify}\n"
        "    n += 1\n"
        "print((time.perf_counter() - t0) / n)\n"
    )
    done = subprocess.run(
        [str(python), "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"hash timing failed: {done.stderr.strip()[-400:]}")
    return float(done.stdout.strip().splitlines()[-1])


def timed(
    name: str, title: str, body: Callable[[Scenario], None], skip_reason: str = ""
) -> Scenario:
    """Run one scenario body, catching its failure so that the others still run."""
    scn = Scenario(name=name, title=title)
    if skip_reason:
        scn.skipped = skip_reason
        log(f"== {title}: skipped: {skip_reason}")
        return scn
    log(f"== {title}")
    began = time.monotonic()
    try:
        body(scn)
    except Exception as exc:
        scn.skipped = f"failed: {exc}"
        scn.rows = []
        log(f"   failed: {exc}")
    scn.seconds = time.monotonic() - began
    return scn
