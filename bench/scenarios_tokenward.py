"""Scenarios on tokenward itself, written against its public contract.

They need a Python in which ``import tokenward`` works (``--tokenward-python``);
without one, each of them is reported as skipped with the reason, and the peers'
numbers still come out.
"""

import json
import subprocess
import tempfile

from lab import Lab
from load import Target, run
from measure import alternate, p99_note, show, storm, timed
from report import Row, Scenario
from scenarios_peers import fastapi_users_me
from servers import request

JSON = "application/json"


def unavailable(python: str) -> str:
    """Empty when tokenward imports in that Python, else the reason it does not.

    The check runs outside the repository so that a ``tokenward`` folder in the
    working directory cannot stand in for an installed package.
    """
    try:
        done = subprocess.run(
            [python, "-c", "import tokenward"],
            cwd=tempfile.gettempdir(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except OSError as exc:
        return f"cannot run {python}: {exc}"
    if done.returncode == 0:
        return ""
    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return f"tokenward is not importable by {python} ({last})"


def _credentials(lab: Lab) -> dict[str, str]:
    return {"email": lab.account.email, "password": lab.account.password}


def login_target(lab: Lab) -> Target:
    """``POST /auth/login`` with the bench account, registering it on first use."""
    server = lab.server("tokenward")
    if "tokenward_registered" not in lab.tokens:
        url = server.url("/auth/register")
        status, answer = request(url, "POST", json_body=_credentials(lab))
        if status != 201:
            raise RuntimeError(f"tokenward register answered {status}: {answer}")
        lab.tokens["tokenward_registered"] = "yes"
    body = json.dumps(_credentials(lab))
    return Target(
        "tokenward POST /auth/login", server.url("/auth/login"), "POST", body, JSON
    )


def token_pair(lab: Lab) -> dict[str, str]:
    """A fresh login: ``{access_token, refresh_token, ...}``."""
    login = login_target(lab)
    status, answer = request(login.url, "POST", json_body=_credentials(lab))
    if status != 200 or not isinstance(answer, dict):
        raise RuntimeError(f"tokenward login answered {status}: {answer}")
    return answer


def _access(lab: Lab) -> str:
    if "tokenward" not in lab.tokens:
        lab.tokens["tokenward"] = token_pair(lab)["access_token"]
    return lab.tokens["tokenward"]


def _get(lab: Lab, path: str, bearer: bool) -> Target:
    url = lab.server("tokenward").url(path)
    return Target(f"tokenward GET {path}", url, bearer=_access(lab) if bearer else None)


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def routes(lab: Lab, skip: str) -> Scenario:
    """``/healthz`` (the ceiling), ``/auth/whoami`` and ``/users/me``, A-B-A."""

    def body(scn: Scenario) -> None:
        base = _get(lab, "/healthz", bearer=False)
        others = [_get(lab, "/auth/whoami", True), _get(lab, "/users/me", True)]
        scn.baseline = base.label
        scn.ratio_means = "req/s over the mean of the baseline runs around it"
        scn.rows = alternate(lab.gen, lab.settings, base, others)
        whoami = scn.rows[1].ratio or 0.0
        scn.notes.append(
            f"target /auth/whoami >= 0.9 of /healthz: {_verdict(whoami >= 0.9)}"
        )

    title = "tokenward: /healthz vs /auth/whoami vs /users/me"
    return timed("tokenward_routes", title, body, skip)


def versus_fastapi_users(lab: Lab, skip: str) -> Scenario:
    """tokenward's ``/users/me`` against fastapi-users' in A-B-A rounds."""

    def body(scn: Scenario) -> None:
        base = fastapi_users_me(lab)
        scn.baseline = base.label
        scn.ratio_means = "req/s over the mean of the baseline runs around it"
        scn.rows = alternate(lab.gen, lab.settings, base, [_get(lab, "/users/me", True)])
        ratio = scn.rows[1].ratio or 0.0
        scn.notes.append(f"target >= 10x fastapi-users: {_verdict(ratio >= 10)}")

    title = "tokenward /users/me vs fastapi-users /users/me"
    return timed("tokenward_vs_fastapi_users", title, body, skip)


def logins(lab: Lab, skip: str) -> Scenario:
    """Login throughput with as many clients as the storm uses."""

    def body(scn: Scenario) -> None:
        target = login_target(lab)
        runs = []
        for _ in range(max(1, lab.settings.rounds - 1)):
            conns = lab.settings.storm_connections
            runs.append(show(run(lab.gen, target, conns, lab.settings.login_s)))
            lab.server("tokenward").settle("/healthz")
        scn.rows = [Row.from_runs(target.label, runs)]
        scn.notes.append(
            "The hashing limit (hash threads / Argon2 verify time with the configured "
            "parameters) is not measured yet: it needs tokenward's hasher settings."
        )

    return timed("tokenward_login", "tokenward: login throughput", body, skip)


def login_storm(lab: Lab, skip: str) -> Scenario:
    """``/auth/whoami`` alone and during a storm of logins."""

    def body(scn: Scenario) -> None:
        server = lab.server("tokenward")
        whoami = _get(lab, "/auth/whoami", True)
        scn.baseline = f"{whoami.label} alone"
        scn.ratio_means = "req/s during the storm over req/s alone, per round"
        scn.rows = storm(
            lab.gen,
            lab.settings,
            whoami,
            login_target(lab),
            lambda: server.settle("/healthz"),
        )
        during = scn.rows[1]
        scn.notes.append(p99_note(scn.rows))
        scn.notes.append(
            "target >= 0.6 of the idle rate with p99 <= 10 ms: "
            + _verdict((during.ratio or 0.0) >= 0.6 and during.p99_ms <= 10)
        )

    title = "tokenward: /auth/whoami during a login storm"
    return timed("tokenward_storm", title, body, skip)


def refresh(lab: Lab, skip: str) -> Scenario:
    """Refresh throughput on SQLite; every connection chains its own newest token."""

    def body(scn: Scenario) -> None:
        server = lab.server("tokenward")
        url = server.url("/auth/refresh")
        conns = lab.settings.storm_connections
        ceiling = Target(
            f"{lab.pyload.name} client on GET /healthz", server.url("/healthz")
        )
        runs, ceilings = [], []
        for _ in range(max(1, lab.settings.rounds - 1)):
            tokens = [token_pair(lab)["refresh_token"] for _ in range(conns)]
            label = "tokenward POST /auth/refresh (SQLite)"
            started = lab.pyload.start_refresh(label, url, tokens, lab.settings.login_s)
            runs.append(show(started.wait()))
            ceilings.append(show(run(lab.pyload, ceiling, conns, lab.settings.login_s)))
        scn.rows = [
            Row.from_runs(runs[0].label, runs),
            Row.from_runs(ceiling.label, ceilings),
        ]
        scn.notes.append(
            "Refresh is driven by the Python client (bench/pyload.py); the second row "
            "is that client's own ceiling on the cheapest route. The bare-transaction "
            "baseline and PostgreSQL are not measured yet."
        )

    return timed("tokenward_refresh", "tokenward: refresh throughput", body, skip)


def all_scenarios(lab: Lab, skip: str) -> list[Scenario]:
    """Every tokenward scenario, in a fixed order."""
    return [
        routes(lab, skip),
        versus_fastapi_users(lab, skip),
        logins(lab, skip),
        login_storm(lab, skip),
        refresh(lab, skip),
    ]
