"""Scenarios on the peers alone: what the common recipe and fastapi-users cost.

These run today and give tokenward's numbers their context: a bare FastAPI route
is the ceiling, and both peers verify passwords on the event loop, which a login
storm makes visible.
"""

import statistics
import urllib.parse
from collections.abc import Callable

from envs import PEERS_DIR, venv_python
from lab import Lab
from load import Target, run
from measure import alternate, hash_cost, p99_note, show, storm, timed
from report import Row, Scenario
from servers import request

FORM = "application/x-www-form-urlencoded"


def recipe_login(lab: Lab) -> Target:
    """The recipe's form login at ``POST /token``."""
    body = urllib.parse.urlencode(
        {"username": lab.account.username, "password": lab.account.password}
    )
    url = lab.server("recipe").url("/token")
    return Target("recipe POST /token", url, "POST", body, FORM)


def fastapi_users_login(lab: Lab) -> Target:
    """fastapi-users' form login at ``POST /auth/jwt/login``, after registering."""
    server = lab.server("fastapi_users")
    if "fastapi_users" not in lab.tokens:
        body = {"email": lab.account.email, "password": lab.account.password}
        status, answer = request(server.url("/auth/register"), "POST", json_body=body)
        if status != 201:
            raise RuntimeError(f"fastapi-users register answered {status}: {answer}")
    form = urllib.parse.urlencode(
        {"username": lab.account.email, "password": lab.account.password}
    )
    url = server.url("/auth/jwt/login")
    target = Target("fastapi-users POST /auth/jwt/login", url, "POST", form, FORM)
    if "fastapi_users" not in lab.tokens:
        lab.tokens["fastapi_users"] = _token(target)
    return target


def _token(login: Target) -> str:
    """Log in once with the target's form and return the access token."""
    form = dict(urllib.parse.parse_qsl(login.body or ""))
    status, answer = request(login.url, "POST", form=form)
    if status != 200:
        raise RuntimeError(f"{login.label} answered {status}: {answer}")
    return str(answer["access_token"])


def recipe_me(lab: Lab) -> Target:
    """The recipe's protected route with a valid bearer token."""
    if "recipe" not in lab.tokens:
        lab.tokens["recipe"] = _token(recipe_login(lab))
    url = lab.server("recipe").url("/users/me")
    return Target("recipe GET /users/me", url, bearer=lab.tokens["recipe"])


def fastapi_users_me(lab: Lab) -> Target:
    """fastapi-users' ``GET /users/me`` with a valid bearer token."""
    fastapi_users_login(lab)
    url = lab.server("fastapi_users").url("/users/me")
    return Target("fastapi-users GET /users/me", url, bearer=lab.tokens["fastapi_users"])


def bare_ping(lab: Lab) -> Target:
    """The ceiling: a bare FastAPI route that does nothing."""
    return Target("bare FastAPI GET /ping", lab.server("bare").url("/ping"))


def protected_routes(lab: Lab) -> Scenario:
    """Each peer's protected route against the bare ceiling, in A-B-A rounds."""

    def body(scn: Scenario) -> None:
        lab.start("bare", "recipe", "fastapi_users")
        base = bare_ping(lab)
        scn.baseline = base.label
        scn.ratio_means = "req/s over the mean of the baseline runs around it"
        scn.rows = alternate(
            lab.gen, lab.settings, base, [recipe_me(lab), fastapi_users_me(lab)]
        )
        scn.notes.append(
            "fastapi-users reads the user row from SQLite on every request; "
            "the recipe reads a dict."
        )

    return timed("peers_protected", "Peers: protected route vs bare FastAPI", body)


# How each peer verifies a password at login, as its app does it.
RECIPE_HASH = (
    "from passlib.context import CryptContext; "
    "c = CryptContext(schemes=['bcrypt'], deprecated='auto'); "
    "pw = 'x' * 24; h = c.hash(pw)",
    "c.verify(pw, h)",
)
FASTAPI_USERS_HASH = (
    "from fastapi_users.password import PasswordHelper; c = PasswordHelper(); "
    "pw = 'x' * 24; h = c.hash(pw)",
    "c.verify_and_update(pw, h)",
)


def logins(lab: Lab) -> Scenario:
    """Login throughput of each peer against its hashing limit.

    Both peers verify on the event loop, so their limit is one verification at a
    time: 1 / (seconds per verify), timed in the peer's own venv.
    """

    def body(scn: Scenario) -> None:
        scn.baseline = "the hashing limit (1 / verify time, one thread)"
        scn.ratio_means = "logins/s over the hashing limit"
        for name, login, code in [
            ("recipe", recipe_login, RECIPE_HASH),
            ("fastapi_users", fastapi_users_login, FASTAPI_USERS_HASH),
        ]:
            row, note = _login_row(lab, name, login(lab), code)
            scn.rows.append(row)
            scn.notes.append(note)

    return timed("peers_login", "Peers: login throughput", body)


def _login_row(
    lab: Lab, name: str, target: Target, code: tuple[str, str]
) -> tuple[Row, str]:
    """Login runs, each between two timings of one verify; returns the row and a note."""
    setup, verify = code

    def verify_time() -> float:
        python, cwd = venv_python(name), PEERS_DIR / name
        return hash_cost(python, cwd, setup, verify, lab.settings.hash_budget_s)

    conns = lab.settings.storm_connections
    runs, costs = [], [verify_time()]
    for _ in range(max(1, lab.settings.rounds - 1)):
        runs.append(show(run(lab.gen, target, conns, lab.settings.login_s)))
        lab.server(name).settle("/ping")
        costs.append(verify_time())
    # Each run against the mean of the verify timings just before and after it.
    pairs = zip(runs, costs[:-1], costs[1:], strict=True)
    ratios = [r.rps * (before + after) / 2 for r, before, after in pairs]
    seconds = statistics.median(costs)
    note = (
        f"{name}: one verify takes {seconds * 1000:.1f} ms (median of {len(costs)} "
        f"timings), so the limit is {1 / seconds:.1f} logins/s"
    )
    return Row.from_runs(target.label, runs, ratios), note


def login_storms(lab: Lab) -> list[Scenario]:
    """Each peer's protected route alone and during a storm of logins."""
    return [
        _storm(lab, "recipe", recipe_me, recipe_login),
        _storm(lab, "fastapi_users", fastapi_users_me, fastapi_users_login),
    ]


def _storm(
    lab: Lab,
    name: str,
    me: Callable[[Lab], Target],
    login: Callable[[Lab], Target],
) -> Scenario:
    def body(scn: Scenario) -> None:
        server = lab.server(name)
        protected = me(lab)
        scn.baseline = f"{protected.label} alone"
        scn.ratio_means = "req/s during the storm over req/s alone, per round"
        scn.rows = storm(
            lab.gen, lab.settings, protected, login(lab), lambda: server.settle("/ping")
        )
        scn.notes.append(p99_note(scn.rows))

    title = f"Peers: {name.replace('_', '-')} /users/me during a login storm"
    return timed(f"storm_{name}", title, body)
