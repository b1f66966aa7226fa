"""Safe failure: security headers on every answer, production refusals, secret-free
logs, and a broken database reported as an outage rather than as a bad token."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from tests.conftest import (
    PASSWORD,
    POSTGRES_ADMIN_URL,
    bearer,
    random_email,
    register_and_login,
)
from tokenward.cli import app as cli
from tokenward.events import LogfmtFormatter
from tokenward.http.limits import MAX_COOKIE_HEADER

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
HTTPS_ISSUER = "https://auth.example.test"


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://testserver",
    )


async def one_of_each(app: FastAPI) -> dict[int, httpx.Response]:
    """Responses of as many kinds as the app gives, keyed by status."""

    @app.get("/test-only/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    async with client_for(app) as client:
        responses = [
            await client.get("/healthz"),
            await client.post(
                "/auth/register", json={"email": random_email(), "password": PASSWORD}
            ),
            await client.get("/auth/whoami"),
            await client.get("/no/such/page"),
            await client.get("/auth/login"),
            await client.post("/auth/login", content=b"x" * 70_000),
            await client.post("/auth/login", json={}),
            await client.get(
                "/healthz", headers={"Cookie": "a=" + "b" * MAX_COOKIE_HEADER}
            ),
            await client.get("/test-only/boom"),
        ]
    return {response.status_code: response for response in responses}


async def test_every_kind_of_response_carries_the_security_headers(
    app_factory: Callable[..., Any],
) -> None:
    """Success, client errors, limits and even an unexpected crash all carry them."""
    responses = await one_of_each(await app_factory())

    assert set(responses) == {200, 201, 401, 404, 405, 413, 422, 431, 500}
    for status, response in responses.items():
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (status, name)
        assert "strict-transport-security" not in response.headers


async def test_unexpected_error_shows_no_stack_trace(
    app_factory: Callable[..., Any],
) -> None:
    """A bug answers a plain 500 with a code; the trace stays in the log."""
    crash = (await one_of_each(await app_factory()))[500]

    assert crash.json() == {
        "detail": "An unexpected error occurred.",
        "code": "internal_error",
    }
    assert "RuntimeError" not in crash.text and "Traceback" not in crash.text


async def test_production_sends_strict_transport_security(
    app_factory: Callable[..., Any],
) -> None:
    """In production every response, errors included, asks browsers for HTTPS only."""
    app = await app_factory(env="production", issuer=HTTPS_ISSUER)
    responses = await one_of_each(app)

    for status, response in responses.items():
        hsts = response.headers.get("strict-transport-security", "")
        assert "max-age=" in hsts and "includeSubDomains" in hsts, status


# Production refuses unsafe settings, through the CLI

SAFE_PRODUCTION = {
    "TOKENWARD_ENV": "production",
    "TOKENWARD_ISSUER": HTTPS_ISSUER,
}
UNSAFE = {
    "hs256_without_a_secret": ({"TOKENWARD_SIGNING_ALG": "HS256"}, "SECRET_KEY"),
    "hs256_with_a_short_secret": (
        {"TOKENWARD_SIGNING_ALG": "HS256", "TOKENWARD_SECRET_KEY": "s" * 31},
        "at least 32",
    ),
    "issuer_not_https": ({"TOKENWARD_ISSUER": "http://auth.example.test"}, "https://"),
    "cookies_without_secure": ({"TOKENWARD_COOKIE_SECURE": "false"}, "Secure"),
    "default_sqlite_file": ({"TOKENWARD_DATABASE_URL": None}, "DATABASE_URL"),
}


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the CLI in an empty folder: no `.env`, no database next to the code."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", UNSAFE)
def test_production_refuses_each_unsafe_setting_in_one_line(
    in_tmp: Path, name: str
) -> None:
    """`tokenward serve` in production exits 1 with one line naming the problem."""
    changes, reason = UNSAFE[name]
    env = {
        **SAFE_PRODUCTION,
        "TOKENWARD_DATABASE_URL": f"sqlite+aiosqlite:///{in_tmp / 'prod.db'}",
        **changes,
    }
    env = {key: value for key, value in env.items() if value is not None}

    result = CliRunner().invoke(cli, ["serve", "--port", "1"], env=env)

    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: refusing to start:")
    assert reason in lines[0]
    assert not (in_tmp / "tokenward.db").exists()


def test_safe_production_settings_pass_the_cli(in_tmp: Path) -> None:
    """The same checks let a sound production configuration through."""
    env = {
        **SAFE_PRODUCTION,
        "TOKENWARD_DATABASE_URL": f"sqlite+aiosqlite:///{in_tmp / 'prod.db'}",
        "TOKENWARD_SIGNING_ALG": "HS256",
        "TOKENWARD_SECRET_KEY": "k" * 48,
    }

    result = CliRunner().invoke(cli, ["db", "upgrade"], env=env)

    assert result.exit_code == 0, result.output


# Logs never hold a secret


@pytest.fixture
def all_records() -> Iterator[list[logging.LogRecord]]:
    """Every record of every logger at DEBUG, whatever propagation is set to."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.DEBUG)
    loggers = [logging.getLogger(), logging.getLogger("tokenward")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield records
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def rendered(record: logging.LogRecord) -> str:
    """The record as it would be written, plus everything attached to it."""
    formatter = LogfmtFormatter()
    return " ".join([formatter.format(record), repr(record.args), repr(vars(record))])


async def test_full_flow_logs_no_password_token_or_hash(
    app: FastAPI, all_records: list[logging.LogRecord]
) -> None:
    """register, login, refresh, failed login, password change, logout: the logs
    name events and ids, never a password, token, refresh token or hash."""
    email, new_password = random_email(), "a wholly different passphrase"
    secrets: list[str] = [PASSWORD, new_password, "the wrong passphrase here"]
    async with client_for(app) as client:
        pair = await register_and_login(client, email, device_name="laptop")
        refreshed = (
            await client.post(
                "/auth/refresh", json={"refresh_token": pair["refresh_token"]}
            )
        ).json()
        await client.post(
            "/auth/login", json={"email": email, "password": "the wrong passphrase here"}
        )
        await client.post(
            "/auth/password/change",
            json={"current_password": PASSWORD, "new_password": new_password},
            headers=bearer(refreshed["access_token"]),
        )
        await client.post("/auth/logout", headers=bearer(refreshed["access_token"]))
        await client.get("/auth/whoami", headers=bearer(refreshed["access_token"]))

    user = await app.state.tokenward.accounts.find(email)
    for tokens in (pair, refreshed):
        secrets += [tokens["access_token"], tokens["refresh_token"]]
        secrets += tokens["access_token"].split(".")
    secrets += [user.password_hash, user.password_hash.split("$")[-1]]

    logged = "\n".join(rendered(record) for record in all_records)
    events = {getattr(record, "event", None) for record in all_records}
    assert {
        "user_registered",
        "login_succeeded",
        "token_refreshed",
        "login_failed",
        "password_changed",
        "logout",
    } <= events
    for secret in secrets:
        assert secret not in logged


# A broken database is an outage, never a bad token


async def assert_outage_answers(client: httpx.AsyncClient, pair: dict[str, Any]) -> None:
    """What each route says while the database is gone."""
    me = await client.get("/users/me", headers=bearer(pair["access_token"]))
    refresh = await client.post(
        "/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    login = await client.post(
        "/auth/login", json={"email": pair["email"], "password": PASSWORD}
    )
    register = await client.post(
        "/auth/register", json={"email": random_email(), "password": PASSWORD}
    )

    for response in (me, refresh, login, register):
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "storage_unavailable"
        assert response.headers["retry-after"] == "1"
    whoami = await client.get("/auth/whoami", headers=bearer(pair["access_token"]))
    assert whoami.status_code == 200


async def test_sqlite_with_its_tables_gone_answers_503(
    app_factory: Callable[..., Any], sqlite_url: str
) -> None:
    """A database whose tables vanished under the running app: 503, not 401."""
    app = await app_factory()
    async with client_for(app) as client:
        email = random_email()
        pair = {**await register_and_login(client, email), "email": email}

        engine = create_async_engine(sqlite_url)
        async with engine.begin() as conn:
            for table in ("refresh_tokens", "sessions", "users"):
                await conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}_gone"))
        await engine.dispose()

        await assert_outage_answers(client, pair)


@pytest.mark.postgres
async def test_postgres_refusing_connections_answers_503_then_recovers(
    app_factory: Callable[..., Any], postgres_url: str
) -> None:
    """PostgreSQL cut off under the running app: 503 while it lasts, then normal."""
    name = postgres_url.rsplit("/", 1)[1]
    app = await app_factory(database_url=postgres_url)
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")

    async def allow(flag: bool) -> None:
        async with admin.connect() as conn:
            await conn.execute(
                text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(flag).lower()}')
            )
            if not flag:
                await conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )

    try:
        async with client_for(app) as client:
            email = random_email()
            pair = {**await register_and_login(client, email), "email": email}
            await allow(False)

            await assert_outage_answers(client, pair)
            assert (await client.get("/readyz")).status_code == 503

            await allow(True)
            me = await client.get("/users/me", headers=bearer(pair["access_token"]))
            assert me.status_code == 200
    finally:
        await allow(True)
        await admin.dispose()
