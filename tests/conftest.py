"""Fixtures shared by every test layer.

Tests hash with cheap Argon2 parameters so the suite stays fast; the production
parameters are covered by their own test in `tests/unit/test_passwords.py`.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tokenward import Settings, Tokenward, create_app
from tokenward.clock import FrozenClock
from tokenward.store.memory import MemoryStore
from tokenward.store.migrate import upgrade

POSTGRES_ADMIN_URL = os.environ.get(
    "TOKENWARD_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_cost": 8192, "hash_threads": 2}
PASSWORD = "correct horse battery staple"
pytest_plugins = ["tests.smtp_sink"]


def make_settings(**overrides: Any) -> Settings:
    """Settings for tests: no `.env`, cheap hashing, generous rate limits."""
    values: dict[str, Any] = {
        "database_url": "sqlite+aiosqlite://",
        "login_rate": "1000/minute",
        "login_pair_rate": "1000/minute",
        "login_ip_rate": "1000/minute",
        "ip_rate": "100000/minute",
        **FAST_HASHING,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings_factory() -> Callable[..., Settings]:
    return make_settings


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def memory_tokenward(clock: FrozenClock) -> AsyncIterator[Tokenward]:
    """A started Tokenward on the in-memory store and a frozen clock."""
    tokenward = Tokenward(make_settings(), store=MemoryStore(), clock=clock)
    async with tokenward.running():
        yield tokenward


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'tokenward.db'}"


async def _postgres_available() -> bool:
    engine = create_async_engine(POSTGRES_ADMIN_URL)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        await engine.dispose()


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A new PostgreSQL database, dropped afterwards; skip the test without a server."""
    if not await _postgres_available():
        pytest.skip("PostgreSQL is not reachable")
    name = f"tokenward_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest, sqlite_url: str
) -> AsyncIterator[str]:
    """Each test using this runs on SQLite, and on PostgreSQL when it is reachable."""
    if request.param == "sqlite":
        await upgrade(sqlite_url)
        yield sqlite_url
        return
    async with fresh_postgres_database() as url:
        await upgrade(url)
        yield url


@pytest.fixture
async def app_factory(
    sqlite_url: str,
) -> AsyncIterator[Callable[..., Any]]:
    """Build and start apps on a migrated database; everything stops at teardown."""
    started: list[Any] = []

    async def build(**overrides: Any) -> FastAPI:
        overrides.setdefault("database_url", sqlite_url)
        await upgrade(overrides["database_url"])
        app = create_app(make_settings(**overrides))
        context = app.router.lifespan_context(app)
        await context.__aenter__()
        started.append(context)
        return app

    yield build
    for context in reversed(started):
        await context.__aexit__(None, None, None)


@pytest.fixture
async def app(app_factory: Callable[..., Any]) -> FastAPI:
    return await app_factory()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def random_email() -> str:
    return f"user-{secrets.token_hex(6)}@example.com"


@pytest.fixture
def email() -> str:
    return random_email()


async def register_and_login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: Any
) -> dict[str, Any]:
    """Register an account and log it in; return the token pair."""
    response = await client.post(
        "/auth/register", json={"email": email, "password": password}
    )
    assert response.status_code == 201, response.text
    response = await client.post(
        "/auth/login", json={"email": email, "password": password, **extra}
    )
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_dotenv(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep the developer's environment out of the settings tests build."""
    for name in list(os.environ):
        if name.startswith("TOKENWARD_") and name != "TOKENWARD_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    yield
