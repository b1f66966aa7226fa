"""Run the tokenward benchmark: ``python bench/run.py [--quick]``.

Builds the peers' venvs when missing, finds or installs wrk, starts every server on
loopback with one uvicorn worker, measures the scenarios in alternating rounds and
writes ``bench/results/<date>.json`` and ``.md``. See bench/README.md.
"""

import argparse
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

import scenarios_peers
import scenarios_tokenward
from envs import BENCH_DIR, ensure_venv, ensure_wrk, package_versions, venv_python
from envs import wrk_version as read_wrk_version
from lab import Lab
from load import Generator, PyLoad, Wrk
from measure import FULL, QUICK, Settings, log
from report import Scenario, console_table, write_results

VERSIONS = {
    "recipe": [
        "fastapi", "starlette", "uvicorn", "uvloop", "httptools",
        "python-jose", "passlib", "bcrypt",
    ],
    "fastapi_users": [
        "fastapi-users", "fastapi-users-db-sqlalchemy", "sqlalchemy", "aiosqlite",
        "pwdlib", "argon2-cffi", "pyjwt", "uvicorn",
    ],
}  # fmt: skip
TOKENWARD_VERSIONS = ["tokenward", "fastapi", "uvicorn", "uvloop", "pyjwt", "sqlalchemy"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, under 2 min")
    parser.add_argument(
        "--only", choices=["peers", "tokenward"], help="run one group of scenarios"
    )
    parser.add_argument(
        "--generator",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator; auto: wrk when present or installable, else Python",
    )
    parser.add_argument(
        "--python-client",
        choices=["raw", "httpx"],
        default="raw",
        help="engine of the Python client: raw asyncio (default) or httpx",
    )
    parser.add_argument(
        "--tokenward-python",
        default=sys.executable,
        help="interpreter that can import tokenward (default: this one)",
    )
    parser.add_argument("--rounds", type=int, help="alternating rounds per comparison")
    parser.add_argument("--duration", type=int, help="seconds per measured run")
    parser.add_argument("--connections", type=int, help="connections per measured run")
    parser.add_argument(
        "--no-install", action="store_true", help="never apt-get install wrk"
    )
    parser.add_argument(
        "--out", type=Path, default=BENCH_DIR / "results", help="results folder"
    )
    parser.add_argument(
        "--internals",
        choices=sorted(INTERNALS),
        help="then tokenward's own benchmarks: 'fast' (verify, login storm and "
        "hashing limit, refresh against a bare transaction) or 'all' (also memory "
        "and scaling, about 16 minutes more)",
    )
    return parser.parse_args(argv)


INTERNALS = {
    "fast": ("micro", "storm", "refresh"),
    "all": ("micro", "storm", "refresh", "memory", "scaling"),
}


def run_internals(args: argparse.Namespace, started: datetime) -> list[str]:
    """Run tokenward's own benchmark scripts; return the ones that failed."""
    failed = []
    stamp = started.strftime("%Y-%m-%dT%H%M")
    for name in INTERNALS[args.internals]:
        out = args.out / f"{stamp}-{name}.json"
        argv = [interpreter(args.tokenward_python), str(BENCH_DIR / f"{name}.py")]
        argv += ["--json", str(out), *(["--quick"] if args.quick else [])]
        log(f"\n== tokenward internals: {name}.py")
        if subprocess.run(argv, cwd=BENCH_DIR, check=False).returncode != 0:
            failed.append(name)
    return failed


def settings_from(args: argparse.Namespace) -> Settings:
    """Quick or full settings, with any overrides from the command line."""
    base = QUICK if args.quick else FULL
    values = base.as_dict()
    if args.rounds:
        values["rounds"] = max(1, args.rounds)
    if args.duration:
        values["run_s"] = max(1, args.duration)
    if args.connections:
        values["connections"] = max(1, args.connections)
    return Settings(**values)


def python_client(engine: str) -> PyLoad:
    """The Python load client; the httpx engine runs in the client venv."""
    if engine == "httpx":
        return PyLoad(ensure_venv("client"), "httpx")
    return PyLoad(sys.executable, "raw")


def pick_generator(choice: str, engine: str, install: bool) -> Generator:
    """wrk when asked for or available, else the Python client."""
    if choice != "python":
        wrk = ensure_wrk(install=install)
        if wrk:
            return Wrk(wrk, read_wrk_version(wrk))
        if choice == "wrk":
            raise SystemExit("wrk was asked for but is not available")
        log("[setup] wrk is not available: falling back to the Python client")
    return python_client(engine)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        kib = 0
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(kib / 2**20, 1),
        "system": platform.platform(),
        "python": platform.python_version(),
        "load_start": _load(),
    }


def interpreter(path: str) -> str:
    """An absolute path for the given Python, without following venv symlinks.

    Servers start in a temporary folder, where a relative path would not resolve.
    """
    if os.sep in path:
        return str(Path(path).absolute())
    return shutil.which(path) or path


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into SystemExit, so the servers are stopped on the way out."""
    raise SystemExit(128 + signum)


def run_scenarios(lab: Lab, only: str | None) -> list[Scenario]:
    """Every scenario of the chosen groups, in order."""
    scenarios: list[Scenario] = []
    if only in (None, "peers"):
        scenarios.append(scenarios_peers.protected_routes(lab))
        scenarios.append(scenarios_peers.logins(lab))
        scenarios.extend(scenarios_peers.login_storms(lab))
    if only in (None, "tokenward"):
        skip = scenarios_tokenward.unavailable(lab.tokenward_python)
        if skip:
            log(
                f"[tokenward] skipping its scenarios: {skip}. Install it in that "
                "Python (pip install -e .) or pass --tokenward-python PATH."
            )
        scenarios.extend(scenarios_tokenward.all_scenarios(lab, skip))
    return scenarios


def main(argv: list[str] | None = None) -> int:
    """Set up, measure, report."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    settings = settings_from(args)
    began, started = time.monotonic(), datetime.now().astimezone()
    for name in ("recipe", "fastapi_users"):
        ensure_venv(name)
    gen = pick_generator(args.generator, args.python_client, not args.no_install)
    pyload = gen if isinstance(gen, PyLoad) else python_client(args.python_client)
    meta: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "generator": gen.name,
        "python_client": pyload.name,
        "settings": settings.as_dict(),
        "machine": machine(),
        "versions": {n: package_versions(venv_python(n), v) for n, v in VERSIONS.items()},
    }
    if pyload.engine == "httpx":
        meta["versions"]["client"] = package_versions(pyload.python, ["httpx"])
    load = meta["machine"]["load_start"]
    log(f"[setup] {meta['mode']} run with {gen.name}; load average {load}")
    tmp = Path(tempfile.mkdtemp(prefix="tokenward-bench-"))
    with ExitStack() as stack:
        lab = Lab(
            gen=gen,
            pyload=pyload,
            settings=settings,
            tmp=tmp,
            stack=stack,
            tokenward_python=interpreter(args.tokenward_python),
        )
        scenarios = run_scenarios(lab, args.only)
    failed = [s for s in scenarios if s.skipped.startswith("failed")]
    if failed:
        log(f"[done] some scenarios failed; server logs and databases kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    if any(s.name.startswith("tokenward") and not s.skipped for s in scenarios):
        versions = package_versions(lab.tokenward_python, TOKENWARD_VERSIONS)
        meta["versions"]["tokenward"] = versions
    meta["load_end"] = _load()
    meta["elapsed_s"] = time.monotonic() - began
    log("")
    for scn in scenarios:
        log(console_table(scn))
    json_path, md_path = write_results(args.out, started, meta, scenarios)
    log(f"\nwrote {json_path} and {md_path} in {meta['elapsed_s']:.0f} s")
    internal_failures = run_internals(args, started) if args.internals else []
    if internal_failures:
        log(f"[done] failed: {', '.join(internal_failures)}")
    return 1 if failed or internal_failures else 0


if __name__ == "__main__":
    sys.exit(main())
